"""Benchmark: every strain-expansion coefficient of a 2D glass (Sec. II).

One timed run = pair table + Hessian + one Cholesky factorisation + the three
solves (Eqs. 5, 11, 12) + system coefficients to third order (energy, σ_xy,
pressure) + bond coefficients φ_γ, φ_γγ, φ_γγγ + the per-particle φ_γ·φ_γγ field
(Fig. 2), simple shear, 2 numba threads. Configurations: the reference
``lerner-swap2d-N1024`` tiled 3×3 (N = 9216) and 10×10 (N = 102 400); a tiling of
a force-balanced configuration is force balanced. Targets: ≤ 1 s and ≤ 10 s.

``run(quick=True)`` times only a 2×2 tiling (a smoke test). Optionally (env
GLASS2EPM_BENCH_FIG2=1) the Fig. 2 field at N = 1 638 400 (40×40) is timed once.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from pathlib import Path

import numpy as np

from glass2epm.core.box import Box
from glass2epm.mechanics.expansion import Expansion
from glass2epm.core.io import Configuration, read_lerner

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "lerner-swap2d-N1024.dat"
SXY = np.array([[0.0, 1.0], [0.0, 0.0]])


def tile(conf: Configuration, k: int) -> Configuration:
    h = conf.box.h
    xs = [conf.x + a * h[:, 0] + b * h[:, 1] for a in range(k) for b in range(k)]
    return Configuration(np.concatenate(xs), np.tile(conf.sizes, k * k), Box(h * k), conf.model)


def all_coefficients(conf: Configuration, threads: int = 2) -> dict:
    """Everything: returns the stage timings (s) and a few numbers for a sanity check."""
    t0 = time.perf_counter()
    ex = Expansion(conf, "simple_shear", order=3, threads=threads)
    t1 = time.perf_counter()
    U = ex.energy()
    s = ex.stress(SXY)
    p = ex.pressure()
    b = ex.bond_coefficients()
    f = ex.bond_field()
    t2 = time.perf_counter()
    return {"total": t2 - t0, "solve_path": t1 - t0, "coefficients": t2 - t1,
            "mu": float(s[1]), "U3": float(U[3] / conf.N), "P3": float(p[3]),
            "M": int(b.shape[1]), "field_max": float(np.abs(f).max())}


def _time(conf, repeats, threads=2):
    all_coefficients(conf, threads)  # warm-up (numba compile / cache load)
    runs = [all_coefficients(conf, threads) for _ in range(repeats)]
    return statistics.median(r["total"] for r in runs), runs[0]


def run(quick: bool = False) -> list[dict]:
    base = read_lerner(REFERENCE)
    entries = []
    sizes = [(2, "N4e3", 1.0, 3)] if quick else [(3, "N1e4", 1.0, 5), (10, "N1e5", 10.0, 3)]
    for k, label, target, repeats in sizes:
        conf = tile(base, k)
        t, info = _time(conf, repeats)
        entries.append({
            "name": f"expansion_all_coefficients_{label}",
            "value": t,
            "unit": "s",
            "target": target,
            "N": conf.N,
            "pairs": info["M"],
            "threads": 2,
            "detail": {"factorise_and_solve": info["solve_path"], "contractions": info["coefficients"]},
        })
    if not quick and os.environ.get("GLASS2EPM_BENCH_FIG2"):
        conf = tile(base, 40)
        t0 = time.perf_counter()
        ex = Expansion(conf, "simple_shear", order=2, threads=2)
        ex.bond_field()
        t = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # GiB (Linux: KiB)
        entries.append({"name": "expansion_fig2_field_N1.6e6", "value": t, "unit": "s",
                        "target": 600.0, "N": conf.N, "peak_rss_GiB": rss})
    return entries


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv), indent=1))
