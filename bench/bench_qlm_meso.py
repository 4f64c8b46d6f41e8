"""Benchmark of the mesoscopic (λ, κ) model on the EPM lattice (glass2epm.qlm.meso).

Entry ``qlm_meso_steps_per_second_L{64,128}``: loading steps (one failure avalanche each) per
second, coupling 6 (the default parameters otherwise), after a warm-up run that compiles the
kernels; histograms every 32 steps included. No peer."""

from __future__ import annotations

from glass2epm.qlm import meso


def run(quick=False):
    meso.run_meso(16, 2000, meso.MesoParams(coupling=6.0), seed=0, n_snap=1)
    out = []
    for L in (64, 128):
        n = (10_000 if quick else 100_000) // (1 if L == 64 else 2)
        r = meso.run_meso(L, n, meso.MesoParams(coupling=6.0), seed=L, n_snap=1, hist_every=32)
        out.append({"name": f"qlm_meso_steps_per_second_L{L}", "value": n / r.wall_s, "unit": "steps/s"})
        out.append({"name": f"qlm_meso_failures_per_second_L{L}", "value": r.failures / r.wall_s,
                    "unit": "failures/s"})
    return out
