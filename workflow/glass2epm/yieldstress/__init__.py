"""Local yield stresses: cavities, the bond-micromechanics map, the frozen-matrix map and their comparison."""
