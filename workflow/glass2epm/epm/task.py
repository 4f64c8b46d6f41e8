"""One task function per EPM stage (Sec. V A): the rule scripts (``workflow/scripts/epm_*.py``)
and the ``glass2epm epm`` command call these, so they cannot drift apart.

Each takes paths plus exactly the parameters it uses and writes the stage's outputs:

* :func:`thresholds_stage` — P(σ_Y, T_p) pooled from yield-block files, and μ(T_p);
* :func:`calibrate_stage` — the single fit parameter ε_pl (σ_s(T_p = 0.7) = particle σ_s);
* :func:`realisations_stage` — EPM realisations at one T_p, method and L (curves, summary,
  steady samples, one example series);
* :func:`bands_stage` — EPM activity series at the band-analysis strains;
* :func:`compare_stage` — peak and steady stresses per T_p, particles against EPM (Fig. 5c inset);
* :func:`run_epm` — one EPM run from a thresholds file (the ``glass2epm epm`` command).

Stresses in ε/λ², strains dimensionless.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np

from glass2epm.bands.growth import from_epm_snapshots
from glass2epm.core import io, schemas
from glass2epm.epm import lattice
from glass2epm.epm.calibrate import RealisationConfig, calibrate, pooled_block_thresholds, run_realisations

_log = logging.getLogger(__name__)


def read_tables(init_path, renewal_path):
    """(P_init values, P_renewal values, μ(T_p), μ(T_p = 0.7)) from two 'thresholds' tables."""
    init, _, _ = lattice.read_thresholds(init_path)
    ren, _, _ = lattice.read_thresholds(renewal_path)
    mu = float(io.read_meta(init_path)["extra"]["modulus"])
    mu_ren = float(io.read_meta(renewal_path)["extra"]["modulus"])
    return init, ren, mu, mu_ren


def read_eps_pl(calibration_path) -> float:
    with open(calibration_path) as fh:
        return float(json.load(fh)["eps_pl"])


def thresholds_stage(blocks, properties, out, *, Tp: float, method: str, threshold: str, log=_log):
    """Write the 'thresholds' table of one T_p and yield-map method: block σ_Y (``threshold="yield"``)
    or residual strengths σ_Y − σ₀ (``"residual"``) pooled over ``blocks``, μ(T_p) = mean shear
    modulus of the ``properties`` JSON files."""
    values = pooled_block_thresholds(blocks, residual=threshold == "residual")
    moduli = []
    for p in properties:
        with open(p) as fh:
            moduli.append(json.load(fh)["shear_modulus"])
    mu = float(np.mean(moduli))
    log.info("T_p %s %s: %d block thresholds, mean %.4f, mu %.4f", Tp, method, values.size, values.mean(), mu)
    return lattice.write_thresholds(out, values, extra={"Tp": float(Tp), "method": method, "modulus": mu,
                                                        "threshold": threshold, "samples": len(blocks)})


def calibrate_stage(thresholds, particles, out, *, L: int, strain: float, steady_from: float, seeds: int,
                    bracket, onsite: str, renewal_Tp, log=_log):
    """Calibrate ε_pl on the T_p = 0.7 thresholds against the pooled particle σ_s; write JSON."""
    values, _, _ = lattice.read_thresholds(thresholds)
    mu = float(io.read_meta(thresholds)["extra"]["modulus"])
    target = float(io.read_meta(particles)["extra"]["pooled"]["mean"])
    log.info("target sigma_s = %.5f (particles, T_p = %s), mu = %.4f", target, renewal_Tp, mu)
    cal = calibrate(values, values, L=L, modulus=mu, target=target, strain_max=strain,
                    steady_from=steady_from, seeds=tuple(range(seeds)), bracket=tuple(bracket), onsite=onsite)
    log.info("eps_pl = %.5f [%.5f, %.5f]", cal.eps_pl, cal.eps_pl_low, cal.eps_pl_high)
    io.write_json(out, {**asdict(cal), "modulus": mu, "L": L, "renewal_Tp": renewal_Tp, "method": "bond"})
    return cal


def realisations_stage(init, renewal, calibration, *, curves, summary, steady, example, Tp: float,
                       method: str, L: int, strain: float, realisations: int, onsite: str,
                       steady_from: float, peak_window: float, peak_strain_max, log=_log):
    """EPM realisations (seeds 0 … realisations − 1) at one T_p, method and L; writes the
    'epm_curves', 'epm_summary', 'epm_steady' and example 'epm_series' tables."""
    init_v, ren_v, mu, mu_ren = read_tables(init, renewal)
    eps = read_eps_pl(calibration)
    cfg = RealisationConfig(L=int(L), eps_pl=eps, modulus=mu, renewal_modulus=mu_ren, strain_max=strain,
                            seeds=tuple(range(realisations)), onsite=onsite, steady_from=steady_from,
                            peak_window=peak_window, peak_strain_max=peak_strain_max)
    r = run_realisations(init_v, ren_v, cfg)
    meta = dict(extra={"Tp": float(Tp), "method": method, "L": int(L), "eps_pl": eps, "modulus": mu,
                       "renewal_modulus": mu_ren})
    log.info("per-realisation peaks %.4f +- %.4f, peak of the mean curve %.4f +- %.4f, steady %.4f",
             r["summary"]["peak_stress"].mean(), r["summary"]["peak_stress"].std(), r["peak"].value,
             r["peak"].stderr, np.nanmean(r["summary"]["steady_stress"]))
    io.write_table(curves, schemas.EPM_CURVES, r["curve"], **meta)
    summary_meta = dict(extra={**meta["extra"], "mean_curve_peak": r["peak"].as_dict()})
    io.write_table(summary, schemas.EPM_SUMMARY, r["summary"], **summary_meta)
    n = r["steady"].size
    io.write_table(steady, schemas.EPM_STEADY,
                   {"source": np.array(["epm"] * n), "size": np.full(n, int(L)), "stress": r["steady"],
                    "sample": r["steady_seed"]}, **meta)
    io.write_table(example, schemas.EPM_SERIES, {k: np.asarray(v) for k, v in r["series0"].items()}, **meta)
    return r


def bands_stage(init, renewal, calibration, outputs, *, Tp: float, lattices, epm_L, strain: float,
                strains, size_strain: float, map_strain: float, realisations: int, onsite: str, log=_log):
    """EPM activity series (seeds 1000 + r) for every L in ``lattices`` and r < ``realisations``
    (``outputs`` in that order); lattices not in ``epm_L`` (size scaling only) stop at
    max(size_strain, map_strain)."""
    init_v, ren_v, mu, mu_ren = read_tables(init, renewal)
    eps = read_eps_pl(calibration)
    strain = float(strain)
    stops = sorted({g for g in list(strains) + [size_strain, map_strain] if g <= strain})
    jobs = [(L, r) for L in lattices for r in range(int(realisations))]
    for (L, r), path in zip(jobs, outputs):
        model = lattice.EPM.from_tables(L, init_v, ren_v, seed=1000 + r, eps_pl=eps, modulus=mu,
                                        renewal_modulus=mu_ren, onsite=onsite)
        g_end = strain if L in epm_L else max(size_strain, map_strain)
        run = model.run(g_end, snapshots=[g for g in stops if g <= g_end])
        log.info("L=%d realisation %d: %d failures in %.1f s", L, r, run.failures, run.wall_s)
        io.write_table(path, schemas.ACTIVITY_SERIES, from_epm_snapshots(run.snapshots),
                       extra={"Tp": float(Tp), "box_side": float(L), "length_unit": "block", "scale": 1.0,
                              "source": "epm", "L": L, "realisation": r, "eps_pl": eps})


def _mean_err(v):
    v = np.asarray(v, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.nan, np.nan
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else 0.0


def _stored_peak(meta, path):
    pk = (meta.get("extra") or {}).get("mean_curve_peak") or ((meta.get("extra") or {}).get("pooled") or {}).get(
        "mean_curve_peak")
    if pk is None:
        raise ValueError(f"{path}: no mean_curve_peak in the metadata (rerun the rule that wrote it)")
    return pk


def compare_rows(particles, summaries, *, N: int, lattice_size: int) -> tuple[dict, list]:
    """(columns of the ``epm_compare`` schema, peak windows): per T_p the peak (maximum of the
    sample-averaged, smoothed curve, stored as ``mean_curve_peak`` by the aqs_statistics and
    epm_run rules) and steady-state stresses of the particles (``aqs_statistics`` tables of
    size N) and of the EPM (``epm_summary`` tables; those at L = ``lattice_size`` are used)."""
    cols = {k: [] for k in schemas.EPM_COMPARE.columns}
    windows = set()

    def add(Tp, source, size, peak, sample_peaks, steady):
        (sm, se) = _mean_err(steady)
        cols["Tp"].append(Tp)
        cols["source"].append(source)
        cols["size"].append(int(size))
        cols["peak_stress"].append(float(peak["value"]))
        cols["peak_err"].append(float(peak["stderr"]))
        cols["peak_strain"].append(float(peak["x"]))
        cols["sample_peak_stress"].append(_mean_err(sample_peaks)[0])
        cols["steady_stress"].append(sm)
        cols["steady_err"].append(se)
        windows.add(float(peak["window"]))

    N = int(N)
    for path in particles:
        t = io.read_table(path, schemas.AQS_STATISTICS)
        add(float(t.meta["extra"]["Tp"]), "particles", N, _stored_peak(t.meta, path), t["peak_stress"],
            t["steady_stress"])
    L = int(lattice_size)
    for path in summaries:
        ex = io.read_meta(path)["extra"]
        if int(ex["L"]) != L:
            continue
        t = io.read_table(path, schemas.EPM_SUMMARY)
        add(float(ex["Tp"]), f"epm_{ex['method']}", L, _stored_peak(t.meta, path), t["peak_stress"],
            t["steady_stress"])
    return {k: np.asarray(v) for k, v in cols.items()}, sorted(windows)


def compare_stage(particles, summaries, out, *, N: int, lattice_size: int, log=_log):
    """Write the 'epm_compare' table of :func:`compare_rows`: particles of size N against the
    EPM at L = ``lattice_size``."""
    cols, windows = compare_rows(particles, summaries, N=N, lattice_size=lattice_size)
    for row in zip(*cols.values()):
        log.info("%s", row)
    return io.write_table(out, schemas.EPM_COMPARE, cols,
                          extra={"lattice": int(lattice_size), "N": int(N), "peak_window": windows})


def _sibling(path: Path, tag: str) -> Path:
    if path.suffix == ".parquet":
        return path.with_suffix(f".{tag}.parquet")
    return path.with_name(path.name + f".{tag}.parquet")


def run_epm(thresholds, output, *, L: int, eps_pl: float, modulus: float, strain: float, seed: int,
            renewal_table=None, renewal_modulus=None, onsite: str = "paper", renewal_mode: str = "absolute",
            one_to_one: bool = False, steady_from=None, snapshots=(), nswitch=None,
            fft_workers: int = 1) -> dict:
    """One EPM run from a thresholds file (``glass2epm epm``): writes the 'epm_series' table
    ``output``, ``output.activity.parquet`` ('epm_activity') and, with ``snapshots``,
    ``output.snapshots.parquet`` ('epm_snapshots'); returns the summary dict."""
    L = int(L)
    if L < 2:
        raise ValueError(f"--size must be >= 2, got {L}")
    if not (strain > 0 and math.isfinite(strain)):
        raise ValueError(f"--strain must be a positive number, got {strain}")
    sigma_y, sigma_y_ren, cols = lattice.read_thresholds(thresholds)
    renewal_source = "sigma_y_renewal" if sigma_y_ren is not None else "sigma_y"
    if renewal_table is not None:
        sigma_y_ren, _, _ = lattice.read_thresholds(renewal_table)
        renewal_source = f"{renewal_table}:sigma_y"
    renewal = sigma_y if sigma_y_ren is None else sigma_y_ren
    if one_to_one:
        thr = lattice.threshold_map(sigma_y, L, cols.get("x"), cols.get("y"))
    else:
        thr = lattice.sample_thresholds(sigma_y, L, seed)
    kw = {} if nswitch is None else {"nswitch": nswitch}
    model = lattice.EPM(thr, renewal, eps_pl=eps_pl, modulus=modulus, renewal_modulus=renewal_modulus,
                        seed=seed, onsite=onsite, renewal_mode=renewal_mode, fft_workers=fft_workers, **kw)
    res = model.run(strain, snapshots=list(snapshots))
    series = res.series

    g_from = steady_from if steady_from is not None else 0.5 * strain
    try:
        ss = lattice.steady_state(series, g_from, strain)
        ss_mean, ss_std = ss.mean, ss.std
    except ValueError:
        ss_mean = ss_std = None

    extra = {
        "L": L, "eps_pl": eps_pl, "modulus": modulus,
        "renewal_modulus": model.renewal_modulus, "onsite": onsite,
        "onsite_value": float(model.kernel[0, 0]), "renewal_mode": renewal_mode,
        "control": "strain", "thresholds": str(thresholds), "renewal_source": renewal_source,
        "one_to_one": bool(one_to_one), "nswitch": model.nswitch, "strain_max": strain,
        "failures": res.failures, "steady_from": g_from, "steady_state_stress": ss_mean,
        "steady_state_std": ss_std, "equation": "Sec. V A, Eq. (24)",
    }
    meta = dict(seed=seed, strain={"gamma": strain, "geometry": "simple_shear"},
                provenance={"command": "epm"}, extra=extra)
    out = Path(output)
    io.write_table(out, schemas.EPM_SERIES, series, **meta)
    act_path = _sibling(out, "activity")
    acols = lattice.activity_columns(model.act, model.epsp)
    acols["sigma"] = model.sigma.ravel()
    acols["threshold"] = model.thr.ravel()
    io.write_table(act_path, schemas.EPM_ACTIVITY, acols, **meta)
    snap_path = None
    if res.snapshots:
        parts = []
        for g, snap in sorted(res.snapshots.items()):
            c = lattice.activity_columns(snap["activity"], snap["plastic_strain"])
            c["strain"] = np.full(c["x"].size, g)
            parts.append(c)
        scols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        snap_path = _sibling(out, "snapshots")
        io.write_table(snap_path, schemas.EPM_SNAPSHOTS, scols, **meta)

    return {
        "failures": res.failures,
        "failures_per_second": res.failures_per_second,
        "steady_state_stress": ss_mean,
        "steady_state_std": ss_std,
        "steps": int(series["strain"].size),
        "L": L,
        "strain": strain,
        "wall_s": res.wall_s,
        "series": str(out),
        "activity": str(act_path),
        "snapshots": str(snap_path) if snap_path else None,
    }
