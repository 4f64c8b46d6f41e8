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
from numba import njit

from glass2epm.core.io import Configuration
from glass2epm.core.potential import ForceField
from glass2epm.core import contractions as C
from glass2epm.mechanics.envelope import envelope_backsolve
from glass2epm.mechanics.hessian import HessianSolver, assemble, pair_data


@njit(cache=True)
def affine_force_rows(ii, jj, rv, first, second, A, nrows):
    """Ξ = H·(A x) of Eq. (5) on the particles 0..nrows−1, (nrows, d), ε/λ: the pair
    blocks K_ι·(A x_ι) of Eq. (B7) (the product of
    :func:`~glass2epm.core.contractions.bond_hv`), +on j and −on i, evaluated on the pair
    separations x_ι (never on absolute positions). Ends numbered ≥ nrows (a frozen
    shell) get nothing. The one place Ξ is formed: the global solve
    (:func:`affine_force`, nrows = N) and the restricted one
    (:func:`restricted_velocity`) both call it."""
    m, d = rv.shape
    out = np.zeros((nrows, d))
    ax = np.empty(d)
    for p in range(m):
        xa = 0.0
        for a in range(d):
            ax[a] = C.row_dot(A, a, rv, p)
            xa += rv[p, a] * ax[a]
        c = second[p] * xa
        i = ii[p]
        j = jj[p]
        for a in range(d):
            g = c * rv[p, a] + first[p] * ax[a]
            if j < nrows:
                out[j, a] += g
            if i < nrows:
                out[i, a] -= g
    return out


def affine_force(ii, jj, rv, first, second, A, n: int) -> np.ndarray:
    """Ξ = H·(A x) of Eq. (5) for all N particles, (N, d), ε/λ (:func:`affine_force_rows`)."""
    return affine_force_rows(ii, jj, rv, first, second, np.asarray(A, dtype=float), n)


@njit(cache=True)
def restricted_velocity(rv, r, der, ci, cj, nf, A, env, ptr, efirst):
    """ẋ_F of Eq. (5) restricted to the free particles 0..nf−1 of a local subsystem
    whose other particles are held fixed: H_FF ẋ_F = −[H·(A x)]_F, λ per unit strain.

    ``rv, r, der``: pair separations, lengths and radial derivatives φ', φ'' (rows 1, 2
    of ``der``) of the pairs (ci, cj) (ci free); ``env, ptr, efirst``: the factor of
    H_FF in envelope storage (:func:`glass2epm.mechanics.local.local_hessian`). Used by
    the frozen-matrix method (:mod:`glass2epm.yieldstress.frozen`)."""
    first, second = C.first_second_all(r, der[1], der[2])
    d = rv.shape[1]
    b = -affine_force_rows(ci, cj, rv, first, second, A, nf).reshape(d * nf)
    envelope_backsolve(env, ptr, efirst, d * nf, b, d)
    return b.reshape((nf, d))


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
