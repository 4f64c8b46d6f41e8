"""Cells: the one place particles are put into cells (paper-independent geometry).

A cell of the periodic box h (upper triangular, columns the cell vectors; Lees–Edwards
through the tilt) is a box of fractional coordinates s = h⁻¹x ∈ [0, 1)^d; ``ncell[a]``
cells along axis a, axis 0 fastest in the flat cell index. Everything that bins
particles — the cell lists, Verlet lists and point queries of
:mod:`glass2epm.core.neighbors`, SWAP MC's packed lists — uses :func:`cell_coord` /
:func:`bin_by_cell` and the one stencil :func:`cell_stencil` from here.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def cell_coord(f, n):
    """Cell index along one axis of a wrapped fractional coordinate f ∈ [0, 1] over n
    cells: ⌊f n⌋, with an f n that rounds up to n (f just below 1) clamped to n − 1,
    the cell that holds the point geometrically."""
    k = int(f * n)
    return k if k < n else n - 1


@njit(cache=True, inline="always")
def point_cell(p, hinv, ncell, a):
    """Cell index along axis a of the point p: its fractional coordinate (h⁻¹p)_a, wrapped
    into [0, 1], through :func:`cell_coord`."""
    s = 0.0
    for b in range(p.shape[0]):
        s += hinv[a, b] * p[b]
    return cell_coord(s - np.floor(s), ncell[a])


@njit(cache=True)
def fractional_coords(x, h):
    """s = h⁻¹ x for an upper-triangular cell h, by back substitution (N, d)."""
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
def cell_widths(h):
    """Perpendicular widths of the cell h (distance between opposite faces), λ."""
    d = h.shape[0]
    hinv = np.linalg.inv(h)
    w = np.empty(d)
    for a in range(d):
        t = 0.0
        for b in range(d):
            t += hinv[a, b] * hinv[a, b]
        w[a] = 1.0 / np.sqrt(t)
    return w


@njit(cache=True)
def _cell_starts(cid, ncell):
    """CSR offsets of the cells (``ncell`` per axis) over particles with cell indices cid."""
    ntot = 1
    for a in range(ncell.shape[0]):
        ntot *= ncell[a]
    cstart = np.zeros(ntot + 1, dtype=np.int64)
    for i in range(cid.shape[0]):
        cstart[cid[i] + 1] += 1
    for c in range(ntot):
        cstart[c + 1] += cstart[c]
    return cstart


@njit(cache=True)
def bin_by_cell(s, ncell):
    """Particles of wrapped fractional coordinates s into ``ncell`` cells per axis
    (axis 0 fastest): (cid, order, cstart) with cid the cell of each particle and the
    particles of cell c ``order[cstart[c]:cstart[c+1]]``, by index within a cell (a
    stable counting sort)."""
    n, d = s.shape
    cid = np.empty(n, dtype=np.int64)
    for i in range(n):
        c = 0
        for a in range(d - 1, -1, -1):
            c = c * ncell[a] + cell_coord(s[i, a], ncell[a])
        cid[i] = c
    order, cstart = _counting_sort(cid, ncell)
    return cid, order, cstart


@njit(cache=True)
def _counting_sort(cid, ncell):
    """Particles sorted by cell index cid (stable: by index within a cell), and the CSR
    offsets of the cells."""
    n = cid.shape[0]
    cstart = _cell_starts(cid, ncell)
    fill = cstart[:-1].copy()
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        order[fill[cid[i]]] = i
        fill[cid[i]] += 1
    return order, cstart


@njit(cache=True)
def cell_stencil(ncell, K):
    """The cells within ±K per axis of each cell (offsets in axis-0-fastest order),
    periodic, with the lattice image each is seen through.

    Returns (cells (n_cells, m), codes (n_cells, m), images (n_cells, m, 3)), m =
    (2K+1)^d, code = Σ_a (n_a + 1)·3^a for the image n ∈ {−1, 0, 1}^d (valid while
    ncell ≥ 2K+1 per axis). K = 0: one cell (ncell = 1 per axis) seen through its 3^d
    images."""
    d = ncell.shape[0]
    span = 2 * max(K, 1) + 1
    m = span**d
    ntot = 1
    for a in range(d):
        ntot *= ncell[a]
    cells = np.empty((ntot, m), dtype=np.int64)
    codes = np.empty((ntot, m), dtype=np.int64)
    images = np.zeros((ntot, m, 3))
    kk = np.zeros(d, dtype=np.int64)
    for c in range(ntot):
        rem = c
        for a in range(d):
            kk[a] = rem % ncell[a]
            rem //= ncell[a]
        for o in range(m):
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
                images[c, o, a] = img
                code += (img + 1) * m3
                m3 *= 3
            cells[c, o] = cc
            codes[c, o] = code
    return cells, codes, images


