"""Cavities for local yield stresses (Sec. IV): sites, free regions, cavity stress.

Both local methods — the bond-micromechanics expansion (:mod:`glass2epm.yieldstress.yieldmap`)
and the explicit frozen matrix (:mod:`glass2epm.yieldstress.frozen`) — use the definitions of
this module, so they can be compared site by site.

Mean spacing
    d = (N/V)^{−1/dim}, in λ. Radii, grid spacings and block sizes are given in
    units of d by the commands (R = 5d, spacing 3d, blocks ξ = 5d in the paper).
Sites
    A regular grid of ``round(L_a / spacing)`` points along each cell vector (points
    at fractional coordinates (k + ½)/n_a); each grid point's site is the particle
    nearest to it (minimum image). Duplicates are dropped (first occurrence kept, in
    grid order: x index slowest).
Free region
    The particles within ``radius`` (≤ R, minimum image) of the site particle. All
    other particles are frozen: they follow the affine deformation x → D(γ)·x exactly.
    The site particle itself is always free (R = 0 gives a one-particle cavity).
Cavity stress
    σ_ab^cav = (1/V_R) Σ_bonds w_b φ'(r_b) r_b,a r_b,b / r_b with V_R = πR² (2D) or
    (4/3)πR³ (3D) and the per-atom-virial weights w_b = 1 for bonds with both ends
    free, ½ for bonds with one free end, 0 otherwise — i.e. the sum of the per-atom
    virial stresses of the free particles over the cavity volume. In ε/λ^d. Under a
    deformation that changes volumes (dilation) the cavity follows the matrix:
    V_R(γ) = V_R e^{γ tr A}. ``volume`` overrides V_R (e.g. the box volume V when
    the cavity covers the whole cell: then σ^cav is the system stress).
Local subsystem
    Computations keep the free particles plus every particle within
    R + r_max + margin of the site (r_max the largest interaction range), in the
    original periodic cell: forces on free particles and all weighted bonds are
    then exact, at a cost independent of N.

Numba primitives shared by both methods (all ``@njit(cache=True)``):
``cell_grid``/``query`` (fractional-coordinate cells, exact for any tilt),
``particles_within`` (CSR lists of the particles within a radius of given
particles: one cell query per centre, its per-cell sorted runs merged),
``nearest_particles``, and a Cholesky factorisation in *envelope* (profile) storage
for the small free–free Hessians (rows ordered along x, so the envelope is a narrow
band: ≈ 5× fewer flops than dense at R = 5d). For 2D systems the bond method uses
the same envelope in 4×4 blocks of two particles (``block_envelope_*``: 16
accumulators per block; ≈ 2× faster than the 2×2-block ``envelope_cholesky2`` at
R = 5d, measured).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from glass2epm.core.io import Configuration
from glass2epm.core.neighbors import (  # noqa: F401 (the point queries live in the core)
    _cell_of,
    _min_image,
    _query_capacity,
    _query_runs,
    cell_grid,
    query,
)
from glass2epm.core.simd import panel_dot2, panel_dot4


def mean_spacing(conf: Configuration) -> float:
    """d = (N/V)^{−1/dim}, in λ."""
    return (conf.N / conf.box.volume) ** (-1.0 / conf.dim)


def cavity_volume(radius: float, dim: int) -> float:
    """V_R = πR² (2D) or (4/3)πR³ (3D), in λ^d."""
    return np.pi * radius**2 if dim == 2 else 4.0 / 3.0 * np.pi * radius**3


# ----------------------------------------------------------------------------
# cells in fractional coordinates


@njit(cache=True)
def _merge_runs(a, tmp, runs, nr):
    """Sort ``a[:runs[nr]]`` made of nr sorted runs (bottom-up pairwise merges through
    ``tmp``); the result is in ``a``. ``runs`` is modified."""
    src = a
    dst = tmp
    while nr > 1:
        nn = 0
        r = 0
        while r < nr:
            lo = runs[r]
            if r + 1 < nr:
                mid = runs[r + 1]
                hi = runs[r + 2]
            else:
                mid = runs[r + 1]
                hi = mid
            i = lo
            j = mid
            k = lo
            while i < mid and j < hi:
                if src[j] < src[i]:
                    dst[k] = src[j]
                    j += 1
                else:
                    dst[k] = src[i]
                    i += 1
                k += 1
            while i < mid:
                dst[k] = src[i]
                i += 1
                k += 1
            while j < hi:
                dst[k] = src[j]
                j += 1
                k += 1
            runs[nn] = lo
            nn += 1
            r += 2
        runs[nn] = runs[nr]
        nr = nn
        src, dst = dst, src
    if src is not a:
        n = runs[nr]
        for k in range(n):
            a[k] = src[k]


@njit(cache=True, parallel=True)
def particles_within(x, h, centres, rc):
    """CSR (start, idx) of the particles within rc (≤, minimum image) of each particle
    in ``centres``; each list sorted by particle index. One cell query per centre
    (its sorted per-cell runs merged), threaded."""
    n = x.shape[0]
    m = centres.shape[0]
    ncell, cstart, members = cell_grid(x, h, rc)
    hinv = np.linalg.inv(h)
    cap = _query_capacity(ncell, cstart, n)
    buf = np.empty((m, max(cap, 1)), dtype=np.int64)
    counts = np.zeros(m, dtype=np.int64)
    nchunks = min(m, 64)
    per = (m + nchunks - 1) // nchunks if m > 0 else 0
    for c in prange(nchunks):
        tmp = np.empty(max(cap, 1), dtype=np.int64)
        runs = np.empty(28, dtype=np.int64)
        no_r2 = np.empty(0)
        for s in range(c * per, min(m, (c + 1) * per)):
            row = buf[s]
            cnt, nr = _query_runs(x[centres[s]], x, h, hinv, ncell, cstart, members, rc, row, runs,
                                  no_r2)
            _merge_runs(row, tmp, runs, nr)
            counts[s] = cnt
    start = np.zeros(m + 1, dtype=np.int64)
    for s in range(m):
        start[s + 1] = start[s] + counts[s]
    idx = np.empty(start[m], dtype=np.int64)
    for s in range(m):
        for k in range(counts[s]):
            idx[start[s] + k] = buf[s, k]
    return start, idx


@njit(cache=True, parallel=True)
def nearest_particles(x, h, points, rc):
    """Index of the particle nearest to each point (minimum image). Exact: a point with
    no particle within rc (the cell width) falls back to a scan of all particles."""
    n, d = x.shape
    m = points.shape[0]
    ncell, cstart, members = cell_grid(x, h, rc)
    hinv = np.linalg.inv(h)
    cap = _query_capacity(ncell, cstart, n)
    out = np.empty(m, dtype=np.int64)
    nchunks = min(m, 64)
    per = (m + nchunks - 1) // nchunks if m > 0 else 0
    for ch in prange(nchunks):
        buf = np.empty(max(cap, 1), dtype=np.int64)
        r2 = np.empty(max(cap, 1))
        runs = np.empty(28, dtype=np.int64)
        for s in range(ch * per, min(m, (ch + 1) * per)):
            c, _ = _query_runs(points[s], x, h, hinv, ncell, cstart, members, rc, buf, runs, r2)
            best = -1
            bd = np.inf
            for q in range(c):
                if r2[q] < bd or (r2[q] == bd and buf[q] < best):
                    bd = r2[q]
                    best = buf[q]
            if best < 0:
                for j in range(n):
                    dv = _min_image(x[j] - points[s], h)
                    dd = 0.0
                    for a in range(d):
                        dd += dv[a] * dv[a]
                    if dd < bd:
                        bd = dd
                        best = j
            out[s] = best
    return out


def site_grid(conf: Configuration, spacing: float) -> np.ndarray:
    """The grid points (Cartesian, in λ) of spacing ≈ ``spacing``: round(L_a/spacing)
    points along cell vector a, at fractional coordinates (k + ½)/n_a (x index slowest)."""
    if not spacing > 0:
        raise ValueError(f"site spacing must be positive, got {spacing}")
    h = conf.box.h
    ng = np.maximum(1, np.round(np.diag(h) / spacing).astype(int))
    axes = [(np.arange(k) + 0.5) / k for k in ng]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, conf.dim)
    return np.ascontiguousarray(grid @ h.T)


def site_particles(conf: Configuration, spacing: float) -> np.ndarray:
    """Indices of the particles nearest to the points of :func:`site_grid` (unique,
    first occurrence kept, in grid order)."""
    pts = site_grid(conf, spacing)
    rc = max(float(spacing), 2.0 * mean_spacing(conf))
    sites = nearest_particles(conf.x, conf.box.h, pts, rc)
    _, first = np.unique(sites, return_index=True)
    return sites[np.sort(first)]


def free_sets(conf: Configuration, sites, radius: float):
    """CSR lists (start, idx) of the free particles (within ``radius`` of the site
    particle, minimum image) of every site; each list sorted by particle index."""
    if radius < 0:
        raise ValueError(f"cavity radius must be non-negative, got {radius}")
    sites = np.ascontiguousarray(sites, dtype=np.int64)
    if sites.size and (sites.min() < 0 or sites.max() >= conf.N):
        raise ValueError(f"site indices must lie in [0, {conf.N}), got {sites.min()}..{sites.max()}")
    return particles_within(conf.x, conf.box.h, sites, float(radius))


# ----------------------------------------------------------------------------
# one cavity as a Configuration (reference implementations, plots)


@dataclass
class Cavity:
    """A free region around a site, embedded in a local subsystem.

    ``index``: indices (into the full configuration) of the subsystem's particles;
    ``free``: boolean mask over the subsystem; ``site``: the site particle (full index);
    ``sub``: the subsystem as a Configuration in the same periodic cell.
    """

    site: int
    radius: float
    index: np.ndarray
    free: np.ndarray
    sub: Configuration

    @property
    def n_free(self) -> int:
        return int(self.free.sum())

    @property
    def free_index(self) -> np.ndarray:
        return self.index[self.free]

    @property
    def volume(self) -> float:
        """V_R (λ^d)."""
        return cavity_volume(self.radius, self.sub.dim)


def make_cavity(conf: Configuration, site: int, radius: float, margin: float = 0.5) -> Cavity:
    """The cavity of ``radius`` around particle ``site`` and its local subsystem."""
    if radius < 0:
        raise ValueError(f"cavity radius must be non-negative, got {radius}")
    if not 0 <= site < conf.N:
        raise ValueError(f"site {site} is not a particle index (N = {conf.N})")
    d = conf.box.minimum_image(conf.x - conf.x[site])
    r = np.sqrt(np.einsum("ij,ij->i", d, d))
    reach = radius + conf.model.max_cutoff + margin
    if reach >= 0.5 * conf.box.perpendicular_widths().min():
        # the cavity and its shell span the cell: keep every particle
        index = np.arange(conf.N)
    else:
        index = np.flatnonzero(r <= reach)
    free = r[index] <= radius
    sub = Configuration(conf.x[index], conf.sizes[index], conf.box, conf.model, Tp=conf.Tp,
                        seed=conf.seed, strain=dict(conf.strain))
    return Cavity(int(site), float(radius), index, free, sub)


def bond_weights(ii: np.ndarray, jj: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Per-atom-virial weights of bonds: 1 (both ends free), ½ (one), 0 (none)."""
    return 0.5 * (free[ii].astype(float) + free[jj].astype(float))


def cavity_stress(cav: Cavity, x: np.ndarray | None = None, box=None,
                  volume: float | None = None) -> np.ndarray:
    """σ^cav (d × d, ε/λ^d) of the subsystem at positions x (default: its own).

    ``volume``: the cavity volume to divide by (default V_R; pass V_R e^{γ trA} for a
    deformed cavity under dilation, or the box volume for a cell-covering cavity).
    """
    from glass2epm.core.neighbors import VerletList
    from glass2epm.core.potential import pair_table

    sub = cav.sub
    x = sub.x if x is None else x
    box = sub.box if box is None else box
    m = sub.model
    vl = VerletList(m, skin=0.1)
    vl.build(x, sub.sizes, box)
    ii, jj, rv, lam = pair_table(x, sub.sizes, box.h, vl.start, vl.nbr, m.xc, m.na)
    w = bond_weights(ii, jj, cav.free)
    sel = w > 0
    r = np.sqrt(np.einsum("ij,ij->i", rv[sel], rv[sel]))
    d1 = m.radial_derivatives(r, lam[sel], order=1)[1]
    g = w[sel] * d1 / r
    vol = cav.volume if volume is None else float(volume)
    return np.einsum("p,pa,pb->ab", g, rv[sel], rv[sel]) / vol


# ----------------------------------------------------------------------------
# small SPD systems in envelope (profile) storage


@njit(cache=True)
def envelope_layout(first, n):
    """Row pointers of an envelope matrix: row r holds columns first[r]..r, stored at
    ptr[r] + (c − first[r]). Returns ptr (n+1,)."""
    ptr = np.empty(n + 1, dtype=np.int64)
    ptr[0] = 0
    for r in range(n):
        ptr[r + 1] = ptr[r] + (r - first[r] + 1)
    return ptr


_FM = {"reassoc", "contract"}  # let the dot products vectorise (no change to NaN/inf handling)


@njit(cache=True, fastmath=_FM)
def envelope_cholesky(env, ptr, first, n):
    """In-place Cholesky L·Lᵀ of an SPD matrix held in envelope storage (lower
    triangle). Fill-in stays inside the envelope. Returns False if a pivot is not
    positive (not positive definite)."""
    for i in range(n):
        fi = first[i]
        base_i = ptr[i] - fi
        for j in range(fi, i + 1):
            fj = first[j]
            base_j = ptr[j] - fj
            k0 = fi if fi > fj else fj
            s = env[base_i + j]
            for k in range(k0, j):
                s -= env[base_i + k] * env[base_j + k]
            if j == i:
                if not s > 0.0:
                    return False
                env[base_i + i] = np.sqrt(s)
            else:
                env[base_i + j] = s / env[base_j + j]
    return True


@njit(cache=True, fastmath=_FM)
def envelope_solve(env, ptr, first, n, b):
    """Solve L·Lᵀ u = b in place (b overwritten by u) with a factor from
    :func:`envelope_cholesky`."""
    for i in range(n):  # forward: L y = b
        base = ptr[i] - first[i]
        s = b[i]
        for k in range(first[i], i):
            s -= env[base + k] * b[k]
        b[i] = s / env[base + i]
    for i in range(n - 1, -1, -1):  # backward: Lᵀ u = y (column-oriented)
        base = ptr[i] - first[i]
        b[i] /= env[base + i]
        v = b[i]
        for k in range(first[i], i):
            b[k] -= env[base + k] * v


@njit(cache=True)
def expm_small(M):
    """exp(M) for a small matrix (scaling and squaring, Taylor to round-off)."""
    d = M.shape[0]
    nrm = 0.0
    for a in range(d):
        row = 0.0
        for b in range(d):
            row += abs(M[a, b])
        nrm = max(nrm, row)
    s = 0
    while nrm > 0.5:
        nrm *= 0.5
        s += 1
    X = M / (2.0**s)
    E = np.eye(d)
    term = np.eye(d)
    for k in range(1, 30):
        term = term @ X / k
        E = E + term
    for _ in range(s):
        E = E @ E
    return E


@njit(cache=True, fastmath=_FM)
def envelope_cholesky2(env, ptr, first, n):
    """:func:`envelope_cholesky` for 2D particle systems: rows come in pairs (the two
    dofs of a particle) with the same even ``first``; works on 2×2 blocks (four
    independent accumulators: ≈ 2× faster). Returns False if not positive definite."""
    for P in range(n // 2):
        i0 = 2 * P
        fi = first[i0]
        b0 = ptr[i0] - fi
        b1 = ptr[i0 + 1] - fi
        for Q in range(fi // 2, P + 1):
            j0 = 2 * Q
            fj = first[j0]
            c0 = ptr[j0] - fj
            c1 = ptr[j0 + 1] - fj
            k0 = fi if fi > fj else fj
            s00 = env[b0 + j0]
            s10 = env[b1 + j0]
            s11 = env[b1 + j0 + 1]
            s01 = env[b0 + j0 + 1] if Q < P else 0.0
            for k in range(k0, j0):
                l0 = env[b0 + k]
                l1 = env[b1 + k]
                m0 = env[c0 + k]
                m1 = env[c1 + k]
                s00 -= l0 * m0
                s01 -= l0 * m1
                s10 -= l1 * m0
                s11 -= l1 * m1
            if Q < P:
                d0 = env[c0 + j0]
                l00 = s00 / d0
                l10 = s10 / d0
                m10 = env[c1 + j0]
                d1 = env[c1 + j0 + 1]
                env[b0 + j0] = l00
                env[b0 + j0 + 1] = (s01 - l00 * m10) / d1
                env[b1 + j0] = l10
                env[b1 + j0 + 1] = (s11 - l10 * m10) / d1
            else:
                if not s00 > 0.0:
                    return False
                d0 = np.sqrt(s00)
                l10 = s10 / d0
                t = s11 - l10 * l10
                if not t > 0.0:
                    return False
                env[b0 + j0] = d0
                env[b1 + j0] = l10
                env[b1 + j0 + 1] = np.sqrt(t)
    return True


@njit(cache=True, fastmath=_FM)
def envelope_solve2(env, ptr, first, n, b):
    """:func:`envelope_solve` for a factor from :func:`envelope_cholesky2` (in place)."""
    for P in range(n // 2):  # forward
        i0 = 2 * P
        fi = first[i0]
        b0 = ptr[i0] - fi
        b1 = ptr[i0 + 1] - fi
        s0 = b[i0]
        s1 = b[i0 + 1]
        for k in range(fi, i0):
            y = b[k]
            s0 -= env[b0 + k] * y
            s1 -= env[b1 + k] * y
        y0 = s0 / env[b0 + i0]
        b[i0] = y0
        b[i0 + 1] = (s1 - env[b1 + i0] * y0) / env[b1 + i0 + 1]
    for P in range(n // 2 - 1, -1, -1):  # backward (column oriented)
        i0 = 2 * P
        fi = first[i0]
        b0 = ptr[i0] - fi
        b1 = ptr[i0 + 1] - fi
        u1 = b[i0 + 1] / env[b1 + i0 + 1]
        u0 = (b[i0] - env[b1 + i0] * u1) / env[b0 + i0]
        b[i0] = u0
        b[i0 + 1] = u1
        for k in range(fi, i0):
            b[k] -= env[b0 + k] * u0 + env[b1 + k] * u1


@njit(cache=True)
def envelope_factor(env, ptr, first, n, dim):
    """Cholesky in envelope storage: the 2×2-block version in 2D, scalar otherwise."""
    if dim == 2:
        return envelope_cholesky2(env, ptr, first, n)
    return envelope_cholesky(env, ptr, first, n)


@njit(cache=True)
def envelope_backsolve(env, ptr, first, n, b, dim):
    """Solve with a factor from :func:`envelope_factor` (in place)."""
    if dim == 2:
        envelope_solve2(env, ptr, first, n, b)
    else:
        envelope_solve(env, ptr, first, n, b)


# ----------------------------------------------------------------------------
# 2D: envelope storage in 4×4 blocks (two particles), register-blocked Cholesky

_U1 = np.uint64(1)
_U2 = np.uint64(2)
_U3 = np.uint64(3)
_U4 = np.uint64(4)
_U5 = np.uint64(5)
_U6 = np.uint64(6)
_U7 = np.uint64(7)
_U8 = np.uint64(8)
_U9 = np.uint64(9)
_U10 = np.uint64(10)
_U11 = np.uint64(11)
_U12 = np.uint64(12)
_U13 = np.uint64(13)
_U14 = np.uint64(14)
_U15 = np.uint64(15)
_FC = {"contract"}  # fused multiply-adds, no reassociation (the vector panels: glass2epm.core.simd)
_Z8 = (0.0,) * 8


@njit(cache=True)
def block_envelope_layout(firstp, nf):
    """Layout of a 2D particle system's matrix in *block-envelope* storage.

    Particles (ordered so that ``firstp[l]`` ≤ l is the lowest particle coupled to
    particle l) are grouped in blocks of two (block I = particles 2I, 2I+1, dofs
    4I..4I+3; an odd count gets one padding particle). Block row I holds the columns
    ``4·fb[I]`` … 4I+3, column by column (4 entries each, one per row of the block):
    entry (4I+r, c) is at ``bptr[I] + 4(c − 4fb[I]) + r``. ``fd[I, 0]`` = 2·min(firstp
    of its two particles) is the first non-zero column of the block row (fill-in stays
    behind it), ``fd[I, 1]`` the first column where both particles' rows are non-zero
    and ``fd[I, 2]`` the row offset (0 or 2) of the particle that starts first.
    Returns (nb, fb, fd, bptr)."""
    nb = (nf + 1) // 2
    fb = np.empty(nb, dtype=np.int64)
    fd = np.empty((nb, 3), dtype=np.int64)
    bptr = np.empty(nb + 1, dtype=np.int64)
    block_envelope_layout_into(firstp, nf, fb, fd, bptr)
    return nb, fb, fd, bptr


@njit(cache=True)
def block_envelope_layout_into(firstp, nf, fb, fd, bptr):
    """:func:`block_envelope_layout` into given arrays (of at least nb, (nb, 3), nb + 1
    rows); returns nb."""
    nb = (nf + 1) // 2
    bptr[0] = 0
    for I in range(nb):
        fa = firstp[2 * I]
        fo = firstp[2 * I + 1] if 2 * I + 1 < nf else 2 * I + 1
        lo = fa if fa <= fo else fo
        fb[I] = lo // 2
        fd[I, 0] = 2 * lo
        fd[I, 1] = 2 * (fo if fa <= fo else fa)
        fd[I, 2] = 0 if fa <= fo else 2
        bptr[I + 1] = bptr[I] + 16 * (I - fb[I] + 1)
    return nb


@njit(cache=True, fastmath=_FC)
def _times_inverse_t(env, q, s0, s1, s2, s3, mi):
    """Row r of an off-diagonal block (entries env[q + 4c], c = 0..3, with q at row r):
    y = a − s, then y ← y L_JJ⁻ᵀ with ``mi`` the lower triangle of L_JJ⁻¹ row by row."""
    m00, m10, m11, m20, m21, m22, m30, m31, m32, m33 = mi
    y0 = env[q] - s0
    y1 = env[q + _U4] - s1
    y2 = env[q + _U8] - s2
    y3 = env[q + _U12] - s3
    env[q] = y0 * m00
    env[q + _U4] = y0 * m10 + y1 * m11
    env[q + _U8] = y0 * m20 + y1 * m21 + y2 * m22
    env[q + _U12] = y0 * m30 + y1 * m31 + y2 * m32 + y3 * m33


@njit(cache=True, fastmath=_FC)
def block_envelope_factor(env, fb, fd, bptr, dinv):
    """In-place Cholesky L·Lᵀ of an SPD matrix in block-envelope storage (lower
    triangle; :func:`block_envelope_layout`). Each 4×4 block of L is one dot-product
    sweep with 16 accumulators (:func:`glass2epm.core.simd.panel_dot4`: 4 vector
    multiply-adds per column; :func:`~glass2epm.core.simd.panel_dot2`, 2 × 4, over the
    columns where only one particle's rows are non-zero), then a triangular solve with
    the diagonal block of its column, applied as a product with that block's inverse;
    ``dinv`` (≥ 14·nb) receives the reciprocal pivots (first 4·nb entries) and the
    inverses of the diagonal blocks (10 per block, lower triangle row by row).
    Returns False if a pivot is not positive (not positive definite)."""
    nb = fb.shape[0]
    for I in range(nb):
        fI = fb[I]
        pI = bptr[I] - 16 * fI  # L[4I + r, c] = env[pI + 4c + r]
        for J in range(fI, I + 1):
            pJ = bptr[J] - 16 * fb[J]
            k1 = 4 * J
            ka = fd[I, 0] if fd[I, 0] > fd[J, 0] else fd[J, 0]
            kb = fd[I, 1] if fd[I, 1] > fd[J, 0] else fd[J, 0]
            if kb > k1:
                kb = k1
            if ka > kb:
                ka = kb
            # columns ka..kb: only the rows of the particle that starts first (2 × 4)
            ua = np.uint64(pI + 4 * ka + fd[I, 2])  # unsigned: no wraparound code
            ub = np.uint64(pJ + 4 * ka)
            if fd[I, 2] == 0:
                s00, s01, s02, s03, s10, s11, s12, s13 = panel_dot2(env, ua, ub, kb - ka, _Z8)
                s20 = 0.0; s21 = 0.0; s22 = 0.0; s23 = 0.0  # noqa: E702
                s30 = 0.0; s31 = 0.0; s32 = 0.0; s33 = 0.0  # noqa: E702
            else:
                s20, s21, s22, s23, s30, s31, s32, s33 = panel_dot2(env, ua, ub, kb - ka, _Z8)
                s00 = 0.0; s01 = 0.0; s02 = 0.0; s03 = 0.0  # noqa: E702
                s10 = 0.0; s11 = 0.0; s12 = 0.0; s13 = 0.0  # noqa: E702
            # columns kb..4J: all four rows (4 × 4), continuing the same accumulators
            (s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32,
             s33) = panel_dot4(env, np.uint64(pI + 4 * kb), np.uint64(pJ + 4 * kb), k1 - kb,
                               (s00, s01, s02, s03, s10, s11, s12, s13,
                                s20, s21, s22, s23, s30, s31, s32, s33))
            q = np.uint64(pI + 16 * J)  # block (I, J): env[q + 4c + r]
            if J < I:
                # L_IJ = (A_IJ − S) L_JJ⁻ᵀ, with L_JJ⁻¹ (lower triangle, row-wise in
                # dinv[4 nb + 10 J …]) from the diagonal step of block J
                v = 4 * nb + 10 * J
                m00 = dinv[v]; m10 = dinv[v + 1]; m11 = dinv[v + 2]; m20 = dinv[v + 3]  # noqa: E702
                m21 = dinv[v + 4]; m22 = dinv[v + 5]; m30 = dinv[v + 6]; m31 = dinv[v + 7]  # noqa: E702
                m32 = dinv[v + 8]; m33 = dinv[v + 9]  # noqa: E702
                mi = (m00, m10, m11, m20, m21, m22, m30, m31, m32, m33)
                _times_inverse_t(env, q, s00, s01, s02, s03, mi)
                _times_inverse_t(env, q + _U1, s10, s11, s12, s13, mi)
                _times_inverse_t(env, q + _U2, s20, s21, s22, s23, mi)
                _times_inverse_t(env, q + _U3, s30, s31, s32, s33, mi)
            else:
                # diagonal block: dense 4×4 Cholesky of A_II − S
                a00 = env[q] - s00
                a10 = env[q + _U1] - s10
                a20 = env[q + _U2] - s20
                a30 = env[q + _U3] - s30
                a11 = env[q + _U5] - s11
                a21 = env[q + _U6] - s21
                a31 = env[q + _U7] - s31
                a22 = env[q + _U10] - s22
                a32 = env[q + _U11] - s32
                a33 = env[q + _U15] - s33
                if not a00 > 0.0:
                    return False
                d0 = np.sqrt(a00)
                i0 = 1.0 / d0
                l10 = a10 * i0
                l20 = a20 * i0
                l30 = a30 * i0
                t = a11 - l10 * l10
                if not t > 0.0:
                    return False
                d1 = np.sqrt(t)
                i1 = 1.0 / d1
                l21 = (a21 - l20 * l10) * i1
                l31 = (a31 - l30 * l10) * i1
                t = a22 - l20 * l20 - l21 * l21
                if not t > 0.0:
                    return False
                d2 = np.sqrt(t)
                i2 = 1.0 / d2
                l32 = (a32 - l30 * l20 - l31 * l21) * i2
                t = a33 - l30 * l30 - l31 * l31 - l32 * l32
                if not t > 0.0:
                    return False
                d3 = np.sqrt(t)
                env[q] = d0
                env[q + _U1] = l10
                env[q + _U2] = l20
                env[q + _U3] = l30
                env[q + _U5] = d1
                env[q + _U6] = l21
                env[q + _U7] = l31
                env[q + _U10] = d2
                env[q + _U11] = l32
                env[q + _U15] = d3
                i3 = 1.0 / d3
                dinv[4 * I] = i0
                dinv[4 * I + 1] = i1
                dinv[4 * I + 2] = i2
                dinv[4 * I + 3] = i3
                # L_II⁻¹ (for the blocks below: a product instead of a substitution)
                m10 = -i1 * l10 * i0
                m21 = -i2 * l21 * i1
                m20 = -i2 * (l20 * i0 + l21 * m10)
                m32 = -i3 * l32 * i2
                m31 = -i3 * (l31 * i1 + l32 * m21)
                v = 4 * nb + 10 * I
                dinv[v] = i0
                dinv[v + 1] = m10
                dinv[v + 2] = i1
                dinv[v + 3] = m20
                dinv[v + 4] = m21
                dinv[v + 5] = i2
                dinv[v + 6] = -i3 * (l30 * i0 + l31 * m10 + l32 * m20)
                dinv[v + 7] = m31
                dinv[v + 8] = m32
                dinv[v + 9] = i3
    return True


@njit(cache=True, fastmath=_FC)
def block_envelope_solve(env, fb, fd, bptr, dinv, b):
    """Solve L·Lᵀ u = b in place (b, length 4·nb, overwritten by u) with a factor from
    :func:`block_envelope_factor`."""
    nb = fb.shape[0]
    for I in range(nb):  # forward: L y = b, one block row at a time
        pI = bptr[I] - 16 * fb[I]
        s0 = b[4 * I]
        s1 = b[4 * I + 1]
        s2 = b[4 * I + 2]
        s3 = b[4 * I + 3]
        t0 = 0.0
        t1 = 0.0
        t2 = 0.0
        t3 = 0.0
        ua = np.uint64(pI + 4 * fd[I, 0])
        for k in range(fd[I, 0], 4 * I, 2):  # fd even: pairs of columns, two accumulator sets
            y = b[k]
            z = b[k + 1]
            s0 -= env[ua] * y
            s1 -= env[ua + _U1] * y
            s2 -= env[ua + _U2] * y
            s3 -= env[ua + _U3] * y
            t0 += env[ua + _U4] * z
            t1 += env[ua + _U5] * z
            t2 += env[ua + _U6] * z
            t3 += env[ua + _U7] * z
            ua += _U8
        s0 -= t0
        s1 -= t1
        s2 -= t2
        s3 -= t3
        q = pI + 16 * I
        y0 = s0 * dinv[4 * I]
        y1 = (s1 - env[q + 1] * y0) * dinv[4 * I + 1]
        y2 = (s2 - env[q + 2] * y0 - env[q + 6] * y1) * dinv[4 * I + 2]
        y3 = (s3 - env[q + 3] * y0 - env[q + 7] * y1 - env[q + 11] * y2) * dinv[4 * I + 3]
        b[4 * I] = y0
        b[4 * I + 1] = y1
        b[4 * I + 2] = y2
        b[4 * I + 3] = y3
    for I in range(nb - 1, -1, -1):  # backward: Lᵀ u = y (block-column oriented)
        pI = bptr[I] - 16 * fb[I]
        q = pI + 16 * I
        u3 = b[4 * I + 3] * dinv[4 * I + 3]
        u2 = (b[4 * I + 2] - env[q + 11] * u3) * dinv[4 * I + 2]
        u1 = (b[4 * I + 1] - env[q + 6] * u2 - env[q + 7] * u3) * dinv[4 * I + 1]
        u0 = (b[4 * I] - env[q + 1] * u1 - env[q + 2] * u2 - env[q + 3] * u3) * dinv[4 * I]
        b[4 * I] = u0
        b[4 * I + 1] = u1
        b[4 * I + 2] = u2
        b[4 * I + 3] = u3
        ua = np.uint64(pI + 4 * fd[I, 0])
        for k in range(fd[I, 0], 4 * I):
            b[k] -= env[ua] * u0 + env[ua + _U1] * u1 + env[ua + _U2] * u2 + env[ua + _U3] * u3
            ua += _U4
