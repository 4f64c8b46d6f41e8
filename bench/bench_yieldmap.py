"""Benchmark: local yield-stress maps (Sec. IV), bond micromechanics against the frozen matrix.

One timed bond-micromechanics run = the complete map of a configuration: site grid
(spacing 3d), free regions (R = 5d), pair table and radial derivatives, one
third-order cavity expansion per site (envelope Cholesky of each free–free
Hessian, three solves, weighted stress contractions; forward and backward yield
from the same cubic), per-particle minimum over covering cavities and the block
map (ξ = 5d); simple shear, σ_xy, 2 numba threads, wall clock, median of repeats
after a warm-up call (numba compile and cache load excluded).

Configurations: the reference ``lerner-swap2d-N1024`` tiled 3×3 (N = 9216, "N1e4")
and 10×10 (N = 102 400, "N1e5"), spatially sorted (``bench_forces.tile``); a
tiling of an inherent state is an inherent state. Targets: ≤ 0.5 s and ≤ 5 s.

Peer: the frozen-matrix map of the same N = 9216 glass (``glass2epm.yieldstress.frozen``: numba,
local subsystems, linear-response predictor + chord/Newton corrector, FIRE at
events; Δγ = 1e-3 forward and backward until the first drop, max strain 0.3), 2
threads. The complete frozen map (every site) is timed; with ``quick`` a random
subset of sites (fixed seed) is timed and scaled to all sites (said in the entry's
note). The bond map is timed again right after the peer; ratio = frozen time / the
median of the bond runs before and after it (goal ≥ 1000), so that a slow or fast
phase of a shared machine does not bias one side.

Also (not quick): the bond-vs-frozen statistics of σ_Y for the reference
configuration itself (N = 1024, every site, both methods): block-level mean and
variance with bootstrap CIs (Fig. 4c–d for one sample); value = variance ratio
bond/frozen (the paper finds ≥ 1.5).

``run(quick=True)``: a 2×2 tiling, a smaller frozen subset, no reference statistics.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_forces import REFERENCE, tile  # noqa: E402

from glass2epm.yieldstress.cavity import mean_spacing, site_particles  # noqa: E402
from glass2epm.yieldstress.frozen import frozen_sites  # noqa: E402
from glass2epm.core.io import read_lerner  # noqa: E402
from glass2epm.yieldstress import maps as Y  # noqa: E402

THREADS = 2


def _time_bond(conf, repeats):
    Y.bond_map(conf, threads=THREADS)  # warm-up: compile / load the numba cache
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        m = Y.bond_map(conf, threads=THREADS)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), runs, m


def _time_frozen_subset(conf, n_subset, seed=0):
    d = mean_spacing(conf)
    sites = site_particles(conf, 3 * d)
    rng = np.random.default_rng(seed)
    n_subset = sites.size if n_subset is None else min(n_subset, sites.size)
    pick = np.sort(rng.choice(sites.size, size=n_subset, replace=False))
    frozen_sites(conf, sites[pick[:2]], 5 * d, threads=THREADS, max_strain=0.002)  # warm-up
    t0 = time.perf_counter()
    fs = frozen_sites(conf, sites[pick], 5 * d, threads=THREADS)
    t = time.perf_counter() - t0
    return t, t * sites.size / pick.size, sites.size, pick.size, fs


def _reference_statistics(base):
    t0 = time.perf_counter()
    bm = Y.bond_map(base, threads=THREADS)
    t1 = time.perf_counter()
    fm = Y.frozen_map(base, threads=THREADS)
    t2 = time.perf_counter()
    out = {}
    for level in ("blocks", "particles", "sites"):
        c = Y.compare_maps(bm, fm, level=level)
        out[level] = {
            "bond_mean": c["bond"]["mean"]["value"], "bond_mean_ci": c["bond"]["mean"]["ci"],
            "frozen_mean": c["frozen"]["mean"]["value"], "frozen_mean_ci": c["frozen"]["mean"]["ci"],
            "bond_variance": c["bond"]["variance"]["value"],
            "bond_variance_ci": c["bond"]["variance"]["ci"],
            "frozen_variance": c["frozen"]["variance"]["value"],
            "frozen_variance_ci": c["frozen"]["variance"]["ci"],
            "variance_ratio": c["variance_ratio"], "mean_ratio": c["mean_ratio"],
        }
    sc = Y.scatter_table(bm.sites, fm.sites)
    ok = np.isfinite(sc["sigma_y_bond"]) & np.isfinite(sc["sigma_y_frozen"])
    out["site_correlation"] = float(np.corrcoef(sc["sigma_y_bond"][ok], sc["sigma_y_frozen"][ok])[0, 1])
    out["bond_discarded_forward"] = bm.info["n_discarded_forward"]
    out["frozen_discarded_forward"] = fm.info["n_discarded_forward"]
    out["fraction_without_value"] = {"bond": bm.info["fraction_without_value"],
                                     "frozen": fm.info["fraction_without_value"]}
    out["time_s"] = {"bond": t1 - t0, "frozen": t2 - t1}
    return out


def run(quick: bool = False) -> list[dict]:
    base = read_lerner(REFERENCE)
    entries = []
    sizes = [(2, "N4e3", 0.5, 3)] if quick else [(3, "N1e4", 0.5, 7), (10, "N1e5", 5.0, 3)]
    bond_times = {}
    confs = {}
    for k, label, target, repeats in sizes:
        conf = tile(base, k)
        confs[label] = conf
        t, runs, m = _time_bond(conf, repeats)
        bond_times[label] = t
        entries.append({
            "name": f"yieldmap_bond_{label}", "value": t, "unit": "s", "target": target,
            "N": conf.N, "sites": m.info["n_sites"], "threads": THREADS,
            "fraction_without_value": m.info["fraction_without_value"],
            "discarded_forward": m.info["n_discarded_forward"],
            "runs": runs,
        })
    label = sizes[0][1]
    n_sub = 8 if quick else None  # None: every site
    t_sub, t_all, n_sites, n_done, fs = _time_frozen_subset(confs[label], n_sub)
    # the bond map again right after the peer: the ratio uses the median of the runs
    # taken before and after it, so that a slow or fast phase of a shared machine
    # does not fall on one side only
    _, after, _ = _time_bond(confs[label], sizes[0][3])
    both = entries[0]["runs"] + after
    t_bond = statistics.median(both)
    entries.append({
        "name": f"yieldmap_frozen_{label}", "value": t_bond, "unit": "s",
        "peer": "frozen-matrix map (glass2epm.yieldstress.frozen, Δγ = 1e-3, both directions, 2 threads)",
        "peer_value": t_all, "ratio": t_all / t_bond, "target": 1000.0,
        "bond_runs_before": entries[0]["runs"], "bond_runs_after": after,
        "note": (f"complete frozen map, all {n_sites} sites: {t_sub:.2f} s measured"
                 if n_done == n_sites else
                 f"frozen time extrapolated from {n_done} random sites (seed 0) of {n_sites}: "
                 f"{t_sub:.2f} s measured × {n_sites}/{n_done}")
                + "; value = median bond-map time over the runs before and after the peer",
        "frozen_mean_steps_per_direction": float(np.mean(fs.steps)),
    })
    if not quick:
        st = _reference_statistics(base)
        b = st["blocks"]
        entries.append({
            "name": "yieldmap_reference_variance_ratio_bond_over_frozen", "value": b["variance_ratio"],
            "unit": "", "note": "reference N = 1024, every site, block level (ξ = 5d); paper: ≥ 1.5",
            "detail": st,
        })
    return entries


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick="--quick" in sys.argv), indent=1, default=float))
