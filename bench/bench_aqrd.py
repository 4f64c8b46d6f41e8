"""Speed of AQRD on the shared N = 1024 snapshot, side by side with the AQS continuation engine.

Rows: steps per second of the constrained AQRD driver under a Gaussian field (ξ = 1) and
under the shear field (AQRD engine doing AQS), against ``glass2epm.aqs.engine.run_aqs``
over the same strain range in the same process (ratio = AQS time / AQRD time; < 1 means
AQRD is slower per step); and the sine-field scan cost per glass at N = 4096.

Run: NUMBA_CACHE_DIR=.venv/numba-cache .venv/bin/python bench/run.py --only bench_aqrd
"""

import os
import time
from pathlib import Path

REF = Path(__file__).resolve().parents[2] / "shared" / "data" / "lerner-swap2d-N1024.dat"


def _timed(f):
    t = time.perf_counter()
    r = f()
    return r, time.perf_counter() - t


def run(quick=False):
    from glass2epm.aqrd import forcing as F
    from glass2epm.aqrd.engine import run_aqrd
    from glass2epm.aqrd.sine import sine_scan_task
    from glass2epm.aqs.engine import run_aqs
    from glass2epm.aqs.protocol import AQSParams
    from glass2epm.core.io import read_lerner
    from glass2epm.mechanics.minimize import minimize

    os.environ.setdefault("OMP_NUM_THREADS", "2")
    conf, _ = minimize(read_lerner(REF))
    strain = 0.005 if quick else 0.02
    params = AQSParams.build(1e-3, strain, snapshot_every=0)
    run_aqrd(conf, F.shear_field(conf), AQSParams.build(1e-3, 2e-3, snapshot_every=0))  # compile
    run_aqs(conf, 1e-3, 2e-3, snapshot_every=0)
    a, t_aqs = _timed(lambda: run_aqs(conf, 1e-3, strain, snapshot_every=0))
    steps = len(a.series["strain"]) - 1
    out = []
    for name, fo in (("gaussian_xi1", F.gaussian_field(conf, 1.0, seed=1)), ("shear", F.shear_field(conf))):
        r, t = _timed(lambda: run_aqrd(conf, fo, params))
        n = len(r.series["strain"]) - 1
        out.append({"name": f"aqrd_steps_per_second_{name}_N1024", "value": n / t, "unit": "steps/s",
                    "peer": f"AQS continuation engine, same glass, Δγ = 1e-3 to {strain:g} "
                            f"({int(a.series['event'].sum())} events)",
                    "peer_value": steps / t_aqs, "ratio": t_aqs / steps / (t / n),
                    "target": f"{int(r.series['event'].sum())} events"})
    if not quick:
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            _, t = _timed(lambda: sine_scan_task(Path(d) / "s.parquet", preset="lerner-poly2d", dim=2,
                                                 sizes=[4096], seeds=[1], modes=[1, 2, 4]))
        out.append({"name": "aqrd_sine_scan_seconds_per_glass_N4096", "value": t, "unit": "s",
                    "target": "quench + μ_AQS + 3 constrained moduli"})
    return out


if __name__ == "__main__":
    for e in run():
        print(e)
