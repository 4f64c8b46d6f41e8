"""The mesoscopic model of interacting quasi-localised modes (Ji et al., Sec. II) on the FFT EPM lattice.

The paper treats its model in mean field only; here every block of the project's L×L EPM
lattice carries the softest mode of Eq. (1), u(s) = λs²/2 + κs³/6 + s⁴/24 (χ = 1, coupling
C = 1: the units of s and of stress), and stress is redistributed by the EPM propagator of
:mod:`glass2epm.epm.propagator` (Eq. 24 of the Richard paper, Ĝ(0) = −1, on-site value
K(0) ≈ 1 − π/2, ERRATA).

Conventions
-----------
Flow (Eq. 3)
    dλ/dσ = κ/λ, dκ/dσ = 1/λ; Φ = κ² − 2λ (Eq. 4) is conserved. Along a trajectory the
    block is a function of κ alone, λ = (κ² − Φ)/2, and the accumulated stress is
    Δσ(κ) = (κ³ − 3Φκ)/6 = (3λκ − κ³)/3 (Eq. C3 with the sign of the ERRATA; c₀ = 0 here),
    since dΔσ/dκ = λ. A stress increment is applied *exactly*: Δσ is additive and κ is
    the root of the cubic on the block's branch (:func:`kappa_on_branch`).
Branches and orientation (loading δσ > 0)
    Stress increases move κ up (dκ/dσ = 1/λ > 0). For Φ > 0 the trajectory has two
    stable branches, ``br = −1`` (κ ≤ −√Φ) and ``br = +1`` (κ ≥ √Φ), and Δσ(κ) has its
    maximum Φ^{3/2}/3 at κ = −√Φ and its minimum −Φ^{3/2}/3 at κ = +√Φ. Under increasing
    stress a ``br = −1`` block softens (dλ/dσ = κ/λ < 0) and fails at λ = 0, κ = −√Φ
    (point D); under decreasing stress a ``br = +1`` block fails at κ = +√Φ (D'). Passive
    modes (Φ ≤ 0, ``br = 0``) never fail.
Failure and reinsertion (App. B, D)
    At D the block jumps (mode displacement Δs = 3√Φ) to the other minimum, B' on
    κ² = 8λ/3 with the same Φ: λ = 3Φ/2, κ = +2√Φ (``br`` −1 → +1); from D' to B,
    κ = −2√Φ. B' lies at the same Δσ as D (Φ^{3/2}/3), so in the block's stress
    coordinate failure only changes the branch; its distance to the next (reverse)
    failure is x* = (2/3)Φ^{3/2} (Eq. D3). Any stress the block received beyond D (an
    overshoot from kicks) is kept and applied to the new branch.
Plastic strain and redistribution
    A failure of block f with Φ_f releases the stress δσ_j = ±a_f K(r_j − r_f), sign +
    for a forward failure (D → B': Σ_j δσ_j = Ĝ(0) a_f = −a_f, the total stress drops)
    and − for a backward one. The self term K(0) a_f is booked in the block's stress
    σ_f but *not* applied to its mode: the reinsertion point B' is the new minimum of the
    relaxed block (App. B/D), so a reinserted block sits exactly x* from its reverse
    failure. Kicks of the other failures of the same round are applied to it.
    Amplitude (``amplitude``): ``"hysteresis"`` (default), a_f = ``coupling`` · x*_f =
    coupling · (2/3)Φ_f^{3/2}, the stress released is proportional to the stress interval
    between the mode's two instabilities; ``"jump"``, a_f = coupling · 3√Φ_f, proportional
    to the mode displacement Δs of the jump. With ``"jump"`` small-Φ modes release far more
    than their own x*, and two neighbours can flip each other back and forth for ever
    (measured: coupling 0.6, L = 32, two diagonal neighbours with Φ ≈ 0.11 and 0.13,
    K = −0.105, 10⁴ flips each); with ``"hysteresis"`` a pair cannot cycle when
    coupling · max_{r≠0}|K(r)| < 1 (max|K| = 0.105 at the diagonal neighbour); longer
    cycles would be stopped by ``max_aval``.
Mode switch (λ_min)
    The state space of a mode is the window λ ≤ λ_min of its branch. When the stress
    takes λ above λ_min the block switches to a new softest mode: Φ drawn from
    P₀(Φ) = uniform on [``phi_lo``, ``phi_hi``] (default [−2λ_min, 2λ_min/3]: modes with
    Φ < −2λ_min never reach λ_min, and Φ ≤ 2λ_min/3 keeps B' at λ ≤ λ_min), placed at
    λ = λ_min with the κ sign of a mode that *softens* under the stress change that
    caused the switch (κ < 0 for an increase), and the rest of the increment applied to
    it. (A random κ sign followed by an immediate second switch of a mode that stiffens
    gives the same distribution: the draw is independent.)
Driving (quasistatic, extremal, as :mod:`glass2epm.epm.dynamics`)
    Every block loads by the same δσ = Δs (the loading variable s is stress per block;
    Ĝ(0) = −1 is strain control with μ = 1). s is raised to the next event; a switch
    under loading is local and loading continues; a failure starts an avalanche of
    synchronous rounds (all unstable blocks fail at once, the kicks of a round through
    the doubled real-space kernel). Blocks store w_i = s + (hi_i − d_i), the value of s
    at which they reach the upper end of their window (d_i their Δσ, [lo_i, hi_i] the
    window), as in the EPM.
Distance to instability (Eq. D1)
    x = Δσ − Δσ|_{λ=0}, signed: x < 0 on ``br = −1`` (|x| the stress increase to D),
    x > 0 on ``br = +1`` (the decrease to D'); ±∞ for passive modes. The forward
    distance of the loading protocol is −x on ``br = −1`` and ∞ otherwise.
Randomness
    The initial state from ``numpy.random.default_rng(seed)`` (Φ from P₀, a random branch
    for Φ > 0, Δσ uniform in the window: a random "quench"); the dynamics' draws from
    numba's generator seeded inside the kernel with a seed drawn from the same Generator.
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np
from numba import njit

from glass2epm.epm.propagator import propagator, sparse_kernel


# ------------------------------------------------------------------ single-block exact flow


def delta_sigma(kappa, phi):
    """Accumulated stress along a Φ trajectory, Δσ = (κ³ − 3Φκ)/6 = (3λκ − κ³)/3 (Eq. C3, ERRATA sign,
    c₀ = 0)."""
    kappa = np.asarray(kappa, dtype=float)
    return (kappa**3 - 3.0 * np.asarray(phi, dtype=float) * kappa) / 6.0


@njit(cache=True, inline="always")
def _ds(kappa, phi):
    return (kappa * kappa * kappa - 3.0 * phi * kappa) / 6.0


@njit(cache=True)
def _kappa_root(d, phi, ka, kb):
    """κ in [ka, kb] with Δσ(κ) = d (Δσ increasing there): bisection to machine precision."""
    fa = _ds(ka, phi) - d
    fb = _ds(kb, phi) - d
    if fa >= 0.0:
        return ka
    if fb <= 0.0:
        return kb
    for _ in range(200):
        km = 0.5 * (ka + kb)
        if km == ka or km == kb:
            break
        fm = _ds(km, phi) - d
        if fm < 0.0:
            ka = km
        else:
            kb = km
    return 0.5 * (ka + kb)


@njit(cache=True)
def _kappa_many(d, phi, br, out):
    for i in range(d.shape[0]):
        p = phi[i]
        big = 2.0 * (6.0 * abs(d[i])) ** (1.0 / 3.0) + 2.0 * math.sqrt(abs(p)) + 1.0
        if br[i] < 0:
            out[i] = _kappa_root(d[i], p, -big, -math.sqrt(max(p, 0.0)))
        elif br[i] > 0:
            out[i] = _kappa_root(d[i], p, math.sqrt(max(p, 0.0)), big)
        else:
            out[i] = _kappa_root(d[i], p, -big, big)


def kappa_on_branch(d, phi, branch):
    """κ with Δσ(κ) = ``d`` on the branch (−1: κ ≤ −√Φ; +1: κ ≥ √Φ; 0: Φ ≤ 0, all κ).
    ``d`` must lie on the branch (d ≤ Φ^{3/2}/3 on −1, d ≥ −Φ^{3/2}/3 on +1); the end is
    returned otherwise."""
    d, phi, br = np.broadcast_arrays(np.asarray(d, float), np.asarray(phi, float), np.asarray(branch, np.int64))
    out = np.empty(d.size)
    _kappa_many(np.ascontiguousarray(d.ravel()), np.ascontiguousarray(phi.ravel()),
                np.ascontiguousarray(br.ravel()), out)
    return out.reshape(d.shape)


def branch_of(lam, kappa):
    """−1, +1 or 0 (passive) for a state (λ > 0, κ)."""
    phi = np.asarray(kappa, float) ** 2 - 2.0 * np.asarray(lam, float)
    return np.where(phi > 0, np.sign(kappa), 0).astype(np.int64)


def flow(lam, kappa, dsigma):
    """Exact flow of Eq. (3) by a stress increment ``dsigma`` (no λ_min, one block).

    Returns ``(lam, kappa, failed)``: if the increment reaches the block's instability
    (λ = 0: κ = −√Φ for br = −1 with dsigma > 0, κ = +√Φ for br = +1 with dsigma < 0)
    ``failed`` is True and the state returned is the failure point D (D')."""
    lam = float(lam)
    kappa = float(kappa)
    phi = kappa * kappa - 2.0 * lam
    br = int(branch_of(lam, kappa))
    d = float(delta_sigma(kappa, phi)) + float(dsigma)
    failed = False
    if br == -1 and d >= phi**1.5 / 3.0:
        failed, d = True, phi**1.5 / 3.0
    elif br == 1 and d <= -(phi**1.5) / 3.0:
        failed, d = True, -(phi**1.5) / 3.0
    k = float(kappa_on_branch(d, phi, br))
    if failed:
        k = br * math.sqrt(phi)
    return 0.5 * (k * k - phi), k, failed


def reinsertion(phi, failed_branch):
    """(λ, κ) after a failure on ``failed_branch`` (−1: D → B'; +1: D' → B): the other minimum,
    on κ² = 8λ/3 at the same Φ (App. B): λ = 3Φ/2, κ = −2√Φ·failed_branch."""
    phi = np.asarray(phi, float)
    return 1.5 * phi, -2.0 * np.sqrt(phi) * failed_branch


def distance_to_instability(lam, kappa):
    """Eq. (D1): x = [λκ − (κ − sign(κ)√(κ² − 2λ))(κ² − 2λ)]/3 = Δσ − Δσ|_{λ=0} (signed, see module
    docstring); ±∞ (sign of κ) for passive modes (Φ ≤ 0)."""
    lam = np.asarray(lam, float)
    kappa = np.asarray(kappa, float)
    phi = kappa * kappa - 2.0 * lam
    r = np.sqrt(np.maximum(phi, 0.0))
    x = (lam * kappa - (kappa - np.sign(kappa) * r) * phi) / 3.0
    return np.where(phi > 0, x, np.copysign(np.inf, kappa))


# ------------------------------------------------------------------ lattice model: records and kernels


class MesoParams(NamedTuple):
    """Parameters of the lattice model (module docstring; units: χ = C = 1).

    ``phi_lo``/``phi_hi`` None: −2λ_min and 2λ_min/3. ``coupling`` and ``amplitude``: a
    failure's stress amplitude a = coupling·(2/3)Φ^{3/2} (``"hysteresis"``) or coupling·3√Φ
    (``"jump"``). ``max_aval``: failures allowed in
    one avalanche (a run stops with an error beyond)."""
    lam_min: float = 1.0
    phi_lo: float | None = None
    phi_hi: float | None = None
    coupling: float = 1.0
    amplitude: str = "hysteresis"
    max_aval: int = 10_000_000

    def resolved(self) -> "MesoParams":
        lo = -2.0 * self.lam_min if self.phi_lo is None else float(self.phi_lo)
        hi = 2.0 * self.lam_min / 3.0 if self.phi_hi is None else float(self.phi_hi)
        if not self.lam_min > 0:
            raise ValueError(f"lam_min must be > 0, got {self.lam_min}")
        if not (-2.0 * self.lam_min <= lo < hi <= 2.0 * self.lam_min / 3.0 + 1e-15):
            raise ValueError(f"P0 support must satisfy -2 lam_min <= phi_lo < phi_hi <= 2 lam_min/3, got [{lo}, {hi}]")
        if self.amplitude not in ("hysteresis", "jump"):
            raise ValueError(f"amplitude must be 'hysteresis' or 'jump', got {self.amplitude!r}")
        if not self.coupling >= 0:
            raise ValueError(f"coupling must be >= 0, got {self.coupling}")
        return self._replace(phi_lo=lo, phi_hi=hi)


class Model(NamedTuple):
    """What the kernels read: P₀, λ_min, coupling, the doubled kernel."""
    lam_min: float
    phi_lo: float
    phi_hi: float
    coupling: float
    jump: bool          # amplitude convention: True a = coupling·3√Φ, False a = coupling·(2/3)Φ^{3/2}
    Kt: np.ndarray      # doubled real-space kernel (propagator.sparse_kernel)
    K0: float           # on-site value K(0)
    ksum: float         # Ĝ(0) = Σ_r K(r)
    max_aval: int


#: Mutable scalars: s (loading), sumsig (Σσ_i), failures, backward failures, switches.
TALLY = np.dtype([("s", "f8"), ("sumsig", "f8"), ("fails", "i8"), ("back", "i8"), ("switches", "i8")])


class Blocks(NamedTuple):
    """Per-block fields (flat, k = x·L + y) and the tally."""
    phi: np.ndarray     # Φ of the current mode
    br: np.ndarray      # branch −1, +1, 0 (int64)
    lo: np.ndarray      # window [lo, hi] of Δσ
    hi: np.ndarray
    w: np.ndarray       # s at which Δσ reaches hi
    sig: np.ndarray     # stress minus s (bookkeeping: every kick, self terms included; σ_i = sig_i + s)
    nfail: np.ndarray   # failures per block (int64)
    tally: np.ndarray   # (1,) TALLY


class Work(NamedTuple):
    """Scratch: failing blocks and amplitudes of a round, unstable list, row minima of w."""
    fk: np.ndarray
    amp: np.ndarray
    unst: np.ndarray
    acc: np.ndarray
    lane: np.ndarray


class Record(NamedTuple):
    """Per loading step (one avalanche)."""
    s: np.ndarray       # loading variable at which the avalanche starts
    load: np.ndarray    # loading increment from the previous stable state (switches included)
    x_min: np.ndarray   # smallest forward distance −x over br = −1 blocks at that stable state
    size: np.ndarray    # failures (int64)
    back: np.ndarray    # backward failures (int64)
    sigma: np.ndarray   # mean stress after the avalanche


class Hist(NamedTuple):
    """Histograms accumulated at stable states (every ``every`` steps after the transient), in
    ``om.shape[0]`` consecutive time blocks (for the bootstrap): ``om[blk, c, i]`` counts
    ω = √λ in [i, i+1)·ω_max/nb for the classes c = 0 passive, 1 br = −1, 2 br = +1;
    ``xh[blk, c, i]`` counts the distance |x| (c = 0 forward, br = −1; c = 1 backward,
    br = +1) in log bins, edges exp(log_x0 + i·dlog_x)."""
    om: np.ndarray
    xh: np.ndarray
    om_max: float
    log_x0: float
    dlog_x: float
    every: int
    total: int          # samples planned (for the block index)


class Snap(NamedTuple):
    """Snapshots at stable states: Φ, branch and Δσ of every block."""
    phi: np.ndarray
    br: np.ndarray
    d: np.ndarray


@njit(cache=True, inline="always")
def _window(phi, br, lam_min):
    km = math.sqrt(phi + 2.0 * lam_min)
    if br < 0:
        return _ds(-km, phi), phi * math.sqrt(phi) / 3.0
    if br > 0:
        return -phi * math.sqrt(phi) / 3.0, _ds(km, phi)
    return _ds(-km, phi), _ds(km, phi)


@njit(cache=True, inline="always")
def _amplitude(md, phi):
    if md.jump:
        return md.coupling * 3.0 * math.sqrt(phi)
    return md.coupling * (2.0 / 3.0) * phi * math.sqrt(phi)


@njit(cache=True)
def _switch(b, md, k, up):
    """New mode for block k from P₀, at λ = λ_min, softening under the stress change (up: increase)."""
    phi = md.phi_lo + (md.phi_hi - md.phi_lo) * np.random.random()
    if phi > 0.0:
        br = -1 if up else 1
    else:
        br = 0
    lo, hi = _window(phi, br, md.lam_min)
    b.phi[k] = phi
    b.br[k] = br
    b.lo[k] = lo
    b.hi[k] = hi
    b.tally[0].switches += 1


@njit(cache=True)
def _resolve(b, md, k, s):
    """Bring block k back into its window: switches (with the rest of the increment) until it is
    stable (returns 0) or fails (returns +1 forward, −1 backward; branch flipped, Δσ kept)."""
    d = b.hi[k] - (b.w[k] - s)
    code = 0
    while True:
        if d >= b.hi[k]:
            if b.br[k] < 0:
                b.br[k] = 1
                code = 1
            else:
                rem = d - b.hi[k]
                _switch(b, md, k, True)
                d = b.lo[k] + rem
                continue
        elif d < b.lo[k]:
            if b.br[k] > 0:
                b.br[k] = -1
                code = -1
            else:
                rem = d - b.lo[k]
                _switch(b, md, k, False)
                d = b.hi[k] + rem
                continue
        break
    if code != 0:
        lo, hi = _window(b.phi[k], b.br[k], md.lam_min)
        b.lo[k] = lo
        b.hi[k] = hi
        b.nfail[k] += 1
    b.w[k] = s + b.hi[k] - d
    return code


@njit(cache=True)
def _kick_and_scan(b, md, wk, n, L):
    """Apply the round's n failures (δσ_j = amp_f K(r_j − r_f)), remove their self terms from the
    modes, collect the unstable blocks, refresh the row minima; returns the number unstable."""
    s = b.tally[0].s
    Kt = md.Kt
    acc = wk.acc
    asum = 0.0
    for f in range(n):
        asum += wk.amp[f]
    for x in range(L):
        for y in range(L):
            acc[y] = 0.0
        for f in range(n):
            kf = wk.fk[f]
            xf = kf // L
            yf = kf - xf * L
            r = x - xf
            if r < 0:
                r += L
            off = L - yf
            a = wk.amp[f]
            for y in range(L):
                acc[y] += a * Kt[r, off + y]
        base = x * L
        for y in range(L):
            b.w[base + y] -= acc[y]
            b.sig[base + y] += acc[y]
    for f in range(n):
        b.w[wk.fk[f]] += wk.amp[f] * md.K0
    b.tally[0].sumsig += md.ksum * asum
    m = 0
    for x in range(L):
        mn = 1e300
        for y in range(L):
            k = x * L + y
            wv = b.w[k]
            if wv <= s or wv - s > b.hi[k] - b.lo[k]:
                wk.unst[m] = k
                m += 1
            if wv < mn:
                mn = wv
        wk.lane[x] = mn
    return m


@njit(cache=True)
def _row_min(b, wk, x, L):
    mn = 1e300
    for y in range(L):
        v = b.w[x * L + y]
        if v < mn:
            mn = v
    wk.lane[x] = mn


@njit(cache=True)
def _x_min(b, s):
    mn = np.inf
    for k in range(b.w.shape[0]):
        if b.br[k] < 0:
            v = b.w[k] - s
            if v < mn:
                mn = v
    return mn


@njit(cache=True)
def _histogram(b, md, h, s, isample):
    nblk = h.om.shape[0]
    blk = min(isample * nblk // max(h.total, 1), nblk - 1)
    nb = h.om.shape[2]
    nx = h.xh.shape[2]
    for k in range(b.w.shape[0]):
        phi = b.phi[k]
        br = b.br[k]
        d = b.hi[k] - (b.w[k] - s)
        km = math.sqrt(phi + 2.0 * md.lam_min)
        if br < 0:
            kap = _kappa_root(d, phi, -km, -math.sqrt(phi))
            c = 1
            xd = b.hi[k] - d
        elif br > 0:
            kap = _kappa_root(d, phi, math.sqrt(phi), km)
            c = 2
            xd = d - b.lo[k]
        else:
            kap = _kappa_root(d, phi, -km, km)
            c = 0
            xd = -1.0
        lam = 0.5 * (kap * kap - phi)
        om = math.sqrt(max(lam, 0.0))
        i = int(om / h.om_max * nb)
        if 0 <= i < nb:
            h.om[blk, c, i] += 1
        if xd > 0.0:
            j = int(math.floor((math.log(xd) - h.log_x0) / h.dlog_x))
            if 0 <= j < nx:
                h.xh[blk, c - 1, j] += 1


@njit(cache=True)
def _run(b, md, wk, rec, snap, hist, n_steps, n_transient, sample_every, seed):
    """n_steps loading steps, each to the next failure and its avalanche. Returns the number of
    steps done (< n_steps: an avalanche passed md.max_aval)."""
    np.random.seed(seed)
    L = wk.lane.shape[0]
    N = L * L
    tl = b.tally[0]
    for x in range(L):
        _row_min(b, wk, x, L)
    isnap = 0
    for step in range(n_steps):
        s0 = tl.s
        xm = _x_min(b, s0)
        # extremal loading: to the next event; switches are local and loading goes on
        while True:
            xb = 0
            mn = wk.lane[0]
            for x in range(1, L):
                if wk.lane[x] < mn:
                    mn = wk.lane[x]
                    xb = x
            kb = xb * L
            for y in range(L):
                if b.w[xb * L + y] == mn:
                    kb = xb * L + y
                    break
            if mn > tl.s:
                tl.sumsig += N * (mn - tl.s)
                tl.s = mn
            if b.br[kb] < 0:
                break
            _resolve(b, md, kb, tl.s)
            _row_min(b, wk, xb, L)
        rec.s[step] = tl.s
        rec.load[step] = tl.s - s0
        rec.x_min[step] = xm
        wk.unst[0] = kb
        m = 1
        size = 0
        back = 0
        while m > 0:
            n = 0
            for u in range(m):
                k = wk.unst[u]
                c = _resolve(b, md, k, tl.s)
                if c != 0:
                    wk.fk[n] = k
                    wk.amp[n] = c * _amplitude(md, b.phi[k])
                    n += 1
                    if c < 0:
                        back += 1
            if n == 0:
                for x in range(L):
                    _row_min(b, wk, x, L)
                break
            size += n
            m = _kick_and_scan(b, md, wk, n, L)
            if size > md.max_aval:
                return step
        tl.fails += size
        tl.back += back
        rec.size[step] = size
        rec.back[step] = back
        rec.sigma[step] = tl.sumsig / N
        j = step - n_transient
        if j >= 0 and j % sample_every == 0 and isnap < snap.phi.shape[0]:
            for k in range(N):
                snap.phi[isnap, k] = b.phi[k]
                snap.br[isnap, k] = b.br[k]
                snap.d[isnap, k] = b.hi[k] - (b.w[k] - tl.s)
            isnap += 1
        if j >= 0 and j % hist.every == 0:
            _histogram(b, md, hist, tl.s, j // hist.every)
    return n_steps


# ------------------------------------------------------------------ Python driver


class MesoResult(NamedTuple):
    """A lattice run. Per loading step: ``s``, ``load``, ``x_min``, ``size``, ``back``, ``sigma``
    (see :class:`Record`); snapshots (n_snap, L²) at stable states: ``phi``, ``branch``,
    ``lam``, ``kappa``, ``x`` (Eq. D1, signed, ±∞ passive); final per-block ``stress``
    (σ_i, loading and every kick) and ``nfail``; the histograms of ω and |x| (:class:`Hist`);
    totals and the wall time."""
    L: int
    params: MesoParams
    seed: int
    s: np.ndarray
    load: np.ndarray
    x_min: np.ndarray
    size: np.ndarray
    back: np.ndarray
    sigma: np.ndarray
    phi: np.ndarray
    branch: np.ndarray
    lam: np.ndarray
    kappa: np.ndarray
    x: np.ndarray
    stress: np.ndarray
    nfail: np.ndarray
    hist: Hist
    failures: int
    backward: int
    switches: int
    wall_s: float


def _model(L, p: MesoParams) -> Model:
    K = propagator(L)  # Eq. 24, Ĝ(0) = −1, the paper's on-site value
    return Model(float(p.lam_min), float(p.phi_lo), float(p.phi_hi), float(p.coupling), p.amplitude == "jump",
                 sparse_kernel(K),
                 float(K[0, 0]), float(K.sum()), int(p.max_aval))


def initial_blocks(L: int, p: MesoParams, rng: np.random.Generator) -> Blocks:
    """A random start: Φ from P₀, branch ±1 with probability ½ for Φ > 0, Δσ uniform in the window, s = 0."""
    N = L * L
    phi = p.phi_lo + (p.phi_hi - p.phi_lo) * rng.random(N)
    br = np.where(phi > 0, np.where(rng.random(N) < 0.5, -1, 1), 0).astype(np.int64)
    km = np.sqrt(phi + 2 * p.lam_min)
    r = np.sqrt(np.maximum(phi, 0.0))
    lo = np.where(br > 0, -(r**3) / 3, delta_sigma(-km, phi))
    hi = np.where(br < 0, r**3 / 3, delta_sigma(km, phi))
    d = lo + (hi - lo) * rng.random(N)
    tally = np.zeros(1, TALLY)
    return Blocks(phi, br, lo, hi, hi - d, np.zeros(N), np.zeros(N, np.int64), tally)


def snapshot_state(phi, br, d):
    """λ, κ, x (Eq. D1) of blocks given (Φ, branch, Δσ)."""
    kappa = kappa_on_branch(d, phi, br)
    lam = np.maximum(0.5 * (kappa * kappa - phi), 0.0)
    return lam, kappa, distance_to_instability(lam, kappa)


def run_meso(L: int, n_steps: int, params: MesoParams = MesoParams(), seed: int = 0, *,
             n_transient: int | None = None, sample_every: int | None = None, n_snap: int = 50,
             hist_every: int = 16, hist_blocks: int = 20, omega_bins: int = 2000, x_range=(1e-9, 10.0),
             x_bins: int = 400) -> MesoResult:
    """Run the lattice model for ``n_steps`` loading steps (each: load to the next failure, then its
    avalanche) on an L×L lattice. Snapshots are taken at stable states after ``n_transient``
    steps (default n_steps/2), every ``sample_every`` steps (default: evenly spread, at most
    ``n_snap``); histograms of ω and |x| every ``hist_every`` steps after the transient, in
    ``hist_blocks`` time blocks. Deterministic in ``seed``."""
    L, n_steps = int(L), int(n_steps)
    p = params.resolved()
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    n_transient = n_steps // 2 if n_transient is None else int(n_transient)
    if sample_every is None:
        sample_every = max(1, (n_steps - n_transient) // max(n_snap, 1))
    n_snap = max(0, min(n_snap, -(-(n_steps - n_transient) // sample_every)))
    rng = np.random.default_rng(seed)
    b = initial_blocks(L, p, rng)
    md = _model(L, p)
    N = L * L
    wk = Work(np.zeros(N, np.int64), np.zeros(N), np.zeros(N, np.int64), np.zeros(L), np.zeros(L))
    rec = Record(np.zeros(n_steps), np.zeros(n_steps), np.zeros(n_steps), np.zeros(n_steps, np.int64),
                 np.zeros(n_steps, np.int64), np.zeros(n_steps))
    snap = Snap(np.zeros((n_snap, N)), np.zeros((n_snap, N), np.int64), np.zeros((n_snap, N)))
    lx0, lx1 = math.log(x_range[0]), math.log(x_range[1])
    hist = Hist(np.zeros((hist_blocks, 3, omega_bins), np.int64), np.zeros((hist_blocks, 2, x_bins), np.int64),
                math.sqrt(p.lam_min), lx0, (lx1 - lx0) / x_bins, int(hist_every),
                max(1, -(-(n_steps - n_transient) // int(hist_every))))
    t0 = time.perf_counter()
    done = _run(b, md, wk, rec, snap, hist, n_steps, n_transient, int(sample_every), int(rng.integers(2**31 - 1)))
    wall = time.perf_counter() - t0
    if done < n_steps:
        raise RuntimeError(f"avalanche beyond max_aval = {p.max_aval} failures at step {done} (L = {L})")
    lam, kappa, x = snapshot_state(snap.phi, snap.br, snap.d)
    tl = b.tally[0]
    return MesoResult(L, p, int(seed), rec.s, rec.load, rec.x_min, rec.size, rec.back, rec.sigma,
                      snap.phi, snap.br, lam, kappa, x, b.sig + tl["s"], b.nfail, hist, int(tl["fails"]),
                      int(tl["back"]), int(tl["switches"]), wall)


# ------------------------------------------------------------------ measurement of θ and α (Eq. 9)


def _binned_mle(counts, edges, lo, hi):
    """Exponent e of a density ∝ v^e on [lo, hi] from binned counts (bins inside [lo, hi] only):
    maximises Σ n_k log[(e_{k+1}^g − e_k^g)/(hi^g − lo^g)], g = e + 1 > 0."""
    from scipy.optimize import minimize_scalar

    a, b_ = edges[:-1], edges[1:]
    m = (a >= lo * (1 - 1e-12)) & (b_ <= hi * (1 + 1e-12))
    n, a, b_ = counts[m].astype(float), a[m], b_[m]
    if n.sum() < 5:
        return np.nan, int(n.sum())
    lo_, hi_ = a.min(), b_.max()

    def nll(g):
        p = (b_**g - a**g) / (hi_**g - lo_**g)
        return -np.sum(n * np.log(np.maximum(p, 1e-300)))

    r = minimize_scalar(nll, bounds=(0.05, 30.0), method="bounded", options={"xatol": 1e-7})
    return float(r.x - 1.0), int(n.sum())


def _hist_fit(blocks, edges, lo, hi, n_boot, seed, level=0.95):
    """Binned MLE on the summed histogram; percentile bootstrap over the time blocks."""
    e, n = _binned_mle(blocks.sum(axis=0), edges, lo, hi)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(int(n_boot)):
        eb, _ = _binned_mle(blocks[rng.integers(0, blocks.shape[0], blocks.shape[0])].sum(axis=0), edges, lo, hi)
        if np.isfinite(eb):
            boots.append(eb)
    q = (1 - level) / 2
    ci = [float(np.quantile(boots, q)), float(np.quantile(boots, 1 - q))] if boots else [np.nan, np.nan]
    return {"exponent": e, "ci": ci, "n": n, "range": [float(lo), float(hi)]}


def omega_edges(h: Hist) -> np.ndarray:
    return np.linspace(0.0, h.om_max, h.om.shape[2] + 1)


def x_edges(h: Hist) -> np.ndarray:
    return np.exp(h.log_x0 + h.dlog_x * np.arange(h.xh.shape[2] + 1))


def measure_meso(results, *, omega_range=(0.2, 0.4), x_range=(1e-3, 1e-2), n_boot=300, seed=0) -> dict:
    """θ and α of the lattice model and Eq. (9)'s check.

    ``results``: :class:`MesoResult` runs (several L for the extreme-value route).

    * ``theta_ev``: ⟨x_min⟩ ∝ N^(−1/(1+θ)) over the stable states of the second half of each
      run (:func:`glass2epm.qlm.pseudogap.fit_theta`), x_min the smallest forward distance
      (the stress increment to the next failure if no mode switched).
    * ``theta_P``: P(|x|) ~ |x|^θ of the br = −1 blocks (forward distance) on ``x_range``,
      binned MLE on the histograms of the largest L, bootstrap over time blocks;
      ``theta_P_backward`` the same for br = +1 (the distance to D').
    * ``alpha``: D(ω) ~ ω^α of all blocks on ``omega_range`` (largest L), and per class
      (``alpha_passive``, ``alpha_active``, Φ > 0).
    * ``alpha_pred_*``: min(4, 3 + 4θ) (Eq. 9) of each θ, with its interval mapped through.

    Fit windows: below ω_N ~ (2|κ|⟨x_min⟩)^{1/4} the sampling right after avalanches flattens
    P(x) (the paper's App. G), so ``omega_range`` must start above it (≈ 0.2 at L = 64–128
    with the default parameters) and stay below the x ~ x* crossover."""
    from glass2epm.qlm.pseudogap import alpha_prediction, fit_theta

    res = sorted(results, key=lambda r: r.L)
    out = {"L": [r.L for r in res], "steps": [int(r.size.size) for r in res], "wall_s": [r.wall_s for r in res],
           "failures": [r.failures for r in res], "backward": [r.backward for r in res]}
    if len({r.L for r in res}) >= 2:
        N, xm = [], []
        for r in res:
            v = r.x_min[r.x_min.size // 2:]
            v = v[np.isfinite(v) & (v > 0)]
            N.append(np.full(v.size, r.L * r.L))
            xm.append(v)
        th = fit_theta(np.concatenate(N), np.concatenate(xm), n_boot=n_boot, seed=seed)
        out["theta_ev"] = {"exponent": th["theta"], "ci": th["theta_ci"], "sizes": th["sizes"],
                           "means": th["means"], "counts": th["counts"]}
    h = res[-1].hist
    xe, oe = x_edges(h), omega_edges(h)
    out["theta_P"] = _hist_fit(h.xh[:, 0], xe, *x_range, n_boot, seed)
    out["theta_P_backward"] = _hist_fit(h.xh[:, 1], xe, *x_range, n_boot, seed)
    out["alpha"] = _hist_fit(h.om.sum(axis=1), oe, *omega_range, n_boot, seed)
    out["alpha_passive"] = _hist_fit(h.om[:, 0], oe, *omega_range, n_boot, seed)
    out["alpha_active"] = _hist_fit(h.om[:, 1] + h.om[:, 2], oe, *omega_range, n_boot, seed)
    for key in ("theta_ev", "theta_P"):
        if key in out:
            ci = out[key]["ci"]
            out[f"alpha_pred_{key}"] = {"value": float(alpha_prediction(out[key]["exponent"])),
                                        "ci": [float(alpha_prediction(ci[0])), float(alpha_prediction(ci[1]))]}
    return out
