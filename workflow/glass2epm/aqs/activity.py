"""Falk–Langer D²_min non-affine activity between AQS snapshots (paper Sec. V B, Fig. 6).

Units: length λ (smallest particle size); D²_min in λ²; strains dimensionless.

D²_min of particle i between a reference snapshot (x⁰, h⁰) and a current one
(x¹, h¹) is (Falk & Langer, Phys. Rev. E 57, 7192 (1998), the paper's Ref. [17])::

    D²_min,i = (1/n_i) min_J Σ_{j ∈ N_i} | d¹_ij − J d⁰_ij |²           (normalize="mean")

with N_i the n_i neighbours of i within ``rcut`` *in the reference configuration*
and J the best-fit local deformation gradient, J_i = X Y⁻¹, X = Σ d¹ d⁰ᵀ,
Y = Σ d⁰ d⁰ᵀ. The paper calls a particle active when D²_min > 0.01 within a window
of 1 % strain.

Normalisation. Falk & Langer's definition (and OVITO's "Atomic strain" modifier,
matscipy's ``atomic_strain``) is the plain sum over neighbours (``normalize="sum"``).
Many AQS/yielding studies divide by the neighbour count so that D²_min is the
mean squared non-affine relative displacement of the neighbourhood, a quantity
that does not grow with the cutoff or the coordination; a threshold such as 0.01 λ²
(an rms non-affine relative displacement of 0.1 λ) then has a meaning that does
not depend on ``rcut`` or on the dimension. The default here is that per-neighbour
mean (``normalize="mean"``); ``"sum"`` gives the original Falk–Langer number
(≈ n_i times larger, n_i ≈ 20 at the default cutoff).

Default cutoff. ``rcut = 2.5 a`` with a = (N/V)^{-1/d} the mean interparticle
distance (Falk & Langer's 2.5 particle diameters; a ≈ 1.24 λ in 2D at N/V = 0.65,
so rcut ≈ 3.1 λ and n_i ≈ 20 neighbours).

Periodic images (Lees–Edwards aware). In the reference, d⁰_ij is the minimum
image of x⁰_j − x⁰_i in h⁰. In the current snapshot the *same* periodic image
must be used, whatever happened in between: particles may have been wrapped
back into the cell, and the cell tilt may have been reduced by a lattice vector
(:func:`glass2epm.core.box.reduce_tilt` keeps tilts in [−½, ½) of the side, so a
Lees–Edwards cell at γ = 0.505 is stored with tilt −0.495 L). We define::

    d¹_ij = h¹ (s¹_j − s¹_i + n_ij),   n_ij ∈ ℤ^d chosen so that d¹_ij is closest to F d⁰_ij,

with F the affine map of the cell between the snapshots. F = h¹' (h⁰)⁻¹ where h¹'
is the cell lattice-equivalent to h¹ (h¹' = h¹ M, M unimodular integer) whose
tilt ratios are closest to those of h⁰ (:func:`matched_cell`); this undoes a tilt
reduction that happened between the snapshots, as long as the tilt changed by less
than half a side (any AQS window of a few % does). An explicit ``affine=F`` can be
passed instead (e.g. D(Δγ) of Eq. 1 for a step of known strain). In practice
d¹ = F d⁰ + minimg_{h¹}((x¹_j − x¹_i) − F d⁰), which is the right image whenever
the non-affine part of the relative motion, |d¹ − F d⁰|, is below half the smallest
perpendicular width of the cell: an error in F of order |δF| rcut is tolerated
too, so the image choice is robust. F is used only for the image choice: J is
fitted freely per particle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
from numba import njit

from glass2epm.core.box import Box, min_image_2d, min_image_3d
from glass2epm.core.io import read_table, write_table
from glass2epm.core.neighbors import _all_pairs, _build
from glass2epm.core.schemas import D2MIN_ACTIVITY

DEFAULT_THRESHOLD = 0.01  # λ², paper Sec. V B (per 1 % strain window)
DEFAULT_RCUT_FACTOR = 2.5  # rcut = 2.5 (N/V)^{-1/d}
NORMALIZATIONS = ("mean", "sum")


# ----------------------------------------------------------------------------
# neighbour list with an arbitrary cutoff


def default_rcut(n: int, box: Box, factor: float = DEFAULT_RCUT_FACTOR) -> float:
    """``factor`` × mean interparticle distance (N/V)^{-1/d}, in λ."""
    return float(factor * (box.volume / n) ** (1.0 / box.dim))


def neighbour_list(x: np.ndarray, box: Box, rcut: float) -> tuple[np.ndarray, np.ndarray]:
    """Full CSR list (start, nbr) of all pairs with minimum-image distance < rcut.

    Uses the core's neighbour query (the cell-list kernels of :mod:`glass2epm.core.neighbors`,
    no private copy) with a plain distance
    cutoff (no per-pair sizes, no skin). Raises ValueError when rcut is not below
    half the smallest perpendicular width of the cell (minimum image not unique).
    """
    x = np.ascontiguousarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != box.dim:
        raise ValueError(f"positions have shape {x.shape}, expected (N, {box.dim})")
    rcut = float(rcut)
    if not rcut > 0:
        raise ValueError(f"rcut must be positive, got {rcut}")
    half = 0.5 * box.perpendicular_widths().min()
    if rcut >= half:
        raise ValueError(
            f"D2min cutoff rcut = {rcut:.3f} λ must be below half the cell width {half:.3f} λ"
        )
    h = box.h
    s = np.linalg.solve(h, x.T).T
    s -= np.floor(s)
    ncell = np.maximum(1, np.floor(box.perpendicular_widths() / rcut)).astype(np.int64)
    sizes = np.ones(x.shape[0])
    if np.all(ncell >= 3):
        return _build(x, sizes, h, s, ncell, rcut, 0.0, 1.0, 0.0, False, True)
    return _all_pairs(x, sizes, h, rcut, 0.0, 1.0, 0.0, False, True)


# ----------------------------------------------------------------------------
# D²min


def matched_cell(h1: np.ndarray, h0: np.ndarray) -> np.ndarray:
    """The cell lattice-equivalent to ``h1`` whose tilt ratios are closest to ``h0``'s.

    Inverse of :func:`glass2epm.core.box.reduce_tilt` relative to a reference: shifts
    each tilt column of h1 by integer multiples of the earlier cell vectors so that
    h1[r, c]/h1[r, r] lies within ½ of h0[r, c]/h0[r, r]. Same lattice as h1, so
    the same periodic system; F = matched_cell(h1, h0) @ inv(h0) is then the affine
    map of the cell between the two snapshots.
    """
    h = np.array(h1, dtype=float)
    h0 = np.asarray(h0, dtype=float)
    d = h.shape[0]
    for col in range(d - 1, 0, -1):
        for row in range(col - 1, -1, -1):
            n = np.round(h[row, col] / h[row, row] - h0[row, col] / h0[row, row])
            if n != 0:
                h[:, col] -= n * h[:, row]
    return h


@njit(cache=True)
def _d2min_kernel(x0, h0, x1, h1, F, start, nbr, mean):
    """Per particle: D²min (the definition of Sec. V B), best-fit J (Falk–Langer) and neighbour count.

    D²min is NaN (and J NaN) when the neighbourhood does not span d dimensions.
    """
    n, d = x0.shape
    D2 = np.empty(n)
    J = np.full((n, d, d), np.nan)
    nn = np.zeros(n, dtype=np.int64)
    maxnb = 0
    for i in range(n):
        m = start[i + 1] - start[i]
        if m > maxnb:
            maxnb = m
    a0 = np.empty((maxnb, d))
    a1 = np.empty((maxnb, d))
    X = np.empty((d, d))
    Y = np.empty((d, d))
    Yi = np.empty((d, d))
    Ji = np.empty((d, d))
    fa = np.empty(d)
    for i in range(n):
        k0 = start[i]
        m = start[i + 1] - k0
        nn[i] = m
        for k in range(m):
            j = nbr[k0 + k]
            if d == 2:
                u, v = min_image_2d(x0[j, 0] - x0[i, 0], x0[j, 1] - x0[i, 1], h0)
                a0[k, 0] = u
                a0[k, 1] = v
            else:
                u, v, w = min_image_3d(x0[j, 0] - x0[i, 0], x0[j, 1] - x0[i, 1], x0[j, 2] - x0[i, 2], h0)
                a0[k, 0] = u
                a0[k, 1] = v
                a0[k, 2] = w
            for p in range(d):
                t = 0.0
                for q in range(d):
                    t += F[p, q] * a0[k, q]
                fa[p] = t
            # same periodic image: closest to the affinely mapped reference separation
            if d == 2:
                u, v = min_image_2d(x1[j, 0] - x1[i, 0] - fa[0], x1[j, 1] - x1[i, 1] - fa[1], h1)
                a1[k, 0] = fa[0] + u
                a1[k, 1] = fa[1] + v
            else:
                u, v, w = min_image_3d(
                    x1[j, 0] - x1[i, 0] - fa[0], x1[j, 1] - x1[i, 1] - fa[1], x1[j, 2] - x1[i, 2] - fa[2], h1
                )
                a1[k, 0] = fa[0] + u
                a1[k, 1] = fa[1] + v
                a1[k, 2] = fa[2] + w
        X[:, :] = 0.0
        Y[:, :] = 0.0
        for k in range(m):
            for p in range(d):
                for q in range(d):
                    X[p, q] += a1[k, p] * a0[k, q]
                    Y[p, q] += a0[k, p] * a0[k, q]
        # inverse of the symmetric d×d matrix Y by cofactors
        tr = 0.0
        for p in range(d):
            tr += Y[p, p]
        if d == 2:
            det = Y[0, 0] * Y[1, 1] - Y[0, 1] * Y[1, 0]
            if m < d or not det > 1e-10 * (tr / d) ** 2:
                D2[i] = np.nan
                continue
            Yi[0, 0] = Y[1, 1] / det
            Yi[1, 1] = Y[0, 0] / det
            Yi[0, 1] = -Y[0, 1] / det
            Yi[1, 0] = -Y[1, 0] / det
        else:
            c00 = Y[1, 1] * Y[2, 2] - Y[1, 2] * Y[2, 1]
            c01 = Y[1, 2] * Y[2, 0] - Y[1, 0] * Y[2, 2]
            c02 = Y[1, 0] * Y[2, 1] - Y[1, 1] * Y[2, 0]
            det = Y[0, 0] * c00 + Y[0, 1] * c01 + Y[0, 2] * c02
            if m < d or not det > 1e-10 * (tr / d) ** 3:
                D2[i] = np.nan
                continue
            Yi[0, 0] = c00 / det
            Yi[1, 0] = c01 / det
            Yi[2, 0] = c02 / det
            Yi[0, 1] = (Y[0, 2] * Y[2, 1] - Y[0, 1] * Y[2, 2]) / det
            Yi[1, 1] = (Y[0, 0] * Y[2, 2] - Y[0, 2] * Y[2, 0]) / det
            Yi[2, 1] = (Y[0, 1] * Y[2, 0] - Y[0, 0] * Y[2, 1]) / det
            Yi[0, 2] = (Y[0, 1] * Y[1, 2] - Y[0, 2] * Y[1, 1]) / det
            Yi[1, 2] = (Y[0, 2] * Y[1, 0] - Y[0, 0] * Y[1, 2]) / det
            Yi[2, 2] = (Y[0, 0] * Y[1, 1] - Y[0, 1] * Y[1, 0]) / det
        for p in range(d):
            for q in range(d):
                t = 0.0
                for r in range(d):
                    t += X[p, r] * Yi[r, q]
                Ji[p, q] = t
                J[i, p, q] = t
        # residual computed explicitly (not as tr(X Y⁻¹ Xᵀ) differences): exact zeros stay ~1e-30
        res = 0.0
        for k in range(m):
            for p in range(d):
                t = a1[k, p]
                for q in range(d):
                    t -= Ji[p, q] * a0[k, q]
                res += t * t
        D2[i] = res / m if mean else res
    return D2, J, nn


def _as_box(box) -> Box:
    return box if isinstance(box, Box) else Box(np.asarray(box, dtype=float))


def d2min(
    x0: np.ndarray,
    box0: Box,
    x1: np.ndarray,
    box1: Box,
    rcut: float | None = None,
    *,
    normalize: str = "mean",
    affine: np.ndarray | None = None,
    neighbors: tuple[np.ndarray, np.ndarray] | None = None,
    return_counts: bool = False,
):
    """Falk–Langer D²min (paper Sec. V B) of every particle between (x0, box0) and (x1, box1).

    Parameters
    ----------
    x0, x1 : (N, d) positions in λ, same particle order; wrapped or not.
    box0, box1 : reference and current cells (Lees–Edwards tilt allowed, tilts
        may differ by a reduction; see the module docstring).
    rcut : neighbour cutoff in λ, applied in the reference; default
        2.5 (N/V₀)^{-1/d} (:func:`default_rcut`).
    normalize : ``"mean"`` (default; divide by the neighbour count n_i) or
        ``"sum"`` (Falk & Langer's original unnormalised sum).
    affine : optional d×d affine map F of the cell between the snapshots, used
        to select periodic images; default ``matched_cell(h1, h0) @ inv(h0)``.
    neighbors : optional precomputed full CSR list (start, nbr) of the reference.
    return_counts : also return the neighbour counts n_i.

    Returns
    -------
    D2 : (N,) D²min in λ² (NaN for a particle whose neighbours do not span d
        dimensions, e.g. fewer than d of them).
    J : (N, d, d) best-fit local deformation gradients (d¹ ≈ J d⁰).
    n_i : (N,) neighbour counts, only with ``return_counts=True``.
    """
    box0 = _as_box(box0)
    box1 = _as_box(box1)
    x0 = np.ascontiguousarray(x0, dtype=float)
    x1 = np.ascontiguousarray(x1, dtype=float)
    if x0.shape != x1.shape:
        raise ValueError(f"reference and current positions differ in shape: {x0.shape} vs {x1.shape}")
    if x0.ndim != 2 or x0.shape[1] not in (2, 3):
        raise ValueError(f"positions must have shape (N, 2) or (N, 3), got {x0.shape}")
    d = x0.shape[1]
    if box0.dim != d or box1.dim != d:
        raise ValueError(f"dimension mismatch: positions {d}D, boxes {box0.dim}D and {box1.dim}D")
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {NORMALIZATIONS}, got {normalize!r}")
    if rcut is None:
        rcut = default_rcut(x0.shape[0], box0)
    if affine is None:
        F = matched_cell(box1.h, box0.h) @ np.linalg.inv(box0.h)
    else:
        F = np.ascontiguousarray(affine, dtype=float)
        if F.shape != (d, d):
            raise ValueError(f"affine map must be {d}x{d}, got shape {F.shape}")
    if neighbors is None:
        start, nbr = neighbour_list(x0, box0, rcut)
    else:
        start, nbr = (np.ascontiguousarray(a, dtype=np.int64) for a in neighbors)
        if start.shape != (x0.shape[0] + 1,):
            raise ValueError(f"neighbour list start has shape {start.shape}, expected ({x0.shape[0] + 1},)")
    D2, J, nn = _d2min_kernel(x0, box0.h, x1, box1.h, F, start, nbr, normalize == "mean")
    if return_counts:
        return D2, J, nn
    return D2, J


# ----------------------------------------------------------------------------
# activity over a sequence of snapshots


@njit(cache=True)
def _accumulate(d2_windows, end_strains, threshold):
    """Active flags, counts and first-activity strain from per-window D²min (K, N)."""
    K, n = d2_windows.shape
    active = np.zeros((K, n), dtype=np.bool_)
    count = np.zeros(n, dtype=np.int64)
    first = np.full(n, np.nan)
    for k in range(K):
        for i in range(n):
            if d2_windows[k, i] > threshold:  # NaN compares False: never active
                active[k, i] = True
                count[i] += 1
                if count[i] == 1:
                    first[i] = end_strains[k]
    return active, count, first


def activity_from_d2min(d2_windows, end_strains, threshold: float = DEFAULT_THRESHOLD):
    """Bookkeeping of activity from per-window D²min values.

    ``d2_windows`` is (K, N) (window k = snapshot k → k+1), ``end_strains`` (K,)
    the strain at the end of each window. Returns (active (K, N) bool, n_active
    (N,) int, first_active_strain (N,) float: end strain of the first window in
    which D²min > threshold, NaN if never).
    """
    d2 = np.ascontiguousarray(np.atleast_2d(d2_windows), dtype=float)
    g = np.ascontiguousarray(end_strains, dtype=float)
    if g.shape != (d2.shape[0],):
        raise ValueError(f"need one end strain per window: {d2.shape[0]} windows, strains {g.shape}")
    return _accumulate(d2, g, float(threshold))


@dataclass
class ActivityResult:
    """Plastic activity of each particle over a sequence of AQS snapshots.

    Window k goes from snapshot k to k+1 (strains ``strains[k]`` → ``strains[k+1]``).
    A particle is active in window k when D²min > ``threshold`` (λ²).
    ``first_active_strain`` is the *end* strain of the first active window (the
    rearrangement happened in (γ_k, γ_{k+1}]), NaN if never active, so "active
    within γ ≤ γ_max" is ``first_active_strain <= γ_max``.
    """

    x_ref: np.ndarray
    box_ref: Box
    x_last: np.ndarray
    box_last: Box
    strains: np.ndarray
    n_active: np.ndarray
    first_active_strain: np.ndarray
    active: np.ndarray
    d2min_last: np.ndarray
    d2min_max: np.ndarray
    n_neighbors: np.ndarray
    threshold: float
    rcut: float
    normalize: str
    d2min: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def n_windows(self) -> int:
        return self.active.shape[0]

    def active_until(self, strain: float) -> np.ndarray:
        """Particles active in some window ending at strain ≤ ``strain`` (bool (N,))."""
        return self.first_active_strain <= strain

    def count_until(self, strain: float) -> np.ndarray:
        """Number of active windows ending at strain ≤ ``strain`` (int (N,))."""
        sel = self.strains[1:] <= strain
        return self.active[sel].sum(axis=0).astype(np.int64)


def _snapshot(item):
    """(strain, x, box) from a tuple or an io.Configuration."""
    if hasattr(item, "x") and hasattr(item, "box"):
        strain = (item.strain or {}).get("gamma")
        if strain is None:
            raise ValueError("configuration has no strain['gamma'] for activity bookkeeping")
        return float(strain), np.asarray(item.x, dtype=float), item.box
    try:
        strain, x, box = item
    except (TypeError, ValueError):
        raise ValueError("snapshots must be (strain, x, box) tuples or Configurations") from None
    return float(strain), np.asarray(x, dtype=float), _as_box(box)


def accumulate_activity(
    snapshots: Iterable,
    rcut: float | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    normalize: str = "mean",
    strain_max: float | None = None,
    keep_d2min: bool = False,
) -> ActivityResult:
    """Accumulate D²min activity over consecutive windows of a snapshot sequence.

    Parameters
    ----------
    snapshots : iterable of (strain, x, box) or :class:`glass2epm.core.io.Configuration`
        (strain from ``conf.strain["gamma"]``), in loading order; the paper uses a
        snapshot every 1 % of strain (Sec. V B). Consumed lazily: only two
        snapshots are held at a time.
    rcut : D²min neighbour cutoff in λ (default 2.5 (N/V)^{-1/d} of the first snapshot).
    threshold : D²min threshold in λ² (default 0.01, paper Sec. V B).
    normalize : ``"mean"`` (default) or ``"sum"``, see :func:`d2min`.
    strain_max : stop after the last window ending at strain ≤ strain_max
        (the paper's γ < 12 % map); default: all windows.
    keep_d2min : keep the (K, N) per-window D²min array.
    """
    it = iter(snapshots)
    try:
        g_prev, x_prev, b_prev = _snapshot(next(it))
    except StopIteration:
        raise ValueError("accumulate_activity needs at least two snapshots, got none") from None
    x_ref, b_ref = x_prev.copy(), b_prev
    if rcut is None:
        rcut = default_rcut(x_prev.shape[0], b_prev)
    strains = [g_prev]
    d2_list = []
    nn_ref = None
    for item in it:
        g, x, b = _snapshot(item)
        if strain_max is not None and g > strain_max:
            break
        if x.shape != x_prev.shape:
            raise ValueError(f"snapshot at strain {g}: positions {x.shape}, expected {x_prev.shape}")
        D2, _, nn = d2min(x_prev, b_prev, x, b, rcut, normalize=normalize, return_counts=True)
        if nn_ref is None:
            nn_ref = nn
        d2_list.append(D2)
        strains.append(g)
        g_prev, x_prev, b_prev = g, x, b
    if not d2_list:
        raise ValueError("accumulate_activity needs at least two snapshots (one strain window)")
    d2w = np.stack(d2_list)
    strains = np.array(strains)
    active, count, first = activity_from_d2min(d2w, strains[1:], threshold)
    d2max = np.full(d2w.shape[1], np.nan)
    ok = ~np.all(np.isnan(d2w), axis=0)
    d2max[ok] = np.nanmax(d2w[:, ok], axis=0)
    return ActivityResult(
        x_ref=x_ref,
        box_ref=b_ref,
        x_last=x_prev.copy(),
        box_last=b_prev,
        strains=strains,
        n_active=count,
        first_active_strain=first,
        active=active,
        d2min_last=d2w[-1].copy(),
        d2min_max=d2max,
        n_neighbors=nn_ref,
        threshold=float(threshold),
        rcut=float(rcut),
        normalize=normalize,
        d2min=d2w if keep_d2min else None,
    )


# ----------------------------------------------------------------------------
# I/O


def write_activity(
    path,
    result: ActivityResult,
    *,
    positions: str = "reference",
    model=None,
    seed: int | None = None,
    provenance: dict | None = None,
    extra: dict | None = None,
) -> Path:
    """Write an :class:`ActivityResult` as a ``d2min_activity`` Parquet table.

    ``positions="reference"`` (default) writes the first snapshot's positions and
    cell; ``"last"`` the last snapshot's (the strained configuration, as drawn in
    Fig. 6). Columns: x, y[, z] (λ), activity (count), first_active_strain, d2min_last,
    d2min_max (λ²), n_neighbors. Metadata ``extra`` records threshold, rcut,
    normalisation and the snapshot strains; ``strain`` the strain range.
    """
    if positions == "reference":
        x, box = result.x_ref, result.box_ref
    elif positions == "last":
        x, box = result.x_last, result.box_last
    else:
        raise ValueError(f"positions must be 'reference' or 'last', got {positions!r}")
    d = x.shape[1]
    cols = {"xyz"[a]: x[:, a] for a in range(d)}
    cols.update(
        activity=result.n_active.astype(np.int64),
        first_active_strain=result.first_active_strain,
        d2min_last=result.d2min_last,
        d2min_max=result.d2min_max,
        n_neighbors=result.n_neighbors.astype(np.int64),
    )
    info = {
        "threshold": result.threshold,
        "rcut": result.rcut,
        "normalize": result.normalize,
        "strains": result.strains,
        "positions": positions,
        "n_windows": result.n_windows,
        **(extra or {}),
    }
    strain = {"gamma_start": float(result.strains[0]), "gamma_end": float(result.strains[-1])}
    return write_table(path, D2MIN_ACTIVITY, cols, model=model, box=box, strain=strain, seed=seed,
                       provenance=provenance, extra=info)


def read_activity(path):
    """Read a ``d2min_activity`` table (an :class:`glass2epm.core.io.Table`)."""
    return read_table(path, D2MIN_ACTIVITY)
