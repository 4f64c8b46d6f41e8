"""Speed of AQRD steps on the shared N = 1024 snapshot (elastic branch and the shear field).

Run: NUMBA_CACHE_DIR=.venv/numba-cache .venv/bin/python bench/bench_aqrd.py
"""

import time
from pathlib import Path

from glass2epm.aqrd import forcing as F
from glass2epm.aqrd.engine import run_aqrd
from glass2epm.aqs.protocol import AQSParams
from glass2epm.core.io import read_lerner
from glass2epm.mechanics.minimize import minimize

REF = Path(__file__).resolve().parents[2] / "shared" / "data" / "lerner-swap2d-N1024.dat"


def main():
    conf, _ = minimize(read_lerner(REF))
    for name, fo in (("gaussian xi=1", F.gaussian_field(conf, 1.0, seed=1)), ("shear", F.shear_field(conf))):
        t = time.perf_counter()
        r = run_aqrd(conf, fo, AQSParams.build(1e-3, 0.02, snapshot_every=0))
        dt = time.perf_counter() - t
        n = len(r.series["strain"]) - 1
        print(f"{name}: {n} steps, {n / dt:.2f} steps/s, {int(r.series['event'].sum())} events")


if __name__ == "__main__":
    main()
