"""Packed Verlet lists of SWAP MC, built inside numba (paper App. A, ref. [60]).

See :mod:`glass2epm.prepare.swapmc` for when lists are rebuilt; the size classes use the
pair size λ_ij (:func:`glass2epm.core.model.pair_size`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from glass2epm.core.model import Model

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
# Measured against ``neighbors.VerletList(per_pair=False, full=True)``: that list would
# do, but this builder (cells of half the list range, images and size classes in one
# pass) is ≈ 2.4x faster at N = 10⁴, runs inside the trial loop, and the packed
# entries save the minimum-image arithmetic per candidate. ``core.neighbors._cell_sort``
# is not reused for the cell sort either: it maps s·n_cell rounding up to n_cell (s just
# below 1) to cell 0 by a modulo, while the image codes here need the clamp to n_cell − 1,
# and it sorts by argsort where a counting sort suffices.

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
def _fractional(x, h):
    """s = h⁻¹ x (h upper triangular), by back substitution."""
    n, d = x.shape
    s = np.empty((n, d))
    for i in range(n):
        for a in range(d - 1, -1, -1):
            v = x[i, a]
            for b in range(a + 1, d):
                v -= h[a, b] * s[i, b]
            s[i, a] = v / h[a, a]
    return s


@njit(cache=True)
def _wrap_into_cell(x, xoff, h):
    """In place: x → its image in the primary cell, xoff += the lattice shift removed."""
    n, d = x.shape
    s = _fractional(x, h)
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
def _widths(h):
    """Perpendicular widths of the cell (distance between opposite faces)."""
    d = h.shape[0]
    hinv = np.linalg.inv(h)
    w = np.empty(d)
    for a in range(d):
        t = 0.0
        for b in range(d):
            t += hinv[a, b] * hinv[a, b]
        w[a] = 1.0 / math.sqrt(t)
    return w


@njit(cache=True)
def build_lists(x, h, rlist, radii2):
    """Packed full lists of all partners within ``rlist`` of wrapped positions x.

    Returns (start, ent, ends): i's entries are ent[start[i]:start[i+1]], grouped by
    size-class radius so that ends[i, m] ends a prefix holding exactly those with
    distance² < radii2[m] (radii2 increasing, its last value ≥ rlist²). ``rlist`` must
    be below half the smallest perpendicular width of the cell (one image per pair).
    Cells in fractional coordinates (valid for any tilt) of perpendicular width ≥ rlist/K
    with a (2K+1)^d stencil, K = 2 where the cell allows 5 cells per direction, else 1;
    cells too small for 3 per direction fall back to all pairs × all 3^d images.
    """
    n, d = x.shape
    nl = radii2.shape[0]
    s = _fractional(x, h)
    w = _widths(h)
    ncell = np.ones(3, dtype=np.int64)
    K = 2
    for a in range(d):
        if int(math.floor(K * w[a] / rlist)) < 2 * K + 1:
            K = 1
    for a in range(d):
        if int(math.floor(w[a] / rlist)) < 3:
            K = 0
    for a in range(d):
        ncell[a] = int(math.floor(K * w[a] / rlist)) if K > 0 else 1
    ntot = ncell[0] * ncell[1] * ncell[2]
    span = 2 * max(K, 1) + 1
    noff = span**d
    # particles sorted by cell
    cid = np.zeros(n, dtype=np.int64)
    cstart = np.zeros(ntot + 1, dtype=np.int64)
    for i in range(n):
        c = 0
        for a in range(d - 1, -1, -1):
            k = min(int(s[i, a] * ncell[a]), ncell[a] - 1)
            c = c * ncell[a] + k
        cid[i] = c
        cstart[c + 1] += 1
    for c in range(ntot):
        cstart[c + 1] += cstart[c]
    fill = cstart[:-1].copy()
    cperm = np.empty(n, dtype=np.int64)
    for i in range(n):
        cperm[fill[cid[i]]] = i
        fill[cid[i]] += 1
    sc = np.zeros((n, 3))  # fractional positions in cell order (contiguous scans)
    for q in range(n):
        for a in range(d):
            sc[q, a] = s[cperm[q], a]
    # for each cell, its stencil cells with the lattice image they are seen through
    ncl = np.empty((ntot, noff), dtype=np.int64)
    nco = np.empty((ntot, noff), dtype=np.int64)
    nim = np.zeros((ntot, noff, 3))
    for c in range(ntot):
        k0 = c % ncell[0]
        k1 = (c // ncell[0]) % ncell[1]
        k2 = c // (ncell[0] * ncell[1])
        kk = (k0, k1, k2)
        for o in range(noff):
            oo = o
            cc = 0
            mul = 1
            code = 0
            m3 = 1
            for a in range(d):
                off = oo % span - (span - 1) // 2
                oo //= span
                k = kk[a] + off
                img = 0
                if K > 0:
                    if k < 0:
                        k += ncell[a]
                        img = -1
                    elif k >= ncell[a]:
                        k -= ncell[a]
                        img = 1
                else:
                    k = 0
                    img = off
                cc += k * mul
                mul *= ncell[a]
                nim[c, o, a] = img
                code += (img + 1) * m3
                m3 *= 3
            ncl[c, o] = cc
            nco[c, o] = code
    # capacities: no reallocation inside the loops
    bcap = 1
    etot = 0
    for c in range(ntot):
        m = 0
        for o in range(noff):
            cc = ncl[c, o]
            m += cstart[cc + 1] - cstart[cc]
        bcap = max(bcap, m)
        etot += m * (cstart[c + 1] - cstart[c])
    ent = np.empty(etot, dtype=np.int32)
    bj = np.empty(bcap, dtype=np.int64)
    bb = np.empty(bcap, dtype=np.int64)
    nb = np.zeros(nl + 1, dtype=np.int64)
    start = np.zeros(n + 1, dtype=np.int64)
    ends = np.empty((n, nl), dtype=np.int64)
    rl2 = rlist * rlist
    center = (3**d - 1) // 2
    h00 = h[0, 0]
    h01 = h[0, 1]
    h11 = h[1, 1]
    h02 = h[0, 2] if d == 3 else 0.0
    h12 = h[1, 2] if d == 3 else 0.0
    h22 = h[2, 2] if d == 3 else 0.0
    pos = 0
    for i in range(n):
        ci = cid[i]
        cnt = 0
        si0 = s[i, 0]
        si1 = s[i, 1]
        si2 = s[i, 2] if d == 3 else 0.0
        nb[:] = 0
        for o in range(noff):
            cc = ncl[ci, o]
            code = nco[ci, o]
            n0 = nim[ci, o, 0] - si0
            n1 = nim[ci, o, 1] - si1
            n2 = nim[ci, o, 2] - si2
            for q in range(cstart[cc], cstart[cc + 1]):
                d0 = sc[q, 0] + n0
                d1 = sc[q, 1] + n1
                if d == 2:
                    v0 = h00 * d0 + h01 * d1
                    v1 = h11 * d1
                    r2 = v0 * v0 + v1 * v1
                else:
                    d2 = sc[q, 2] + n2
                    v0 = h00 * d0 + h01 * d1 + h02 * d2
                    v1 = h11 * d1 + h12 * d2
                    v2 = h22 * d2
                    r2 = v0 * v0 + v1 * v1 + v2 * v2
                if r2 < rl2:
                    j = cperm[q]
                    if j == i and code == center:
                        continue
                    # size-class bucket: the first m with r2 < radii2[m] (branch-free count)
                    lo = 0
                    for m in range(nl - 1):
                        lo += r2 >= radii2[m]
                    bj[cnt] = j * 32 + code
                    bb[cnt] = lo
                    nb[lo + 1] += 1
                    cnt += 1
        # counting sort by bucket; prefix m ends after buckets 0..m
        for m in range(nl):
            nb[m + 1] += nb[m]
            ends[i, m] = pos + nb[m + 1]
        for p in range(cnt):
            b = bb[p]
            ent[pos + nb[b]] = np.int32(bj[p])
            nb[b] += 1
        pos += cnt
        start[i + 1] = pos
    return start, ent[:pos].copy(), ends


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
        perm = _spatial_perm(s, _widths(h), 2.0)
        _permute_rows(x, perm)
        _permute_rows(xoff, perm)
        _permute_rows(sizes, perm)
        _permute_rows(x0, perm)
        _permute_rows(order, perm)
    return build_lists(x, h, rlist, radii2)


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
