"""Benchmark of the scalar FFT EPM (glass2epm.epm.lattice): block failures per second.

Set-up (realistic stand-in until the yield maps exist): initial and renewal
thresholds from a Weibull distribution with mean 1.5 and std 0.5 ε/λ²,
ε_pl = 0.065, μ = 15 ε/λ² (initial and renewal), the paper's kernel.
Rates are measured in the steady state (after γ = 1 of warm-up, which also
compiles the numba kernels), median of several continued strain segments.

Entries
* ``epm_failures_per_second_L{64,128}``: our rate against the published
  GooseEPM figure on this machine (C++, asynchronous, real-space propagator:
  20.4k/s at L = 64, 11.8k/s at L = 128, one core); ratio = our rate / its rate.
* ``epm_vs_reference_L{64,128}``: our rate against the plain real-space
  reference implementation (:func:`glass2epm.epm.reference.reference_run`) timed in the
  same run from the same steady state.
* ``epm_wall_L128_gamma100``: wall time of an L = 128 run from γ = 0 to 100
  (quick mode: estimated from the warm-up plus a steady-state segment) against
  the 10-minute budget (ratio = 600 s / ours).
* ``epm_sparse_us_per_failure_L128``, ``epm_fft_round_us_L128``,
  ``epm_nswitch_crossover_L128``: the measurements behind the sparse/FFT switch.

Units: time in s or µs; the machine is shared, numbers are indicative.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from glass2epm.epm import lattice

GOOSE = {64: 20.4e3, 128: 11.8e3}
EPS_PL = 0.065
MU = 15.0


def _model(L, seed=1):
    tab = lattice.weibull_table(1.5, 0.5, 100_000, seed=0)
    return lattice.EPM.from_tables(L, tab, seed=seed, eps_pl=EPS_PL, modulus=MU), tab


def _our_rate(m, dgamma, repeats):
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        f0 = m.failures
        m.run(m.strain + dgamma)
        rates.append((m.failures - f0) / (time.perf_counter() - t))
    return statistics.median(rates)


def _reference_rate(m, tab, dgamma, repeats):
    rates = []
    for r in range(repeats):
        t = time.perf_counter()
        ser, _ = lattice.reference_run(m.thresholds, tab, eps_pl=EPS_PL, modulus=m.modulus, renewal_modulus=MU,
                                   seed=100 + r, strain_max=dgamma, sigma0=m.sigma)
        dt = time.perf_counter() - t
        rates.append(ser["avalanche_size"].sum() / dt)
    return statistics.median(rates)


def _crossover(L=128, reps=200):
    m, _ = _model(L)
    rng = np.random.default_rng(0)
    ic = 1.0 / MU
    per_fail = []
    for n in (1, 8, 32, 64):
        idx = np.sort(rng.choice(L * L, n, replace=False))
        fi, fj = (idx // L).astype(np.int64), (idx % L).astype(np.int64)
        amp = np.full(n, 2 * MU * EPS_PL)
        lattice._pass_sparse(m.w, m.invc, m.Kt, fi, fj, amp, n, m.work.acc, m.work.lane, ic)
        ts = []
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(reps):
                lattice._pass_sparse(m.w, m.invc, m.Kt, fi, fj, amp, n, m.work.acc, m.work.lane, ic)
            ts.append((time.perf_counter() - t) / reps / n)
        per_fail.append(statistics.median(ts))
    field = np.zeros((L, L))
    field.flat[rng.choice(L * L, 64, replace=False)] = 2 * MU * EPS_PL

    def fft_round():
        F = lattice.sfft.rfft2(field)
        F *= m.ghat
        d = lattice.sfft.irfft2(F, s=(L, L))
        lattice._pass_field(m.w, m.invc, d, m.work.lane, ic)

    fft_round()
    ts = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps):
            fft_round()
        ts.append((time.perf_counter() - t) / reps)
    t_fft = statistics.median(ts)
    t_fail = per_fail[2]  # per-failure cost of a sparse round near the switch (n = 32)
    return per_fail, t_fft, t_fft / t_fail


def run(quick: bool = False) -> list[dict]:
    out = []
    repeats = 3 if quick else 5
    for L in (64, 128):
        m, tab = _model(L)
        t0 = time.perf_counter()
        m.run(1.0)  # warm-up: compile + transient into the steady state
        t_warm = time.perf_counter() - t0
        dgamma = (0.2 if L == 64 else 0.1) if quick else (1.0 if L == 64 else 0.5)
        rate = _our_rate(m, dgamma, repeats)
        out.append({"name": f"epm_failures_per_second_L{L}", "value": rate, "unit": "failures/s",
                    "peer": "GooseEPM (published figure, this machine)", "peer_value": GOOSE[L],
                    "ratio": rate / GOOSE[L]})
        ref_dg = dgamma / (4 if L == 64 else 10)
        ref_rate = _reference_rate(m, tab, ref_dg, max(1, repeats - 2))
        out.append({"name": f"epm_vs_reference_L{L}", "value": rate, "unit": "failures/s",
                    "peer": "real-space reference", "peer_value": ref_rate, "ratio": rate / ref_rate})
        if L == 128:
            if quick:
                t = time.perf_counter()
                m.run(m.strain + 0.2)
                per_strain = (time.perf_counter() - t) / 0.2
                wall = t_warm + 99.0 * per_strain
                how = "estimated: warm-up to γ=1 + 99 × time per unit strain (γ-segment of 0.2)"
            else:
                m2, _ = _model(L, seed=2)
                t = time.perf_counter()
                m2.run(100.0)
                wall = time.perf_counter() - t
                how = "measured: full run γ = 0 → 100"
            out.append({"name": "epm_wall_L128_gamma100", "value": wall, "unit": "s",
                        "peer": "budget (10 min on 2 cores)", "peer_value": 600.0, "ratio": 600.0 / wall,
                        "note": how})
    per_fail, t_fft, cross = _crossover(128, reps=50 if quick else 200)
    out.append({"name": "epm_sparse_us_per_failure_L128", "value": per_fail[0] * 1e6, "unit": "us",
                "note": f"single failure; per failure in rounds of 8: {per_fail[1] * 1e6:.2f} us, "
                        f"32: {per_fail[2] * 1e6:.2f} us, 64: {per_fail[3] * 1e6:.2f} us"})
    out.append({"name": "epm_fft_round_us_L128", "value": t_fft * 1e6, "unit": "us"})
    out.append({"name": "epm_nswitch_crossover_L128", "value": cross, "unit": "failures",
                "note": f"FFT round time / sparse time per failure (rounds of 32); "
                        f"default nswitch = {lattice.DEFAULT_NSWITCH}"})
    return out


if __name__ == "__main__":
    import json
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(json.dumps(row))
