"""Named state of the batched cavity-expansion kernels (:mod:`glass2epm.yieldstress.bond`,
:mod:`glass2epm.yieldstress.bond2d`): named tuples of arrays, which numba passes to
``@njit(cache=True)`` kernels field by field (no copy, same code as separate arguments)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np


class PairTable(NamedTuple):
    """The site-independent pair table of the whole configuration.

    ``x`` (N, d) positions, ``h`` the cell; ``istart, ipair, iother`` / ``jstart, jpair,
    jother``: CSR incidence of each particle as the i / j end of a pair
    (:func:`glass2epm.yieldstress.bond._incidence`); ``pdata`` (P, 3d+4): per pair x_ι,
    A·x_ι, H·(A x)_ι (Eq. B7) and the prefactors (first)..(fourth)
    (:func:`glass2epm.yieldstress.bond._pair_rows`); ``hdiag`` (N, 3): each particle's
    diagonal 2×2 Hessian block in 2D (zeros in 3D)."""

    x: np.ndarray
    h: np.ndarray
    istart: np.ndarray
    ipair: np.ndarray
    iother: np.ndarray
    jstart: np.ndarray
    jpair: np.ndarray
    jother: np.ndarray
    pdata: np.ndarray
    hdiag: np.ndarray


class Cavities(NamedTuple):
    """The sites (particle indices) and their free lists in CSR form: the free particles
    of site t are ``fidx[fstart[t]:fstart[t + 1]]``
    (:func:`glass2epm.yieldstress.cavity.free_sets`)."""

    sites: np.ndarray
    fstart: np.ndarray
    fidx: np.ndarray


class BondWork(NamedTuple):
    """Work arrays of one block of sites (reused site after site).

    Gathering (:func:`glass2epm.yieldstress.bond._site_bonds`): ``mark`` (N,) −1 outside
    the current cavity, ``key, order, count`` for the ordering along x, ``glob`` (local →
    particle), ``firstp`` (envelope start per free particle); per bond: ``li, lj``
    (local ends, −1 frozen), ``gi, gj`` (the same with the zero slot), ``w`` (weight),
    ``pid`` (pair), ``bd`` (its pair row, one column per bond). 2D path
    (:func:`glass2epm.yieldstress.bond2d._site_expansion2`): ``wk`` (8, bonds) per-bond
    work rows, block-envelope layout ``fb, fd, bptr``, ``touched``, ``dinv``, the solution
    vector ``u`` and ``out`` (4,), the observable and its derivatives."""

    mark: np.ndarray
    key: np.ndarray
    order: np.ndarray
    count: np.ndarray
    glob: np.ndarray
    firstp: np.ndarray
    li: np.ndarray
    lj: np.ndarray
    gi: np.ndarray
    gj: np.ndarray
    w: np.ndarray
    pid: np.ndarray
    bd: np.ndarray
    wk: np.ndarray
    fb: np.ndarray
    fd: np.ndarray
    bptr: np.ndarray
    touched: np.ndarray
    dinv: np.ndarray
    u: np.ndarray
    out: np.ndarray


class FrozenModel(NamedTuple):
    """The pair potential of the frozen-matrix kernels (:mod:`glass2epm.yieldstress.frozen`):
    β, the polynomial coefficients, the reduced cutoff x_c and the non-additivity n_a
    (Eq. A4) of :class:`glass2epm.core.model.Model`."""

    beta: float
    coeffs: np.ndarray
    xc: float
    na: float


class FrozenProtocol(NamedTuple):
    """The frozen-matrix AQS protocol of one cavity: generator ``A``, stress selector
    ``B``, cavity volume ``VR`` and tr A (V_R(γ) = V_R e^{γ trA}), strain ``step`` Δγ,
    at most ``nmax`` steps, ``drop_tol`` (ε/λ^d) and ``ftol`` (max|F|, ε/λ)."""

    A: np.ndarray
    B: np.ndarray
    VR: float
    trA: float
    step: float
    nmax: int
    drop_tol: float
    ftol: float


@dataclass
class FrozenCurve:
    """Cavity stress against strain for one site and direction."""

    strain: np.ndarray
    stress: np.ndarray
    yielded: bool
    sigma_y: float
    gamma_y: float
    steps: int
    extra: dict = field(default_factory=dict)
