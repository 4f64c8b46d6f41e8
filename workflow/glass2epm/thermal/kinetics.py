"""Continuous-time kinetics of the thermal EPM (Baron & Biroli Eqs. 1–3, App. E): numba kernels.

Two independent simulations of the same stochastic process:

* :func:`gillespie_meanfield` — the paper's App. E literally: N sites, all rates ν(σ_i)/τ
  recomputed after every event, the relaxing site chosen by a linear scan of the cumulative rates
  (direct Gillespie method), its stress redrawn from y(σ), every other site kicked by an
  independent Gaussian of variance 2α/N. Exact kicks, no split step (ERRATA's split-step bias
  does not arise).
* :func:`run_lattice` — a rejection-free-in-effect kinetic Monte Carlo for the lattice: exact
  thinning (uniformisation) with per-site rate bounds kept in a Fenwick (binary-indexed) tree.
  Site i holds a bound B_i = ν(min(|σ_i^ref| + m, σ_c))/τ ≥ ν(σ_i)/τ, valid while
  |σ_i − σ_i^ref| ≤ m (ν is non-decreasing in |σ|). Proposals arrive at the total rate Λ = ΣB_i,
  land on site i with probability B_i/Λ and are accepted with probability ν(σ_i)/(τ B_i): the
  accepted events are exactly those of the continuous-time Markov process with rates ν(σ_i)/τ.
  A site whose stress leaves its window is re-referenced (new bound, O(log N) tree update).
  Kicks: ``mode`` 0 the fixed-orientation Eshelby kernel (Eq. 24 of the micro–meso paper),
  1 randomly oriented Eshelby kernels (a new angle ψ per relaxation, App. A), 2 fully connected
  (Gaussian kicks of variance 2α/N to every other site: the mean-field process of App. E).

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
    Ka: np.ndarray      # kernels (L, L): −sin²2φ, −cos²2φ, sin2φ cos2φ (Ĝ(0) = 0); K[dx mod L, dy mod L]
    Kb: np.ndarray
    Kc: np.ndarray
    ka0: float          # on-site values of Ka, Kb (Kc(0) = 0)
    kb0: float
    mf_std: float       # mode 2: standard deviation √(2α/N) of a kick
    table: np.ndarray   # renewal stresses (signed); empty: draw from y(σ)
    thr_table: np.ndarray  # renewal thresholds, row-paired with ``table`` (empty: one σ_c for all sites)
    kscale: float       # per-site barrier prefactor K_i = kscale·√σ_c,i (used with thr_table)
    rowmax: np.ndarray  # (3, L): max_y |K_a|, |K_b|, |K_c| of each kernel row (bounds of a row's kick)


class LatticeState(NamedTuple):
    sigma: np.ndarray   # (N,) stresses, flat index k = x·L + y
    ref: np.ndarray     # (N,) reference stress of each site's bound window
    bound: np.ndarray   # (N,) rate bound B_i
    tree: np.ndarray    # (N + 1,) Fenwick tree over the bounds
    count: np.ndarray   # (N,) relaxations per site (int64)
    tally: np.ndarray   # (1,) TALLY record
    rowdev: np.ndarray  # (L,) upper bound of max_y |σ − σ^ref| in each row (a row is scanned past the margin)
    thr: np.ndarray     # (N,) per-site thresholds σ_c,i, or empty (all sites: Rates.sigma_c)
    kfac: np.ndarray    # (N,) per-site barrier prefactors K_i, or empty (Rates.K)


#: mutable scalars of a lattice run: time, events, proposals, re-references, Λ, Σ Δ² over events
#: (for ⟨δσ²⟩), margin m; the state sampled at the fixed times next_sample + k·sample_dt (while
#: sample_dt > 0): number of samples, Σ over samples of Σ_i|σ_i| and of Σ_i σ_i²
TALLY = np.dtype([("t", "f8"), ("events", "i8"), ("proposals", "i8"), ("refreshes", "i8"), ("total", "f8"),
                  ("sum_drop2", "f8"), ("margin", "f8"), ("next_sample", "f8"), ("sample_dt", "f8"),
                  ("n_samples", "i8"), ("sample_abs", "f8"), ("sample_sq", "f8")])


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
def nu(s, r):
    """ν(σ) of Eq. (3): 1 for |σ| ≥ σ_c, exp(−K(σ_c − |σ|)^a / T) below."""
    x = r.sigma_c - abs(s)
    if x <= 0.0:
        return 1.0
    return math.exp(-r.K * x ** r.a / r.T)


@njit(cache=True, inline="always")
def nu_site(st, i, s, r):
    """ν of site i at stress s: its own threshold and prefactor when the state carries them."""
    if st.thr.size == 0:
        return nu(s, r)
    x = st.thr[i] - abs(s)
    if x <= 0.0:
        return 1.0
    return math.exp(-st.kfac[i] * x ** r.a / r.T)


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


# --------------------------------------------------------------------------- Fenwick tree

@njit(cache=True, inline="always")
def _fen_add(tree, i, delta):
    i += 1
    n = tree.size - 1
    while i <= n:
        tree[i] += delta
        i += i & (-i)


@njit(cache=True)
def _fen_build(tree, values):
    n = values.size
    tree[:] = 0.0
    for i in range(n):
        tree[i + 1] += values[i]
        j = (i + 1) + ((i + 1) & (-(i + 1)))
        if j <= n:
            tree[j] += tree[i + 1]


@njit(cache=True, inline="always")
def _fen_find(tree, u):
    """Smallest index i with prefix sum(0..i) > u."""
    n = tree.size - 1
    pos = 0
    step = 1
    while step * 2 <= n:
        step *= 2
    while step > 0:
        nxt = pos + step
        if nxt <= n and tree[nxt] <= u:
            pos = nxt
            u -= tree[nxt]
        step //= 2
    return min(pos, n - 1)


@njit(cache=True, inline="always")
def _bound(st, i, rates, margin):
    """B_i = ν_i(|σ_i| + m)/τ: ν_i is non-decreasing in |σ|, so B_i ≥ ν_i(σ)/τ while |σ − σ_i| ≤ m."""
    return nu_site(st, i, abs(st.sigma[i]) + margin, rates) / rates.tau


@njit(cache=True)
def init_lattice(st, rates):
    """Reference every site at its current stress and build the tree."""
    m = st.tally[0]["margin"]
    for i in range(st.sigma.size):
        st.ref[i] = st.sigma[i]
        st.bound[i] = _bound(st, i, rates, m)
    st.rowdev[:] = 0.0
    _fen_build(st.tree, st.bound)
    st.tally[0]["total"] = st.bound.sum()


@njit(cache=True, inline="always")
def _refresh(st, i, rates, margin):
    b = _bound(st, i, rates, margin)
    _fen_add(st.tree, i, b - st.bound[i])
    st.tally[0]["total"] += b - st.bound[i]
    st.bound[i] = b
    st.ref[i] = st.sigma[i]
    st.tally[0]["refreshes"] += 1


@njit(cache=True, fastmath=True)
def _row_dev(sig, ref, row, n):
    """max |σ − σ^ref| over one row (vectorised: unsigned indices)."""
    dev = 0.0
    for k in range(n):
        dev = max(dev, abs(sig[row + k] - ref[row + k]))
    return dev


@njit(cache=True, fastmath=True)
def _kick_rows(sig, K, mode, xj, yj, L, drop, coef, shift):
    """σ += Δ·K_ψ(r − r_j) + shift on every site (the hot loop: plain arrays, so that it vectorises).
    ``K`` = (K_a, K_b, K_c) the propagator rows, ``coef`` = (c_a, c_b, c_c) their weights for the
    drawn angle ψ (mode 1; mode 0 uses K_a alone): tuples, unpacked at no cost.
    K[ox, (y − yj) mod L] is read in two contiguous runs, y ≥ yj and y < yj. Indices are unsigned:
    numba then emits no negative-index wraparound, and LLVM vectorises the runs (3× measured)."""
    ka, kb, kc = K
    ca, cb, cc = coef
    uL = uint64(L)
    uy = uint64(yj)
    n1 = uL - uy
    for x in range(L):
        ox = x - xj if x >= xj else x - xj + L
        row = uint64(x * L)
        a = ka[ox]
        if mode == 1:
            b = kb[ox]
            c = kc[ox]
            for k in range(n1):
                sig[row + uy + k] += drop * (ca * a[k] + cb * b[k] + cc * c[k]) + shift
            for k in range(uy):
                m = n1 + k
                sig[row + k] += drop * (ca * a[m] + cb * b[m] + cc * c[m]) + shift
        else:
            for k in range(n1):
                sig[row + uy + k] += drop * a[k] + shift
            for k in range(uy):
                sig[row + k] += drop * a[n1 + k] + shift


@njit(cache=True, fastmath=True)
def _kick(st, kicks, j, drop, L, rates, margin):
    """Apply the drop Δ of site j to every site; re-reference sites that left their window."""
    sig = st.sigma
    n = sig.size
    if kicks.mode != 2:
        if kicks.mode == 1:
            psi = math.pi * np.random.random()
            ca = math.cos(2 * psi) ** 2
            cb = 1.0 - ca
            cc = math.sin(4 * psi)
        else:
            ca, cb, cc = 1.0, 0.0, 0.0
        k0 = ca * kicks.ka0 + cb * kicks.kb0
        # K'(r ≠ 0) = K_ψ(r) + (1 + K_ψ(0))/(N − 1): on-site −1, Σ_r K' = 0
        shift = drop * (1.0 + k0) / (n - 1)
        xj = j // L
        yj = j - xj * L
        s_self = sig[j]
        _kick_rows(sig, (kicks.Ka, kicks.Kb, kicks.Kc), kicks.mode, xj, yj, L, drop, (ca, cb, cc), shift)
        ad = abs(drop)
        ash = abs(shift)
        for x in range(L):
            ox = x - xj if x >= xj else x - xj + L
            if kicks.mode == 1:
                bound = ad * (ca * kicks.rowmax[0, ox] + cb * kicks.rowmax[1, ox] + abs(cc) * kicks.rowmax[2, ox]) + ash
            else:
                bound = ad * kicks.rowmax[0, ox] + ash
            # the row's deviation from its references grows by at most the row's kick
            st.rowdev[x] += bound
            if st.rowdev[x] > margin:
                dev = _row_dev(sig, st.ref, uint64(x * L), uint64(L))
                if dev > margin:
                    row = x * L
                    dev = 0.0
                    for y in range(L):
                        i = row + y
                        if i == j:  # re-referenced by the caller
                            continue
                        if abs(sig[i] - st.ref[i]) > margin:
                            _refresh(st, i, rates, margin)
                        dev = max(dev, abs(sig[i] - st.ref[i]))
                st.rowdev[x] = dev
        sig[j] = s_self  # the site's own value is set by the caller
    else:
        for i in range(n):
            if i != j:
                sig[i] += kicks.mf_std * np.random.standard_normal()
        for i in range(n):
            if i != j and abs(sig[i] - st.ref[i]) > margin:
                _refresh(st, i, rates, margin)


@njit(cache=True, nogil=True)
def run_lattice(st, kicks, rates, L, t_end, max_events, pers, series):
    """Advance the lattice to time ``t_end`` or by ``max_events`` accepted relaxations.

    Updates the tally (time, counters, ΣΔ², samples of the state at fixed times), the per-site counts, the first
    relaxation times after every passed origin of ``pers`` and the binned event counts of
    ``series``. Returns 0 when t_end was reached, 1 when max_events was."""
    tal = st.tally[0]
    margin = tal["margin"]
    n = st.sigma.size
    done = 0
    nor = pers.origins.size
    nb = series.counts.size
    since_build = 0
    while True:
        lam = tal["total"]
        dt = -math.log(1.0 - np.random.random()) / lam
        t = min(tal["t"] + dt, t_end)
        # the state is constant between events: sample it at every fixed time passed
        while tal["sample_dt"] > 0 and tal["next_sample"] <= t:
            sa = 0.0
            sq = 0.0
            for k in range(n):
                sa += abs(st.sigma[k])
                sq += st.sigma[k] * st.sigma[k]
            tal["sample_abs"] += sa
            tal["sample_sq"] += sq
            tal["n_samples"] += 1
            tal["next_sample"] += tal["sample_dt"]
        tal["t"] = t
        if t >= t_end:
            return 0
        tal["proposals"] += 1
        i = _fen_find(st.tree, np.random.random() * lam)
        if np.random.random() * st.bound[i] >= nu_site(st, i, st.sigma[i], rates) / rates.tau:
            continue
        # accepted: relax site i (renewal: a table row — stress and, if given, threshold — or y)
        if kicks.table.size > 0:
            k = np.random.randint(kicks.table.size)
            new = kicks.table[k]
            if kicks.thr_table.size > 0:
                st.thr[i] = kicks.thr_table[k]
                st.kfac[i] = kicks.kscale * math.sqrt(st.thr[i])
        else:
            new = draw_y(rates)
        drop = st.sigma[i] - new
        st.sigma[i] = new
        _kick(st, kicks, i, drop, L, rates, margin)
        _refresh(st, i, rates, margin)
        st.count[i] += 1
        tal["events"] += 1
        tal["sum_drop2"] += drop * drop
        for o in range(nor):
            if pers.origins[o] <= t and pers.first[o, i] == INF:
                pers.first[o, i] = t - pers.origins[o]
        if nb > 0 and t >= series.t0:
            b = int((t - series.t0) / series.dt)
            if b < nb:
                series.counts[b] += 1
        since_build += 1
        if since_build >= n:  # bound the drift of the tree's running sums
            _fen_build(st.tree, st.bound)
            tal["total"] = st.bound.sum()
            since_build = 0
        done += 1
        if done >= max_events:
            return 1
