"""The scalar elasto-plastic model, its calibration from particle data and the comparison with particles."""
