"""Coarse-grained density and Irving–Kirkwood/Hardy stress on a periodic grid (Hernández-García's
fields, issue 22).

Definitions (units λ, ε; stress ε/λ^d, same sign convention as ``glass2epm properties`` and
:mod:`glass2epm.core.potential`: negative for a repulsive system, p = −tr σ/d)
-------------------------------------------------------------------------------------------
Kernel
    G_ℓ(x) = (2πℓ²)^{−d/2} exp(−|x|²/2ℓ²), periodised by the minimum image (the kernel is cut at
    ``CUT``·ℓ, where its mass beyond is < 1e-9; ℓ must stay below a tenth of the box width).
Density
    ρ_ℓ(x) = Σ_i G_ℓ(x − x_i).
Stress (bond part; an inherent state has no kinetic part)
    σ_ℓ,ab(x) = Σ_pairs (φ'(r)/r) r_a r_b ∫_0^1 G_ℓ(x − x_i − s r) ds,  r = x_j − x_i (minimum image).
    The bond integral is exact, not lumped at the midpoint: with t the projection of x − x_i on the
    bond's unit vector and d_⊥ the distance to its line,
    ∫_0^1 G ds = (2πℓ²)^{−(d−1)/2} e^{−d_⊥²/2ℓ²} · [erf(t/√2ℓ) − erf((t − |r|)/√2ℓ)] / (2|r|).
Identities (tested)
    the box mean of σ_ℓ is the virial stress (1/V)Σ φ'/r r_a r_b, the box mean of ρ_ℓ is N/V, and
    ∂_b σ_ℓ,ab(x) = Σ_i F_i,a G_ℓ(x − x_i) (the pair term telescopes: ∂_b r_b ∫G(x − x_i − s r) ds
    = G(x − x_i) − G(x − x_j)), which vanishes at an inherent state.
Grid
    n points per axis on the cell's fractional coordinates, x_g = h·(g/n) (Lees–Edwards cells: the
    grid follows the tilted cell; the ``x, y`` columns are Cartesian positions).

The spreading kernel loops over pairs (threads over ``SPREAD_CHUNKS`` fixed chunks, one grid per
chunk, summed in chunk order: the fields do not depend on the thread count) and over
the grid points of each pair's neighbourhood. For ℓ above ``SPREAD_MAX`` grid spacings it spreads at
ℓ1 = 2 spacings and applies the rest, G_ℓ2 with ℓ2² = ℓ² − ℓ1², as a Fourier multiplier (the Gaussian
semigroup; the sampled ℓ1 field is band-limited to e^{−2π²} ≈ 3e-9). :func:`direct_fields` is the
plain reference that sums every pair at given points.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from glass2epm.core.runtime import numba_threads

CUT = 6.5  # kernel cut-off in units of ℓ: e^{−CUT²/2} = 6.5e-10
SPREAD_MAX = 2.0  # ℓ above this many grid spacings: spread at 2 spacings, then Gaussian filter by FFT
#: chunks of particles and pairs of the spreading kernel, one grid each, summed in chunk order: a
#: constant, so that the fields do not depend on the thread count (4 grids: 2 per thread on 2 cores)
SPREAD_CHUNKS = 4


@njit(cache=True, inline="always")
def _bond_weight(dx, dy, dz, ux, uy, uz, rl, inv2l2, norm_perp, c_erf, d):
    """∫_0^1 G(x − x_i − s r) ds for d = x − x_i, unit bond vector u, length rl (see module docstring)."""
    t = dx * ux + dy * uy + dz * uz
    perp2 = dx * dx + dy * dy + dz * dz - t * t
    if perp2 < 0.0:
        perp2 = 0.0
    return norm_perp * math.exp(-perp2 * inv2l2) * (math.erf(t * c_erf) - math.erf((t - rl) * c_erf)) / (2.0 * rl)


@njit(cache=True)
def _wrap(v, n):
    v = v % n
    return v + n if v < 0 else v


@njit(cache=True, parallel=True)
def _spread(x, h, hinv, ii, rv, pair_w, part_w, n, ell, nchunks, d):
    """The one spreading kernel: channels 0 … J−1 are Σ_i part_w[i, c] G_ℓ(x − x_i) (point kernel),
    channels J … J+K−1 are Σ_pairs pair_w[m, c] ∫₀¹ G_ℓ(x − x_i − s r_m) ds (exact bond integral).
    Returns (J + K, n^d); threads over chunks of particles and pairs, one grid per chunk, summed."""
    J = part_w.shape[1]
    K = pair_w.shape[1]
    size = n ** d
    out = np.zeros((nchunks, J + K, size))
    inv2l2 = 1.0 / (2.0 * ell * ell)
    norm_full = (2.0 * math.pi * ell * ell) ** (-0.5 * d)
    norm_perp = (2.0 * math.pi * ell * ell) ** (-0.5 * (d - 1))
    c_erf = 1.0 / (math.sqrt(2.0) * ell)
    rc = CUT * ell
    N = x.shape[0]
    M = ii.size
    zero = np.zeros(3)
    grid = (h, hinv, n, d)
    kern = (rc, inv2l2, norm_full, norm_perp, c_erf)
    for c in prange(nchunks):
        acc = out[c]
        if J > 0:
            for p in range(c * N // nchunks, (c + 1) * N // nchunks):
                _visit(acc, x[p], zero, 0.0, part_w[p], 0, grid, kern, 0)
        for m in range(c * M // nchunks, (c + 1) * M // nchunks):
            rl = 0.0
            for a in range(d):
                rl += rv[m, a] * rv[m, a]
            rl = math.sqrt(rl)
            _visit(acc, x[ii[m]], rv[m], rl, pair_w[m], J, grid, kern, 1)
    return out.sum(axis=0)


@njit(cache=True)
def _visit(acc, xa, r, rl, wts, off, grid, kern, bond):
    """Add one particle (bond = 0) or one bond (bond = 1, the segment x_a … x_a + r) with weights ``wts``
    to channels off, off + 1, … of the grid points within rc of it. ``grid`` = (h, h⁻¹, n, d) (3×3
    cell matrices), ``kern`` = (rc, 1/2ℓ², full and perpendicular norms, 1/√2ℓ) from :func:`_spread`."""
    h, hinv, n, d = grid
    rc, inv2l2, norm_full, norm_perp, c_erf = kern
    # Cartesian bounding box of the support, then its fractional extent (tilted cells: all corners)
    lo = np.zeros(3)
    hi = np.zeros(3)
    for a in range(d):
        ea = xa[a] + (r[a] if bond == 1 else 0.0)
        lo[a] = min(xa[a], ea) - rc
        hi[a] = max(xa[a], ea) + rc
    flo = np.full(3, 1e300)
    fhi = np.full(3, -1e300)
    for k in range(1 << d):
        for a in range(d):
            f = 0.0
            for b in range(d):
                f += hinv[a, b] * (hi[b] if (k >> b) & 1 else lo[b])
            flo[a] = min(flo[a], f)
            fhi[a] = max(fhi[a], f)
    g0 = np.zeros(3, np.int64)
    g1 = np.zeros(3, np.int64)
    for a in range(d):
        g0[a] = int(math.ceil(flo[a] * n))
        g1[a] = int(math.floor(fhi[a] * n))
        if g1[a] - g0[a] >= n:  # the support covers the whole axis: visit each point once
            g1[a] = g0[a] + n - 1
    ux = uy = uz = 0.0
    if bond == 1:
        ux = r[0] / rl
        uy = r[1] / rl
        uz = r[2] / rl if d == 3 else 0.0
    rc2 = rc * rc
    nw = wts.size
    for gx in range(g0[0], g1[0] + 1):
        for gy in range(g0[1], g1[1] + 1):
            for gz in range(g0[2], g1[2] + 1):
                # Cartesian position of the (unwrapped) grid point and its displacement from x_a
                fx = gx / n
                fy = gy / n
                fz = gz / n if d == 3 else 0.0
                dx = h[0, 0] * fx + h[0, 1] * fy + h[0, 2] * fz - xa[0]
                dy = h[1, 0] * fx + h[1, 1] * fy + h[1, 2] * fz - xa[1]
                dz = (h[2, 0] * fx + h[2, 1] * fy + h[2, 2] * fz - xa[2]) if d == 3 else 0.0
                if bond == 0:
                    q2 = dx * dx + dy * dy + dz * dz
                    if q2 > rc2:
                        continue
                    w = norm_full * math.exp(-q2 * inv2l2)
                else:
                    t = dx * ux + dy * uy + dz * uz
                    tc = min(max(t, 0.0), rl)
                    ex = dx - tc * ux
                    ey = dy - tc * uy
                    ez = dz - tc * uz
                    if ex * ex + ey * ey + ez * ez > rc2:
                        continue
                    w = _bond_weight(dx, dy, dz, ux, uy, uz, rl, inv2l2, norm_perp, c_erf, d)
                ix = _wrap(gx, n)
                iy = _wrap(gy, n)
                k = ix * n + iy if d == 2 else (ix * n + iy) * n + _wrap(gz, n)
                for c in range(nw):
                    acc[off + c, k] += w * wts[c]


COMPONENTS = {2: ("sxx", "syy", "sxy"), 3: ("sxx", "syy", "szz", "sxy", "sxz", "syz")}
_PAIRS = {2: ((0, 0), (1, 1), (0, 1)), 3: ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))}


def _spread_width(h, ell: float, n: int) -> float:
    """ℓ1, the width spread directly: ℓ itself, or 2 grid spacings when ℓ exceeds ``SPREAD_MAX`` of them."""
    spacing = float(np.max(np.linalg.norm(h, axis=0))) / n
    return ell if ell <= SPREAD_MAX * spacing else 2.0 * spacing


def _check(conf, ell: float, n: int):
    if not (math.isfinite(ell) and ell > 0):
        raise ValueError(f"fields: ℓ must be a finite length > 0 (λ), got {ell}")
    if n < 4:
        raise ValueError(f"fields: the grid needs at least 4 points per axis, got {n}")
    widths = conf.box.perpendicular_widths()
    ell1 = _spread_width(conf.box.h, ell, n)
    if CUT * ell1 > 0.5 * widths.min():
        raise ValueError(f"fields: the grid is too coarse for this cell: the spread kernel (ℓ1 = {ell1:.4g} λ, cut at "
                         f"{CUT}ℓ1) must fit in half the narrowest width {widths.min():.4g} λ; use a finer --grid")


def coarse_fields(conf, ell: float, n: int, pairs=None, threads: int | None = None) -> dict:
    """ρ_ℓ and σ_ℓ of a :class:`~glass2epm.core.io.Configuration` on the n^d grid (module docstring).

    Returns {"x", "y"[, "z"], "rho", "sxx", ...}: flat arrays of n^d values, grid index
    k = (g_x·n + g_y)[·n + g_z], plus "grid" (n) and "ell"."""
    from glass2epm.core.pairs import PairSet

    _check(conf, ell, n)
    d = conf.dim
    ps = pairs if pairs is not None else PairSet.from_configuration(conf)
    g = ps.derivs[1] / ps.r  # φ'(r)/r
    h = np.ascontiguousarray(conf.box.h, float)
    hinv = np.ascontiguousarray(np.linalg.inv(h))
    rv = np.zeros((ps.M, 3))
    rv[:, :d] = ps.rv
    x = np.zeros((conf.N, 3))
    x[:, :d] = conf.x
    h3 = np.eye(3)
    h3[:d, :d] = h
    hinv3 = np.eye(3)
    hinv3[:d, :d] = hinv
    # Gaussian semigroup: G_ℓ = G_ℓ2 * G_ℓ1 (ℓ1² + ℓ2² = ℓ²). For a kernel wide against the grid,
    # spread exactly at ℓ1 = 2 grid spacings (aliasing e^{−2π²} ≈ 3e-9) and apply G_ℓ2 by FFT: the
    # cost no longer grows as (ℓ/spacing)^d (:func:`spread`).
    pair_w = np.stack([g * ps.rv[:, a] * ps.rv[:, b] for a, b in _PAIRS[d]], axis=1)
    grid = spread(x, h3, hinv3, ps.ii, rv, pair_w, np.ones((conf.N, 1)), n, ell, d, threads)
    out = {"rho": grid[0]}
    for c, name in enumerate(COMPONENTS[d]):
        out[name] = grid[1 + c]
    frac = np.stack(np.meshgrid(*[np.arange(n) / n] * d, indexing="ij"), axis=-1).reshape(-1, d)
    pos = frac @ h.T
    for a, name in enumerate("xyz"[:d]):
        out[name] = pos[:, a]
    out["grid"] = int(n)
    out["ell"] = float(ell)
    return out


def spread(x3, h3, hinv3, ii, rv3, pair_w, part_w, n: int, ell: float, d: int, threads: int | None = None):
    """Channels of :func:`_spread` at width ℓ: spread at ℓ1 (:func:`_spread_width`) and, when ℓ1 < ℓ,
    finished by the Gaussian filter G_ℓ2 (ℓ2² = ℓ² − ℓ1²). Positions, cell and separations padded to 3D."""
    h = h3[:d, :d]
    ell1 = _spread_width(h, ell, n)
    with numba_threads(threads):
        grid = _spread(np.ascontiguousarray(x3, float), h3, hinv3, np.ascontiguousarray(ii, np.int64),
                       np.ascontiguousarray(rv3, float), np.ascontiguousarray(pair_w, float),
                       np.ascontiguousarray(part_w, float), int(n), float(ell1), SPREAD_CHUNKS, d)
    if ell1 < ell:
        grid = _gaussian_filter(grid, h, n, math.sqrt(ell * ell - ell1 * ell1))
    return grid


def density_field(x, h, ell: float, n: int, threads: int | None = None) -> np.ndarray:
    """ρ_ℓ alone for points ``x`` (N, d) in the cell ``h`` (no pair model: e.g. Poisson points), n^d values."""
    x = np.asarray(x, float)
    d = x.shape[1]
    h = np.asarray(h, float)
    widths = 1.0 / np.linalg.norm(np.linalg.inv(h), axis=1)
    ell1 = _spread_width(h, ell, n)
    if CUT * ell1 > 0.5 * widths.min():
        raise ValueError(f"fields: the grid is too coarse for this cell (ℓ1 = {ell1:.4g} λ)")
    x3 = np.zeros((x.shape[0], 3))
    x3[:, :d] = x
    h3, hinv3 = np.eye(3), np.eye(3)
    h3[:d, :d] = h
    hinv3[:d, :d] = np.linalg.inv(h)
    grid = spread(x3, h3, hinv3, np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 0)),
                  np.ones((x.shape[0], 1)), n, ell, d, threads)
    return grid[0]


def _gaussian_filter(grid, h, n, ell2):
    """Convolve each row of ``grid`` (ncomp, n^d, on the cell's fractional grid) with G_ℓ2, by FFT:
    multiplier exp(−|q|²ℓ2²/2), q = 2π h^{−T} k (tilted cells included)."""
    d = h.shape[0]
    k = np.meshgrid(*[np.fft.fftfreq(n, 1.0 / n)] * d, indexing="ij")
    kv = np.stack([a.ravel() for a in k])  # (d, n^d) integer wave numbers
    q = 2 * np.pi * np.linalg.inv(h).T @ kv
    mult = np.exp(-0.5 * ell2 * ell2 * np.einsum("ij,ij->j", q, q)).reshape((n,) * d)
    out = np.empty_like(grid)
    for c in range(grid.shape[0]):
        out[c] = np.fft.ifftn(np.fft.fftn(grid[c].reshape((n,) * d)) * mult).real.ravel()
    return out


def direct_fields(conf, ell: float, points: np.ndarray, pairs=None) -> dict:
    """The same fields at arbitrary ``points`` (P, d), summing every particle and pair with the
    minimum image (numpy; the independent reference of :func:`coarse_fields`)."""
    from glass2epm.core.pairs import PairSet

    ps = pairs if pairs is not None else PairSet.from_configuration(conf)
    d = conf.dim
    h = conf.box.h
    hinv = np.linalg.inv(h)
    g = ps.derivs[1] / ps.r
    norm_full = (2 * math.pi * ell * ell) ** (-0.5 * d)
    norm_perp = (2 * math.pi * ell * ell) ** (-0.5 * (d - 1))
    from scipy.special import erf

    def mi(v):
        f = v @ hinv.T
        return (f - np.round(f)) @ h.T

    out = {"rho": [], **{c: [] for c in COMPONENTS[d]}}
    u = ps.rv / ps.r[:, None]
    for p in np.asarray(points, float):
        dx = mi(p[None, :] - conf.x)
        q2 = np.einsum("ij,ij->i", dx, dx)
        out["rho"].append(norm_full * np.exp(-q2 / (2 * ell * ell)).sum())
        # nearest image of the bond's midpoint, then the exact segment integral
        mid = conf.x[ps.ii] + 0.5 * ps.rv
        dm = mi(p[None, :] - mid)
        da = dm + 0.5 * ps.rv  # x − x_i for that image
        t = np.einsum("ij,ij->i", da, u)
        perp2 = np.maximum(np.einsum("ij,ij->i", da, da) - t * t, 0.0)
        w = norm_perp * np.exp(-perp2 / (2 * ell * ell)) * (erf(t / (math.sqrt(2) * ell))
                                                            - erf((t - ps.r) / (math.sqrt(2) * ell))) / (2 * ps.r)
        for c, (a, b) in zip(COMPONENTS[d], _PAIRS[d]):
            out[c].append(np.sum(w * g * ps.rv[:, a] * ps.rv[:, b]))
    return {k: np.array(v) for k, v in out.items()}


def spectral_divergence(fields: dict, conf) -> tuple[np.ndarray, np.ndarray]:
    """(∂_b σ_ab, |∇σ| scale) from the returned grid by FFT (rectangular cells only): the divergence
    per component a, shape (d, n^d), and the rms of all first derivatives of σ (its gradient)."""
    d = conf.dim
    n = int(fields["grid"])
    h = conf.box.h
    if np.any(np.abs(h - np.diag(np.diag(h))) > 1e-12):
        raise ValueError("spectral_divergence: rectangular cells only")
    k = [2 * np.pi * np.fft.fftfreq(n, d=h[a, a] / n) for a in range(d)]
    K = np.meshgrid(*k, indexing="ij")
    full = {}
    for c, (a, b) in zip(COMPONENTS[d], _PAIRS[d]):
        full[(a, b)] = full[(b, a)] = fields[c].reshape((n,) * d)
    div = np.zeros((d,) + (n,) * d)
    grads = []
    for a in range(d):
        for b in range(d):
            der = np.fft.ifftn(1j * K[b] * np.fft.fftn(full[(a, b)])).real
            div[a] += der
            grads.append(der)
    scale = float(np.sqrt(np.mean(np.square(grads))))
    return div.reshape(d, -1), scale
