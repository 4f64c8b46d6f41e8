"""Continuous-time kinetics of the thermal EPM (Baron & Biroli Eqs. 1–3, App. E): numba kernels.

Two independent simulations of the same stochastic process:

* :func:`gillespie_meanfield` — the paper's App. E literally: N sites, all rates ν(σ_i)/τ
  recomputed after every event, the relaxing site chosen by a linear scan of the cumulative rates
  (direct Gillespie method), its stress redrawn from y(σ), every other site kicked by an
  independent Gaussian of variance 2α/N. Exact kicks, no split step (ERRATA's split-step bias
  does not arise).
* :func:`run_lattice` — a rejection-free-in-effect kinetic Monte Carlo for the lattice: exact
  thinning (uniformisation) with per-site rate bounds kept in a 16-ary sampling tree.
  Site i holds a bound B_i = ν(min(|σ_i^ref| + m, σ_c))/τ ≥ ν(σ_i)/τ, valid while
  |σ_i − σ_i^ref| ≤ m (ν is non-decreasing in |σ|). Proposals arrive at the total rate Λ = ΣB_i,
  land on site i with probability B_i/Λ and are accepted with probability ν(σ_i)/(τ B_i): the
  accepted events are exactly those of the continuous-time Markov process with rates ν(σ_i)/τ.
  A site whose stress leaves its window is re-referenced (new bound, O(log N) tree update).
  Kicks: ``mode`` 0 the fixed-orientation Eshelby kernel (Eq. 24 of the micro–meso paper),
  1 randomly oriented Eshelby kernels (a new angle ψ per relaxation, App. A), 2 fully connected
  (Gaussian kicks of variance 2α/N to every other site: the mean-field process of App. E).

Deferred far field (modes 0, 1). A relaxation must change all N stresses (the kernel is long
ranged), but most of those changes are far-field kicks of order Δ/(π r²) that cannot decide the
next event. So only the near square max(|dx|, |dy|) ≤ R is kicked at once; the far-field part
(and the uniform c₀Δ) of every relaxation is deferred and applied to all sites at once at the next
*flush* (one FFT convolution for any number of deferred relaxations,
:func:`glass2epm.thermal.lattice.flush`). The dynamics stays exact:

* the window m is split in two halves: a site is re-referenced as soon as its stored stress
  (near-field kicks applied) moves by more than m/2 from its reference; for the deferred kicks,
  every coarse b×b cell D keeps F_D = Σ_deferred |Δ_k| max_{i∈D}|K_far(r_i − r_k)| ≥ the deferred
  kick on any of its sites, and a flush is due before |c₀ΣΔ| + max_D F_D exceeds m/2. So
  |σ_i − σ_i^ref| ≤ m holds for every site at every time and every bound stays valid;
* a proposal on site i is rejected at once when u ≥ ν(|σ_i^stored + c₀ΣΔ| + F_D); otherwise the
  exact σ_i is formed (stored + deferred, summed over the deferred relaxations) and the thinning
  test uses it, as does the drop of an accepted relaxation.

With K_a + K_b = −δ_{r,0} + 1/N (:func:`glass2epm.epm.propagator.oriented_kernels`) the randomly
oriented kernel off site is K'_ψ(r) = cos4ψ·K_a(r) + sin4ψ·K_c(r) + c₀,
c₀ = sin²2ψ/N + (1 + K_ψ(0))/(N − 1): two kernels per relaxation (ψ = 0: the fixed kernel K_a).

Conventions: time in units of τ; stresses in units of σ_c's unit; a relaxing site j is set to
σ_new drawn from y (or from a table), the drop Δ = σ_j − σ_new is handed to the others through
the normalised propagator K' (K'(0) = −1, Σ_r K'(r) = 0: the total stress is conserved, no
applied strain). Random numbers: numba's per-thread generator seeded from ``seed``; one thread
runs a kernel, so runs are reproducible.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, uint64

INF = np.inf


class Rates(NamedTuple):
    """ν of Eq. (3), y of Eq. (1), τ."""
    T: float
    a: float
    sigma_c: float
    sigma0: float
    K: float
    tau: float


class Kicks(NamedTuple):
    """How a relaxation kicks the other sites (see the module docstring)."""
    mode: int           # 0 fixed Eshelby, 1 random orientation, 2 fully connected
    ka0: float          # on-site values of K_a, K_b (K_c(0) = 0)
    kb0: float
    mf_std: float       # mode 2: standard deviation √(2α/N) of a kick
    table: np.ndarray   # renewal stresses (signed); empty: draw from y(σ)
    thr_table: np.ndarray  # renewal thresholds, row-paired with ``table`` (empty: one σ_c for all sites)
    kscale: float       # per-site barrier prefactor K_i = kscale·√σ_c,i (used with thr_table)
    near: int           # R: offsets dx, dy ∈ [−R, W − 1 − R] (the near square) are kicked at once
    width: int          # W: 2R + 1, or L when the whole lattice is near (small lattices: no deferral)
    Na: np.ndarray      # ((2R + 1)²,) K_a at offsets (a − R, b − R), flat a·(2R + 1) + b, 0 on site
    Nc: np.ndarray      # the same for K_c
    cell: int           # b: width of the coarse cells of the far-field bounds (b divides L)
    ncell: int          # L / b; 0 when there is no far field (2R + 1 ≥ L)
    Kaf: np.ndarray     # (N,) far kernels: K_a, K_c zero on the near square, flat index dx·L + dy
    Kcf: np.ndarray
    Ma: np.ndarray      # (b²·ncell²,) max over the sites of cell D of |K_af| for a source at place p of its cell, flat p·ncell² + D
    Mc: np.ndarray
    Ha: np.ndarray      # rfft2 of K_af, K_cf (L, L/2 + 1): the flush's convolution
    Hc: np.ndarray


class LatticeState(NamedTuple):
    sigma: np.ndarray   # (N,) stored stresses, flat index k = x·L + y (σ = stored + deferred kicks)
    ref: np.ndarray     # (N,) reference stress of each site's bound window
    bound: np.ndarray   # (N,) rate bound B_i
    tree: np.ndarray    # (tree_size(N),) sampling tree over the bounds (16-ary, block prefix sums)
    count: np.ndarray   # (N,) relaxations per site (int64)
    tally: np.ndarray   # (1,) TALLY record
    thr: np.ndarray     # (N,) per-site thresholds σ_c,i, or empty (all sites: Rates.sigma_c)
    kfac: np.ndarray    # (N,) per-site barrier prefactors K_i, or empty (Rates.K)
    fbound: np.ndarray  # (ncell²,) bound of the deferred far-field kick on any site of each coarse cell
    pend_x: np.ndarray  # (capacity,) int64: deferred relaxations (site, Δ·w_a, Δ·w_c)
    pend_y: np.ndarray
    pend_a: np.ndarray
    pend_c: np.ndarray


#: mutable scalars of a lattice run: time, events, proposals, re-references, Λ, Σ Δ² over events
#: (for ⟨δσ²⟩), margin m; the state sampled at the fixed times next_sample + k·sample_dt (while
#: sample_dt > 0): number of samples, Σ over samples of Σ_i|σ_i| and of Σ_i σ_i²; the deferred
#: uniform kick c₀ΣΔ (shift), number of deferred relaxations, largest cell bound, an event time
#: drawn before a flush (< 0: none), flushes
TALLY = np.dtype([("t", "f8"), ("events", "i8"), ("proposals", "i8"), ("refreshes", "i8"), ("total", "f8"),
                  ("sum_drop2", "f8"), ("margin", "f8"), ("next_sample", "f8"), ("sample_dt", "f8"),
                  ("n_samples", "i8"), ("sample_abs", "f8"), ("sample_sq", "f8"), ("shift", "f8"),
                  ("npend", "i8"), ("fmax", "f8"), ("t_next", "f8"), ("flushes", "i8")])


def new_tally(margin: float) -> np.ndarray:
    """A fresh TALLY record with window ``margin``."""
    tal = np.zeros(1, TALLY)
    tal[0]["margin"] = margin
    tal[0]["t_next"] = -1.0
    return tal


class Persistence(NamedTuple):
    """First relaxation time of every site after each time origin (INF: not yet)."""
    origins: np.ndarray  # (n_o,) absolute times
    first: np.ndarray    # (n_o, N)


class Series(NamedTuple):
    """Events counted in time bins of width ``dt`` from ``t0`` (activity Γ(t) = count/(N dt))."""
    t0: float
    dt: float
    counts: np.ndarray   # (n_bins,) int64


# --------------------------------------------------------------------------- shared helpers

@njit(cache=True, inline="always")
def _power(x, a):
    """x^a for x > 0; the paper's a = 3/2 as x√x (a third of the cost of pow)."""
    if a == 1.5:
        return x * math.sqrt(x)
    return x ** a


@njit(cache=True, inline="always")
def nu(s, r):
    """ν(σ) of Eq. (3): 1 for |σ| ≥ σ_c, exp(−K(σ_c − |σ|)^a / T) below."""
    x = r.sigma_c - abs(s)
    if x <= 0.0:
        return 1.0
    return math.exp(-r.K * _power(x, r.a) / r.T)


@njit(cache=True, inline="always")
def nu_site(thr, kfac, i, s, r):
    """ν of site i at stress s: its own threshold and prefactor when the state carries them
    (``thr``, ``kfac`` non-empty)."""
    if thr.size == 0:
        return nu(s, r)
    x = thr[i] - abs(s)
    if x <= 0.0:
        return 1.0
    return math.exp(-kfac[i] * _power(x, r.a) / r.T)


@njit(cache=True, inline="always")
def draw_y(r):
    """A stress drawn from y(σ) of Eq. (1): |σ| by inverting its CDF, a random sign."""
    e = math.exp(-r.sigma_c / r.sigma0)
    s = r.sigma_c + r.sigma0 * math.log(e + np.random.random() * (1.0 - e))
    s = min(s, r.sigma_c)
    return s if np.random.random() < 0.5 else -s


@njit(cache=True)
def seed_numba(seed):
    np.random.seed(seed)


# --------------------------------------------------------------------------- App. E, literally

@njit(cache=True, nogil=True)
def gillespie_meanfield(sigma, rates, alpha, t_equil, t_end, seed):
    """Direct-method Gillespie of App. E on the N stresses ``sigma`` (modified in place).

    Runs to time ``t_end`` (units of τ); returns (events after ``t_equil``, ∫ mean|σ| dt over
    [t_equil, t_end], events in each of 50 equal blocks of [t_equil, t_end], ∫ mean|σ| dt per
    block) for the activity Γ = events/(N·(t_end − t_equil)) and ⟨|σ|⟩ with batch-mean errors."""
    np.random.seed(seed)
    n = sigma.size
    std = math.sqrt(2.0 * alpha / n)
    r = np.empty(n)
    nblk = 50
    blk_ev = np.zeros(nblk, np.int64)
    blk_abs = np.zeros(nblk)
    width = (t_end - t_equil) / nblk
    t = 0.0
    events = 0
    total_abs = 0.0
    while True:
        R = 0.0
        sabs = 0.0
        for i in range(n):
            r[i] = nu(sigma[i], rates) / rates.tau
            R += r[i]
            sabs += abs(sigma[i])
        dt = -math.log(1.0 - np.random.random()) / R
        # ∫ mean|σ| over [t, t + dt] ∩ [t_equil, t_end], split over blocks
        a = max(t, t_equil)
        b = min(t + dt, t_end)
        while a < b:
            k = min(int((a - t_equil) / width), nblk - 1)
            edge = min(b, t_equil + (k + 1) * width)
            blk_abs[k] += (edge - a) * sabs / n
            total_abs += (edge - a) * sabs / n
            a = edge if edge > a else b
        t += dt
        if t >= t_end:
            break
        u = np.random.random() * R
        c = 0.0
        j = n - 1
        for i in range(n):
            c += r[i]
            if c > u:
                j = i
                break
        sigma[j] = draw_y(rates)
        for i in range(n):
            if i != j:
                sigma[i] += std * np.random.standard_normal()
        if t >= t_equil:
            events += 1
            blk_ev[min(int((t - t_equil) / width), nblk - 1)] += 1
    return events, total_abs, blk_ev, blk_abs


# --------------------------------------------------------------------------- sampling tree

#: branching of the sampling tree (16 values: two cache lines, compared at once)
BRANCH = 16


def tree_size(n: int) -> int:
    """Length of the sampling-tree array over n leaves (:func:`_layout`)."""
    total, m = 0, n
    while True:
        total += -(-m // BRANCH) * BRANCH
        if m <= BRANCH:
            return total
        m = -(-m // BRANCH)


@njit(cache=True, inline="always")
def _layout(n):
    """Offsets of the levels of the sampling tree over n leaves, and its number of levels H.

    Level 0 holds the n rates, level ℓ + 1 one entry per block of 16 of level ℓ; every entry
    stores the *inclusive prefix sum within its block* of the subtree sums (a block's last entry is
    its total, the parent's value). Every level is padded to whole blocks with +inf (never below
    u, so a block is always searched whole). The top level (≤ 16 entries) is one block: its last
    real entry is Λ."""
    n1 = (n + 15) >> 4
    n2 = (n1 + 15) >> 4
    n3 = (n2 + 15) >> 4
    n4 = (n3 + 15) >> 4
    n5 = (n4 + 15) >> 4
    o1 = n1 << 4
    o2 = o1 + (n2 << 4)
    o3 = o2 + (n3 << 4)
    o4 = o3 + (n4 << 4)
    o5 = o4 + (n5 << 4)
    sizes = (n, n1, n2, n3, n4, n5)
    offs = (0, o1, o2, o3, o4, o5)
    H = 1
    while sizes[H - 1] > 16:
        H += 1
    return sizes, offs, H


@njit(cache=True, inline="always")
def _tree_add(tree, n, i, delta):
    """Rate of leaf i changed by ``delta``: each level's prefix sums from i's entry to its block's
    end (a whole block, masked: vectorised)."""
    sizes, offs, H = _layout(n)
    j = i
    for lev in range(H):
        base = offs[lev] + (j & ~15)
        r = j & 15
        for k in range(16):
            tree[base + k] += delta if k >= r else 0.0
        j >>= 4


@njit(cache=True)
def _tree_build(tree, values):
    """The sampling tree over ``values`` from scratch (also bounds the drift of the running sums)."""
    n = values.size
    sizes, offs, H = _layout(n)
    tree[:] = np.inf
    for j in range(n):
        tree[j] = values[j] + (tree[j - 1] if j & 15 else 0.0)
    for lev in range(1, H):
        o, op, npv = offs[lev], offs[lev - 1], sizes[lev - 1]
        for j in range(sizes[lev]):
            v = tree[op + min(16 * j + 15, npv - 1)]  # the child block's total
            tree[o + j] = v + (tree[o + j - 1] if j & 15 else 0.0)


@njit(cache=True)
def tree_total(tree, n):
    """Λ: the last real entry of the top block."""
    sizes, offs, H = _layout(n)
    return tree[offs[H - 1] + sizes[H - 1] - 1]


@njit(cache=True, inline="always")
def _tree_find(tree, n, u):
    """The leaf i with (prefix sum before i) ≤ u < (prefix sum through i), for 0 ≤ u < Λ: at each
    level, the number of block entries ≤ u (branch-free over a whole block) is the child to
    descend to."""
    sizes, offs, H = _layout(n)
    node = 0
    for lev in range(H - 1, -1, -1):
        j0 = offs[lev] + (node << 4)
        c = 0
        for k in range(16):
            c += tree[j0 + k] <= u
        c = min(c, min(16, sizes[lev] - (node << 4)) - 1)  # u at or beyond the block total (rounding)
        if c > 0:
            u -= tree[j0 + c - 1]
        node = (node << 4) + c
    return node


@njit(cache=True, inline="always")
def _bound_of(thr, kfac, i, s, rates, margin):
    """B_i = ν_i(|s| + m)/τ: ν_i is non-decreasing in |σ|, so B_i ≥ ν_i(σ)/τ while |σ − s| ≤ m."""
    return nu_site(thr, kfac, i, abs(s) + margin, rates) / rates.tau


@njit(cache=True)
def init_lattice(st, rates):
    """Reference every site at its current stress and build the tree (no kick may be pending)."""
    m = st.tally[0]["margin"]
    for i in range(st.sigma.size):
        st.ref[i] = st.sigma[i]
        st.bound[i] = _bound_of(st.thr, st.kfac, i, st.sigma[i], rates, m)
    _tree_build(st.tree, st.bound)
    st.tally[0]["total"] = st.bound.sum()


@njit(cache=True, inline="always")
def _refresh(i, sig, ref, bound, tree, thr, kfac, tally, rates, margin):
    """Re-reference site i at its stored stress: new bound, tree and Λ updated. Arrays passed one
    by one (no record, no tuple: numba counts a reference for every array unpacked, at every call)."""
    b = _bound_of(thr, kfac, i, sig[i], rates, margin)
    _tree_add(tree, sig.size, i, b - bound[i])
    tally[0]["total"] += b - bound[i]
    bound[i] = b
    ref[i] = sig[i]
    tally[0]["refreshes"] += 1


@njit(cache=True)
def scatter_pending(st, grid):
    """The deferred relaxations as source fields for the flush: grid[0] = Σ Δw_a δ(r − r_k),
    grid[1] = Σ Δw_c δ(r − r_k) (``grid`` (2, L, L), overwritten). Returns their number."""
    n = int(st.tally[0]["npend"])
    grid[:] = 0.0
    for k in range(n):
        grid[0, st.pend_x[k], st.pend_y[k]] += st.pend_a[k]
        grid[1, st.pend_x[k], st.pend_y[k]] += st.pend_c[k]
    return n


@njit(cache=True)
def apply_deferred(st, far, rates):
    """Finish a flush (:func:`glass2epm.thermal.lattice.flush`): σ += far + c₀ΣΔ on every site
    (``far``: the convolved far fields, flat, or empty when none was deferred), the deferred
    record cleared; every site whose stored stress left the applied half m/2 of its window gets a
    new reference and bound; the far-field bounds restart."""
    tal = st.tally[0]
    m = tal["margin"]
    half = 0.5 * m
    shift = tal["shift"]
    sig = st.sigma
    has_far = far.size == sig.size
    for i in range(sig.size):
        sig[i] += (far[i] + shift) if has_far else shift
        if abs(sig[i] - st.ref[i]) > half:
            _refresh(i, sig, st.ref, st.bound, st.tree, st.thr, st.kfac, st.tally, rates, m)
    st.fbound[:] = 0.0
    tal["fmax"] = 0.0
    tal["shift"] = 0.0
    tal["npend"] = 0
    tal["flushes"] += 1


@njit(cache=True, fastmath=True)
def _kick_near(sig, ref, na, nc, geo, drop, wa, wc, half, todo):
    """The near field: every site within max(|dx|, |dy|) ≤ R of the relaxing site j (not j itself)
    gets Δ(w_a K_a + w_c K_c) at once. ``geo`` = (x_j, y_j, L, R, W, mode). Writes the sites whose
    stored stress left the applied half of their window to ``todo`` and returns their number (the
    caller re-references them). Flat unsigned indices: the runs vectorise."""
    xj, yj, L, R, W, mode = geo
    y0 = yj - R
    # the W columns of a row: one run, or two when they wrap ([y0 + L, L) then [0, ...))
    if y0 < 0:
        s1, n1, s2, n2 = y0 + L, -y0, 0, W + y0
    elif y0 + W > L:
        s1, n1, s2, n2 = y0, L - y0, 0, W - (L - y0)
    else:
        s1, n1, s2, n2 = y0, W, 0, 0
    nt = 0
    for a in range(W):
        x = xj + a - R
        if x < 0:
            x += L
        elif x >= L:
            x -= L
        row = uint64(x * L)
        kr = uint64(a * W)
        dev = 0.0
        for run in range(2):
            st0 = row + uint64(s1 if run == 0 else s2)
            k0 = kr + uint64(0 if run == 0 else n1)
            n = uint64(n1 if run == 0 else n2)
            if mode == 1:
                for k in range(n):
                    sig[st0 + k] += drop * (wa * na[k0 + k] + wc * nc[k0 + k])
            else:
                for k in range(n):
                    sig[st0 + k] += drop * na[k0 + k]
            for k in range(n):
                dev = max(dev, abs(sig[st0 + k] - ref[st0 + k]))
        if dev > half:
            for run in range(2):
                st0 = x * L + (s1 if run == 0 else s2)
                for k in range(n1 if run == 0 else n2):
                    if abs(sig[st0 + k] - ref[st0 + k]) > half:
                        todo[nt] = st0 + k
                        nt += 1
    return nt


@njit(cache=True, fastmath=True)
def _far_bounds(F, ma, mc, geo, fa, fc, fmax):
    """Add a relaxation's far-field bound to every coarse cell, F_D += f_a M_a + f_c M_c (f = |Δ w|,
    M the largest |K_far| over the cell's sites for a source at j's place in its cell);
    ``geo`` = (x_j, y_j, b, ncell). Returns the new max_D F_D."""
    xj, yj, b, nc = geo
    cx = xj // b
    cy = yj // b
    base = uint64(((xj - cx * b) * b + (yj - cy * b)) * nc * nc)
    un = uint64(nc)
    ucy = uint64(cy)
    for X in range(nc):
        ox = X - cx if X >= cx else X - cx + nc
        src = base + uint64(ox * nc)
        dst = uint64(X * nc)
        # cells Y ≥ cy have offsets 0.., cells Y < cy offsets nc − cy..
        for k in range(un - ucy):
            F[dst + ucy + k] += fa * ma[src + k] + fc * mc[src + k]
        for k in range(ucy):
            F[dst + k] += fa * ma[src + un - ucy + k] + fc * mc[src + un - ucy + k]
    for k in range(F.size):
        fmax = max(fmax, F[k])
    return fmax


@njit(cache=True, fastmath=True)
def _pending_at(px, py, pa, pc, kaf, kcf, i, L, n, mode):
    """Σ over the n deferred relaxations (sites (px, py), weights Δw_a = pa, Δw_c = pc) of their
    far-field kick on site i. Arrays passed one by one (a tuple would be unpacked with a reference
    count per array at every call); branch-free body: the loop vectorises with gathers."""
    xi = i // L
    yi = i - xi * L
    s = 0.0
    if mode == 1:
        for k in range(n):
            dx = xi - px[k]
            dy = yi - py[k]
            q = (dx + L if dx < 0 else dx) * L + (dy + L if dy < 0 else dy)
            s += pa[k] * kaf[q] + pc[k] * kcf[q]
    else:
        for k in range(n):
            dx = xi - px[k]
            dy = yi - py[k]
            q = (dx + L if dx < 0 else dx) * L + (dy + L if dy < 0 else dy)
            s += pa[k] * kaf[q]
    return s


@njit(cache=True)
def exact_stress(st, kicks, L, out):
    """The current stresses without flushing: stored + c₀ΣΔ + every deferred far-field kick, summed
    in real space site by site (O(N × deferred); the flush gets the same by FFT)."""
    n = int(st.tally[0]["npend"])
    for i in range(st.sigma.size):
        out[i] = st.sigma[i] + st.tally[0]["shift"] + _pending_at(st.pend_x, st.pend_y, st.pend_a, st.pend_c, kicks.Kaf,
                                                                  kicks.Kcf, i, L, n, kicks.mode)
    return out


@njit(cache=True, inline="always")
def _flush_due(tal, half, cap):
    """The deferred part may reach the half m/2 of a window (|c₀ΣΔ| + max_D F_D > m/2), or the
    record of deferred relaxations is full: flush before the next proposal."""
    return abs(tal["shift"]) + tal["fmax"] > half or (cap > 0 and tal["npend"] == cap)


@njit(cache=True, nogil=True)
def run_lattice(st, kicks, rates, L, t_end, max_events, pers, series):
    """Advance the lattice to time ``t_end`` or by ``max_events`` accepted relaxations, or until the
    deferred kicks need a flush. Call it through :func:`glass2epm.thermal.lattice.advance`, which
    flushes and calls again.

    A relaxation of site j hands its drop Δ to the others through K'(r ≠ 0) = w_a K_a(r) +
    w_c K_c(r) + c₀ (module docstring): the near square at once, the far field and c₀Δ deferred to
    the next flush; mode 2 (fully connected): Gaussian kicks to every site at once.

    Updates the tally (time, counters, ΣΔ², samples of the state at fixed times), the per-site counts, the first
    relaxation times after every passed origin of ``pers`` and the binned event counts of
    ``series``. Returns 0 when t_end was reached, 1 when max_events was, 2 when a flush is due
    (then the caller flushes and calls again: the next event time already drawn is kept)."""
    tal = st.tally[0]
    margin = tal["margin"]
    half = 0.5 * margin
    sig = st.sigma
    n = sig.size
    done = 0
    nor = pers.origins.size
    nb = series.counts.size
    mode = kicks.mode
    b = kicks.cell
    ncell = kicks.ncell
    R = kicks.near
    W = kicks.width
    cap = st.pend_x.size
    na, nc, kaf, kcf = kicks.Na, kicks.Nc, kicks.Kaf, kicks.Kcf
    ma, mc, F = kicks.Ma, kicks.Mc, st.fbound
    thr, kfac, bound, tree = st.thr, st.kfac, st.bound, st.tree
    # every array the loop touches, taken out of its record once, before the loop
    ref, count, talarr = st.ref, st.count, st.tally
    px, py, pa, pc = st.pend_x, st.pend_y, st.pend_a, st.pend_c
    table, thr_table = kicks.table, kicks.thr_table
    origins, first, counts = pers.origins, pers.first, series.counts
    todo = np.empty(W * W, np.int64)
    if _flush_due(tal, half, cap):
        return 2  # a flush is still due: no proposal before it
    while True:
        if tal["t_next"] >= 0.0:  # drawn before a flush
            t = tal["t_next"]
            tal["t_next"] = -1.0
        else:
            dt = -math.log(1.0 - np.random.random()) / tal["total"]
            t = min(tal["t"] + dt, t_end)
        # the state is constant between events: sample it at every fixed time passed (exact
        # stresses: flush first)
        if tal["sample_dt"] > 0 and tal["next_sample"] <= t and (tal["npend"] > 0 or tal["shift"] != 0.0):
            tal["t_next"] = t
            return 2
        while tal["sample_dt"] > 0 and tal["next_sample"] <= t:
            sa = 0.0
            sq = 0.0
            for k in range(n):
                sa += abs(sig[k])
                sq += sig[k] * sig[k]
            tal["sample_abs"] += sa
            tal["sample_sq"] += sq
            tal["n_samples"] += 1
            tal["next_sample"] += tal["sample_dt"]
        tal["t"] = t
        if t >= t_end:
            return 0
        tal["proposals"] += 1
        i = _tree_find(tree, n, np.random.random() * tal["total"])
        u = np.random.random() * bound[i] * rates.tau
        s = sig[i] + tal["shift"]
        npend = int(tal["npend"])
        if npend > 0:
            # |σ_i| lies within the cell's far-field bound of |s|: most rejections need no more
            xi = i // L
            if u >= nu_site(thr, kfac, i, abs(s) + F[(xi // b) * ncell + (i - xi * L) // b], rates):
                continue
            s += _pending_at(px, py, pa, pc, kaf, kcf, i, L, npend, mode)
        if u >= nu_site(thr, kfac, i, s, rates):
            continue
        # accepted: relax site i (renewal: a table row — stress and, if given, threshold — or y)
        if table.size > 0:
            k = np.random.randint(table.size)
            new = table[k]
            if thr_table.size > 0:
                thr[i] = thr_table[k]
                kfac[i] = kicks.kscale * math.sqrt(thr[i])
        else:
            new = draw_y(rates)
        drop = s - new
        sig[i] -= drop  # stored + deferred = σ_new
        flush = False
        if mode == 2:
            for k in range(n):
                if k != i:
                    sig[k] += kicks.mf_std * np.random.standard_normal()
            for k in range(n):
                if k != i and abs(sig[k] - ref[k]) > margin:
                    _refresh(k, sig, ref, bound, tree, thr, kfac, talarr, rates, margin)
        else:
            if mode == 1:
                psi = math.pi * np.random.random()
                ca = math.cos(2 * psi) ** 2
                wa = math.cos(4 * psi)
                wc = math.sin(4 * psi)
            else:
                ca, wa, wc = 1.0, 1.0, 0.0
            cb = 1.0 - ca
            # K_a + K_b = −δ + 1/N: ca K_a + cb K_b = cos4ψ K_a + cb/N off site; K' adds (1 + K_ψ(0))/(N − 1)
            c0 = cb / n + (1.0 + ca * kicks.ka0 + cb * kicks.kb0) / (n - 1)
            xj = i // L
            yj = i - xj * L
            nt = _kick_near(sig, ref, na, nc, (xj, yj, L, R, W, mode), drop, wa, wc, half, todo)
            for k in range(nt):
                _refresh(todo[k], sig, ref, bound, tree, thr, kfac, talarr, rates, margin)
            tal["shift"] += drop * c0
            sig[i] -= drop * c0  # the uniform part is off site only
            if ncell > 0:
                k = npend
                px[k] = xj
                py[k] = yj
                pa[k] = drop * wa
                pc[k] = drop * wc
                tal["npend"] = k + 1
                tal["fmax"] = _far_bounds(F, ma, mc, (xj, yj, b, ncell), abs(drop * wa), abs(drop * wc), tal["fmax"])
            flush = _flush_due(tal, half, cap)
        _refresh(i, sig, ref, bound, tree, thr, kfac, talarr, rates, margin)
        count[i] += 1
        tal["events"] += 1
        tal["sum_drop2"] += drop * drop
        for o in range(nor):
            if origins[o] <= t and first[o, i] == INF:
                first[o, i] = t - origins[o]
        if nb > 0 and t >= series.t0:
            bi = int((t - series.t0) / series.dt)
            if bi < nb:
                counts[bi] += 1
        done += 1
        if tal["events"] % n == 0:  # bound the drift of the tree's running sums
            _tree_build(tree, bound)
            tal["total"] = bound.sum()
        if flush:
            return 2
        if done >= max_events:
            return 1
