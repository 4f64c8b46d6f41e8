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

# The pieces live in: propagator.py (Eq. 24 kernel, FFT conventions), thresholds.py
# (threshold maps, renewal stream, threshold tables), dynamics.py (numba kernels on
# named records), reference.py (plain implementation), steady.py (σ_s and the
# ε_pl calibration). Their public names are re-exported here.

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.fft as sfft

from glass2epm.epm.dynamics import (  # noqa: F401
    BIG, FIELD, RUNAWAY, STOP, TALLY, Lattice, Renewal, State, _column_minima, _pass_field,
    _pass_sparse, advance, new_record, new_work)
from glass2epm.epm.propagator import (  # noqa: F401
    _wavevectors, onsite_value, propagator, propagator_fourier, sparse_kernel)
from glass2epm.epm.reference import reference_run  # noqa: F401
from glass2epm.epm.steady import Calibration, SteadyState, calibrate_eps_pl, steady_state  # noqa: F401
from glass2epm.epm.thresholds import (  # noqa: F401
    _as_table, activity_columns, read_thresholds, renewal_index, renewal_key, sample_thresholds,
    threshold_map, weibull_table, write_thresholds)

#: Default number of failures in a round above which the FFT path is used.
#: Measured on the development machine (bench/bench_epm.py prints the
#: crossover): one sparse failure costs ~0.3 ns·L², an rfft2/irfft2 round
#: ~30–140 µs at L = 32–128 (Python included), crossing at n ≈ 40–60.
DEFAULT_NSWITCH = 40


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
        self.Kt = sparse_kernel(K)
        self.ghat = np.ascontiguousarray(G[:, : L // 2 + 1])
        self.ksum = self.q0
        self.lat = Lattice(self.Kt, float(self.ksum), self.nswitch, self.max_avalanche)
        self.rn = Renewal(self.table, self.key, self.eps_pl, float(self.c_ren), self.renewal_modulus,
                          renewal_mode == "relative")

        c = mu.copy() if control == "strain" else np.ones((L, L))
        w = np.ascontiguousarray((thr - sig0) / c)  # s = 0
        tally = np.zeros(1, dtype=TALLY)
        self.state = State(w, thr, c, 1.0 / c, mu, np.zeros((L, L)), np.zeros((L, L), dtype=np.int64), tally)
        self.tally = tally[0]
        self.tally["sumsig"] = sig0.sum()
        self.tally["sumc"] = c.sum()
        self.tally["summu"] = mu.sum()
        self.tally["ndiff"] = np.count_nonzero(c != self.c_ren)  # blocks not yet at c_ren
        self.work = new_work(L)
        # the state's arrays under their short names (updated in place by the kernels)
        self.w, self.thr, self.c, self.invc, self.mu, self.epsp, self.act = self.state[:7]
        self._nofield = np.zeros((0, 0))
        # the records as plain tuples for the numba entry points (dynamics.advance)
        self._st, self._lat, self._rn, self._wk = (tuple(self.state), tuple(self.lat), tuple(self.rn),
                                                   tuple(self.work))
        self.tally["wmin"] = _column_minima(w, self.work.lane)

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
        return float(self.tally["s"])

    @property
    def sigma(self) -> np.ndarray:
        """Block stresses σ_i (ε/λ²), computed from the stored state."""
        return self.thr - self.c * (self.w - self.tally["s"])

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
        return int(self.tally["total"])

    # -- dynamics

    def _convolve(self) -> np.ndarray:
        """K ∗ (source field of the pending FFT round), Eq. (24) in Fourier space."""
        F = sfft.rfft2(self.work.field, workers=self.fft_workers)
        F *= self.ghat
        return np.ascontiguousarray(sfft.irfft2(F, s=(self.L, self.L), workers=self.fft_workers))

    def _advance_to(self, s_stop: float, rec: list, cap: int):
        bufs = new_record(cap)
        rt = tuple(bufs)
        dsig = self._nofield
        while True:
            code = advance(self._st, self._lat, self._rn, self._wk, rt, float(s_stop), dsig)
            if code == FIELD:
                dsig = self._convolve()
                continue
            dsig = self._nofield
            if code == RUNAWAY:
                raise RuntimeError(
                    f"EPM avalanche exceeded {self.max_avalanche} failures at s = {self.strain:.6g} "
                    "(under stress control: the applied stress is above the flow stress)")
            nrec = int(self.tally["nrec"])
            rec.append(tuple(b[:nrec].copy() for b in bufs))
            self.tally["nrec"] = 0
            if code == STOP:
                return
            cap = min(2 * cap, 1 << 22)
            bufs = new_record(cap)
            rt = tuple(bufs)

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
        self.tally["sumsig"] = self.sigma.sum()  # re-synchronise the tracked total stress
        s_now = self.strain
        stops = sorted({float(g) for g in snapshots if s_now <= float(g) <= strain_max})
        rec: list = []
        snaps = {}
        for stop in stops:
            self._advance_to(stop, rec, record_capacity)
            snaps[stop] = {"activity": self.act.copy(), "plastic_strain": self.epsp.copy()}
        if strain_max >= s_now:
            self._advance_to(strain_max, rec, record_capacity)
        tl = self.tally
        if strain_max > tl["s"]:  # elastic loading to the end point
            tl["sumsig"] += tl["sumc"] * (strain_max - tl["s"])
            tl["s"] = strain_max
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
