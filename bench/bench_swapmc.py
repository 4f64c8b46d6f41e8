"""SWAP Monte Carlo benchmark: trial moves per second, single thread (swapmc.py).

Units: trial moves per second (a sweep is N trials); list builds in ms.

Setup: ``lerner-poly2d`` (x_c = 1.5, N/V = 0.65), N = 10⁴, a random liquid pushed off
(``random_liquid``) and run for 300 sweeps of SWAP MC at T = 0.5 (step tuned to
≈ 40 % displacement acceptance, p_swap = 0.2): a supercooled liquid, not yet
equilibrated, which does not matter for the cost of a trial. Then the timed runs
continue at T = 0.5 with the tuned step.

Entries
-------
``swap_mc_trials_per_second``: trial moves per second of the whole loop (displacements,
    swaps, Metropolis, list rebuilds and re-sorts included), one thread. Target
    ≥ 2.5·10⁶ per core. ``value`` is measured with the CPU time of the calling thread
    (``time.thread_time``: the machine is shared, wall-clock is inflated by other
    processes); ``value_wall`` is the wall-clock figure.
``swap_mc_list_build_ms``: one neighbour-list build (wrap + cells + packed, size-class
    ordered full lists) at the same state; peer: ``neighbors.VerletList(per_pair=False,
    full=True).build`` (a CSR full list of the same pairs, without images or
    size-class order), ratio = peer time ÷ ours.
``swap_mc_trials_per_second_3d``: as the first, ``richard2023`` in 3D (N/V = 0.58),
    N = 10⁴, T = 3 (below its onset ≈ 4–6).

Timing: a warm-up call first (numba compile excluded), then the median of repeats.
``run(quick=False) -> list[dict]``; ``python bench/bench_swapmc.py [--quick]`` prints
the entries as JSON.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import numpy as np

from glass2epm.prepare import swapmc
from glass2epm.core.box import Box
from glass2epm.core.model import Model
from glass2epm.core.neighbors import VerletList, packed_lists


def _prepare(preset, dim, N, T, sweeps, seed=1):
    model = Model.from_preset(preset, dim=dim)
    liquid = swapmc.random_liquid(model, N, seed=seed)
    conf, res = swapmc.run_swap_mc(liquid, T, sweeps, seed=seed + 1, tune_sweeps=min(100, sweeps // 2),
                                   check_equilibration=False)
    return conf, res


def _time_trials(conf, T, step, sweeps_per_repeat, repeats, seed=7):
    mc = swapmc.SwapMC(conf, T, seed=seed, step=step)
    mc.sweep(2)  # warm-up (compiled already; fills caches)
    cpu, wall, rb = [], [], []
    for _ in range(repeats):
        r0 = mc.rebuilds
        c0 = time.thread_time()
        w0 = time.perf_counter()
        mc.sweep(sweeps_per_repeat)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.thread_time() - c0)
        rb.append(mc.rebuilds - r0)
    n = sweeps_per_repeat * mc.N
    c = mc.counters()
    return {
        "cpu": n / statistics.median(cpu),
        "wall": n / statistics.median(wall),
        "rebuilds_per_sweep": float(np.sum(rb)) / (repeats * sweeps_per_repeat),
        "acc_disp": float(c[1] / c[0]),
        "acc_swap": float(c[3] / c[2]),
        "candidates_per_particle": mc.ent.size / mc.N,
        "skin": mc.skin,
        "mc": mc,
    }


def _time_builds(mc, repeats):
    """Our list build vs VerletList(per_pair=False, full=True) on the same positions."""
    x = mc.x.copy()
    xoff = np.zeros_like(x)
    sizes = mc.sizes.copy()
    box = Box(mc.box.h.copy())
    vl = VerletList(mc.model, skin=mc.skin, per_pair=False, full=True)
    packed_lists(x, box.h, mc.rlist, mc._radii2)
    vl.build(x, sizes, box)
    ours, peer = [], []
    for _ in range(repeats):
        t = time.thread_time()
        swapmc._wrap_into_cell(x, xoff, box.h)
        start, ent, ends = packed_lists(x, box.h, mc.rlist, mc._radii2)
        ours.append(time.thread_time() - t)
        t = time.thread_time()
        vl.build(x, sizes, box)
        peer.append(time.thread_time() - t)
    assert ent.size == vl.nbr.size, "the two lists must hold the same pairs"
    return 1e3 * statistics.median(ours), 1e3 * statistics.median(peer)


def run(quick: bool = False) -> list[dict]:
    out = []
    N = 10_000
    conf, res = _prepare("lerner-poly2d", 2, N, 0.5, 80 if quick else 300)
    r = _time_trials(conf, 0.5, res.step, 5 if quick else 20, 3 if quick else 7)
    out.append({
        "name": "swap_mc_trials_per_second", "value": r["cpu"], "unit": "trials/s", "target": 2.5e6,
        "value_wall": r["wall"], "N": N, "preset": "lerner-poly2d", "T": 0.5, "p_swap": 0.2,
        "step": res.step, "skin": r["skin"], "acc_disp": r["acc_disp"], "acc_swap": r["acc_swap"],
        "rebuilds_per_sweep": r["rebuilds_per_sweep"],
        "candidates_per_particle": r["candidates_per_particle"],
        "e_per_particle": float(res.series["energy_per_particle"][-1]),
    })
    ours, peer = _time_builds(r["mc"], 3 if quick else 7)
    out.append({
        "name": "swap_mc_list_build_ms", "value": ours, "unit": "ms", "peer": "VerletList.build",
        "peer_value": peer, "ratio": peer / ours, "N": N,
    })
    conf3, res3 = _prepare("richard2023", 3, N, 3.0, 40 if quick else 150)
    r3 = _time_trials(conf3, 3.0, res3.step, 2 if quick else 10, 3 if quick else 5)
    out.append({
        "name": "swap_mc_trials_per_second_3d", "value": r3["cpu"], "unit": "trials/s",
        "value_wall": r3["wall"], "N": N, "preset": "richard2023", "T": 3.0, "p_swap": 0.2,
        "step": res3.step, "skin": r3["skin"], "acc_disp": r3["acc_disp"], "acc_swap": r3["acc_swap"],
        "rebuilds_per_sweep": r3["rebuilds_per_sweep"],
        "candidates_per_particle": r3["candidates_per_particle"],
    })
    return out


if __name__ == "__main__":
    for e in run(quick="--quick" in sys.argv):
        print(json.dumps(e))
