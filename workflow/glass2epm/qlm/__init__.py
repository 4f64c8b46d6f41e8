"""Quasi-localised modes and the pseudogap (Ji, Popović, de Geus, Lerner, Wyart).

``modes``: the lowest vibrational modes by shift-invert Lanczos on the CHOLMOD factor
of the Hessian; ``gammamin``: the strain to the next plastic instability, refined as in
App. F; ``pseudogap``: θ and α by finite-size scaling of extreme values; ``meso``: the
paper's mesoscopic (λ, κ) model on the FFT EPM lattice; ``task``: the workflow stage.
"""
