"""Packed Verlet lists of SWAP MC, built inside numba (paper App. A, ref. [60]).

See :mod:`glass2epm.prepare.swapmc` for when lists are rebuilt; the size classes use the
pair size λ_ij (:func:`glass2epm.core.model.pair_size`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from glass2epm.core.model import Model
from glass2epm.core.cells import cell_widths, fractional_coords
from glass2epm.core.neighbors import packed_lists

# Positions are wrapped into the cell at each list build and then move continuously
# (``SwapMC.xoff`` keeps the unwrapping offsets). Between builds the physical separation
# of a listed pair is therefore x_j − x_i + h·n_ij with a *constant* lattice vector n_ij
# (n_a ∈ {−1, 0, 1}), known from the cell search: it is stored with j as
# entry = j·32 + code(n_ij), code = Σ_a (n_a + 1)·3^a. No minimum image in the hot loop.
#
# Lists hold every partner within x_c λ_max + skin (the largest cutoff: swaps change
# λ_ij). Each particle's entries are grouped by their distance at the build, so that
# ``ends[i, m]`` ends the prefix of those closer than R_m + skin, where R_m = x_c ·
# max λ_ij over all partners j and all sizes λ_i in size class m (``_level_radii``).
# A pair of i within its cutoff now was within R_m + skin at the build (each pair has
# moved less than the skin in total, see the module docstring), so a move of i scans
# only the prefix for its size class: about 2/3 of the max-cutoff list in 2D.
#
# The builder itself is ``core.neighbors.packed_lists``: the one cell binning and cell
# stencil of the neighbour query, with this output format (packed entries, image codes,
# size-class prefixes). Measured against ``neighbors.VerletList(per_pair=False, full=True)``
# (the same pairs in CSR form): ≈ 2.4x faster at N = 10⁴ (cells of half the list range,
# images and size classes in one pass); it runs inside the trial loop, and the packed
# entries save the minimum-image arithmetic per candidate. Here: wrapping, the spatial
# re-sort and the size classes, which only SWAP MC needs.

_CODE_BITS = 5
_CODE_MASK = 31
N_LEVELS = 16
# λ, per dimension: the fastest at N = 10⁴ (2D lerner-poly2d T = 0.5, 3D richard2023 T = 3),
# trading longer lists against rebuilds (see bench/bench_swapmc.py)
DEFAULT_SKIN = {2: 1.0, 3: 1.3}


def image_shifts(h):
    """Shift vectors h·n for the 3^d image codes (code = Σ_a (n_a + 1)·3^a)."""
    h = np.asarray(h, dtype=float)
    d = h.shape[0]
    n = (np.arange(3**d)[:, None] // 3 ** np.arange(d)) % 3 - 1
    shifts = np.zeros((3**d, d))
    for a in range(d):  # summed over a in order, as h·n row by row
        shifts += n[:, a:a + 1] * h[:, a]
    return shifts


@njit(cache=True)
def _wrap_into_cell(x, xoff, h):
    """In place: x → its image in the primary cell, xoff += the lattice shift removed."""
    n, d = x.shape
    s = fractional_coords(x, h)
    for i in range(n):
        for a in range(d):
            f = math.floor(s[i, a])
            s[i, a] -= f
            if s[i, a] >= 1.0:
                s[i, a] -= 1.0
        for a in range(d):
            v = 0.0
            for b in range(a, d):
                v += h[a, b] * s[i, b]
            xoff[i, a] += x[i, a] - v
            x[i, a] = v
    return s


@njit(cache=True)
def _spatial_perm(s, w, cell):
    """Serpentine cell order of fractional positions s (cells of side ≈ ``cell`` λ)."""
    n, d = s.shape
    nc = np.empty(d, dtype=np.int64)
    for a in range(d):
        nc[a] = max(1, int(math.floor(w[a] / cell)))
    key = np.empty(n, dtype=np.int64)
    for i in range(n):
        k0 = min(int(s[i, 0] * nc[0]), nc[0] - 1)
        k1 = min(int(s[i, 1] * nc[1]), nc[1] - 1)
        if d == 2:
            col = k0 if k1 % 2 == 0 else nc[0] - 1 - k0
            key[i] = k1 * nc[0] + col
        else:
            k2 = min(int(s[i, 2] * nc[2]), nc[2] - 1)
            row = k1 if k2 % 2 == 0 else nc[1] - 1 - k1
            col = k0 if (k2 * nc[1] + row) % 2 == 0 else nc[0] - 1 - k0
            key[i] = (k2 * nc[1] + row) * nc[0] + col
    return np.argsort(key, kind="mergesort")


@njit(cache=True)
def _permute_rows(a, perm):
    b = a.copy()
    for i in range(perm.shape[0]):
        a[i] = b[perm[i]]


@njit(cache=True)
def _rebuild(x, xoff, sizes, x0, order, h, rlist, radii2, resort):
    """Wrap, optionally re-sort spatially (permuting all per-particle arrays), build lists.

    ``x0``: per-particle rows that follow the particles (time origins), permuted too.
    """
    s = _wrap_into_cell(x, xoff, h)
    if resort:
        perm = _spatial_perm(s, cell_widths(h), 2.0)
        _permute_rows(x, perm)
        _permute_rows(xoff, perm)
        _permute_rows(sizes, perm)
        _permute_rows(x0, perm)
        _permute_rows(order, perm)
    return packed_lists(x, h, rlist, radii2)


def _level_radii(model: Model, skin: float, n_levels: int = N_LEVELS):
    """(λ_lo, 1/Δλ, (R_m + skin)²): size classes of width Δλ on [λ_min, λ_max].

    R_m = x_c · max λ_ij (``Model.pair_size``) over partners λ_j ∈ [λ_min, λ_max] and λ_i in class m.
    For λ_j ≥ λ_i, λ_ij is maximal at λ_j = 1/(2 n_a) (clipped to the range); below λ_i it
    increases with λ_j. The maximum over λ_i in a class is taken on a fine grid plus a
    margin of the grid spacing times a bound on |∂λ_ij/∂λ_i| (≤ ½ + n_a λ_max).
    """
    lo, hi, na = model.lam_min, model.lam_max, model.na
    edges = np.linspace(lo, hi, n_levels + 1)
    r2 = np.empty(n_levels)
    for m in range(n_levels):
        li = np.linspace(edges[m], edges[m + 1], 65)
        cands = [np.full_like(li, hi), np.full_like(li, lo), np.clip(li, lo, hi)]
        if na > 0:
            cands.append(np.clip(np.full_like(li, 0.5 / na), np.clip(li, lo, hi), hi))
        best = np.max([model.pair_size(li, c) for c in cands], axis=0).max()
        lip = 0.5 + na * hi
        best = min(best + lip * (edges[1] - edges[0]) / 64, hi)  # never beyond the list cutoff
        r2[m] = (model.xc * best + skin) ** 2
    r2[-1] = (model.max_cutoff + skin) ** 2 * (1 + 1e-12)
    return float(lo), float(n_levels / (hi - lo)), r2


@njit(cache=True, inline="always")
def _level(lam, lo, inv_dl, nl):
    m = int((lam - lo) * inv_dl)
    return min(max(m, 0), nl - 1)
