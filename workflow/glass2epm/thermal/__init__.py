"""Thermal elasto-plastic model (Baron & Biroli): mean-field theory, its Gillespie simulation, the lattice KMC."""
