"""numba kernels of the quasistatic EPM dynamics (Sec. V A) on named records.

What is stored: for each block the value of the loading variable s (γ under
strain control) at which it would fail if nothing else happened,
``w_i = s + (σ_th,i − σ_i)/c_i`` (c_i = μ_i, or 1 under stress control), so
loading costs nothing (s moves to min w) and a failure updates
``w_i −= Δσ_i / c_i``; σ_i = σ_th,i − c_i (w_i − s). A round with n failures
redistributes the Eq. (24) stress 2 μ_j ε_pl K(r − r_j) (kernel:
:mod:`glass2epm.epm.propagator`) through the doubled kernel (:func:`_pass_sparse`,
O(n·L²)) when n ≤ ``nswitch``, else the caller does the FFT round
(:func:`_prepare_field`, FFT, :func:`_finish_field`). Every failed block then
renews (:func:`_renew`, renewal stream :mod:`glass2epm.epm.thresholds`).

Records (numba-compatible named tuples of arrays/scalars; mutable scalars live
in the one-element structured array ``State.tally`` of dtype :data:`TALLY`):

* :class:`State` — the lattice fields w, σ_th, c, 1/c, μ, plastic strain,
  activity, and the tally (s, Σσ, Σc, Σμ, min w, avalanche counters);
* :class:`Lattice` — doubled kernel Kt, Ĝ(0) (``ksum``), nswitch, runaway cap;
* :class:`Renewal` — renewal table and key, ε_pl, renewal c and μ, mode;
* :class:`Work` — scratch buffers; :class:`Record` — per-step record buffers.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from glass2epm.epm.thresholds import renewal_index


BIG = 1e300

#: The mutable scalars of the dynamics (one-element structured array ``State.tally``):
#: s (loading variable), sumsig (Σσ_i), sumc (Σc_i), summu (Σμ_i), wmin (min w);
#: inaval (1 inside an avalanche), size / rounds (of the current avalanche),
#: npend (failing blocks waiting in Work.fbuf), nrec (records filled), total
#: (failures so far), ndiff (blocks whose c differs from the renewal value); asum (Σ 2 μ_j ε_pl
#: of an FFT round) and fieldpend (1 while an FFT round waits for its convolution).
TALLY = np.dtype([("s", "f8"), ("sumsig", "f8"), ("sumc", "f8"), ("summu", "f8"), ("wmin", "f8"),
                  ("inaval", "i8"), ("size", "i8"), ("rounds", "i8"), ("npend", "i8"),
                  ("nrec", "i8"), ("total", "i8"), ("ndiff", "i8"), ("asum", "f8"), ("fieldpend", "i8")])

# return codes of _advance
STOP, FULL, FIELD, RUNAWAY = 0, 1, 2, 3


class State(NamedTuple):
    """EPM state: (L, L) fields and the tally (see :data:`TALLY`)."""
    w: np.ndarray       # failure value of the loading variable
    thr: np.ndarray     # thresholds σ_th
    c: np.ndarray       # loading coefficient (μ under strain control, 1 under stress control)
    invc: np.ndarray    # 1 / c
    mu: np.ndarray      # moduli μ
    epsp: np.ndarray    # accumulated plastic strain
    act: np.ndarray     # failures per block (int64)
    tally: np.ndarray   # shape (1,), dtype TALLY


class Lattice(NamedTuple):
    """The propagator as the kernels use it and the dynamics' switches."""
    Kt: np.ndarray      # doubled real-space kernel (propagator.sparse_kernel)
    ksum: float         # Ĝ(0) = Σ_r K(r)
    nswitch: int        # rounds with more failures use the FFT path
    max_aval: int       # failures allowed in one avalanche


class Renewal(NamedTuple):
    """A failure: ε_pl, and what the failed block renews to."""
    table: np.ndarray   # renewal table (absolute thresholds or residual strengths)
    key: np.uint64      # renewal stream key (thresholds.renewal_key)
    eps_pl: float
    c_ren: float        # loading coefficient after renewal
    mu_ren: float       # modulus after renewal, μ(T_p = 0.7)
    relative: bool      # σ_th = σ + draw instead of σ_th = draw


class Work(NamedTuple):
    """Scratch buffers."""
    fbuf: np.ndarray    # flat indices of failing blocks (N, int64)
    cols: np.ndarray    # columns to scan (L, int64)
    fi: np.ndarray      # failing rows (N, int64)
    fj: np.ndarray      # failing columns (N, int64)
    amp: np.ndarray     # 2 μ_j ε_pl (N)
    sig: np.ndarray     # stresses of the failing blocks (N)
    acc: np.ndarray     # row accumulator (L)
    lane: np.ndarray    # per-column minima of w (L)
    field: np.ndarray   # source field of an FFT round (L, L)


class Record(NamedTuple):
    """Per-loading-step record buffers (same length)."""
    s: np.ndarray       # loading variable at the start of the avalanche
    sb: np.ndarray      # mean stress before
    sa: np.ndarray      # mean stress after
    size: np.ndarray    # failures (int64)
    rounds: np.ndarray  # rounds (int64)


def new_record(cap: int) -> Record:
    return Record(np.empty(cap), np.empty(cap), np.empty(cap), np.empty(cap, np.int64),
                  np.empty(cap, np.int64))


def new_work(L: int) -> Work:
    N = L * L
    return Work(np.zeros(N, dtype=np.int64), np.zeros(L, dtype=np.int64), np.zeros(N, dtype=np.int64),
                np.zeros(N, dtype=np.int64), np.zeros(N), np.zeros(N), np.zeros(L), np.zeros(L),
                np.zeros((L, L)))


@njit(cache=True, fastmath=True)
def _pass_sparse(w, invc, Kt, fi, fj, amp, n, acc, lane, ic):
    """w -= Σ_f amp_f K(· − r_f) / c, fused with per-column minima (lane).

    ``ic > 0``: every block has the same 1/c = ic (one memory stream fewer)."""
    L = w.shape[0]
    for j in range(L):
        lane[j] = BIG
    if n == 1:  # the common case: one failure
        i0 = fi[0]
        off = L - fj[0]
        a = amp[0] * ic if ic > 0.0 else amp[0]
        for i in range(L):
            r = i - i0
            if r < 0:
                r += L
            krow = Kt[r, off : off + L]
            wrow = w[i]
            if ic > 0.0:
                for j in range(L):
                    v = wrow[j] - a * krow[j]
                    wrow[j] = v
                    lane[j] = min(lane[j], v)
            else:
                crow = invc[i]
                for j in range(L):
                    v = wrow[j] - a * krow[j] * crow[j]
                    wrow[j] = v
                    lane[j] = min(lane[j], v)
    else:
        for i in range(L):
            for j in range(L):
                acc[j] = 0.0
            for f in range(n):
                r = i - fi[f]
                if r < 0:
                    r += L
                off = L - fj[f]
                a = amp[f]
                krow = Kt[r, off : off + L]
                for j in range(L):
                    acc[j] += a * krow[j]
            wrow = w[i]
            if ic > 0.0:
                for j in range(L):
                    v = wrow[j] - acc[j] * ic
                    wrow[j] = v
                    lane[j] = min(lane[j], v)
            else:
                crow = invc[i]
                for j in range(L):
                    v = wrow[j] - acc[j] * crow[j]
                    wrow[j] = v
                    lane[j] = min(lane[j], v)
    mn = BIG
    for j in range(L):
        mn = min(mn, lane[j])
    return mn


@njit(cache=True, fastmath=True)
def _pass_field(w, invc, dsig, lane, ic):
    """w -= dsig / c, fused with per-column minima (``ic > 0``: uniform 1/c = ic)."""
    L = w.shape[0]
    for j in range(L):
        lane[j] = BIG
    for i in range(L):
        wrow = w[i]
        drow = dsig[i]
        if ic > 0.0:
            for j in range(L):
                v = wrow[j] - drow[j] * ic
                wrow[j] = v
                lane[j] = min(lane[j], v)
        else:
            crow = invc[i]
            for j in range(L):
                v = wrow[j] - drow[j] * crow[j]
                wrow[j] = v
                lane[j] = min(lane[j], v)
    mn = BIG
    for j in range(L):
        mn = min(mn, lane[j])
    return mn


@njit(cache=True)
def _column_minima(w, lane):
    L = w.shape[0]
    mn = BIG
    for j in range(L):
        lane[j] = BIG
    for i in range(L):
        for j in range(L):
            if w[i, j] < lane[j]:
                lane[j] = w[i, j]
    for j in range(L):
        if lane[j] < mn:
            mn = lane[j]
    return mn


@njit(cache=True)
def _collect(w, s, lane, cols, out):
    """Flat indices (row-major order) of blocks with w ≤ s; scans only columns whose minimum is ≤ s."""
    L = w.shape[0]
    nc = 0
    for j in range(L):
        if lane[j] <= s:
            cols[nc] = j
            nc += 1
    n = 0
    if nc == 0:
        return 0
    for i in range(L):
        for t in range(nc):
            j = cols[t]
            if w[i, j] <= s:
                out[n] = i * L + j
                n += 1
    return n


@njit(cache=True, inline="always")
def _prepare(st, wk, n, eps_pl):
    """Amplitudes 2 μ_j ε_pl (Eq. 24), stresses before the round, and mark failing blocks (w = BIG)."""
    w = st.w
    L = w.shape[0]
    s = st.tally[0].s
    asum = 0.0
    for f in range(n):
        k = wk.fbuf[f]
        i = k // L
        j = k - i * L
        wk.fi[f] = i
        wk.fj[f] = j
        a = 2.0 * st.mu[i, j] * eps_pl
        wk.amp[f] = a
        asum += a
        wk.sig[f] = st.thr[i, j] - st.c[i, j] * (w[i, j] - s)
        w[i, j] = BIG
    return asum


@njit(cache=True, inline="always")
def _renew(st, rn, wk, n, mn):
    """Failure bookkeeping and renewal of the n failed blocks (wk.sig = their stress after the round).

    Renewal (Sec. V A): σ_th = draw (absolute) or σ + draw (relative) from the table
    (stream :func:`glass2epm.epm.thresholds.renewal_index`), μ → μ_ren, c → c_ren."""
    w = st.w
    L = w.shape[0]
    tl = st.tally[0]
    s = tl.s
    c_ren = rn.c_ren
    nt = rn.table.shape[0]
    for f in range(n):
        i = wk.fi[f]
        j = wk.fj[f]
        m = st.act[i, j] + 1
        st.act[i, j] = m
        st.epsp[i, j] += rn.eps_pl
        x = rn.table[renewal_index(rn.key, i * L + j, m, nt)]
        t = x + wk.sig[f] if rn.relative else x
        if st.c[i, j] != c_ren:
            tl.ndiff -= 1
        tl.sumc += c_ren - st.c[i, j]
        tl.summu += rn.mu_ren - st.mu[i, j]
        st.thr[i, j] = t
        st.c[i, j] = c_ren
        st.invc[i, j] = 1.0 / c_ren
        st.mu[i, j] = rn.mu_ren
        wn = s + (t - wk.sig[f]) / c_ren
        w[i, j] = wn
        if wn < wk.lane[j]:
            wk.lane[j] = wn
        if wn < mn:
            mn = wn
    return mn


@njit(cache=True, inline="always")
def _round_sparse(st, lat, rn, wk, n):
    """One round of n failures through the doubled kernel; returns the new min w."""
    L = st.w.shape[0]
    tl = st.tally[0]
    fi = wk.fi
    fj = wk.fj
    amp = wk.amp
    sig = wk.sig
    Kt = lat.Kt
    asum = _prepare(st, wk, n, rn.eps_pl)
    ic = 1.0 / rn.c_ren if tl.ndiff == 0 else 0.0
    mn = _pass_sparse(st.w, st.invc, Kt, fi, fj, amp, n, wk.acc, wk.lane, ic)
    # stress change at the failing blocks themselves (incl. from each other)
    for f in range(n):
        d = 0.0
        for g in range(n):
            r = fi[f] - fi[g]
            if r < 0:
                r += L
            q = fj[f] - fj[g]
            if q < 0:
                q += L
            d += amp[g] * Kt[r, q]
        sig[f] += d
    mn = _renew(st, rn, wk, n, mn)
    tl.sumsig += lat.ksum * asum
    return mn


@njit(cache=True)
def _prepare_field(st, wk, eps_pl):
    """First half of an FFT round: the source field 2 μ_j ε_pl at the pending failing blocks."""
    n = st.tally[0].npend
    asum = _prepare(st, wk, n, eps_pl)
    for f in range(n):
        wk.field[wk.fi[f], wk.fj[f]] = wk.amp[f]
    return asum


@njit(cache=True)
def _finish_field(st, lat, rn, wk, dsig, asum):
    """Second half of an FFT round: apply dsig (= K ∗ field), renew, collect the next round."""
    tl = st.tally[0]
    n = tl.npend
    fi = wk.fi
    fj = wk.fj
    ic = 1.0 / rn.c_ren if tl.ndiff == 0 else 0.0
    mn = _pass_field(st.w, st.invc, dsig, wk.lane, ic)
    for f in range(n):
        wk.sig[f] += dsig[fi[f], fj[f]]
        wk.field[fi[f], fj[f]] = 0.0
    mn = _renew(st, rn, wk, n, mn)
    tl.sumsig += lat.ksum * asum
    tl.size += n
    tl.rounds += 1
    tl.total += n
    tl.wmin = mn
    s = tl.s
    tl.npend = _collect(st.w, s, wk.lane, wk.cols, wk.fbuf) if mn <= s else 0


@njit(cache=True)
def _advance(st, lat, rn, wk, rec, s_stop):
    """Run loading steps and avalanches until the next failure would need s > s_stop (returns
    STOP), the record buffer is full (FULL), a round needs the FFT path (FIELD, failing
    blocks in wk.fbuf[:tally.npend]), or an avalanche exceeds lat.max_aval failures (RUNAWAY).

    Loading is extremal (quasistatic): s jumps to min w, every block loads by c_i Δs."""
    w = st.w
    L = w.shape[0]
    N = L * L
    tl = st.tally[0]
    nswitch = lat.nswitch
    max_aval = lat.max_aval
    while True:
        if tl.inaval == 0:
            wmin = tl.wmin
            if wmin > s_stop:
                return STOP
            r = tl.nrec
            if r >= rec.s.shape[0]:
                return FULL
            if wmin > tl.s:  # extremal loading (no unloading if already unstable)
                tl.sumsig += tl.sumc * (wmin - tl.s)
                tl.s = wmin
            rec.s[r] = tl.s
            rec.sb[r] = tl.sumsig / N
            tl.inaval = 1
            tl.size = 0
            tl.rounds = 0
            tl.npend = _collect(w, tl.s, wk.lane, wk.cols, wk.fbuf)
        if tl.size > max_aval:
            return RUNAWAY
        n = tl.npend
        while n > 0:
            if n > nswitch:
                return FIELD
            mn = _round_sparse(st, lat, rn, wk, n)
            tl.size += n
            tl.rounds += 1
            tl.total += n
            tl.wmin = mn
            s = tl.s
            n = _collect(w, s, wk.lane, wk.cols, wk.fbuf) if mn <= s else 0
            tl.npend = n
            if tl.size > max_aval:
                return RUNAWAY
        r = tl.nrec
        rec.sa[r] = tl.sumsig / N
        rec.size[r] = tl.size
        rec.rounds[r] = tl.rounds
        tl.nrec = r + 1
        tl.inaval = 0


# ----------------------------------------------------------------------------
# entry points called from Python. numba's dispatcher types a named tuple field by
# field in Python (~0.7 µs per field, measured), a plain tuple in C: Python hands
# over ``tuple(record)`` and these rebuild the records (no copy) for the kernels above.


@njit(cache=True)
def advance(st, lat, rn, wk, rec, s_stop, dsig):
    """:func:`_advance` on plain tuples of (State, Lattice, Renewal, Work, Record), with the FFT
    rounds split around the return to Python: a pending round is finished first with
    ``dsig`` = K ∗ Work.field (:func:`_finish_field`); a return of FIELD has already done
    :func:`_prepare_field` (source field in Work.field)."""
    st_ = State(*st)
    lat_ = Lattice(*lat)
    rn_ = Renewal(*rn)
    wk_ = Work(*wk)
    tl = st_.tally[0]
    if tl.fieldpend != 0:
        tl.fieldpend = 0
        _finish_field(st_, lat_, rn_, wk_, dsig, tl.asum)
    code = _advance(st_, lat_, rn_, wk_, Record(*rec), s_stop)
    if code == FIELD:
        tl.asum = _prepare_field(st_, wk_, rn_.eps_pl)
        tl.fieldpend = 1
    return code
