"""glass2epm: from a particle glass to a calibrated elasto-plastic model.

Implements D. Richard, "Connecting microscopic and mesoscopic mechanics in model
structural glasses" (see README). Units throughout: energy ε, length λ (the
smallest particle size), mass m; stress in ε/λ^d.
"""

__version__ = "0.1.0"
