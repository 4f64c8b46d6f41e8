"""Athermal quasistatic deformation and the non-affine (D²min) activity along it."""
