"""The one linear-response solver: the non-affine velocity of Eq. (5).

For an affine deformation with generator A (positions x → D(γ)·x, box h → D(γ)·h,
D = exp(γA)), force balance along the athermal path gives (paper Eq. 5)

    H·ẋ = −Ξ,   Ξ = H·(A x),

where Ξ is evaluated on pair separation vectors x_ι = x_j − x_i (minimum image,
Lees–Edwards aware), never on absolute positions: Ξ_j = Σ_ι K_ι·(A x_ι) on j and
−K_ι·(A x_ι) on i, with K_ι the pair Hessian block of :mod:`glass2epm.mechanics.hessian`.
The total displacement derivative is d₁ = A·x + ẋ (Eq. 2); ẋ has zero mean.
Units: ẋ in λ (per unit strain), Ξ in ε/λ.

One factorisation (:class:`~glass2epm.mechanics.hessian.HessianSolver`) serves
every solve: pass ``solver`` to reuse it (moduli, expansions, AQS predictor).
"""

from __future__ import annotations

import numpy as np

from glass2epm.core.io import Configuration
from glass2epm.core.potential import ForceField
from glass2epm.core import contractions as C
from glass2epm.mechanics.hessian import HessianSolver, assemble, pair_data


def affine_force(ii, jj, rv, first, second, A, n: int) -> np.ndarray:
    """Ξ = H·(A x) of Eq. (5), evaluated on the pair separations (N, d), ε/λ: the pair
    blocks K_ι·(A x_ι) of Eq. (B7) (:func:`~glass2epm.core.contractions.bond_hv`),
    +on j and −on i."""
    ax = C.apply_matrix(np.asarray(A, dtype=float), rv)
    return C.scatter(ii, jj, C.bond_hv(rv, first, second, ax), n)


def nonaffine_velocity(conf: Configuration, A: np.ndarray, ff: ForceField | None = None,
                       solver: HessianSolver | None = None, ordering=None) -> tuple[np.ndarray, HessianSolver]:
    """ẋ = −H⁻¹·H·(A x) (Eq. 5) for the deformation generator A, and the solver used
    (a new factorisation, with the reused CHOLMOD ``ordering`` when given, unless
    ``solver`` is passed).

    Raises :class:`~glass2epm.mechanics.hessian.NotPositiveDefinite` when the
    reduced Hessian is not positive definite (not a stable minimum).
    """
    ff = ff or ForceField(conf.model)
    n, d = conf.N, conf.dim
    ii, jj, rv, lam, r, der = pair_data(conf, ff, order=2)
    first, second = C.first_second_all(r, der[1], der[2])
    if solver is None:
        solver = HessianSolver(assemble(ii, jj, rv, r, der[1], der[2], n), n, d, ordering=ordering)
    Xi = affine_force(ii, jj, rv, first, second, A, n)
    return -solver.solve(Xi), solver


def constrained_modulus(conf: Configuration, c: np.ndarray, ff: ForceField | None = None,
                        solver: HessianSolver | None = None) -> tuple[float, np.ndarray, HessianSolver]:
    """The AQRD (random-forcing) modulus of a constrained equilibrium, and its tangent.

    Driving x = x₀ + γc + u with ⟨c|u⟩ = 0 (agoritsas-global-shear-vs-random-forcing,
    Eq. 3, and its ERRATA: the projection on c held fixed), force balance on the
    complement of c gives H·ẋ = α c with c·ẋ = |c|², so

        ẋ = α H⁺c,  α = |c|² / (cᵀH⁺c),   μ_c = dΣ/dγ = |c|⁴ / (V cᵀH⁺c),

    Σ = (1/V) ∂U/∂γ = −(1/V) c·F the generalised stress (the constraint's multiplier),
    H⁺ the inverse on the complement of the translations (``HessianSolver``, CHOLMOD;
    c must have zero mean). Returns (μ_c in ε/λ^d per unit of c², ẋ (N, d) in λ, solver).
    Raises NotPositiveDefinite where H is not positive definite (then use the
    bordered :class:`~glass2epm.mechanics.hessian.ConstrainedSolver`).
    """
    c = np.asarray(c, dtype=float).reshape(conf.N, conf.dim)
    mean = np.abs(c.mean(axis=0)).max()
    if mean > 1e-9 * max(np.abs(c).max(), 1e-300):
        raise ValueError(f"forcing field has non-zero mean {c.mean(axis=0)} (remove it: ERRATA)")
    if solver is None:
        solver = HessianSolver.from_configuration(conf, ff)
    w = solver.solve(c)
    chc = float(np.sum(c * w))
    c2 = float(np.sum(c * c))
    return c2 * c2 / (conf.box.volume * chc), (c2 / chc) * w, solver
