"""Scalar quasistatic elasto-plastic model (EPM) with an FFT propagator (paper Sec. V A, Eq. 24).

Units: energy ε, length λ (smallest particle size); stresses and thresholds in ε/λ²
(2D), moduli in ε/λ², strains dimensionless. Positions on the lattice are in
block units (one block = ξ = 5 particle diameters in the paper).

Conventions (what is stored, signs, normalisation)
--------------------------------------------------
Lattice
    An L×L periodic square grid. Every field has shape (L, L) and is indexed
    ``field[x, y]`` (first axis x, second axis y; for ``imshow`` use ``field.T``
    with ``origin="lower"``). A flat block index is ``k = x·L + y`` (row-major).
Stress
    ``σ_i`` is the local shear stress σ_xy of block i. The macroscopic stress is
    the mean ``σ̄ = Σ_i σ_i / L²``.
Loading (strain control, default)
    Extremal (quasistatic) loading: the macroscopic strain γ is raised by the
    smallest Δγ that brings one block to its threshold, every block loads
    elastically by ``σ_i += μ_i Δγ`` (its own modulus μ_i).
Failure
    A block is unstable when ``σ_i ≥ σ_th,i`` (thresholds are absolute
    stresses; to use residual strengths x_i = σ_Y,i − σ_0,i, pass
    ``thresholds = σ_0 + x`` together with ``sigma0 = σ_0``). Dynamics are
    synchronous: in each round *every* unstable block fails at once.
Plastic event (Eq. 24)
    A failure of block j adds ε_pl to its accumulated plastic strain and
    redistributes ``Δσ_i = 2 μ_j ε_pl K(r_i − r_j)`` with μ_j the modulus of the
    *failing* block (before renewal). K is the real-space propagator, the
    inverse FFT of Ĝ(q) = −4 q_x² q_y² / q⁴ (q = 2π k / L, k integer,
    ``numpy.fft.fftfreq`` order) with Ĝ(0) = −1:

    * ``Σ_r K(r) = Ĝ(0) = −1``: each failure lowers the total stress by
      exactly 2 μ_j ε_pl, i.e. the mean stress by 2 μ_j ε_pl / L².
    * On-site value ``K(0) = (1/L²) Σ_q Ĝ(q)``; ERRATA: this is 1 − π/2 ≈ −0.5708
      for large L (the exact finite-L value is :func:`onsite_value`), **not**
      −1. With the default ``onsite="paper"`` (the paper's kernel as is) a
      failing block's own stress therefore drops by |K(0)|·2 μ_j ε_pl ≈
      0.571·2 μ_j ε_pl, and the remaining −(1 + K(0))·2 μ_j ε_pl ≈ −0.429·2 μ_j ε_pl
      of the drop is spread over the other blocks.
    * Sign pattern (quadrupolar, x↔y symmetric): K > 0 along the lattice axes
      (the slip directions of σ_xy: neighbours along x and y are *loaded*) and
      K < 0 along the diagonals; far field K(r, θ) ≈ cos 4θ / (π r²) along the
      diagonals (the axes carry an extra lattice contribution).
    * ``onsite="normalised"``: Ĝ'(q≠0) = Ĝ(q) + A with the constant
      A = −(1 + K(0))·L²/(L² − 1) (for Ĝ(0) = −1), Ĝ'(0) = Ĝ(0). In real space
      K' = K + A·δ_{r,0} − A/L², i.e. the on-site value becomes exactly −1 and
      the extra on-site drop (1 + K(0))·2μ ε_pl is handed back *uniformly*
      to the L² − 1 other blocks (each off-site value is raised by
      (1 + K(0))/(L² − 1)); the anisotropic part of the field is unchanged and
      the real-space sum stays Ĝ(0) = −1. The failing block's own stress then
      drops by exactly 2 μ_j ε_pl.
Renewal
    After the round's redistribution every failed block draws a new threshold
    from the renewal table (``renewal_mode="absolute"``: σ_th = draw, the
    paper's rule; ``"relative"``: σ_th = σ_i(after the round) + draw, a residual
    strength) and its modulus becomes the renewal modulus μ(T_p = 0.7).
    Draws are sampling with replacement from an empirical table; the n-th
    renewal of block k takes table index ⌊u·M⌋ with u the 53-bit uniform of
    splitmix64(splitmix64(key ⊕ k) + n) (``key`` derived from the seed). The
    renewal sequence of every block is thus fixed by (seed, block, count) and
    independent of the order in which failures are processed, so different
    implementations consume exactly the same renewal sequence.
Stress control (``control="stress"``, a test/creep mode)
    Ĝ(0) = 0 (the q = 0 part is removed: redistributions conserve the total
    stress) and loading adds a uniform stress increment to every block
    (σ_i += Δs). The series' ``strain`` column then holds the plastic strain
    γ_pl = 2 ε_pl · (failures so far) / L².

What is stored (implementation)
    The fast implementation (:class:`EPM`) stores for each block the value of
    the loading variable s (γ in strain control) at which it would fail if
    nothing else happened, ``w_i = s + (σ_th,i − σ_i)/c_i`` (c_i = μ_i, or 1 in
    stress control), so that loading costs nothing (s just moves to min w)
    and a failure updates ``w_i −= Δσ_i / c_i``. σ_i is recovered as
    σ_th,i − c_i (w_i − s). Redistribution of a round with n failures uses a
    precomputed shifted kernel (O(n·L²), numba) when n ≤ ``nswitch`` and the
    FFT convolution (scipy.fft rfft2/irfft2 with a cached Ĝ) otherwise.
    :func:`reference_run` is an independent plain implementation that stores
    σ_i directly and adds the shifted kernel block by block (no FFT).
    Loading steps and sparse rounds run entirely inside numba; Python is
    re-entered only for FFT rounds and to grow the record buffers. The
    kernels are single-threaded on purpose (one pass over L² values takes a
    few µs at L = 128, less than a thread launch pays back): run seeds or
    parameter points in parallel processes instead.

Recorded per loading step: the strain γ at which the avalanche started, the
mean stress just before (``stress_before``) and after (``stress``) the
avalanche, the avalanche size (number of failures) and the number of rounds.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.fft as sfft
from numba import njit


from glass2epm.core.schemas import THRESHOLDS


BIG = 1e300

# float state slots
_S, _SUMSIG, _SUMC, _SUMMU, _WMIN = 0, 1, 2, 3, 4
# int state slots
_INAVAL, _SIZE, _ROUNDS, _NPEND, _NREC, _TOTAL, _NDIFF = 0, 1, 2, 3, 4, 5, 6
# return codes of _advance
_STOP, _FULL, _FIELD, _RUNAWAY = 0, 1, 2, 3

#: Default number of failures in a round above which the FFT path is used.
#: Measured on the development machine (bench/bench_epm.py prints the
#: crossover): one sparse failure costs ~0.3 ns·L², an rfft2/irfft2 round
#: ~30–140 µs at L = 32–128 (Python included), crossing at n ≈ 40–60.
DEFAULT_NSWITCH = 40


# ----------------------------------------------------------------------------
# propagator (Eq. 24)


def _wavevectors(L: int):
    k = 2.0 * np.pi * np.fft.fftfreq(L)
    return np.meshgrid(k, k, indexing="ij")


def propagator_fourier(L: int, *, onsite: str = "paper", q0: float = -1.0) -> np.ndarray:
    """Ĝ(q) of Eq. (24) on the L×L FFT grid (``fftfreq`` order), shape (L, L).

    Ĝ(q) = −4 q_x² q_y² / q⁴ for q ≠ 0 and Ĝ(0) = ``q0`` (−1 under strain control,
    0 under stress control). ``onsite="normalised"`` adds the constant
    A = (−1 − K(0))·L²/(L² − 1) to every q ≠ 0 so that the real-space on-site
    value is exactly −1 and the real-space sum stays ``q0`` (see module docstring).
    """
    L = int(L)
    if L < 2:
        raise ValueError(f"EPM lattice size must be >= 2, got {L}")
    if onsite not in ("paper", "normalised"):
        raise ValueError(f"onsite must be 'paper' or 'normalised', got {onsite!r}")
    qx, qy = _wavevectors(L)
    q2 = qx * qx + qy * qy
    q2[0, 0] = 1.0
    G = -4.0 * qx * qx * qy * qy / (q2 * q2)
    G[0, 0] = q0
    if onsite == "normalised":
        k0 = G.sum() / (L * L)  # the on-site value of the unmodified kernel
        A = (-1.0 - k0) * L * L / (L * L - 1.0)
        G += A
        G[0, 0] = q0
    return G


def propagator(L: int, *, onsite: str = "paper", q0: float = -1.0) -> np.ndarray:
    """Real-space kernel K[dx, dy] (shape (L, L)): the stress change at offset
    (dx, dy) from a failing block per unit 2 μ ε_pl. Inverse FFT of :func:`propagator_fourier`."""
    G = propagator_fourier(L, onsite=onsite, q0=q0)
    K = np.fft.ifft2(G).real
    return np.ascontiguousarray(K)


def onsite_value(L: int, q0: float = -1.0) -> float:
    """Exact on-site value K(0) = (1/L²) Σ_q Ĝ(q) of the paper's kernel (→ 1 − π/2 as L → ∞)."""
    return float(propagator_fourier(L, q0=q0).sum() / (L * L))


# ----------------------------------------------------------------------------
# threshold samplers


def sample_thresholds(values, L: int, seed: int) -> np.ndarray:
    """An (L, L) map drawn with replacement from the empirical values (seeded)."""
    values = _as_table(values, "threshold table")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x1A17]))
    return values[rng.integers(0, values.size, size=(L, L))]


def threshold_map(values, L: int, x=None, y=None) -> np.ndarray:
    """One-to-one spatial realisation: the L² values as an (L, L) map.

    Without coordinates the values are taken in row-major ``[x, y]`` order.
    With block coordinates ``x``, ``y`` (indices or block-centre positions in
    λ), each must take exactly L distinct values; blocks are placed by rank.
    """
    values = np.asarray(values, dtype=float).ravel()
    if values.size != L * L:
        raise ValueError(f"a one-to-one threshold map needs L² = {L * L} values, got {values.size}")
    if not np.all(np.isfinite(values)):
        raise ValueError("threshold map contains non-finite values")
    if x is None or y is None:
        return values.reshape(L, L).copy()
    out = np.full((L, L), np.nan)
    ux, ix = np.unique(np.asarray(x), return_inverse=True)
    uy, iy = np.unique(np.asarray(y), return_inverse=True)
    if ux.size != L or uy.size != L:
        raise ValueError(f"block coordinates take {ux.size}×{uy.size} distinct values, expected {L}×{L}")
    out[ix, iy] = values
    if np.isnan(out).any():
        raise ValueError("block coordinates do not cover the L×L lattice once each")
    return out


def weibull_table(mean: float, std: float, n: int = 100_000, seed: int = 0) -> np.ndarray:
    """n Weibull samples with the given mean and standard deviation (for tests and benchmarks)."""
    from scipy.optimize import brentq
    from scipy.special import gamma as G

    cv = std / mean

    def f(k):
        return math.sqrt(G(1 + 2 / k) / G(1 + 1 / k) ** 2 - 1) - cv

    k = brentq(f, 0.2, 100.0)
    scale = mean / G(1 + 1 / k)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x3E1B]))
    return scale * rng.weibull(k, size=n)


def renewal_key(seed: int) -> int:
    """The 64-bit key of the renewal stream for a seed."""
    return int(np.random.SeedSequence([int(seed), 0x2E4E]).generate_state(1, np.uint64)[0])


def _as_table(values, what) -> np.ndarray:
    v = np.ascontiguousarray(np.asarray(values, dtype=np.float64).ravel())
    if v.size == 0:
        raise ValueError(f"{what} is empty")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{what} contains non-finite values")
    return v


# ----------------------------------------------------------------------------
# numba kernels

_GOLD = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)


@njit(cache=True)
def _mix64(z):
    z = z + _GOLD
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True)
def renewal_index(key, k, m, n):
    """Table index of the m-th renewal (m ≥ 1) of block k for a table of n values."""
    h = _mix64(_mix64(key ^ np.uint64(k)) + np.uint64(m))
    u = np.float64(h >> _S11) * (1.0 / 9007199254740992.0)
    i = np.int64(u * n)
    if i >= n:
        i = n - 1
    return i


@njit(cache=True, fastmath=True)
def _pass_sparse(w, invc, Kt, fi, fj, amp, n, acc, lane, ic):
    """w -= Σ_f amp_f K(· − r_f) / c, fused with per-column minima (lane).

    ``ic > 0``: every block has the same 1/c = ic (one memory stream fewer)."""
    L = w.shape[0]
    for j in range(L):
        lane[j] = BIG
    if n == 1 and ic > 0.0:
        i0 = fi[0]
        off = L - fj[0]
        a = amp[0] * ic
        for i in range(L):
            r = i - i0
            if r < 0:
                r += L
            krow = Kt[r, off : off + L]
            wrow = w[i]
            for j in range(L):
                v = wrow[j] - a * krow[j]
                wrow[j] = v
                lane[j] = min(lane[j], v)
    elif n == 1:
        i0 = fi[0]
        off = L - fj[0]
        a = amp[0]
        for i in range(L):
            r = i - i0
            if r < 0:
                r += L
            krow = Kt[r, off : off + L]
            wrow = w[i]
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


@njit(cache=True)
def _prepare(w, thr, c, mu, fbuf, n, s, eps_pl, fi, fj, amp, sig):
    """Amplitudes 2 μ_j ε_pl, stresses before the round, and mark failing blocks (w = BIG)."""
    L = w.shape[0]
    asum = 0.0
    for f in range(n):
        k = fbuf[f]
        i = k // L
        j = k - i * L
        fi[f] = i
        fj[f] = j
        a = 2.0 * mu[i, j] * eps_pl
        amp[f] = a
        asum += a
        sig[f] = thr[i, j] - c[i, j] * (w[i, j] - s)
        w[i, j] = BIG
    return asum


@njit(cache=True)
def _renew(w, thr, c, invc, mu, epsp, act, table, key, fi, fj, sig, n, fs, ist, lane, mn,
           eps_pl, c_ren, mu_ren, relative):
    """Failure bookkeeping and renewal of the n failed blocks (sig = their stress after the round)."""
    L = w.shape[0]
    s = fs[_S]
    nt = table.shape[0]
    for f in range(n):
        i = fi[f]
        j = fj[f]
        m = act[i, j] + 1
        act[i, j] = m
        epsp[i, j] += eps_pl
        x = table[renewal_index(key, i * L + j, m, nt)]
        t = x + sig[f] if relative else x
        if c[i, j] != c_ren:
            ist[_NDIFF] -= 1
        fs[_SUMC] += c_ren - c[i, j]
        fs[_SUMMU] += mu_ren - mu[i, j]
        thr[i, j] = t
        c[i, j] = c_ren
        invc[i, j] = 1.0 / c_ren
        mu[i, j] = mu_ren
        wn = s + (t - sig[f]) / c_ren
        w[i, j] = wn
        if wn < lane[j]:
            lane[j] = wn
        if wn < mn:
            mn = wn
    return mn


@njit(cache=True)
def _round_sparse(w, thr, c, invc, mu, epsp, act, Kt, table, key, fbuf, n, fs, ist,
                  fi, fj, amp, sig, acc, lane, eps_pl, c_ren, mu_ren, relative, ksum):
    L = w.shape[0]
    asum = _prepare(w, thr, c, mu, fbuf, n, fs[_S], eps_pl, fi, fj, amp, sig)
    ic = 1.0 / c_ren if ist[_NDIFF] == 0 else 0.0
    mn = _pass_sparse(w, invc, Kt, fi, fj, amp, n, acc, lane, ic)
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
    mn = _renew(w, thr, c, invc, mu, epsp, act, table, key, fi, fj, sig, n, fs, ist, lane, mn,
                eps_pl, c_ren, mu_ren, relative)
    fs[_SUMSIG] += ksum * asum
    return mn


@njit(cache=True)
def _prepare_field(w, thr, c, mu, fbuf, n, fs, eps_pl, fi, fj, amp, sig, field):
    asum = _prepare(w, thr, c, mu, fbuf, n, fs[_S], eps_pl, fi, fj, amp, sig)
    for f in range(n):
        field[fi[f], fj[f]] = amp[f]
    return asum


@njit(cache=True)
def _finish_field(w, thr, c, invc, mu, epsp, act, table, key, fbuf, fs, ist, fi, fj, sig,
                  field, dsig, lane, cols, asum, eps_pl, c_ren, mu_ren, relative, ksum):
    n = ist[_NPEND]
    ic = 1.0 / c_ren if ist[_NDIFF] == 0 else 0.0
    mn = _pass_field(w, invc, dsig, lane, ic)
    for f in range(n):
        sig[f] += dsig[fi[f], fj[f]]
        field[fi[f], fj[f]] = 0.0
    mn = _renew(w, thr, c, invc, mu, epsp, act, table, key, fi, fj, sig, n, fs, ist, lane, mn,
                eps_pl, c_ren, mu_ren, relative)
    fs[_SUMSIG] += ksum * asum
    ist[_SIZE] += n
    ist[_ROUNDS] += 1
    ist[_TOTAL] += n
    fs[_WMIN] = mn
    s = fs[_S]
    ist[_NPEND] = _collect(w, s, lane, cols, fbuf) if mn <= s else 0


@njit(cache=True)
def _advance(w, thr, c, invc, mu, epsp, act, Kt, table, key, fs, ist, fbuf, cols, fi, fj, amp, sig,
             acc, lane, rec_s, rec_sb, rec_sa, rec_size, rec_rounds, s_stop, nswitch, max_aval,
             eps_pl, c_ren, mu_ren, relative, ksum):
    """Run loading steps and avalanches until the next failure would need s > s_stop (returns
    _STOP), the record buffer is full (_FULL), a round needs the FFT path (_FIELD, failing
    blocks in fbuf[:ist[_NPEND]]), or an avalanche exceeds max_aval failures (_RUNAWAY)."""
    L = w.shape[0]
    N = L * L
    while True:
        if ist[_INAVAL] == 0:
            wmin = fs[_WMIN]
            if wmin > s_stop:
                return _STOP
            r = ist[_NREC]
            if r >= rec_s.shape[0]:
                return _FULL
            if wmin > fs[_S]:  # extremal loading (no unloading if already unstable)
                fs[_SUMSIG] += fs[_SUMC] * (wmin - fs[_S])
                fs[_S] = wmin
            rec_s[r] = fs[_S]
            rec_sb[r] = fs[_SUMSIG] / N
            ist[_INAVAL] = 1
            ist[_SIZE] = 0
            ist[_ROUNDS] = 0
            ist[_NPEND] = _collect(w, fs[_S], lane, cols, fbuf)
        if ist[_SIZE] > max_aval:
            return _RUNAWAY
        n = ist[_NPEND]
        while n > 0:
            if n > nswitch:
                return _FIELD
            mn = _round_sparse(w, thr, c, invc, mu, epsp, act, Kt, table, key, fbuf, n, fs, ist,
                               fi, fj, amp, sig, acc, lane, eps_pl, c_ren, mu_ren, relative, ksum)
            ist[_SIZE] += n
            ist[_ROUNDS] += 1
            ist[_TOTAL] += n
            fs[_WMIN] = mn
            s = fs[_S]
            n = _collect(w, s, lane, cols, fbuf) if mn <= s else 0
            ist[_NPEND] = n
            if ist[_SIZE] > max_aval:
                return _RUNAWAY
        r = ist[_NREC]
        rec_sa[r] = fs[_SUMSIG] / N
        rec_size[r] = ist[_SIZE]
        rec_rounds[r] = ist[_ROUNDS]
        ist[_NREC] = r + 1
        ist[_INAVAL] = 0


# ----------------------------------------------------------------------------
# the model


@dataclass
class EPMRun:
    """What one :meth:`EPM.run` call produced.

    ``series``: dict of 1-D arrays, one row per loading step (``strain``,
    ``stress`` after the avalanche, ``stress_before``, ``avalanche_size``,
    ``rounds``). ``snapshots``: {strain: {"activity": (L, L) int64,
    "plastic_strain": (L, L)}} at the requested strains (state after every
    avalanche triggered at strain ≤ that value). ``failures``: failures in this
    call; ``wall_s``: wall time of the call.
    """

    series: dict
    snapshots: dict = field(default_factory=dict)
    failures: int = 0
    wall_s: float = 0.0
    strain_end: float = 0.0

    @property
    def failures_per_second(self) -> float:
        return self.failures / self.wall_s if self.wall_s > 0 else float("nan")


class EPM:
    """Scalar synchronous EPM on an L×L periodic lattice (paper Sec. V A, Eq. 24).

    Parameters
    ----------
    thresholds : (L, L) array
        Initial (absolute) thresholds σ_th in ε/λ² (e.g. from :func:`sample_thresholds`
        or :func:`threshold_map`).
    renewal : 1-D array
        Empirical renewal table P_renewal (absolute thresholds, or residual
        strengths for ``renewal_mode="relative"``), sampled with replacement.
    eps_pl : float
        Plastic eigenstrain ε_pl of one failure.
    modulus : float or (L, L) array
        Initial block moduli μ_i = μ(T_p) in ε/λ².
    renewal_modulus : float, optional
        Modulus after a failure, μ(T_p = 0.7) (default: ``modulus`` if scalar).
    seed : int
        Seed of the renewal stream (see :func:`renewal_key`).
    sigma0 : (L, L) array, optional
        Initial block stresses (default 0).
    onsite : "paper" | "normalised"
        Propagator convention (module docstring).
    control : "strain" | "stress"
        Strain-controlled extremal loading (Ĝ(0) = −1) or the stress-controlled
        variant (Ĝ(0) = 0, uniform stress loading).
    renewal_mode : "absolute" | "relative"
    nswitch : int
        Rounds with more failures than this use the FFT path.
    fft_workers : int
        Threads for scipy.fft (the sparse path is single-threaded).
    max_avalanche : int
        Failures allowed in one avalanche before RuntimeError (default 1000·L²).
    """

    def __init__(self, thresholds, renewal, *, eps_pl: float, modulus, renewal_modulus=None,
                 seed: int, sigma0=None, onsite: str = "paper", control: str = "strain",
                 renewal_mode: str = "absolute", nswitch: int = DEFAULT_NSWITCH, fft_workers: int = 1,
                 max_avalanche: int | None = None):
        thr = np.array(thresholds, dtype=np.float64)
        if thr.ndim != 2 or thr.shape[0] != thr.shape[1]:
            raise ValueError(f"thresholds must be an (L, L) array, got shape {thr.shape}")
        if not np.all(np.isfinite(thr)):
            raise ValueError("thresholds contain non-finite values")
        L = thr.shape[0]
        if L < 2:
            raise ValueError("EPM lattice size must be >= 2")
        if control not in ("strain", "stress"):
            raise ValueError(f"control must be 'strain' or 'stress', got {control!r}")
        if renewal_mode not in ("absolute", "relative"):
            raise ValueError(f"renewal_mode must be 'absolute' or 'relative', got {renewal_mode!r}")
        self.table = _as_table(renewal, "renewal table")
        if renewal_mode == "relative" and np.any(self.table <= 0):
            raise ValueError("renewal_mode='relative' needs strictly positive residual strengths")
        if not (eps_pl > 0 and np.isfinite(eps_pl)):
            raise ValueError(f"eps_pl must be a positive number, got {eps_pl}")
        mu = np.broadcast_to(np.asarray(modulus, dtype=np.float64), (L, L)).copy()
        if np.any(~np.isfinite(mu)) or np.any(mu <= 0):
            raise ValueError("moduli must be positive and finite")
        if renewal_modulus is None:
            if np.ptp(mu) != 0:
                raise ValueError("renewal_modulus is required when modulus is a map")
            renewal_modulus = float(mu.flat[0])
        renewal_modulus = float(renewal_modulus)
        if not (renewal_modulus > 0 and np.isfinite(renewal_modulus)):
            raise ValueError(f"renewal_modulus must be positive, got {renewal_modulus}")
        sig0 = np.zeros((L, L)) if sigma0 is None else np.array(sigma0, dtype=np.float64)
        if sig0.shape != (L, L) or not np.all(np.isfinite(sig0)):
            raise ValueError(f"sigma0 must be a finite ({L}, {L}) array")

        self.L = L
        self.N = L * L
        self.eps_pl = float(eps_pl)
        self.seed = int(seed)
        self.key = np.uint64(renewal_key(seed))
        self.onsite = onsite
        self.control = control
        self.renewal_mode = renewal_mode
        self.renewal_modulus = renewal_modulus
        self.nswitch = int(nswitch)
        self.fft_workers = int(fft_workers)
        self.max_avalanche = int(max_avalanche) if max_avalanche is not None else 1000 * self.N
        self.q0 = -1.0 if control == "strain" else 0.0
        self.c_ren = renewal_modulus if control == "strain" else 1.0

        G = propagator_fourier(L, onsite=onsite, q0=self.q0)
        K = np.ascontiguousarray(np.fft.ifft2(G).real)
        self.kernel = K
        self.Kt = np.ascontiguousarray(np.concatenate([K, K], axis=1))
        self.ghat = np.ascontiguousarray(G[:, : L // 2 + 1])
        self.ksum = self.q0

        self.thr = thr
        self.mu = mu
        self.c = mu.copy() if control == "strain" else np.ones((L, L))
        self.invc = 1.0 / self.c
        self.epsp = np.zeros((L, L))
        self.act = np.zeros((L, L), dtype=np.int64)
        self.w = np.ascontiguousarray((thr - sig0) / self.c)  # s = 0
        self.fs = np.zeros(5)
        self.ist = np.zeros(7, dtype=np.int64)
        self.fs[_SUMSIG] = sig0.sum()
        self.fs[_SUMC] = self.c.sum()
        self.fs[_SUMMU] = mu.sum()
        self.ist[_NDIFF] = np.count_nonzero(self.c != self.c_ren)  # blocks not yet at c_ren
        N = self.N
        self.fbuf = np.zeros(N, dtype=np.int64)
        self.cols = np.zeros(L, dtype=np.int64)
        self.fi = np.zeros(N, dtype=np.int64)
        self.fj = np.zeros(N, dtype=np.int64)
        self.amp = np.zeros(N)
        self.sigf = np.zeros(N)
        self.acc = np.zeros(L)
        self.lane = np.zeros(L)
        self.field = np.zeros((L, L))
        self.fs[_WMIN] = _column_minima(self.w, self.lane)

    # -- construction helpers

    @classmethod
    def from_tables(cls, L: int, sigma_y, sigma_y_renewal=None, *, seed: int, **kw) -> "EPM":
        """Initial thresholds drawn with replacement from ``sigma_y`` (P_init), renewal from
        ``sigma_y_renewal`` (P_renewal; default ``sigma_y``), both from ``seed``."""
        thr = sample_thresholds(sigma_y, L, seed)
        ren = sigma_y if sigma_y_renewal is None else sigma_y_renewal
        return cls(thr, ren, seed=seed, **kw)

    # -- state

    @property
    def strain(self) -> float:
        """Current value of the loading variable (γ under strain control, the applied uniform
        stress increment under stress control)."""
        return float(self.fs[_S])

    @property
    def sigma(self) -> np.ndarray:
        """Block stresses σ_i (ε/λ²), computed from the stored state."""
        return self.thr - self.c * (self.w - self.fs[_S])

    @property
    def stress(self) -> float:
        """Macroscopic stress: mean of σ_i, from the field."""
        return float(self.sigma.mean())

    @property
    def thresholds(self) -> np.ndarray:
        return self.thr.copy()

    @property
    def modulus(self) -> np.ndarray:
        return self.mu.copy()

    @property
    def activity(self) -> np.ndarray:
        return self.act.copy()

    @property
    def plastic_strain(self) -> np.ndarray:
        return self.epsp.copy()

    @property
    def failures(self) -> int:
        return int(self.ist[_TOTAL])

    # -- dynamics

    def _field_round(self):
        n = int(self.ist[_NPEND])
        asum = _prepare_field(self.w, self.thr, self.c, self.mu, self.fbuf, n, self.fs, self.eps_pl,
                              self.fi, self.fj, self.amp, self.sigf, self.field)
        F = sfft.rfft2(self.field, workers=self.fft_workers)
        F *= self.ghat
        dsig = sfft.irfft2(F, s=(self.L, self.L), workers=self.fft_workers)
        _finish_field(self.w, self.thr, self.c, self.invc, self.mu, self.epsp, self.act, self.table,
                      self.key, self.fbuf, self.fs, self.ist, self.fi, self.fj, self.sigf, self.field,
                      np.ascontiguousarray(dsig), self.lane, self.cols, asum, self.eps_pl, self.c_ren,
                      self.renewal_modulus, self.renewal_mode == "relative", self.ksum)

    def _advance_to(self, s_stop: float, rec: list, cap: int):
        bufs = (np.empty(cap), np.empty(cap), np.empty(cap), np.empty(cap, np.int64), np.empty(cap, np.int64))
        while True:
            code = _advance(self.w, self.thr, self.c, self.invc, self.mu, self.epsp, self.act, self.Kt,
                            self.table, self.key, self.fs, self.ist, self.fbuf, self.cols, self.fi, self.fj,
                            self.amp, self.sigf, self.acc, self.lane, *bufs, float(s_stop), self.nswitch,
                            self.max_avalanche, self.eps_pl, self.c_ren, self.renewal_modulus,
                            self.renewal_mode == "relative", self.ksum)
            if code == _FIELD:
                self._field_round()
                continue
            if code == _RUNAWAY:
                raise RuntimeError(
                    f"EPM avalanche exceeded {self.max_avalanche} failures at s = {self.strain:.6g} "
                    "(under stress control: the applied stress is above the flow stress)")
            nrec = int(self.ist[_NREC])
            rec.append(tuple(b[:nrec].copy() for b in bufs))
            self.ist[_NREC] = 0
            if code == _STOP:
                return
            cap = min(2 * cap, 1 << 22)
            bufs = (np.empty(cap), np.empty(cap), np.empty(cap), np.empty(cap, np.int64),
                    np.empty(cap, np.int64))

    def run(self, strain_max: float, snapshots=(), *, record_capacity: int = 1 << 14) -> EPMRun:
        """Load (extremal dynamics) up to ``strain_max`` of the loading variable; returns the
        series of loading steps of this call (module docstring) and activity snapshots at the
        requested strains (those outside [current strain, strain_max] are ignored). Calls
        continue from the current state."""
        t0 = time.perf_counter()
        f0 = self.failures
        strain_max = float(strain_max)
        if not np.isfinite(strain_max):
            raise ValueError("strain_max must be finite")
        self.fs[_SUMSIG] = self.sigma.sum()  # re-synchronise the tracked total stress
        s_now = self.strain
        stops = sorted({float(g) for g in snapshots if s_now <= float(g) <= strain_max})
        rec: list = []
        snaps = {}
        for stop in stops:
            self._advance_to(stop, rec, record_capacity)
            snaps[stop] = {"activity": self.act.copy(), "plastic_strain": self.epsp.copy()}
        if strain_max >= s_now:
            self._advance_to(strain_max, rec, record_capacity)
        if strain_max > self.fs[_S]:  # elastic loading to the end point
            self.fs[_SUMSIG] += self.fs[_SUMC] * (strain_max - self.fs[_S])
            self.fs[_S] = strain_max
        cols = [np.concatenate([r[k] for r in rec]) if rec else np.empty(0) for k in range(5)]
        series = {
            "strain": cols[0],
            "stress": cols[2],
            "stress_before": cols[1],
            "avalanche_size": cols[3].astype(np.int64),
            "rounds": cols[4].astype(np.int64),
        }
        if self.control == "stress":
            series["strain"] = self._plastic_strain_series(series["avalanche_size"], f0)
        return EPMRun(series, snaps, self.failures - f0, time.perf_counter() - t0, self.strain)

    def _plastic_strain_series(self, sizes, f0):
        return 2.0 * self.eps_pl * (f0 + np.cumsum(sizes)) / self.N

    def relax(self) -> tuple[int, int]:
        """Run the avalanche of an unstable state without loading; returns (failures, rounds)."""
        rec: list = []
        s = self.strain
        self._advance_to(s, rec, 4)
        sizes = np.concatenate([r[3] for r in rec]) if rec else np.empty(0, np.int64)
        rounds = np.concatenate([r[4] for r in rec]) if rec else np.empty(0, np.int64)
        return int(sizes.sum()), int(rounds.sum())


# ----------------------------------------------------------------------------
# plain real-space reference implementation (no FFT, σ stored directly)


@njit(cache=True)
def _reference_core(sigma, thr, c, mu, epsp, act, K, table, key, eps_pl, c_ren, mu_ren, relative,
                    s, s_max, max_steps, rec_s, rec_sb, rec_sa, rec_size, rec_rounds):
    L = sigma.shape[0]
    N = L * L
    nt = table.shape[0]
    gap = np.empty((L, L))
    unstable = np.zeros((L, L), dtype=np.bool_)
    fl = np.empty(N, dtype=np.int64)
    a = np.empty(N)
    nrec = 0
    while nrec < max_steps:
        ds = np.inf
        for i in range(L):
            for j in range(L):
                g = (thr[i, j] - sigma[i, j]) / c[i, j]
                gap[i, j] = g
                if g < ds:
                    ds = g
        if ds < 0.0:
            ds = 0.0
        if s + ds > s_max:
            break
        s += ds
        tot = 0.0
        for i in range(L):
            for j in range(L):
                sigma[i, j] += c[i, j] * ds
                unstable[i, j] = gap[i, j] <= ds or sigma[i, j] >= thr[i, j]
                tot += sigma[i, j]
        rec_s[nrec] = s
        rec_sb[nrec] = tot / N
        size = 0
        rounds = 0
        while True:
            n = 0
            for i in range(L):
                for j in range(L):
                    if unstable[i, j]:
                        fl[n] = i * L + j
                        n += 1
            if n == 0:
                break
            for f in range(n):
                i = fl[f] // L
                j = fl[f] % L
                a[f] = 2.0 * mu[i, j] * eps_pl
                act[i, j] += 1
                epsp[i, j] += eps_pl
            for f in range(n):
                i0 = fl[f] // L
                j0 = fl[f] % L
                for di in range(L):
                    for dj in range(L):
                        sigma[(i0 + di) % L, (j0 + dj) % L] += a[f] * K[di, dj]
            for f in range(n):
                i = fl[f] // L
                j = fl[f] % L
                x = table[renewal_index(key, fl[f], act[i, j], nt)]
                thr[i, j] = x + sigma[i, j] if relative else x
                mu[i, j] = mu_ren
                c[i, j] = c_ren
            size += n
            rounds += 1
            for i in range(L):
                for j in range(L):
                    unstable[i, j] = sigma[i, j] >= thr[i, j]
        tot = 0.0
        for i in range(L):
            for j in range(L):
                tot += sigma[i, j]
        rec_sa[nrec] = tot / N
        rec_size[nrec] = size
        rec_rounds[nrec] = rounds
        nrec += 1
    if s < s_max and nrec < max_steps:
        for i in range(L):
            for j in range(L):
                sigma[i, j] += c[i, j] * (s_max - s)
        s = s_max
    return s, nrec


def reference_run(thresholds, renewal, *, eps_pl: float, modulus, renewal_modulus=None, seed: int,
                  strain_max: float, sigma0=None, onsite: str = "paper", control: str = "strain",
                  renewal_mode: str = "absolute", chunk: int = 1 << 16):
    """Plain real-space implementation of the same dynamics (no FFT; O(L²) per failure with
    modulo indexing; σ stored directly). Same renewal stream as :class:`EPM`.

    Returns (series dict, final state dict with sigma, thresholds, modulus, activity,
    plastic_strain, strain). ``chunk``: record buffer length per call of the numba core.
    """
    thr = np.array(thresholds, dtype=np.float64)
    L = thr.shape[0]
    table = _as_table(renewal, "renewal table")
    mu = np.broadcast_to(np.asarray(modulus, dtype=np.float64), (L, L)).copy()
    if renewal_modulus is None:
        renewal_modulus = float(mu.flat[0])
    q0 = -1.0 if control == "strain" else 0.0
    K = propagator(L, onsite=onsite, q0=q0)
    c = mu.copy() if control == "strain" else np.ones((L, L))
    c_ren = float(renewal_modulus) if control == "strain" else 1.0
    sigma = np.zeros((L, L)) if sigma0 is None else np.array(sigma0, dtype=np.float64)
    epsp = np.zeros((L, L))
    act = np.zeros((L, L), dtype=np.int64)
    cap = int(chunk)
    parts = []
    s = 0.0
    while True:
        out = (np.empty(cap), np.empty(cap), np.empty(cap), np.empty(cap, np.int64), np.empty(cap, np.int64))
        s, nrec = _reference_core(sigma, thr, c, mu, epsp, act, K, table, np.uint64(renewal_key(seed)),
                                  float(eps_pl), c_ren, float(renewal_modulus), renewal_mode == "relative",
                                  s, float(strain_max), cap, *out)
        parts.append(tuple(o[:nrec].copy() for o in out))
        if nrec < cap:
            break
    cols = [np.concatenate([p[k] for p in parts]) for k in range(5)]
    series = {"strain": cols[0], "stress": cols[2], "stress_before": cols[1],
              "avalanche_size": cols[3], "rounds": cols[4]}
    if control == "stress":
        series["strain"] = 2.0 * eps_pl * np.cumsum(series["avalanche_size"]) / (L * L)
    state = {"sigma": sigma, "thresholds": thr, "modulus": mu, "activity": act,
             "plastic_strain": epsp, "strain": s}
    return series, state


# ----------------------------------------------------------------------------
# steady state and calibration


@dataclass
class SteadyState:
    mean: float
    std: float
    n_steps: int
    strain_window: tuple


def steady_state(series, gamma_from: float, gamma_to: float | None = None) -> SteadyState:
    """Strain-weighted mean and standard deviation of the stress over γ ∈ [gamma_from, gamma_to].

    With ``stress_before`` in the series the stress signal σ(γ) is the exact
    piecewise-linear saw-tooth (elastic rise from ``stress`` of step i to
    ``stress_before`` of step i+1), integrated exactly over the window
    (partial segments clipped; the signal is known between the first and the
    last recorded step). Without it, the plain mean/std of the
    post-avalanche stresses of the steps inside the window is returned.
    """
    g = np.asarray(series["strain"], dtype=float)
    sa = np.asarray(series["stress"], dtype=float)
    if gamma_to is None:
        gamma_to = g[-1] if g.size else gamma_from
    inside = (g >= gamma_from) & (g <= gamma_to)
    nsteps = int(inside.sum())
    sb = series.get("stress_before") if hasattr(series, "get") else None
    if sb is None or g.size < 2:
        if nsteps == 0:
            raise ValueError(f"no loading step with strain in [{gamma_from}, {gamma_to}]")
        v = sa[inside]
        return SteadyState(float(v.mean()), float(v.std()), nsteps, (gamma_from, gamma_to))
    sb = np.asarray(sb, dtype=float)
    g0, g1 = g[:-1], g[1:]
    y0, y1 = sa[:-1], sb[1:]
    a = np.clip(g0, gamma_from, gamma_to)
    b = np.clip(g1, gamma_from, gamma_to)
    dg = g1 - g0
    ok = (b > a) & (dg > 0)
    if not ok.any():
        raise ValueError(f"no strain interval inside [{gamma_from}, {gamma_to}]")
    g0, y0, y1, a, b, dg = g0[ok], y0[ok], y1[ok], a[ok], b[ok], dg[ok]
    slope = (y1 - y0) / dg
    ya = y0 + slope * (a - g0)
    yb = y0 + slope * (b - g0)
    length = b - a
    m1 = (ya + yb) / 2 * length
    m2 = (ya * ya + ya * yb + yb * yb) / 3 * length
    T = length.sum()
    mean = m1.sum() / T
    var = max(m2.sum() / T - mean * mean, 0.0)
    return SteadyState(float(mean), float(math.sqrt(var)), nsteps, (gamma_from, float(gamma_to)))


@dataclass
class Calibration:
    eps_pl: float
    eps_pl_low: float
    eps_pl_high: float
    stress: float
    stress_se: float
    target: float
    evaluations: list  # (eps_pl, mean, se) in evaluation order


def calibrate_eps_pl(run_fn, target: float, bracket, *, seeds=(0, 1, 2, 3), gamma_from: float,
                     gamma_to: float | None = None, xtol: float = 1e-4, maxiter: int = 60) -> Calibration:
    """Find ε_pl such that the seed-averaged steady-state stress equals ``target``.

    ``run_fn(eps_pl, seed)`` returns a series mapping (``strain``, ``stress``,
    optionally ``stress_before``). For each ε_pl the steady-state stress
    (:func:`steady_state` over [gamma_from, gamma_to]) is averaged over the
    fixed ``seeds``, so the objective is a deterministic function of ε_pl and
    the root find (scipy ``brentq`` on ``bracket``, tolerance ``xtol``) is
    reproducible. Standard error ``se``: std over seeds / √n_seeds (one seed:
    the std of 8 strain blocks / √8). The uncertainty interval solves the same
    problem for target ± se at the root (``eps_pl_low``, ``eps_pl_high``); if one
    of those has no sign change inside the bracket, it falls back to the local
    slope (secant through the evaluations nearest to the root).
    """
    from scipy.optimize import brentq

    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("calibrate_eps_pl needs at least one seed")
    lo, hi = float(bracket[0]), float(bracket[1])
    cache: dict = {}
    history: list = []

    def evaluate(e):
        e = float(e)
        if e not in cache:
            means = []
            blocks = []
            for sd in seeds:
                ser = run_fn(e, sd)
                ss = steady_state(ser, gamma_from, gamma_to)
                means.append(ss.mean)
                if len(seeds) == 1:
                    g_end = gamma_to if gamma_to is not None else float(np.asarray(ser["strain"])[-1])
                    edges = np.linspace(gamma_from, g_end, 9)
                    for u, v in zip(edges[:-1], edges[1:]):
                        try:
                            blocks.append(steady_state(ser, u, v).mean)
                        except ValueError:
                            pass
            m = float(np.mean(means))
            if len(seeds) > 1:
                se = float(np.std(means, ddof=1) / math.sqrt(len(seeds)))
            else:
                se = float(np.std(blocks, ddof=1) / math.sqrt(len(blocks))) if len(blocks) > 1 else 0.0
            cache[e] = (m, se)
            history.append((e, m, se))
        return cache[e]

    flo = evaluate(lo)[0] - target
    fhi = evaluate(hi)[0] - target
    if flo * fhi > 0:
        raise ValueError(
            f"calibrate_eps_pl: target stress {target} not bracketed: steady-state stress is "
            f"{flo + target:.6g} at eps_pl={lo} and {fhi + target:.6g} at eps_pl={hi}")
    root = brentq(lambda e: evaluate(e)[0] - target, lo, hi, xtol=xtol, maxiter=maxiter)
    m, se = evaluate(root)

    def side(t):
        fa = evaluate(lo)[0] - t
        fb = evaluate(hi)[0] - t
        if fa * fb <= 0:
            return brentq(lambda e: evaluate(e)[0] - t, lo, hi, xtol=xtol, maxiter=maxiter)
        pts = sorted(history, key=lambda h: abs(h[0] - root))
        e1, m1, _ = pts[0]
        for e2, m2, _ in pts[1:]:
            if e2 != e1 and m2 != m1:
                slope = (m2 - m1) / (e2 - e1)
                return root + (t - m) / slope
        return float("nan")

    e_a = side(target + se)
    e_b = side(target - se)
    return Calibration(float(root), float(min(e_a, e_b)), float(max(e_a, e_b)), m, se, float(target),
                       list(history))


# ----------------------------------------------------------------------------
# files


def read_thresholds(path) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """Read a thresholds table (any glass2epm Parquet file with a ``sigma_y`` column, e.g. a
    yield map). Returns (sigma_y, sigma_y_renewal or None, columns dict)."""
    from glass2epm.core.io import read_table

    t = read_table(path)
    if "sigma_y" not in t.columns:
        raise ValueError(
            f"{path}: no 'sigma_y' column (schema {t.meta.get('schema')!r}, columns "
            f"{sorted(t.columns)}); expected a 'thresholds' table or a yield map with column sigma_y")
    sy = _as_table(t["sigma_y"], f"{path}: column sigma_y")
    ren = t.columns.get("sigma_y_renewal")
    if ren is not None:
        ren = np.asarray(ren, dtype=float)
        ren = ren[np.isfinite(ren)]  # may be padded with NaN when P_renewal has fewer samples
        ren = _as_table(ren, f"{path}: column sigma_y_renewal")
    return sy, ren, t.columns


def write_thresholds(path, sigma_y, sigma_y_renewal=None, **meta) -> Path:
    """Write a 'thresholds' table (renewal column NaN-padded to the length of sigma_y if shorter)."""
    from glass2epm.core.io import write_table

    sy = np.asarray(sigma_y, dtype=float)
    cols = {"sigma_y": sy}
    if sigma_y_renewal is not None:
        r = np.asarray(sigma_y_renewal, dtype=float)
        if r.size > sy.size:
            raise ValueError("sigma_y_renewal longer than sigma_y: write them the other way round")
        pad = np.full(sy.size, np.nan)
        pad[: r.size] = r
        cols["sigma_y_renewal"] = pad
    return write_table(path, THRESHOLDS, cols, **meta)


def activity_columns(activity, plastic_strain=None) -> dict:
    L = activity.shape[0]
    x, y = np.meshgrid(np.arange(L), np.arange(L), indexing="ij")
    cols = {"x": x.ravel().astype(np.int32), "y": y.ravel().astype(np.int32),
            "activity": np.asarray(activity).ravel().astype(np.int64)}
    if plastic_strain is not None:
        cols["plastic_strain"] = np.asarray(plastic_strain).ravel()
    return cols
