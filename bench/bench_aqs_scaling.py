"""AQS throughput against N (issue 17): steps/s, force evaluations and factorisations per step.

Glasses. Instantaneous quenches of the ``lerner-poly2d`` model (random positions at
N/V = 0.65, seed 7, minimised with :func:`glass2epm.mechanics.minimize.minimize` to the
default tolerance): the poorly annealed glass of the issue's measurements, with many
plastic events per unit strain. Cached under ``results/bench/`` (ignored by git).

Run. :func:`glass2epm.aqs.engine.run_aqs`, simple shear, Δγ = 10⁻⁴, ``STEPS`` steps from
γ = 0 (events included), default tolerance and protocol, in a subprocess whose thread
pools are pinned (:func:`bench_aqs.thread_env`; ``threads`` numba threads, OpenBLAS
threads likewise, OpenMP 1), after a 3-step warm-up (compilation excluded). Columns:
steps/s (wall clock), force evaluations and CHOLMOD factorisations per step (from the
series), plastic events and those found by the non-affine displacement criterion only,
steps solved by FIRE (events), and the cost per step relative to N = 4·10⁴.

``run(quick=False)``: N = 1e3, 1e4, 4e4, 1e5 (quick: 1e3, 4e3 and 20 steps).
``python bench/bench_aqs_scaling.py --n N --steps K --threads T`` runs one size and prints JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = ROOT / "results" / "bench"
STEPS = 200
STEP = 1e-4
sys.path.insert(0, str(HERE))


def quench(n: int, seed: int = 7, cache_dir=CACHE):
    """The N-particle instantaneous quench (cached Parquet)."""
    from glass2epm.core import io
    from glass2epm.core.box import Box
    from glass2epm.core.model import Model
    from glass2epm.mechanics.minimize import minimize

    path = Path(cache_dir) / f"quench_N{n}_seed{seed}.parquet"
    if path.exists():
        return io.read_configuration(path)
    m = Model.from_preset("lerner-poly2d")
    rng = np.random.default_rng(seed)
    L = m.box_side(n)
    c, _ = minimize(io.Configuration(rng.random((n, 2)) * L, m.sizes(n), Box.square(L), m, seed=seed))
    path.parent.mkdir(parents=True, exist_ok=True)
    io.write_configuration(path, c, provenance={"producer": "bench/bench_aqs_scaling.py"})
    return io.read_configuration(path)


def one(n: int, steps: int, threads: int) -> dict:
    """One timed run in this process (thread pools as the caller set them)."""
    from glass2epm.aqs.engine import run_aqs

    conf = quench(n)
    kw = dict(snapshot_every=0.0, threads=threads, progress_every=1e9)
    run_aqs(conf, STEP, 3 * STEP, **kw)  # warm-up: compilation, caches
    t0 = time.perf_counter()
    r = run_aqs(conf, STEP, steps * STEP, **kw)
    wall = time.perf_counter() - t0
    s, e = r.series, r.events
    return {"N": n, "steps": steps, "threads": threads, "wall_s": wall, "steps_per_s": steps / wall,
            "evals_per_step": float(s["force_evaluations"][1:].mean()),
            "factorizations_per_step": float(s["factorizations"][1:].mean()),
            "events": int(s["event"].sum()),
            "events_displacement_only": int((~np.asarray(e["stress_drop"], bool)).sum()),
            "fire_steps": int((s["predictor"][1:] == 0).sum()), "solver": r.stats["solver"]}


def measure(n: int, steps: int, threads: int, timeout: float = 7200.0) -> dict:
    """:func:`one` in a subprocess with pinned thread pools."""
    from bench_aqs import thread_env

    env = thread_env(threads)
    env["OMP_NUM_THREADS"] = "1"
    out = subprocess.run([sys.executable, __file__, "--n", str(n), "--steps", str(steps), "--threads",
                          str(threads)], env=env, capture_output=True, text=True, timeout=timeout,
                         cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool = False, threads: int = 2) -> list[dict]:
    sizes, steps = ([1000, 4000], 20) if quick else ([1000, 10000, 40000, 100000], STEPS)
    rows = [measure(n, steps, threads) for n in sizes]
    ref = next((r for r in rows if r["N"] == 40000), rows[-1])
    out = []
    for r in rows:
        tag = f"N{r['N']}"
        cost = 1.0 / r["steps_per_s"]
        out += [
            dict(name=f"aqs_steps_per_s_{tag}", value=r["steps_per_s"], unit="steps/s",
                 note=f"{r['steps']} steps of 1e-4, instantaneous quench, {threads} threads"),
            dict(name=f"aqs_force_evaluations_per_step_{tag}", value=r["evals_per_step"], unit="1/step"),
            dict(name=f"aqs_factorizations_per_step_{tag}", value=r["factorizations_per_step"], unit="1/step"),
            dict(name=f"aqs_events_{tag}", value=r["events"], unit="events",
                 note=f"{r['events_displacement_only']} by the displacement criterion only; "
                      f"{r['fire_steps']} FIRE steps"),
            dict(name=f"aqs_cost_per_step_vs_N4e4_{tag}", value=cost * ref["steps_per_s"], unit="ratio"),
        ]
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int)
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.n:
        print(json.dumps(one(a.n, a.steps, a.threads)))
    else:
        print(json.dumps(run(a.quick, a.threads), indent=1))
