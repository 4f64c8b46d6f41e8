"""SWAP MC kernels: local energy changes and the trial-move loop (paper App. A, ref. [60]).

The pair energy is Eq. (A2) (smoothing coefficients c_2l of Eq. (A3)) with the
non-additive pair size λ_ij of Eq. (A4) (:func:`glass2epm.core.model.pair_size`, inlined),
cut at x_c λ_ij; sizes are drawn
from p(λ) ∝ λ⁻³ on [λ_min, λ_max] (App. A, :meth:`glass2epm.core.model.Model.sizes`).
The moves and the Metropolis rule follow Ninarello, Berthier & Coslovich, PRX 7,
021039 (2017): see :mod:`glass2epm.prepare.swapmc`.

Kernels take named records (``NamedTuple``\\ s of arrays and scalars, compiled by numba
with ``cache=True``):

- :class:`PairModel`: x_c², n_a, β/2 and the coefficients c_2l of Eq. (A3);
- :class:`PackedLists`: the packed neighbour lists of :mod:`glass2epm.prepare.mclists`
  with their image shifts and size classes;
- :class:`MCState`: the per-particle arrays and counters a run updates in place;
- :class:`MoveParams` and :class:`ListSpec`: the move parameters and how to rebuild lists.

The innermost branch-free loops (``_ddisp_fast``, ``_dsize_fast``, ``_dswap_fast``, inlined
into the trial loop) take the list arrays and small tuples (the scanned span; the pair
constants x_c², n_a, c_2l) instead of records: each array handed to an inlined helper costs
an incref/decref pair per trial, and a record hands over every array it holds (seen in the
optimised LLVM of the loop; 7–13 % of the 2D trial rate), while tuples of scalars cost
nothing. Per-pair helpers cost 10–35 % (measured against the written-out loops).

One division per candidate gives 1/λ_ij², 1/r_old², 1/r_new² (or 1/r², 1/λ_old²,
1/λ_new² for a size change). For the presets' β = 10, q = 3 the loops are
branch-free (φ evaluated for every scanned candidate and selected by the cutoff:
about 25 % faster than branching, now that only the size-class prefix is scanned);
other β, q use the generic branching loops.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from glass2epm.core.model import pair_size
from glass2epm.prepare.mclists import _CODE_BITS, _CODE_MASK, _level, _rebuild
from glass2epm.prepare.rng import _uniform

# flags of the kernels that evaluate ΔU (the inlined helpers take their caller's):
# fused multiply-adds, and IEEE division (inf, no ZeroDivisionError check per pair).
_HOT = {"fastmath": {"contract"}, "error_model": "numpy"}


class PairModel(NamedTuple):
    """The pair potential (App. A) as the kernels need it."""

    xc2: float  # (cutoff x_c)²
    na: float  # non-additivity n_a of λ_ij
    hb: int  # β/2
    coeffs: np.ndarray  # smoothing coefficients c_0, c_2, ..., c_2q
    fast: int  # 1 where the β = 10, q = 3 loops apply (hb = 5, 4 coefficients)
    k: tuple  # (x_c², n_a, c_0, c_2, c_4, c_6): the scalars those loops take (zeros if not fast)

    @classmethod
    def of(cls, xc2: float, na: float, hb: int, coeffs: np.ndarray) -> "PairModel":
        c = np.ascontiguousarray(coeffs, dtype=float)
        fast = int(hb == 5 and c.shape[0] == 4)
        k = (float(xc2), float(na)) + (tuple(float(v) for v in c) if fast else (0.0,) * 4)
        return cls(float(xc2), float(na), int(hb), c, fast, k)


class PackedLists(NamedTuple):
    """Packed full neighbour lists (``core.neighbors.packed_lists``) and what decodes them."""

    start: np.ndarray  # i's entries are ent[start[i]:start[i+1]]
    ent: np.ndarray  # j·32 + image code
    ends: np.ndarray  # ends[i, m]: end of the prefix for size class m
    shifts: np.ndarray  # lattice shift of each image code
    lam_lo: float  # size classes: λ_lo and 1/Δλ
    inv_dl: float


class MCState(NamedTuple):
    """Arrays a run updates in place."""

    x: np.ndarray  # positions (wrapped at list builds)
    xoff: np.ndarray  # unwrapping offsets
    sizes: np.ndarray  # λ_i
    x0: np.ndarray  # time origins (permuted with the particles)
    order: np.ndarray  # input index of each particle
    xref: np.ndarray  # positions at the last list build
    rng: np.ndarray  # xoshiro256** state
    st: np.ndarray  # [energy, d_max, disp tried, disp acc, swap tried, swap acc]
    info: np.ndarray  # [rebuilds, trials, trials at the last sort]


class MoveParams(NamedTuple):
    """Trial moves: swap probability, displacement step (λ), temperature, Verlet skin (λ)."""

    p_swap: float
    step: float
    T: float
    skin: float


class ListSpec(NamedTuple):
    """How lists are rebuilt: cell h, list range, size-class radii², re-sort interval."""

    h: np.ndarray
    rlist: float
    radii2: np.ndarray
    resort_trials: int


@njit(cache=True, inline="always")
def _phi_ui(u, inv, hb, coeffs):
    """φ/ε = inv^{β/2} + Σ_l c_2l u^l with u = (r/λ_ij)², inv = 1/u (the φ of core.model in u)."""
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


@njit(cache=True, inline="always")
def _origin(x, i):
    """(x_i, y_i, z_i) of particle i (z = 0 in 2D)."""
    return x[i, 0], x[i, 1], (x[i, 2] if x.shape[1] == 3 else 0.0)


@njit(cache=True, inline="always")
def _disp_pair(e, xi, yi, zi, li, dd, x, sizes, shifts, na):
    """List entry e of a displaced particle: (r²_old, r²_new, λ_ij²).

    Takes arrays, not the records: reading an array field of a record inside a loop adds
    reference-count calls (record fields read per pair: ≈ 3x fewer trials/s, measured).
    Used by the generic loops only; the branch-free ones write it out (see _ddisp_fast).
    """
    j = e >> _CODE_BITS
    c = e & _CODE_MASK
    dx = x[j, 0] - xi + shifts[c, 0]
    dy = x[j, 1] - yi + shifts[c, 1]
    r2o = dx * dx + dy * dy
    ex = dx - dd[0]
    ey = dy - dd[1]
    r2n = ex * ex + ey * ey
    if x.shape[1] == 3:
        dz = x[j, 2] - zi + shifts[c, 2]
        ez = dz - dd[2]
        r2o += dz * dz
        r2n += ez * ez
    lij = pair_size(li, sizes[j], na)
    return r2o, r2n, lij * lij


@njit(cache=True, inline="always")
def _size_pair(e, xi, yi, zi, lo, ln, x, sizes, shifts, na):
    """List entry e of a particle whose size goes lo → ln: (k, r², λ_old², λ_new²)."""
    k = e >> _CODE_BITS
    c = e & _CODE_MASK
    dx = x[k, 0] - xi + shifts[c, 0]
    dy = x[k, 1] - yi + shifts[c, 1]
    r2 = dx * dx + dy * dy
    if x.shape[1] == 3:
        dz = x[k, 2] - zi + shifts[c, 2]
        r2 += dz * dz
    lk = sizes[k]
    lo2 = pair_size(lo, lk, na)
    ln2 = pair_size(ln, lk, na)
    return k, r2, lo2 * lo2, ln2 * ln2


@njit(cache=True, **_HOT)
def _ddisp(i, dd, x, sizes, nl, pend, pm):
    """ΔU of displacing i by dd = (dx, dy, dz) over entries start[i]:pend of its list."""
    xi, yi, zi = _origin(x, i)
    li = sizes[i]
    ent, shifts = nl.ent, nl.shifts
    na, xc2, hb, coeffs = pm.na, pm.xc2, pm.hb, pm.coeffs
    de = 0.0
    for p in range(nl.start[i], pend):
        r2o, r2n, l2 = _disp_pair(ent[p], xi, yi, zi, li, dd, x, sizes, shifts, na)
        rc2 = xc2 * l2
        if min(r2o, r2n) < rc2:
            q = 1.0 / (r2o * r2n * l2)
            il2 = r2o * r2n * q
            po = _phi_ui(r2o * il2, l2 * r2n * l2 * q, hb, coeffs)
            pn = _phi_ui(r2n * il2, l2 * r2o * l2 * q, hb, coeffs)
            de += (pn if r2n < rc2 else 0.0) - (po if r2o < rc2 else 0.0)
    return de


@njit(cache=True, **_HOT)
def _dsize(i, lo, ln, skip, x, sizes, nl, pend, pm):
    """ΔU of i's pairs (except with ``skip``) when λ_i goes lo → ln (entries start[i]:pend)."""
    xi, yi, zi = _origin(x, i)
    ent, shifts = nl.ent, nl.shifts
    na, xc2, hb, coeffs = pm.na, pm.xc2, pm.hb, pm.coeffs
    de = 0.0
    for p in range(nl.start[i], pend):
        k, r2, lo2, ln2 = _size_pair(ent[p], xi, yi, zi, lo, ln, x, sizes, shifts, na)
        if r2 < xc2 * max(lo2, ln2) and k != skip:
            q = 1.0 / (r2 * lo2 * ln2)
            ir2 = lo2 * ln2 * q
            po = _phi_ui(r2 * r2 * ln2 * q, lo2 * ir2, hb, coeffs)
            pn = _phi_ui(r2 * r2 * lo2 * q, ln2 * ir2, hb, coeffs)
            de += (pn if r2 < xc2 * ln2 else 0.0) - (po if r2 < xc2 * lo2 else 0.0)
    return de


@njit(cache=True, inline="always")
def _ddisp_fast(i, dd, x, sizes, ent, shifts, span, k):
    """As :func:`_ddisp` for β = 10, q = 3, branch-free (both φ evaluated, then selected).

    ``dd`` = (Δx, Δy, Δz) the trial move, ``span`` = (first, end) the entries scanned,
    ``k`` = (x_c², n_a, c_0, c_2, c_4, c_6) (``PairModel.k``): tuples, unpacked
    into registers at no cost, where record fields cost (see the module docstring).

    Written out, not through :func:`_disp_pair`: in this loop the inlined helpers (and
    record fields) cost ≈ 35 % of the trial rate (measured, N = 5000 2D).
    """
    ddx, ddy, ddz = dd
    xc2, na, c0, c1, c2, c3 = k
    d = x.shape[1]
    xi = x[i, 0]
    yi = x[i, 1]
    zi = x[i, 2] if d == 3 else 0.0
    li = sizes[i]
    de = 0.0
    for p in range(span[0], span[1]):
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
        lij = pair_size(li, sizes[j], na)
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
        po = a2 * a2 * io + c0 + uo * (c1 + uo * (c2 + uo * c3))  # φ in u
        pn = b2 * b2 * inn + c0 + un * (c1 + un * (c2 + un * c3))
        de += (pn if r2n < rc2 else 0.0) - (po if r2o < rc2 else 0.0)
    return de


@njit(cache=True, inline="always")
def _dsize_fast(i, lo, ln, skip, x, sizes, ent, shifts, span, k):
    """As :func:`_dsize` for β = 10, q = 3, branch-free (written out, see :func:`_ddisp_fast`)."""
    xc2, na, c0, c1, c2, c3 = k
    d = x.shape[1]
    xi = x[i, 0]
    yi = x[i, 1]
    zi = x[i, 2] if d == 3 else 0.0
    de = 0.0
    for p in range(span[0], span[1]):
        e = ent[p]
        q_ = e >> _CODE_BITS
        c = e & _CODE_MASK
        dx = x[q_, 0] - xi + shifts[c, 0]
        dy = x[q_, 1] - yi + shifts[c, 1]
        r2 = dx * dx + dy * dy
        if d == 3:
            dz = x[q_, 2] - zi + shifts[c, 2]
            r2 += dz * dz
        lk = sizes[q_]
        lo2 = pair_size(lo, lk, na)
        lo2 *= lo2
        ln2 = pair_size(ln, lk, na)
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
        de += dd if q_ != skip else 0.0
    return de


@njit(cache=True, inline="always")
def _swap_level(i, j, sizes, lam_lo, inv_dl, nlev):
    """The size class whose list prefix covers both partners of a swap of λ_i and λ_j."""
    return max(_level(sizes[i], lam_lo, inv_dl, nlev), _level(sizes[j], lam_lo, inv_dl, nlev))


@njit(cache=True, inline="always")
def _dswap(i, j, x, sizes, nl, pm):
    """ΔU of exchanging λ_i and λ_j: i's pairs (except (i, j)) with λ_i → λ_j, then j's
    (the generic loops; :func:`_dswap_fast` for β = 10, q = 3)."""
    m = _swap_level(i, j, sizes, nl.lam_lo, nl.inv_dl, nl.ends.shape[1])
    de = 0.0
    for t in range(2):  # one copy of the loop body (compile time)
        a = i if t == 0 else j
        b = j if t == 0 else i
        de += _dsize(a, sizes[a], sizes[b], b, x, sizes, nl, nl.ends[a, m], pm)
    return de


@njit(cache=True, inline="always")
def _dswap_fast(i, j, x, sizes, start, ends, ent, shifts, lev, k):
    """:func:`_dswap` for β = 10, q = 3 on the list arrays themselves (``lev`` = (λ_lo, 1/Δλ)
    of the size classes, ``k`` = ``PairModel.k``; the trial loop's call, see there)."""
    m = _swap_level(i, j, sizes, lev[0], lev[1], ends.shape[1])
    de = 0.0
    for t in range(2):
        a = i if t == 0 else j
        b = j if t == 0 else i
        de += _dsize_fast(a, sizes[a], sizes[b], b, x, sizes, ent, shifts, (start[a], ends[a, m]), k)
    return de


@njit(cache=True, **_HOT)
def delta_energy_displacement(i, disp, x, sizes, nl, pm):
    """ΔU (ε) of moving particle i by ``disp`` (local: i's listed pairs only)."""
    dd = (disp[0], disp[1], disp[2] if x.shape[1] == 3 else 0.0)
    m = _level(sizes[i], nl.lam_lo, nl.inv_dl, nl.ends.shape[1])
    if pm.fast == 1:
        return _ddisp_fast(i, dd, x, sizes, nl.ent, nl.shifts, (nl.start[i], nl.ends[i, m]), pm.k)
    return _ddisp(i, dd, x, sizes, nl, nl.ends[i, m], pm)


@njit(cache=True, **_HOT)
def delta_energy_swap(i, j, x, sizes, nl, pm):
    """ΔU (ε) of exchanging λ_i and λ_j; the (i, j) pair keeps its energy (λ_ij symmetric)."""
    if pm.fast == 1:
        return _dswap_fast(i, j, x, sizes, nl.start, nl.ends, nl.ent, nl.shifts, (nl.lam_lo, nl.inv_dl), pm.k)
    return _dswap(i, j, x, sizes, nl, pm)


@njit(cache=True, **_HOT)
def full_energy(x, sizes, nl, pm):
    """Total energy U (ε) over a packed full list (each pair counted twice, halved)."""
    n, d = x.shape
    start = nl.start
    ent = nl.ent
    shifts = nl.shifts
    na = pm.na
    xc2 = pm.xc2
    hb = pm.hb
    coeffs = pm.coeffs
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
def _mc_trials(s, nl, pm, mp, n_trials):
    """Run up to ``n_trials`` trial moves on the state ``s`` in place (SWAP MC, ref. [60]).

    With probability ``mp.p_swap`` a swap of the sizes of two random particles, else a
    displacement of one random particle uniform in a square (cube) of side ``mp.step``;
    Metropolis acceptance min(1, exp(−ΔU/T)). ``s.st`` = [energy, d_max, disp_tried,
    disp_acc, swap_tried, swap_acc] is updated. Returns the number of trials done;
    fewer than asked means the Verlet list must be rebuilt before the next trial
    (whose random numbers have been given back).
    """
    x = s.x
    sizes = s.sizes
    xref = s.xref
    rng = s.rng
    st = s.st
    n, d = x.shape
    # the list arrays and pair constants, read out of the records once: every array handed
    # to an inlined helper costs a reference-count pair per trial (a whole record: one per
    # array it holds), so the β = 10, q = 3 calls below take exactly the arrays they read
    ends = nl.ends
    start = nl.start
    ent = nl.ent
    shifts = nl.shifts
    lev = (nl.lam_lo, nl.inv_dl)
    k = pm.k
    fast = pm.fast == 1
    nlev = ends.shape[1]
    beta = 1.0 / mp.T
    p_swap = mp.p_swap
    step = mp.step
    skin = mp.skin
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
            if fast:
                de = _dswap_fast(i, j, x, sizes, start, ends, ent, shifts, lev, k)
            else:
                de = _dswap(i, j, x, sizes, nl, pm)
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
            m = _level(sizes[i], nl.lam_lo, nl.inv_dl, nlev)
            if fast:
                de = _ddisp_fast(i, (ddx, ddy, ddz), x, sizes, ent, shifts, (start[i], ends[i, m]), k)
            else:
                de = _ddisp(i, (ddx, ddy, ddz), x, sizes, nl, ends[i, m], pm)
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


@njit(cache=True, nogil=True)
def _mc_run(s, nl, pm, mp, spec, n_trials):
    """``n_trials`` trial moves, rebuilding (and re-sorting) lists in place when needed.

    ``s.info`` = [rebuilds, trials, trials at the last sort]. Returns the (possibly new)
    :class:`PackedLists`.
    """
    info = s.info
    done = 0
    while done < n_trials:
        k = _mc_trials(s, nl, pm, mp, n_trials - done)
        done += k
        info[1] += k
        if done < n_trials:
            resort = spec.resort_trials > 0 and info[1] - info[2] >= spec.resort_trials
            if resort:
                info[2] = info[1]
            start, ent, ends = _rebuild(s.x, s.xoff, s.sizes, s.x0, s.order, spec.h, spec.rlist,
                                        spec.radii2, resort)
            nl = PackedLists(start, ent, ends, nl.shifts, nl.lam_lo, nl.inv_dl)
            s.xref[:, :] = s.x
            s.st[1] = 0.0
            info[0] += 1
    return nl


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
