"""Cavities for local yield stresses (Sec. IV): sites, free regions, cavity stress.

Both local methods — the bond-micromechanics expansion (:mod:`glass2epm.yieldstress.bond`)
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
``nearest_particles``. The envelope Cholesky factorisations of the free–free
Hessians live in :mod:`glass2epm.mechanics.envelope`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from glass2epm.core.io import Configuration
from glass2epm.core.neighbors import _min_image, _query_capacity, _query_runs, cell_grid


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
    from glass2epm.core.contractions import first_second_all
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
    der = m.radial_derivatives(r, lam[sel], order=2)
    g = w[sel] * first_second_all(r, der[1], der[2])[0]  # w φ'/r (Eq. B1)
    vol = cav.volume if volume is None else float(volume)
    return np.einsum("p,pa,pb->ab", g, rv[sel], rv[sel]) / vol
