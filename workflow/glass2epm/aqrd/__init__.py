"""AQRD: athermal quasistatic random displacements (random local forcing).

The driving of ``../shared/papers/agoritsas-global-shear-vs-random-forcing.txt``
(Eq. 3, with its ERRATA): x = x₀ + γc + u, box fixed, u relaxed with ⟨c|u⟩ = 0;
the generalised stress Σ = (1/V) ∂U/∂γ = −(1/V) c·F (the constraint's multiplier) is
the series' ``loaded_stress``. AQS is the special case c_i = (y_i, 0) with Lees–Edwards
boundaries (the box carries the strain; no constraint).

Modules: forcing.py (fields c: file, Gaussian Eqs. 4–5, sine, shear; 𝔉 on the pair
list, Eqs. 7 and 9), engine.py (the AQRD driver on the shared minimiser and the bordered
linear-response solver), collapse.py (Eq. 36 rescaling, collapse statistics), tasks.py
(the stage's task functions for the CLI and the rules).
Units: energy ε, length λ, stress ε/λ^d; c in λ per unit strain.
"""
