"""The lowest vibrational modes of an inherent state: shift-invert Lanczos on CHOLMOD.

Conventions (Ji et al., Sec. III; units ε, λ, m = 1):

* The dynamical matrix is the Hessian H = ∂²U/∂x∂x of :mod:`glass2epm.mechanics.hessian`
  (unit masses), so its eigenvalues are ω² in ε/(m λ²).
* Rattlers, particles without any interaction, are left out exactly as
  ``glass2epm properties`` leaves them out (their Hessian rows are empty): the problem
  is solved on the interacting particles' degrees of freedom, and a rattler's entry in
  an eigenvector is zero.
* The d translations of the interacting particles are exact zero modes; they are
  projected out of the Lanczos space, so the modes returned are the ``count`` lowest
  *non-zero* ones (and each has zero mean displacement).
* Participation ratio e = 1 / (N Σ_j |Ψ_j|⁴) with Ψ normalised, Σ_j |Ψ_j|² = 1, |Ψ_j|
  the d-vector norm on particle j, and N the number of particles of the configuration,
  rattlers included (e = 1 for a mode spread evenly over all N particles, 1/N for one
  on a single particle).

Method: H_a + s·I (interacting degrees of freedom, a small shift s > 0 that makes it
positive definite) is factorised once by CHOLMOD; ARPACK's Lanczos (``scipy.sparse.linalg.eigsh``)
then finds the largest eigenvalues ν of P (H_a + s I)⁻¹ P, P the projector off the
translations, and ω² = 1/ν − s. The same eigenvectors, with eigenvalues to ARPACK's
relative tolerance (machine precision by default). Without scikit-sparse, SuperLU
factorises instead (slower beyond N ~ 10⁵). The start vector is seeded: the same input
gives the same modes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, eigsh

from glass2epm.core.io import Configuration
from glass2epm.core.potential import ForceField
from glass2epm.mechanics.hessian import SPDSolver, hessian

log = logging.getLogger(__name__)


@dataclass
class Modes:
    """The ``count`` lowest non-zero modes, sorted by ω².

    ``omega2`` (K,) in ε/(m λ²); ``participation`` (K,) e of the module docstring;
    ``vectors`` (K, N, d) normalised eigenvectors (zero on rattlers) or None;
    ``active`` (N,) the interacting particles; ``shift`` s used, ε/(m λ²);
    ``operations`` the number of solves with the factor.
    """

    omega2: np.ndarray
    participation: np.ndarray
    vectors: np.ndarray | None
    active: np.ndarray
    shift: float
    operations: int

    @property
    def omega(self) -> np.ndarray:
        return np.sqrt(np.clip(self.omega2, 0.0, None))


def participation(vectors: np.ndarray) -> np.ndarray:
    """e = 1/(N Σ_j |Ψ_j|⁴) for each normalised mode of ``vectors`` (K, N, d)."""
    v = np.asarray(vectors, dtype=float)
    w = np.einsum("knd,knd->kn", v, v)  # |Ψ_j|²
    norm = w.sum(axis=1)
    return norm**2 / (v.shape[1] * np.einsum("kn,kn->k", w, w))


def interacting_hessian(conf: Configuration, ff: ForceField | None = None):
    """(H_a, active): the Hessian restricted to the interacting particles' degrees of
    freedom (CSC), and the (N,) mask of those particles (rattlers have empty rows)."""
    H = sp.csc_matrix(hessian(conf, ff))
    n, d = conf.N, conf.dim
    active = np.abs(H.diagonal().reshape(n, d)).sum(axis=1) > 0
    if not active.any():
        raise ValueError("no interacting particles: the Hessian is empty")
    dofs = (np.flatnonzero(active)[:, None] * d + np.arange(d)).ravel()
    return H[dofs][:, dofs].tocsc(), active


def default_shift(Ha: sp.spmatrix) -> float:
    """s = 10⁻⁶ × the mean diagonal of H_a: keeps H_a + sI well conditioned (its
    translation eigenvalue s is then ~10⁻⁶ of the typical stiffness) while far below
    the lowest non-zero ω² of any glass that fits in memory."""
    return 1e-6 * float(np.mean(Ha.diagonal()))


def lowest_modes(conf: Configuration, count: int, *, vectors: bool = False, shift: float | None = None,
                 tol: float = 0.0, ncv: int | None = None, seed: int = 0,
                 ff: ForceField | None = None) -> Modes:
    """The ``count`` lowest non-zero vibrational modes (module docstring)."""
    n, d = conf.N, conf.dim
    count = int(count)
    Ha, active = interacting_hessian(conf, ff)
    na = int(active.sum())
    ndof = Ha.shape[0]
    if count < 1:
        raise ValueError(f"--count must be at least 1, got {count}")
    if count > ndof - d - 1:
        raise ValueError(f"--count {count} is too large: the configuration has {ndof - d} non-zero modes "
                         f"({na} interacting particles in {d}D); ARPACK needs count < {ndof - d}")
    s = default_shift(Ha) if shift is None else float(shift)
    if not s > 0:
        raise ValueError(f"the shift must be positive, got {s}")
    solver = SPDSolver(Ha + s * sp.identity(ndof, format="csc"))
    calls = [0]

    def project(b):
        b = b.reshape(na, d)
        return (b - b.mean(axis=0)).ravel()

    def op(b):
        calls[0] += 1
        return project(solver(project(np.asarray(b, dtype=float).ravel())))

    A = LinearOperator((ndof, ndof), matvec=op, dtype=float)
    v0 = project(np.random.default_rng(seed).standard_normal(ndof))
    nu, vec = eigsh(A, k=count, which="LA", v0=v0, tol=tol,
                    ncv=ncv or min(ndof - d, max(2 * count + 1, count + 32)))
    order = np.argsort(-nu)
    nu, vec = nu[order], vec[:, order]
    omega2 = 1.0 / nu - s
    full = np.zeros((count, n, d))
    full[:, active, :] = vec.T.reshape(count, na, d)
    full /= np.linalg.norm(full.reshape(count, -1), axis=1)[:, None, None]
    e = participation(full)
    return Modes(omega2, e, full if vectors else None, active, s, calls[0])


def dense_modes(conf: Configuration, count: int, ff: ForceField | None = None) -> Modes:
    """The reference route: dense diagonalisation (LAPACK ``eigh``) of H_a, translations
    dropped as the d eigenvalues closest to zero. For tests and benchmarks (N ≲ 5000)."""
    n, d = conf.N, conf.dim
    Ha, active = interacting_hessian(conf, ff)
    w, v = np.linalg.eigh(Ha.toarray())
    na = int(active.sum())
    keep = np.sort(np.argsort(np.abs(w))[d:])[:count]
    full = np.zeros((len(keep), n, d))
    full[:, active, :] = v[:, keep].T.reshape(len(keep), na, d)
    return Modes(w[keep], participation(full), full, active, 0.0, 0)


def plane_wave_omega2(conf: Configuration, shear_modulus: float, n: int = 1) -> float:
    """ω² = (2π n / L)² μ / ρ of the n-th transverse plane wave of a square box of side L
    (ρ = N/V with unit masses): the continuum limit that the lowest modes approach."""
    L = float(conf.box.lengths[0])
    rho = conf.N / conf.box.volume
    return (2 * np.pi * n / L) ** 2 * shear_modulus / rho
