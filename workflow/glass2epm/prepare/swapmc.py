"""SWAP Monte Carlo for the polydisperse model (paper Sec. II A / Appendix A, ref. [60]).

Units: energy ε, length λ (the smallest particle size), temperature ε/k_B; time in
*sweeps* (one sweep = N trial moves).

Glass samples are prepared by equilibrating a liquid at the parent temperature T_p
with SWAP Monte Carlo (Ninarello, Berthier & Coslovich, PRX 7, 021039 (2017)),
before a quench to T = 0 (Appendix A). A trial move is, with probability ``p_swap``,
the exchange of the sizes λ_i, λ_j of two random particles, otherwise the
displacement of one random particle by a vector uniform in a square (cube) of side
``step``. Both proposals are symmetric, so the Metropolis rule
min(1, exp(−ΔU/T)) gives the Boltzmann distribution of the pair model Eq. (A2)
with the non-additive pair sizes of Eq. (A4).

ΔU is *local*: only the pairs involving the moved particle(s) are visited.
For a swap of i and j, λ_ij is symmetric in (λ_i, λ_j), so the (i, j) pair itself
keeps its energy: it is left out of both sums (otherwise it would be evaluated with
the wrong pair size).

Neighbours. A swap changes pair cutoffs x_c λ_ij, so the Verlet list holds every
partner within the *largest* cutoff x_c λ_max + skin (full lists, ``build_lists``);
a move of i scans only the part of its list that can interact with a particle of
i's size (size classes, see ``_level_radii``). Positions are wrapped into the cell
only at list builds; ``xoff`` keeps the unwrapped trajectory (the MSD needs it). The
list stays valid while every pair satisfies d_i + d_k ≤ skin (d = displacement since
the build); the kernel keeps the running maximum d_max of accepted displacements
and, before evaluating a displacement of i to a point at distance d_new from its
reference, checks d_new + d_max ≤ skin. If not, it restores the random-number
state, rebuilds the lists (inside numba) and replays the same trial. The whole loop
of trials, list rebuilds included, runs in one numba call per chunk of sweeps; the
trajectory does not depend on how the run is chunked. The cell must satisfy
x_c λ_max + skin < half its smallest perpendicular width.

Randomness: xoshiro256** with its state carried in an array (seeded from
``numpy.random.SeedSequence(seed)``): same arguments and seed → bitwise the same
trajectory, independent of ``record_every``.

Equilibration is measured, not assumed: after a step-size tuning phase the
production run records the energy per particle, acceptance rates, the mean squared
displacement and the self-intermediate scattering function F_s(k, t) at
k = 2π/⟨λ⟩, both with the centre-of-mass drift removed (MC random-walks the centre
of mass). τ is the number of sweeps until F_s < 1/e; the run fails
(:class:`EquilibrationError`, a RuntimeError) when τ exceeds a tenth of the production
run.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from glass2epm.core.box import Box
from glass2epm.core.io import Configuration, write_table
from glass2epm.core.model import Model, pair_size
from glass2epm.core.schemas import SWAPMC_SERIES


class EquilibrationError(RuntimeError):
    """The run was too short to equilibrate at this temperature.

    ``result`` and ``conf`` hold what was computed, so a caller can still write them.
    """

    def __init__(self, message, result=None, conf=None):
        super().__init__(message)
        self.result = result
        self.conf = conf


# ----------------------------------------------------------------------------
# random numbers: xoshiro256** (Blackman & Vigna), state = 4 uint64 in an array


@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << k) | (x >> (np.uint64(64) - k))


@njit(cache=True, inline="always")
def _next_u64(s):
    result = _rotl(s[1] * np.uint64(5), np.uint64(7)) * np.uint64(9)
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], np.uint64(45))
    return result


@njit(cache=True, inline="always")
def _uniform(s):
    """A double uniform in [0, 1) (53 random bits)."""
    return float(_next_u64(s) >> np.uint64(11)) * 1.1102230246251565e-16


def rng_state(seed: int) -> np.ndarray:
    """The xoshiro256** state for an integer seed (via numpy's SeedSequence)."""
    st = np.random.SeedSequence(int(seed)).generate_state(4, dtype=np.uint64)
    if not st.any():
        st[0] = 1
    return st


@njit(cache=True)
def uniforms(state, n):
    """n uniform doubles from the generator (advances ``state``); for tests."""
    out = np.empty(n)
    for k in range(n):
        out[k] = _uniform(state)
    return out


# ----------------------------------------------------------------------------
# packed neighbour lists, built inside numba
#
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
# entries save the minimum-image arithmetic per candidate.

_CODE_BITS = 5
_CODE_MASK = 31
N_LEVELS = 16
# flags of the kernels that evaluate ΔU (the inlined helpers take their caller's):
# fused multiply-adds, and IEEE division (inf, no ZeroDivisionError check per pair).
_HOT = {"fastmath": {"contract"}, "error_model": "numpy"}
# λ, per dimension: the fastest at N = 10⁴ (2D lerner-poly2d T = 0.5, 3D richard2023 T = 3),
# trading longer lists against rebuilds (see bench/bench_swapmc.py)
DEFAULT_SKIN = {2: 1.0, 3: 1.3}


@njit(cache=True)
def image_shifts(h):
    """Shift vectors h·n for the 3^d image codes."""
    d = h.shape[0]
    ncode = 3**d
    shifts = np.zeros((ncode, d))
    for c in range(ncode):
        cc = c
        for a in range(d):
            na_ = cc % 3 - 1
            cc //= 3
            for b in range(d):
                shifts[c, b] += h[b, a] * na_
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

    R_m = x_c · max λ_ij (Eq. A4) over partners λ_j ∈ [λ_min, λ_max] and λ_i in class m.
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


# ----------------------------------------------------------------------------
# local energy changes
#
# One division per candidate gives 1/λ_ij², 1/r_old², 1/r_new² (or 1/r², 1/λ_old²,
# 1/λ_new² for a size change). For the presets' β = 10, q = 3 the loops are
# branch-free (φ evaluated for every scanned candidate and selected by the cutoff:
# about 25 % faster than branching, now that only the size-class prefix is scanned);
# other β, q use the generic branching loops.


@njit(cache=True, inline="always")
def _phi_ui(u, inv, hb, coeffs):
    """φ/ε = inv^{β/2} + Σ_l c_2l u^l with u = (r/λ_ij)² and inv = 1/u (Eq. A2)."""
    if hb == 5:
        i2 = inv * inv
        ipl = i2 * i2 * inv
    else:
        ipl = 1.0
        b = inv
        e = hb
        while e > 0:
            if e & 1:
                ipl *= b
            b *= b
            e >>= 1
    nq = coeffs.shape[0]
    if nq == 4:
        poly = coeffs[0] + u * (coeffs[1] + u * (coeffs[2] + u * coeffs[3]))
    else:
        poly = coeffs[nq - 1]
        for l in range(nq - 2, -1, -1):
            poly = poly * u + coeffs[l]
    return ipl + poly


@njit(cache=True, **_HOT)
def _ddisp(i, ddx, ddy, ddz, x, sizes, ent, shifts, start, pend, xc2, na, hb, coeffs):
    """ΔU of displacing i by (ddx, ddy[, ddz]) over entries start[i]:pend of its list."""
    d = x.shape[1]
    xi = x[i, 0]
    yi = x[i, 1]
    zi = x[i, 2] if d == 3 else 0.0
    li = sizes[i]
    de = 0.0
    for p in range(start[i], pend):
        e = ent[p]
        j = e >> _CODE_BITS
        c = e & _CODE_MASK
        dx = x[j, 0] - xi + shifts[c, 0]
        dy = x[j, 1] - yi + shifts[c, 1]
        r2o = dx * dx + dy * dy
        ex = dx - ddx
        ey = dy - ddy
        r2n = ex * ex + ey * ey
        if d == 3:
            dz = x[j, 2] - zi + shifts[c, 2]
            ez = dz - ddz
            r2o += dz * dz
            r2n += ez * ez
        lj = sizes[j]
        lij = 0.5 * (li + lj) * (1.0 - na * abs(li - lj))  # Eq. (A4)
        l2 = lij * lij
        rc2 = xc2 * l2
        if min(r2o, r2n) < rc2:
            q = 1.0 / (r2o * r2n * l2)
            il2 = r2o * r2n * q
            po = _phi_ui(r2o * il2, l2 * r2n * l2 * q, hb, coeffs)
            pn = _phi_ui(r2n * il2, l2 * r2o * l2 * q, hb, coeffs)
            de += (pn if r2n < rc2 else 0.0) - (po if r2o < rc2 else 0.0)
    return de


@njit(cache=True, **_HOT)
def _dsize(i, lo, ln, skip, x, sizes, ent, shifts, start, pend, xc2, na, hb, coeffs):
    """ΔU of i's pairs (except with ``skip``) when λ_i goes lo → ln (entries start[i]:pend)."""
    d = x.shape[1]
    xi = x[i, 0]
    yi = x[i, 1]
    zi = x[i, 2] if d == 3 else 0.0
    de = 0.0
    for p in range(start[i], pend):
        e = ent[p]
        k = e >> _CODE_BITS
        c = e & _CODE_MASK
        dx = x[k, 0] - xi + shifts[c, 0]
        dy = x[k, 1] - yi + shifts[c, 1]
        r2 = dx * dx + dy * dy
        if d == 3:
            dz = x[k, 2] - zi + shifts[c, 2]
            r2 += dz * dz
        lk = sizes[k]
        lo2 = 0.5 * (lo + lk) * (1.0 - na * abs(lo - lk))  # Eq. (A4)
        lo2 *= lo2
        ln2 = 0.5 * (ln + lk) * (1.0 - na * abs(ln - lk))
        ln2 *= ln2
        if r2 < xc2 * max(lo2, ln2) and k != skip:
            q = 1.0 / (r2 * lo2 * ln2)
            ir2 = lo2 * ln2 * q
            po = _phi_ui(r2 * r2 * ln2 * q, lo2 * ir2, hb, coeffs)
            pn = _phi_ui(r2 * r2 * lo2 * q, ln2 * ir2, hb, coeffs)
            de += (pn if r2 < xc2 * ln2 else 0.0) - (po if r2 < xc2 * lo2 else 0.0)
    return de


@njit(cache=True, inline="always")
def _ddisp_fast(i, ddx, ddy, ddz, x, sizes, ent, shifts, start, pend, xc2, na, c0, c1, c2, c3):
    """As :func:`_ddisp` for β = 10, q = 3, branch-free (both φ evaluated, then selected)."""
    d = x.shape[1]
    xi = x[i, 0]
    yi = x[i, 1]
    zi = x[i, 2] if d == 3 else 0.0
    li = sizes[i]
    de = 0.0
    for p in range(start[i], pend):
        e = ent[p]
        j = e >> _CODE_BITS
        c = e & _CODE_MASK
        dx = x[j, 0] - xi + shifts[c, 0]
        dy = x[j, 1] - yi + shifts[c, 1]
        r2o = dx * dx + dy * dy
        ex = dx - ddx
        ey = dy - ddy
        r2n = ex * ex + ey * ey
        if d == 3:
            dz = x[j, 2] - zi + shifts[c, 2]
            ez = dz - ddz
            r2o += dz * dz
            r2n += ez * ez
        lj = sizes[j]
        lij = 0.5 * (li + lj) * (1.0 - na * abs(li - lj))  # Eq. (A4)
        l2 = lij * lij
        rc2 = xc2 * l2
        q = 1.0 / (r2o * r2n * l2)
        il2 = r2o * r2n * q
        uo = r2o * il2
        un = r2n * il2
        io = l2 * l2 * r2n * q  # 1/uo
        inn = l2 * l2 * r2o * q  # 1/un
        a2 = io * io
        b2 = inn * inn
        po = a2 * a2 * io + c0 + uo * (c1 + uo * (c2 + uo * c3))  # Eq. (A2) in u
        pn = b2 * b2 * inn + c0 + un * (c1 + un * (c2 + un * c3))
        de += (pn if r2n < rc2 else 0.0) - (po if r2o < rc2 else 0.0)
    return de


@njit(cache=True, inline="always")
def _dsize_fast(i, lo, ln, skip, x, sizes, ent, shifts, start, pend, xc2, na, c0, c1, c2, c3):
    """As :func:`_dsize` for β = 10, q = 3, branch-free."""
    d = x.shape[1]
    xi = x[i, 0]
    yi = x[i, 1]
    zi = x[i, 2] if d == 3 else 0.0
    de = 0.0
    for p in range(start[i], pend):
        e = ent[p]
        k = e >> _CODE_BITS
        c = e & _CODE_MASK
        dx = x[k, 0] - xi + shifts[c, 0]
        dy = x[k, 1] - yi + shifts[c, 1]
        r2 = dx * dx + dy * dy
        if d == 3:
            dz = x[k, 2] - zi + shifts[c, 2]
            r2 += dz * dz
        lk = sizes[k]
        lo2 = 0.5 * (lo + lk) * (1.0 - na * abs(lo - lk))  # Eq. (A4)
        lo2 *= lo2
        ln2 = 0.5 * (ln + lk) * (1.0 - na * abs(ln - lk))
        ln2 *= ln2
        q = 1.0 / (r2 * lo2 * ln2)
        ir2 = lo2 * ln2 * q
        uo = r2 * r2 * ln2 * q
        un = r2 * r2 * lo2 * q
        io = lo2 * ir2
        inn = ln2 * ir2
        a2 = io * io
        b2 = inn * inn
        po = a2 * a2 * io + c0 + uo * (c1 + uo * (c2 + uo * c3))
        pn = b2 * b2 * inn + c0 + un * (c1 + un * (c2 + un * c3))
        dd = (pn if r2 < xc2 * ln2 else 0.0) - (po if r2 < xc2 * lo2 else 0.0)
        de += dd if k != skip else 0.0
    return de


@njit(cache=True, inline="always")
def _ddisp_any(i, ddx, ddy, ddz, x, sizes, ent, shifts, start, pend, xc2, na, hb, coeffs):
    if hb == 5 and coeffs.shape[0] == 4:
        return _ddisp_fast(i, ddx, ddy, ddz, x, sizes, ent, shifts, start, pend, xc2, na,
                           coeffs[0], coeffs[1], coeffs[2], coeffs[3])
    return _ddisp(i, ddx, ddy, ddz, x, sizes, ent, shifts, start, pend, xc2, na, hb, coeffs)


@njit(cache=True, inline="always")
def _dsize_any(i, lo, ln, skip, x, sizes, ent, shifts, start, pend, xc2, na, hb, coeffs):
    if hb == 5 and coeffs.shape[0] == 4:
        return _dsize_fast(i, lo, ln, skip, x, sizes, ent, shifts, start, pend, xc2, na,
                           coeffs[0], coeffs[1], coeffs[2], coeffs[3])
    return _dsize(i, lo, ln, skip, x, sizes, ent, shifts, start, pend, xc2, na, hb, coeffs)


@njit(cache=True, inline="always")
def _dswap(i, j, x, sizes, ent, shifts, start, ends, lam_lo, inv_dl, xc2, na, hb, coeffs):
    """ΔU of exchanging λ_i and λ_j: i's pairs (except (i, j)) with λ_i → λ_j, then j's."""
    nl = ends.shape[1]
    li = sizes[i]
    lj = sizes[j]
    m = max(_level(li, lam_lo, inv_dl, nl), _level(lj, lam_lo, inv_dl, nl))
    de = 0.0
    for t in range(2):  # one copy of the loop body (compile time)
        a = i if t == 0 else j
        b = j if t == 0 else i
        de += _dsize_any(a, sizes[a], sizes[b], b, x, sizes, ent, shifts, start, ends[a, m], xc2, na,
                         hb, coeffs)
    return de


@njit(cache=True, **_HOT)
def delta_energy_displacement(i, disp, x, sizes, ent, shifts, start, ends, lam_lo, inv_dl, xc, na,
                              hb, coeffs):
    """ΔU (ε) of moving particle i by ``disp`` (local: i's listed pairs only)."""
    ddz = disp[2] if x.shape[1] == 3 else 0.0
    m = _level(sizes[i], lam_lo, inv_dl, ends.shape[1])
    return _ddisp_any(i, disp[0], disp[1], ddz, x, sizes, ent, shifts, start, ends[i, m], xc * xc, na,
                  hb, coeffs)


@njit(cache=True, **_HOT)
def delta_energy_swap(i, j, x, sizes, ent, shifts, start, ends, lam_lo, inv_dl, xc, na, hb, coeffs):
    """ΔU (ε) of exchanging λ_i and λ_j; the (i, j) pair keeps its energy (λ_ij symmetric)."""
    return _dswap(i, j, x, sizes, ent, shifts, start, ends, lam_lo, inv_dl, xc * xc, na, hb, coeffs)


@njit(cache=True, **_HOT)
def full_energy(x, sizes, ent, shifts, start, xc, na, hb, coeffs):
    """Total energy U (ε) over a packed full list (each pair counted twice, halved)."""
    n, d = x.shape
    xc2 = xc * xc
    e = 0.0
    for i in range(n):
        li = sizes[i]
        for p in range(start[i], start[i + 1]):
            en = ent[p]
            j = en >> _CODE_BITS
            c = en & _CODE_MASK
            r2 = 0.0
            for a in range(d):
                u = x[j, a] - x[i, a] + shifts[c, a]
                r2 += u * u
            lij = pair_size(li, sizes[j], na)
            l2 = lij * lij
            if r2 < xc2 * l2:
                e += _phi_ui(r2 / l2, l2 / r2, hb, coeffs)
    return 0.5 * e


# ----------------------------------------------------------------------------
# the trial-move loop


@njit(cache=True, **_HOT)
def _mc_trials(x, sizes, ent, shifts, start, ends, lam_lo, inv_dl, xref, rng, n_trials, p_swap,
               step, T, xc, na, hb, coeffs, skin, st):
    """Run up to ``n_trials`` trial moves in place.

    ``st`` = [energy, d_max, disp_tried, disp_acc, swap_tried, swap_acc] is updated.
    Returns the number of trials done; fewer than asked means the Verlet list must be
    rebuilt before the next trial (whose random numbers have been given back).
    """
    n, d = x.shape
    nl = ends.shape[1]
    xc2 = xc * xc
    beta = 1.0 / T
    energy = st[0]
    dmax = st[1]
    nd = st[2]
    ad = st[3]
    ns = st[4]
    acs = st[5]
    nm1 = float(n - 1)
    fn = float(n)
    done = n_trials
    for t in range(n_trials):
        s0 = rng[0]
        s1 = rng[1]
        s2 = rng[2]
        s3 = rng[3]
        if _uniform(rng) < p_swap:
            i = int(_uniform(rng) * fn)
            j = int(_uniform(rng) * nm1)
            if j >= i:
                j += 1
            de = _dswap(i, j, x, sizes, ent, shifts, start, ends, lam_lo, inv_dl, xc2, na, hb, coeffs)
            ns += 1.0
            if de <= 0.0 or _uniform(rng) < math.exp(-de * beta):
                li = sizes[i]
                sizes[i] = sizes[j]
                sizes[j] = li
                energy += de
                acs += 1.0
        else:
            i = int(_uniform(rng) * fn)
            ddx = step * (_uniform(rng) - 0.5)
            ddy = step * (_uniform(rng) - 0.5)
            ddz = 0.0
            if d == 3:
                ddz = step * (_uniform(rng) - 0.5)
            ex = x[i, 0] + ddx - xref[i, 0]
            ey = x[i, 1] + ddy - xref[i, 1]
            dn2 = ex * ex + ey * ey
            if d == 3:
                ez = x[i, 2] + ddz - xref[i, 2]
                dn2 += ez * ez
            lim = skin - dmax
            if dn2 > lim * lim:
                # the list may miss a pair at the trial position: give the random
                # numbers back and ask for a rebuild
                rng[0] = s0
                rng[1] = s1
                rng[2] = s2
                rng[3] = s3
                done = t
                break
            m = _level(sizes[i], lam_lo, inv_dl, nl)
            de = _ddisp_any(i, ddx, ddy, ddz, x, sizes, ent, shifts, start, ends[i, m], xc2, na, hb,
                            coeffs)
            nd += 1.0
            if de <= 0.0 or _uniform(rng) < math.exp(-de * beta):
                x[i, 0] += ddx
                x[i, 1] += ddy
                if d == 3:
                    x[i, 2] += ddz
                energy += de
                ad += 1.0
                if dn2 > dmax * dmax:
                    dmax = math.sqrt(dn2)
    st[0] = energy
    st[1] = dmax
    st[2] = nd
    st[3] = ad
    st[4] = ns
    st[5] = acs
    return done


@njit(cache=True)
def _mc_run(x, xoff, sizes, x0, order, h, lists, shifts, xref, rng, n_trials, p_swap, step, T,
            xc, na, hb, coeffs, skin, rlist, radii2, lam_lo, inv_dl, resort_trials, st, info):
    """``n_trials`` trial moves, rebuilding (and re-sorting) lists in place when needed.

    ``lists`` = (start, ent, ends); ``info`` = [rebuilds, trials, trials at the last sort].
    Returns the (possibly new) lists.
    """
    start, ent, ends = lists
    done = 0
    while done < n_trials:
        k = _mc_trials(x, sizes, ent, shifts, start, ends, lam_lo, inv_dl, xref, rng, n_trials - done,
                       p_swap, step, T, xc, na, hb, coeffs, skin, st)
        done += k
        info[1] += k
        if done < n_trials:
            resort = resort_trials > 0 and info[1] - info[2] >= resort_trials
            if resort:
                info[2] = info[1]
            start, ent, ends = _rebuild(x, xoff, sizes, x0, order, h, rlist, radii2, resort)
            xref[:, :] = x
            st[1] = 0.0
            info[0] += 1
    return start, ent, ends


@njit(cache=True)
def com_corrected_observables(x, x0, k):
    """(MSD, F_s(k)) of displacements x − x0 with their mean (centre of mass) removed.

    MSD = ⟨|Δr_i − ⟨Δr⟩|²⟩ in λ²; F_s = ⟨cos(k (Δr_{i,a} − ⟨Δr_a⟩))⟩ over particles and the
    d Cartesian directions (k in λ⁻¹). ``x`` and ``x0`` are unwrapped positions.
    """
    n, d = x.shape
    com = np.zeros(d)
    for i in range(n):
        for a in range(d):
            com[a] += x[i, a] - x0[i, a]
    for a in range(d):
        com[a] /= n
    msd = 0.0
    fs = 0.0
    for i in range(n):
        for a in range(d):
            u = x[i, a] - x0[i, a] - com[a]
            msd += u * u
            fs += math.cos(k * u)
    return msd / n, fs / (n * d)


# ----------------------------------------------------------------------------


class SwapMC:
    """The state of a SWAP MC run: positions, sizes, neighbour lists, random state.

    Parameters
    ----------
    conf : starting configuration (positions in λ; any cell, Lees–Edwards included).
    T : temperature in ε/k_B.
    seed : integer seed of the xoshiro256** generator.
    p_swap : probability that a trial is a size swap (1 → swaps only, 0 → no swaps).
    step : side of the displacement square/cube in λ (capped at skin/2).
    skin : Verlet skin in λ; reduced automatically in small cells so that
        x_c λ_max + skin stays below half the cell width.
    resort_every : re-sort particles spatially (cache locality) at a list rebuild once
        this many sweeps have passed since the last sort (0: never). Particle order in
        the output is the sorted one (identities are meaningless under swaps);
        ``order[k]`` is the input index of particle k.
    """

    def __init__(self, conf: Configuration, T: float, seed: int, p_swap: float = 0.2,
                 step: float = 0.1, skin: float | None = None, resort_every: float = 50.0):
        if not T > 0:
            raise ValueError(f"temperature must be positive, got T = {T}")
        if not 0.0 <= p_swap <= 1.0:
            raise ValueError(f"p_swap must be in [0, 1], got {p_swap}")
        if conf.N < 2:
            raise ValueError("SWAP MC needs at least 2 particles")
        if conf.N >= 2**26:
            raise ValueError(f"SWAP MC packs particle indices in 26 bits: N = {conf.N} is too large")
        self.model: Model = conf.model
        m = self.model
        tol = 1e-9 * m.lam_max
        if conf.sizes.min() < m.lam_min - tol or conf.sizes.max() > m.lam_max + tol:
            raise ValueError(
                f"particle sizes span [{conf.sizes.min():.6g}, {conf.sizes.max():.6g}] λ, outside the "
                f"model's [{m.lam_min}, {m.lam_max}]: the neighbour lists assume λ_max bounds them"
            )
        self.box = Box(conf.box.h.copy())
        self.T = float(T)
        self.p_swap = float(p_swap)
        self.seed = int(seed)
        rc = m.max_cutoff
        half_w = 0.5 * self.box.perpendicular_widths().min()
        max_skin = 0.999 * (half_w - rc)
        if max_skin < 0.02:
            raise ValueError(
                f"cell too small for SWAP MC: half its width ({half_w:.3f} λ) must exceed the "
                f"largest cutoff x_c λ_max = {rc:.3f} λ plus a skin (use more particles)"
            )
        if skin is None:
            skin = DEFAULT_SKIN[m.dim]
        if not skin > 0:
            raise ValueError(f"skin must be positive, got {skin}")
        self.skin = float(min(skin, max_skin))
        self.rlist = rc + self.skin
        self.resort_every = float(resort_every)
        n = conf.N
        self.x = np.ascontiguousarray(conf.x, dtype=float).copy()
        self.sizes = np.ascontiguousarray(conf.sizes, dtype=float).copy()
        self.xoff = np.zeros_like(self.x)
        self.x0 = np.concatenate([self.x, self.x], axis=1)  # two time origins, side by side
        self.order = np.arange(n, dtype=np.int64)
        self.rng = rng_state(seed)
        self.st = np.zeros(6)
        self.info = np.zeros(3, dtype=np.int64)  # rebuilds, trials, trials at last sort
        self._coeffs = np.ascontiguousarray(m.coeffs, dtype=float)
        self._lam_lo, self._inv_dl, self._radii2 = _level_radii(m, self.skin)
        self.shifts = image_shifts(self.box.h)
        self.step = step
        self.xref = self.x.copy()
        self._rebuild(resort=self.resort_every > 0)
        self.resync_energy()

    # -- properties ---------------------------------------------------------
    @property
    def N(self) -> int:
        return self.x.shape[0]

    @property
    def step(self) -> float:
        return self._step

    @step.setter
    def step(self, value: float):
        # capped at skin/2: a trial right after a rebuild never needs another one
        self._step = float(min(max(value, 1e-6), 0.5 * self.skin))

    @property
    def energy(self) -> float:
        """Tracked total energy U (ε), updated by ΔU of accepted moves."""
        return float(self.st[0])

    @property
    def trials(self) -> int:
        return int(self.info[1])

    @property
    def rebuilds(self) -> int:
        return int(self.info[0])

    @property
    def sweeps_done(self) -> float:
        return self.trials / self.N

    # -- list ---------------------------------------------------------------
    def _rebuild(self, resort: bool = False):
        if resort:
            self.info[2] = self.info[1]
        self.start, self.ent, self.ends = _rebuild(self.x, self.xoff, self.sizes, self.x0, self.order,
                                                   self.box.h, self.rlist, self._radii2, resort)
        self.xref[:] = self.x
        self.st[1] = 0.0
        self.info[0] += 1

    def rebuild(self) -> None:
        """Rebuild the neighbour list now (it is rebuilt automatically when needed)."""
        self._rebuild()

    def delta_displacement(self, i: int, disp) -> float:
        """ΔU (ε) of displacing particle i by ``disp`` (λ), as the kernel computes it."""
        disp = np.asarray(disp, dtype=float)
        if np.linalg.norm(disp) > 0.5 * self.skin:
            raise ValueError(f"displacement {np.linalg.norm(disp):.3g} λ exceeds half the skin")
        if np.linalg.norm(self.x[i] + disp - self.xref[i]) + self.st[1] > self.skin:
            self._rebuild()
        m = self.model
        return float(delta_energy_displacement(int(i), disp, self.x, self.sizes, self.ent, self.shifts,
                                               self.start, self.ends, self._lam_lo, self._inv_dl,
                                               m.xc, m.na, m.half_beta, self._coeffs))

    def delta_swap(self, i: int, j: int) -> float:
        """ΔU (ε) of exchanging the sizes of particles i and j, as the kernel computes it."""
        if i == j:
            raise ValueError("a swap needs two different particles")
        m = self.model
        return float(delta_energy_swap(int(i), int(j), self.x, self.sizes, self.ent, self.shifts,
                                       self.start, self.ends, self._lam_lo, self._inv_dl, m.xc, m.na,
                                       m.half_beta, self._coeffs))

    def full_energy(self) -> float:
        """U (ε) recomputed over all pairs."""
        m = self.model
        return float(full_energy(self.x, self.sizes, self.ent, self.shifts, self.start, m.xc, m.na,
                                 m.half_beta, self._coeffs))

    def resync_energy(self) -> float:
        """Replace the tracked energy by a full recomputation; returns the old − new difference."""
        e = self.full_energy()
        diff = self.st[0] - e
        self.st[0] = e
        return float(diff)

    # -- moves --------------------------------------------------------------
    def run_trials(self, n: int) -> None:
        """``n`` trial moves, all inside one numba call (list rebuilds included)."""
        m = self.model
        resort_trials = int(self.resort_every * self.N) if self.resort_every > 0 else 0
        self.start, self.ent, self.ends = _mc_run(
            self.x, self.xoff, self.sizes, self.x0, self.order, self.box.h,
            (self.start, self.ent, self.ends), self.shifts, self.xref, self.rng, int(n), self.p_swap,
            self._step, self.T, m.xc, m.na, m.half_beta, self._coeffs, self.skin, self.rlist,
            self._radii2, self._lam_lo, self._inv_dl, resort_trials, self.st, self.info)

    def sweep(self, n: int = 1) -> None:
        """``n`` sweeps of N trial moves each."""
        self.run_trials(int(n) * self.N)

    def counters(self) -> np.ndarray:
        """[displacements tried, accepted, swaps tried, accepted] since the start."""
        return self.st[2:6].copy()

    # -- observables --------------------------------------------------------
    def unwrapped(self) -> np.ndarray:
        """Unwrapped positions (λ): continuous in time since the start of the run."""
        return self.x + self.xoff

    def mark_origin(self, slot: int = 0) -> None:
        """Take the current positions as time origin ``slot`` (0 or 1) of MSD and F_s."""
        d = self.x.shape[1]
        self.x0[:, slot * d:(slot + 1) * d] = self.unwrapped()

    def observables(self, k: float, slot: int = 0) -> tuple[float, float]:
        """(MSD in λ², F_s(k)) since :meth:`mark_origin` (``slot``), centre-of-mass drift removed."""
        d = self.x.shape[1]
        x0 = np.ascontiguousarray(self.x0[:, slot * d:(slot + 1) * d])
        msd, fs = com_corrected_observables(self.unwrapped(), x0, float(k))
        return float(msd), float(fs)

    def configuration(self, **kw) -> Configuration:
        """The current state as a Configuration (positions wrapped into the cell)."""
        return Configuration(self.box.wrap(self.x), self.sizes.copy(), Box(self.box.h.copy()),
                             self.model, **kw)


# ----------------------------------------------------------------------------
# runs


@dataclass
class SwapMCResult:
    """Time series and equilibration diagnostics of :func:`run_swap_mc`.

    ``series``: dict of equal-length arrays with the ``swapmc_series`` columns. ``tau``:
    sweeps until F_s(k) < 1/e in production (NaN if never); ``tau_lower_bound``: a lower
    bound on τ when it was not reached (assuming a stretched exponential, exponent ≤ 1);
    ``tau_mid``: the same from the middle of production (≈ τ in equilibrium, longer while
    the system ages); ``tau_msd``: sweeps until MSD > 1 λ² (NaN if never).
    """

    series: dict
    T: float
    N: int
    sweeps: int
    tune_sweeps: int
    production_sweeps: int
    p_swap: float
    step: float
    k: float
    seed: int
    tau: float
    tau_lower_bound: float
    tau_msd: float
    tau_mid: float
    equilibrated: bool
    message: str
    rebuilds: int
    energy_tracked: float
    energy_recomputed: float
    elapsed_s: float
    extra: dict = field(default_factory=dict)

    def summary(self) -> dict:
        prod = self.series["phase"] == 1
        e = self.series["energy_per_particle"][prod]
        half = len(e) // 2
        out = {
            k: getattr(self, k)
            for k in ("T", "N", "sweeps", "tune_sweeps", "production_sweeps", "p_swap", "step", "k",
                      "seed", "tau", "tau_lower_bound", "tau_msd", "tau_mid", "equilibrated", "message",
                      "rebuilds", "energy_tracked", "energy_recomputed", "elapsed_s")
        }
        out["acc_disp"] = self.extra.get("acc_disp")
        out["acc_swap"] = self.extra.get("acc_swap")
        out["energy_per_particle_mean"] = float(e[half:].mean()) if len(e) else float("nan")
        out["energy_per_particle_drift"] = (
            float(e[half:].mean() - e[:half].mean()) if half > 0 else float("nan")
        )
        out["trials_per_second"] = self.extra.get("trials_per_second")
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}


def _first_crossing(t, y, level, below: bool):
    """First t where y crosses ``level`` (linear interpolation), NaN if never."""
    for n in range(len(y)):
        hit = y[n] < level if below else y[n] > level
        if hit:
            if n == 0:
                return float(t[0])
            t0, t1, y0, y1 = t[n - 1], t[n], y[n - 1], y[n]
            return float(t0 + (level - y0) * (t1 - t0) / (y1 - y0))
    return float("nan")


def assess_equilibration(t, fs, fs_mid, mid, prod, tau_fraction=0.1, aging_factor=3.0,
                         resolution=1.0) -> dict:
    """The equilibration verdict from F_s(k, t) series of a production run.

    ``t``: sweeps since the start of production (increasing, from 0); ``fs``: F_s from
    that origin; ``fs_mid``: F_s from the origin at sweep ``mid`` (NaN before it).
    τ = first time F_s < 1/e (linear interpolation; NaN if never). Not reached:
    ``tau_lower_bound`` = max(prod, prod / −ln F_s(end)) (exact for a stretched
    exponential with exponent ≤ 1). ``ok`` ⇔ τ ≤ tau_fraction · prod and no ageing;
    ``ageing`` ⇔ τ_mid > aging_factor · max(τ, resolution) or τ_mid not reached.
    """
    t = np.asarray(t, dtype=float)
    fs = np.asarray(fs, dtype=float)
    fs_mid = np.asarray(fs_mid, dtype=float)
    e1 = math.exp(-1.0)
    tau = _first_crossing(t, fs, e1, below=True)
    m2 = t >= mid
    tau_mid = _first_crossing(t[m2] - mid, fs_mid[m2], e1, below=True)
    if math.isfinite(tau):
        tau_lb = tau
    else:
        f_end = float(fs[-1])
        tau_lb = float(prod) / max(-math.log(f_end), 1e-12) if 0.0 < f_end < 1.0 else float("inf")
        tau_lb = max(tau_lb, float(prod))
    fast = math.isfinite(tau) and tau <= tau_fraction * prod
    ageing = fast and (not math.isfinite(tau_mid) or tau_mid > aging_factor * max(tau, resolution))
    if ageing:
        tau_lb = max(tau_lb, tau_mid if math.isfinite(tau_mid) else float(prod - mid))
    return {"tau": tau, "tau_mid": tau_mid, "tau_lower_bound": tau_lb, "ok": fast and not ageing,
            "ageing": ageing}


def run_swap_mc(conf: Configuration, T: float, sweeps: int, seed: int, p_swap: float = 0.2,
                tune_sweeps: int | None = None, record_every: int | None = None,
                check_equilibration: bool = True, progress=None, step: float = 0.1,
                skin: float | None = None, target_acceptance: float = 0.4, tau_fraction: float = 0.1,
                aging_factor: float = 3.0, progress_interval: float = 10.0):
    """Equilibrate ``conf`` at temperature T (ε/k_B) with SWAP Monte Carlo.

    Phases: ``tune_sweeps`` sweeps (default max(10, min(1000, sweeps // 10))) in which the
    displacement step is adapted towards ``target_acceptance``, then a production run of
    ``sweeps − tune_sweeps`` sweeps at fixed step, during which MSD and F_s(k = 2π/⟨λ⟩)
    (centre-of-mass drift removed) are measured from the start of production. A row is
    recorded every ``record_every`` sweeps (default ≈ 500 rows in production).

    Fails with :class:`EquilibrationError` (a RuntimeError) when ``check_equilibration``
    and the relaxation time τ (F_s < 1/e) exceeds ``tau_fraction`` of the production run,
    or when the system still ages: τ measured from the middle of production exceeds
    ``aging_factor`` × τ from its start (or is not reached in the second half).
    ``progress(sweep, dict)`` is called at the first and last record and at most every
    ``progress_interval`` seconds of wall time.

    Returns (final Configuration with Tp = T, :class:`SwapMCResult`). Particles come out
    in a spatially sorted order (identities are meaningless under swaps).
    """
    sweeps = int(sweeps)
    if sweeps < 2:
        raise ValueError(f"sweeps must be >= 2, got {sweeps}")
    if tune_sweeps is None:
        tune_sweeps = max(10, min(1000, sweeps // 10))
    tune_sweeps = int(tune_sweeps)
    if not 0 <= tune_sweeps < sweeps:
        raise ValueError(f"tune_sweeps must be in [0, sweeps), got {tune_sweeps} for {sweeps} sweeps")
    prod = sweeps - tune_sweeps
    if record_every is None:
        record_every = max(1, prod // 500)
    record_every = int(record_every)
    if record_every < 1:
        raise ValueError(f"record_every must be >= 1, got {record_every}")

    t_start = time.perf_counter()
    mc = SwapMC(conf, T, seed, p_swap=p_swap, step=step, skin=skin)
    N = mc.N
    k = 2.0 * math.pi / float(np.mean(mc.sizes))
    rows = {c: [] for c in SWAPMC_SERIES.columns}
    last = {"c": mc.counters(), "progress": -np.inf}

    nan = float("nan")

    def record(sweep, phase, msd, fs, msd_mid=nan, fs_mid=nan, force_progress=False):
        c = mc.counters()
        dc = c - last["c"]
        last["c"] = c
        acc_d = dc[1] / dc[0] if dc[0] > 0 else nan
        acc_s = dc[3] / dc[2] if dc[2] > 0 else nan
        vals = dict(sweep=sweep, phase=phase, energy_per_particle=mc.energy / N, acc_disp=acc_d,
                    acc_swap=acc_s, msd=msd, fs=fs, msd_mid=msd_mid, fs_mid=fs_mid, step=mc.step)
        for key, v in vals.items():
            rows[key].append(v)
        now = time.perf_counter()
        if progress is not None and (force_progress or now - last["progress"] >= progress_interval):
            last["progress"] = now
            progress(sweep, {**vals, "rebuilds": mc.rebuilds,
                             "trials_per_s": mc.trials / max(now - t_start, 1e-12)})

    # -- tuning phase ---------------------------------------------------------
    # the step is adapted after every block of ≥ 2000 trials; block boundaries do not
    # depend on record_every, so neither does the trajectory
    tune_block = max(1, int(math.ceil(2000 / N)))
    s = 0
    next_rec = record_every
    record(0, 0, nan, nan, force_progress=True)
    while s < tune_sweeps:
        nxt = min(s + tune_block, tune_sweeps)
        c0 = mc.counters()
        mc.sweep(nxt - s)
        s = nxt
        c1 = mc.counters() - c0
        if c1[0] > 0:
            acc = c1[1] / c1[0]
            mc.step = mc.step * min(1.5, max(0.67, acc / target_acceptance))
        # overlapping starts have huge energies: keep the tracked value exact here
        mc.resync_energy()
        if s >= next_rec or s == tune_sweeps:
            record(s, 0, nan, nan)
            next_rec = (s // record_every + 1) * record_every
    # -- production -------------------------------------------------------------
    # two time origins: the start and the middle of production. In equilibrium both
    # give the same τ; a system still ageing relaxes more slowly from the later one.
    mc.resync_energy()
    mc.mark_origin(0)
    mid = prod // 2
    record(tune_sweeps, 1, 0.0, 1.0)
    s = 0
    while s < prod:
        nxt = min(s + record_every, prod)
        if s < mid < nxt:
            nxt = mid
        mc.sweep(nxt - s)
        s = nxt
        if s == mid:
            mc.mark_origin(1)
        msd, fs = mc.observables(k, 0)
        msd2, fs2 = mc.observables(k, 1) if s >= mid else (nan, nan)
        record(tune_sweeps + s, 1, msd, fs, msd2, fs2, force_progress=(s == prod))
    elapsed = time.perf_counter() - t_start

    series = {c: np.asarray(v, dtype=np.int64 if c in ("sweep", "phase") else float)
              for c, v in rows.items()}
    pm = series["phase"] == 1
    tp = series["sweep"][pm] - tune_sweeps
    fsp = series["fs"][pm]
    tau_msd = _first_crossing(tp, series["msd"][pm], 1.0, below=False)
    v = assess_equilibration(tp, fsp, series["fs_mid"][pm], mid, prod, tau_fraction, aging_factor,
                             record_every)
    tau, tau_mid, tau_lb, ok, ageing = (v["tau"], v["tau_mid"], v["tau_lower_bound"], v["ok"],
                                        v["ageing"])
    limit = tau_fraction * prod
    if ok:
        msg = (f"equilibrated: tau = {tau:.4g} sweeps (from mid-run: {tau_mid:.4g}) <= "
               f"{tau_fraction:g} x {prod} production sweeps at T_p = {T:g}")
    elif ageing:
        need = int(math.ceil(max(tau_mid if math.isfinite(tau_mid) else prod - mid, tau)
                             / tau_fraction))
        mid_txt = (f"{tau_mid:.4g}" if math.isfinite(tau_mid)
                   else f"> {prod - mid} (F_s from there stays above 1/e)")
        msg = (f"SWAP MC at T_p = {T:g} (N = {N}) is not equilibrated: the run has {sweeps} sweeps "
               f"({tune_sweeps} tuning + {prod} production) and relaxes with tau = {tau:.4g} "
               f"sweeps from the start of production, but tau = {mid_txt} sweeps from its "
               f"middle (> {aging_factor:g}x: still ageing). Run at least ~{need} production "
               f"sweeps (sweeps >= {need + tune_sweeps}) or raise T_p.")
    else:
        need = int(math.ceil(tau_lb / tau_fraction))
        if math.isfinite(tau):
            what = f"the relaxation time tau = {tau:.4g} sweeps"
        else:
            what = (f"the relaxation time tau > {tau_lb:.4g} sweeps (lower bound: F_s(k={k:.3f}) "
                    f"only decayed to {fsp[-1]:.3f} > 1/e)")
        msg = (f"SWAP MC at T_p = {T:g} (N = {N}) is not equilibrated: the run has {sweeps} sweeps "
               f"({tune_sweeps} tuning + {prod} production), but {what} exceeds {tau_fraction:g} "
               f"of the production run ({limit:.4g} sweeps). Run at least ~{need} production "
               f"sweeps (sweeps >= {need + tune_sweeps}) or raise T_p.")
    tried = mc.counters()
    e_rec = mc.full_energy()
    result = SwapMCResult(
        series=series, T=float(T), N=N, sweeps=sweeps, tune_sweeps=tune_sweeps,
        production_sweeps=prod, p_swap=float(p_swap), step=mc.step, k=k, seed=int(seed), tau=tau,
        tau_lower_bound=tau_lb, tau_msd=tau_msd, tau_mid=tau_mid, equilibrated=ok, message=msg,
        rebuilds=mc.rebuilds, energy_tracked=mc.energy, energy_recomputed=e_rec, elapsed_s=elapsed,
        extra={"acc_disp": float(tried[1] / tried[0]) if tried[0] else None,
               "acc_swap": float(tried[3] / tried[2]) if tried[2] else None,
               "trials_per_second": mc.trials / max(elapsed, 1e-12), "skin": mc.skin},
    )
    out = mc.configuration(
        Tp=float(T), seed=int(seed), strain=dict(conf.strain),
        provenance={**conf.provenance, "generator": "swap_mc", "swap_mc": {
            "T": float(T), "sweeps": sweeps, "tune_sweeps": tune_sweeps, "p_swap": float(p_swap),
            "seed": int(seed), "step": mc.step, "tau": None if not math.isfinite(tau) else tau}},
        extra=dict(conf.extra),
    )
    if check_equilibration and not ok:
        raise EquilibrationError(msg, result=result, conf=out)
    return out, result


def write_series(path, result: SwapMCResult, conf: Configuration):
    """Write the time series of a run as a ``swapmc_series`` Parquet file."""
    return write_table(path, SWAPMC_SERIES, result.series, model=conf.model, box=conf.box,
                       strain=conf.strain, seed=result.seed,
                       provenance={"generator": "swap_mc"}, extra=result.summary())


def random_liquid(model: Model, N: int, seed: int, sizes: str = "quantile",
                  push_off_sweeps: int = 50, T_push: float = 5.0) -> Configuration:
    """N particles at uniformly random positions in a square/cubic cell at the model density.

    ``sizes``: ``"quantile"`` (the deterministic composition of :meth:`Model.sizes`) or
    ``"random"`` (i.i.d. draws). Random points overlap, with huge IPL energies
    ((λ/r)^10 ~ 10^20 for the closest pairs). Metropolis handles them (any move that
    removes an overlap is accepted), but the tracked energy would lose all precision:
    unless ``push_off_sweeps`` = 0, the overlaps are first removed by that many sweeps of
    displacement-only MC at the high temperature ``T_push`` (ε/k_B) with an adapted step
    (the energy is recomputed after each). The result is a hot liquid, to be equilibrated
    at the target T with :func:`run_swap_mc`.
    """
    if N < 2:
        raise ValueError(f"need N >= 2 particles, got {N}")
    rng = np.random.default_rng(seed)
    box = Box.square(model.box_side(N), model.dim)
    lam = model.sizes(N, method=sizes, rng=rng)
    x = rng.random((N, model.dim)) @ box.h.T
    conf = Configuration(x, lam, box, model, Tp=None, seed=int(seed),
                         provenance={"generator": "random_liquid", "sizes": sizes,
                                     "push_off_sweeps": int(push_off_sweeps), "T_push": T_push})
    if push_off_sweeps <= 0:
        return conf
    mc = SwapMC(conf, T_push, seed=int(rng.integers(2**62)), p_swap=0.0, step=0.2)
    for _ in range(int(push_off_sweeps)):
        c0 = mc.counters()
        mc.sweep(1)
        c1 = mc.counters() - c0
        if c1[0] > 0:
            mc.step = mc.step * min(1.5, max(0.67, (c1[1] / c1[0]) / 0.4))
        mc.resync_energy()
    out = mc.configuration(Tp=None, seed=int(seed), provenance=conf.provenance)
    return out
