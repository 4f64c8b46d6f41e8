"""Shear bands: detection, widths, growth and size scaling."""
