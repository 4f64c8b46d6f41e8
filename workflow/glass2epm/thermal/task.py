"""Task functions of the thermal-EPM stage (Baron & Biroli); the rule scripts and the CLI call these.

* :func:`meanfield_stage` — the stationary mean-field solution on a T grid, with the regimes
  (activation switched off, the low-T law, the high-T law) and ξ/√m, into a 'thermal_meanfield' table;
* :func:`gillespie_stage` — the App. E simulation at a few T beside the solver ('thermal_gillespie');
* :func:`lattice_stage` — lattice runs at one (L, T) over seeds ('thermal_runs', plus the
  persistence curve and block maps of the first seed);
* :func:`collect_stage` — the runs of every (L, T) in one table, for the figure and the report.

Units: stress σ_c, time τ, temperature K σ_c^a (the model's own units; see
:mod:`glass2epm.thermal.meanfield`).
"""

from __future__ import annotations

import logging
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from glass2epm.core import io, schemas
from glass2epm.thermal import kinetics as kin
from glass2epm.thermal import meanfield as mf
from glass2epm.thermal.lattice import ThermalParams, run_thermal

_log = logging.getLogger(__name__)


def meanfield_row(T: float, alpha: float, a: float, cells: int = 4000) -> dict:
    """One row of the mean-field table (see :data:`glass2epm.core.schemas.THERMAL_MEANFIELD`)."""
    m = mf.Model(T=T, alpha=alpha, a=a)
    sol = mf.solve(m, cells=cells)
    noact = mf.solve(mf.Model(T=T, alpha=alpha, a=a, rate="no-activation"), cells=cells)
    t_on = mf.onset_temperature(m)
    return {"T": T, "alpha": alpha, "a": a, "activity": sol.activity, "mean_abs_sigma": sol.mean_abs_sigma,
            "error_estimate": sol.error_estimate, "activity_no_activation": noact.activity,
            "activity_activated_law": mf.activated_activity(m), "activity_high_T": 1.0 - t_on / T,
            "xi_over_sqrt_m": mf.correlation_length(m, 1.0, cells=cells)}


def regime_constants(alpha: float, a: float) -> dict:
    m = mf.Model(T=1.0, alpha=alpha, a=a)
    sb, E = mf.frozen_barrier(m)
    return {"sigma_bar": sb, "E_bar": E, "T_c": mf.critical_temperature(alpha, a),
            "T_onset": mf.onset_temperature(m),
            "T_onset_linearised": mf.onset_temperature_linearised(alpha, a)}


def meanfield_stage(out, *, temperatures, alpha: float, a: float, threads: int = 1, log=_log):
    """Solve the stationary mean-field problem at every T and write the 'thermal_meanfield' table."""
    temps = sorted(float(t) for t in temperatures)
    with ThreadPoolExecutor(max(1, threads)) as ex:  # the solver is numpy/scipy: threads overlap
        rows = list(ex.map(lambda T: meanfield_row(T, alpha, a), temps))
    cols = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    extra = regime_constants(alpha, a)
    log.info("mean field α=%g a=%g: %s; worst error estimate %.1e", alpha, a, extra, cols["error_estimate"].max())
    io.write_table(out, schemas.THERMAL_MEANFIELD, cols, extra=extra)
    return cols, extra


def gillespie_point(T: float, *, N: int, alpha: float, a: float, events_per_site: float, seed: int) -> dict:
    """App. E at one T: equilibrate for a third of the run, measure Γ and ⟨|σ|⟩ over the rest."""
    m = mf.Model(T=T, alpha=alpha, a=a)
    sol = mf.solve(m)
    rates = kin.Rates(T, a, 1.0, 1.0, 1.0, 1.0)
    t_total = events_per_site / sol.activity
    sigma = np.random.default_rng(seed).normal(0.0, 1.0, N)
    ev, abs_int, blk_ev, blk_abs = kin.gillespie_meanfield(sigma, rates, alpha, t_total / 3, t_total, seed)
    span = t_total * 2 / 3
    width = span / blk_ev.size
    g_blk = blk_ev / (N * width)
    s_blk = blk_abs / width
    return {"T": T, "N": N, "activity": ev / (N * span), "activity_err": g_blk.std(ddof=1) / math.sqrt(g_blk.size),
            "mean_abs_sigma": abs_int / span, "mean_abs_sigma_err": s_blk.std(ddof=1) / math.sqrt(s_blk.size),
            "activity_solver": sol.activity, "mean_abs_sigma_solver": sol.mean_abs_sigma}


def gillespie_stage(out, *, temperatures, N: int, alpha: float, a: float, events_per_site: float, seed: int,
                    log=_log):
    rows = [gillespie_point(float(T), N=N, alpha=alpha, a=a, events_per_site=events_per_site, seed=seed + k)
            for k, T in enumerate(sorted(temperatures))]
    for r in rows:
        log.info("Gillespie T=%g: Γ %.5g ± %.2g (solver %.5g), <|σ|> %.5g ± %.2g (solver %.5g)", r["T"],
                 r["activity"], r["activity_err"], r["activity_solver"], r["mean_abs_sigma"],
                 r["mean_abs_sigma_err"], r["mean_abs_sigma_solver"])
    cols = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    io.write_table(out, schemas.THERMAL_GILLESPIE, cols, seed=seed, extra={"alpha": alpha, "a": a})
    return rows


# the run's speed (relaxations per wall-clock second) is logged, not tabulated: the same inputs must
# give byte-identical tables
_RUN_COLS = ("T", "L", "seed", "activity", "mean_abs_sigma", "tau_alpha", "xi", "chi4_max", "alpha_lattice",
             "m_lattice", "events", "acceptance", "t_chi4_max", "mean_sq_drop", "converged")


def lattice_stage(runs_out, persistence_out, blocks_out, *, L: int, T: float, seeds, params: dict, table=None,
                  series_out=None, log=_log):
    """Thermal-EPM runs at one (L, T), one per seed. ``params``: further :class:`ThermalParams`
    fields (kicks, alpha, a, equil_events_per_site, n_origins, ...); ``table``: renewal stresses
    (default: draws from y). The first seed's persistence curve, block maps and Γ(t) series
    (``series_out``) are written beside the runs table."""
    results = []
    for seed in seeds:
        p = ThermalParams(L=int(L), T=float(T), seed=int(seed), **params)
        results.append(run_thermal(p, table=table, log=log))
    cols = {k: np.array([float(r[k]) for r in results]) for k in _RUN_COLS}
    cols["kicks"] = np.array([r["kicks"] for r in results])
    io.write_table(runs_out, schemas.THERMAL_RUNS, cols, seed=[int(s) for s in seeds],
                   extra={"params": params})
    r0 = results[0]
    io.write_table(persistence_out, schemas.THERMAL_PERSISTENCE,
                   {"t": r0["persistence"]["t"], "persistence": r0["persistence"]["p"],
                    "chi4": r0["persistence"]["chi4"]}, seed=int(seeds[0]),
                   extra={"L": int(L), "T": float(T), "tau_alpha": r0["tau_alpha"]})
    io.write_table(blocks_out, schemas.THERMAL_BLOCKS, r0["blocks"], seed=int(seeds[0]),
                   extra={"L": int(L), "T": float(T), "tau_alpha": r0["tau_alpha"]})
    if series_out is not None:
        io.write_table(series_out, schemas.THERMAL_SERIES, r0["series"], seed=int(seeds[0]),
                       extra={"L": int(L), "T": float(T)})
    return results


def collect_stage(paths, out):
    tables = [io.read_table(p, schemas.THERMAL_RUNS) for p in paths]
    common = [k for k in tables[0].columns if all(k in t.columns for t in tables)]
    cols = {k: np.concatenate([t.columns[k] for t in tables]) for k in common}
    io.write_table(out, schemas.THERMAL_RUNS, cols)
    return cols


def bridge_epm_stage(blocks, properties, out, *, Tp: float, temperatures, L: int, seeds, volume_fraction: float,
                     params: dict, log=_log):
    """Thermal EPM from the particle blocks of one T_p at each bridge temperature ('thermal_bridge')."""
    from glass2epm.thermal.bridge import epm_from_yield_blocks, epm_relaxation

    s0, sc, kscale, info = epm_from_yield_blocks(blocks, properties, volume_fraction)
    log.info("bridge T_p=%s: %s", Tp, info)
    rows = epm_relaxation(s0, sc, kscale, temperatures, L=L, seeds=seeds, log=log, **params)
    cols = {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}
    io.write_table(out, schemas.THERMAL_BRIDGE, cols, seed=[int(s) for s in seeds],
                   extra={**info, "Tp": float(Tp), "L": int(L), "volume_fraction": float(volume_fraction)})
    return rows


def liquid_stage(out, *, liquids, T: float, sweeps: int, log=_log):
    """τ_α of the particle liquid at T under displacement-only MC from each equilibrated liquid (JSON)."""
    from glass2epm.thermal.bridge import liquid_relaxation

    rows = []
    for k, path in enumerate(liquids):
        conf = io.read_configuration(path)
        r = liquid_relaxation(conf, T=T, seed=int(conf.seed if conf.seed is not None else k) + 1000, sweeps=sweeps)
        log.info("liquid T=%g (%s): τ_α %.4g sweeps (p_swap = 0)", T, path, r["tau_alpha"])
        rows.append({**r, "liquid": str(path)})
    io.write_json(out, {"T": T, "runs": rows, "units": {"T": "epsilon/k_B", "time": "MC sweeps"}})
    return rows
