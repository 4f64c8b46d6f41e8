"""Coarse-grained fields (Hernández-García): density and stress on a grid."""
