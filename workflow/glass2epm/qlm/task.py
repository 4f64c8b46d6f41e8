"""Task functions of the qlm stage (Ji et al.); the CLI and the rule scripts call these.

* :func:`modes_task`: the lowest modes of one configuration (``glass2epm modes``).
* :func:`sample_task`: one glass sheared by AQS to each sampled strain; there, the lowest
  modes and γ_min (App. F).
* :func:`exponents_task`: θ(γ) and α(γ) two ways, pooled over N, per preparation.
* :func:`pseudogap_task`: θ of a user table (``glass2epm pseudogap``).
"""

from __future__ import annotations

import logging
from dataclasses import asdict

import numpy as np

from glass2epm.core import io, schemas
from glass2epm.qlm.gammamin import GammaMinParams, gamma_min
from glass2epm.qlm.modes import lowest_modes, plane_wave_omega2
from glass2epm.qlm.pseudogap import alpha_prediction, density_exponent, fit_alpha_fss, fit_theta

_log = logging.getLogger(__name__)


def read_any_configuration(path) -> io.Configuration:
    """A glass2epm configuration (Parquet), or a Lerner-group text file (``.dat``, preset
    lerner-poly2d, as ``glass2epm import-lerner`` reads it)."""
    from pathlib import Path

    if Path(path).suffix.lower() == ".dat":
        return io.read_lerner(path)
    return io.read_configuration(path)


def modes_task(config_path, out, *, count: int, vectors=None, shift=None, log=_log) -> dict:
    """The ``count`` lowest non-zero modes of a configuration, as a 'modes' table
    (and the eigenvectors as a 'mode_vectors' table when ``vectors`` is a path)."""
    import time

    conf = read_any_configuration(config_path)
    t0 = time.perf_counter()
    m = lowest_modes(conf, count, vectors=vectors is not None, shift=shift)
    wall = time.perf_counter() - t0
    meta = dict(model=conf.model, box=conf.box, strain=conf.strain, seed=conf.seed,
                provenance={"source": str(config_path)})
    io.write_table(out, schemas.MODES, {"mode": np.arange(count), "omega2": m.omega2,
                                        "participation": m.participation},
                   extra={"shift": m.shift, "rattlers": int((~m.active).sum()), "N": conf.N}, **meta)
    if vectors is not None:
        axes = "xyz"[: conf.dim]
        cols = {"particle": np.arange(conf.N)}
        for k in range(count):
            for a, ax in enumerate(axes):
                cols[f"m{k}_{ax}"] = m.vectors[k, :, a]
        io.write_table(vectors, schemas.MODE_VECTORS, cols, **meta)
    summary = {"N": conf.N, "count": int(count), "rattlers": int((~m.active).sum()),
               "omega2_lowest": float(m.omega2[0]), "omega2_highest": float(m.omega2[-1]),
               "participation_lowest": float(m.participation[0]), "solves": m.operations, "wall_s": wall}
    log.info("modes %s: %s", config_path, summary)
    return summary


def sample_task(glass_path, samples_out, modes_out, *, strains, aqs_step: float, count: int,
                gamma_min_params: dict, threads: int = 1, log=_log) -> dict:
    """One glass: AQS (forward simple shear, step ``aqs_step``) to each strain of
    ``strains``; at each, the lowest ``count`` modes, the shear modulus (for the
    plane-wave scale) and γ_min. Writes 'qlm_samples' and 'qlm_modes' tables."""
    from glass2epm.aqs.engine import run_aqs
    from glass2epm.mechanics.expansion import shear_modulus

    conf = io.read_configuration(glass_path)
    gp = GammaMinParams(**gamma_min_params)
    gp.validate()
    strains = sorted(float(s) for s in strains)
    if strains[0] < 0:
        raise ValueError(f"qlm strains must be >= 0, got {strains}")
    rows, mrows = [], []
    state = conf
    for s in strains:
        if s > float(state.strain.get("gamma", 0.0)) + 0.5 * aqs_step:
            state = run_aqs(state, aqs_step, s, snapshot_every=0, threads=threads).final
        m = lowest_modes(state, count)
        mu = shear_modulus(state, threads=threads)
        g = gamma_min(state, gp, threads=threads)
        log.info("N=%d T_p=%s seed=%s γ=%.3f: γ_min=%.6g ± %.1g (%d trials), ω²_min=%.4g, e=%.3f",
                 conf.N, conf.Tp, conf.seed, s, g.gamma_min, g.error, g.trials, m.omega2[0], m.participation[0])
        rows.append({"Tp": conf.Tp, "N": conf.N, "seed": conf.seed, "strain": s, "gamma_min": g.gamma_min,
                     "gamma_min_error": g.error, "omega_min": float(np.sqrt(m.omega2[0])),
                     "e_min": float(m.participation[0]), "shear_modulus": mu,
                     "omega_plane_wave": float(np.sqrt(plane_wave_omega2(state, mu))),
                     "trials": g.trials})
        for w2, e in zip(m.omega2, m.participation):
            mrows.append({"Tp": conf.Tp, "N": conf.N, "seed": conf.seed, "strain": s,
                          "omega": float(np.sqrt(max(w2, 0.0))), "participation": float(e)})
    extra = {"aqs_step": aqs_step, "count": count, "gamma_min": asdict(gp)}
    cols = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    io.write_table(samples_out, schemas.QLM_SAMPLES, cols, model=conf.model, seed=conf.seed, extra=extra)
    mcols = {k: np.array([r[k] for r in mrows]) for k in mrows[0]}
    io.write_table(modes_out, schemas.QLM_MODES, mcols, model=conf.model, seed=conf.seed, extra=extra)
    return {"strains": strains, "gamma_min": cols["gamma_min"].tolist()}


def _concat(paths, schema):
    tabs = [io.read_table(p, schema) for p in paths]
    keys = list(tabs[0].columns)
    return {k: np.concatenate([np.asarray(t[k]) for t in tabs]) for k in keys}


def exponents_task(sample_paths, mode_paths, out, *, e_c: float, omega_c: float, n_boot: int,
                   log=_log) -> dict:
    """θ(γ), α(γ) by finite-size scaling and α(γ) from the filtered D_L(ω) at the largest
    N, per preparation T_p and sampled strain ('qlm_exponents'), with a verdict on Eq. (9)
    in the metadata. ω_min of a state is its softest quasi-localised mode: the lowest
    computed mode with participation e < ``e_c`` (states without one among the computed
    modes are left out of the finite-size scaling). ``omega_c``: the upper end of the D_L(ω) fit in units of the lowest
    transverse plane-wave frequency of each state."""
    s = _concat(sample_paths, schemas.QLM_SAMPLES)
    m = _concat(mode_paths, schemas.QLM_MODES)
    rows, verdicts = [], []
    for tp in np.unique(s["Tp"]):
        for g in np.unique(s["strain"]):
            sel = (s["Tp"] == tp) & (s["strain"] == g) & np.isfinite(s["gamma_min"])
            row = {"Tp": float(tp), "strain": float(g)}
            try:
                th = fit_theta(s["N"][sel], s["gamma_min"][sel], n_boot=n_boot)
                row.update(theta=th["theta"], theta_lo=th["theta_ci"][0], theta_hi=th["theta_ci"][1])
            except ValueError as exc:
                log.warning("T_p=%s γ=%s: no θ (%s)", tp, g, exc)
                row.update(theta=np.nan, theta_lo=np.nan, theta_hi=np.nan)
            # ω_min: the softest quasi-localised mode (participation below e_c) of each state
            mq = (m["Tp"] == tp) & (m["strain"] == g) & (m["participation"] < e_c)
            keys_ = np.stack([m["N"][mq], m["seed"][mq]], axis=1)
            uniq, inv = np.unique(keys_, axis=0, return_inverse=True) if mq.any() else (np.zeros((0, 2)), None)
            wmin = np.full(len(uniq), np.inf)
            if mq.any():
                np.minimum.at(wmin, inv.ravel(), m["omega"][mq])
            try:
                al = fit_alpha_fss(uniq[:, 0], wmin, n_boot=n_boot)
                row.update(alpha_fss=al["alpha"], alpha_fss_lo=al["alpha_ci"][0], alpha_fss_hi=al["alpha_ci"][1])
            except ValueError as exc:
                log.warning("T_p=%s γ=%s: no finite-size α (%s)", tp, g, exc)
                row.update(alpha_fss=np.nan, alpha_fss_lo=np.nan, alpha_fss_hi=np.nan)
            nmax = s["N"][sel].max() if sel.any() else 0
            ms = (m["Tp"] == tp) & (m["strain"] == g) & (m["N"] == nmax)
            wpw = np.median(s["omega_plane_wave"][sel & (s["N"] == nmax)]) if sel.any() else np.nan
            try:
                de = density_exponent(m["omega"][ms], m["participation"][ms], m["seed"][ms],
                                      omega_c=omega_c * wpw, e_c=e_c, n_boot=n_boot)
                row.update(alpha_direct=de["alpha"], alpha_direct_lo=de["alpha_ci"][0],
                           alpha_direct_hi=de["alpha_ci"][1], alpha_ec_low=de["alpha_ec_low"],
                           alpha_ec_high=de["alpha_ec_high"], n_modes_direct=de["n_modes"])
            except ValueError as exc:
                log.warning("T_p=%s γ=%s: no direct α (%s)", tp, g, exc)
                row.update(alpha_direct=np.nan, alpha_direct_lo=np.nan, alpha_direct_hi=np.nan,
                           alpha_ec_low=np.nan, alpha_ec_high=np.nan, n_modes_direct=0)
            row["alpha_predicted"] = float(alpha_prediction(row["theta"]))
            rows.append(row)
            verdicts.append(verdict(row))
    cols = {k: np.array([r[k] for r in rows], dtype=float) for k in rows[0]}
    io.write_table(out, schemas.QLM_EXPONENTS, cols,
                   extra={"e_c": e_c, "omega_c": omega_c, "n_boot": n_boot, "verdicts": verdicts,
                          "sizes": sorted({int(n) for n in s["N"]})})
    for v in verdicts:
        log.info("%s", v)
    return {"rows": len(rows), "verdicts": verdicts}


def verdict(row: dict) -> str:
    """One sentence: does Eq. (9) hold at this (T_p, γ)? 'holds' when the predicted
    α = min(4, 3 + 4θ), over θ's CI, overlaps the CI of a measured α."""
    lo = float(alpha_prediction(row["theta_lo"])) if np.isfinite(row["theta_lo"]) else np.nan
    hi = float(alpha_prediction(row["theta_hi"])) if np.isfinite(row["theta_hi"]) else np.nan
    head = f"T_p = {row['Tp']:g}, γ = {row['strain']:g}: θ = {row['theta']:.2f} [{row['theta_lo']:.2f}, {row['theta_hi']:.2f}]"
    if not np.isfinite(lo):
        return head + ": no θ, no test"
    parts = []
    for name in ("alpha_fss", "alpha_direct"):
        a, alo, ahi = row[name], row[name + "_lo"], row[name + "_hi"]
        if not np.isfinite(a):
            parts.append(f"{name} not measured")
            continue
        ok = alo <= hi and ahi >= lo
        parts.append(f"{name} = {a:.2f} [{alo:.2f}, {ahi:.2f}] vs predicted [{lo:.2f}, {hi:.2f}]: "
                     + ("holds" if ok else "fails"))
    return head + "; " + "; ".join(parts)


def pseudogap_task(table_path, *, column: str = "x_min", n_boot: int = 2000, seed: int = 0) -> dict:
    """θ from a table with columns ``N`` and ``column`` (one row per sample; glass2epm or
    plain Parquet, CSV or TSV): ``theta``, ``theta_ci`` and the fit."""
    t = io.read_user_table(table_path, ["N", column], "extreme-value table")
    return fit_theta(np.asarray(t["N"]), np.asarray(t[column], dtype=float), n_boot=n_boot, seed=seed)


def meso_task(out_json, out_table, *, sizes, steps: int, coupling: float, omega_range, x_range,
              n_boot: int, seed: int = 0, log=_log) -> dict:
    """The mesoscopic (λ, κ) model on L×L lattices (:mod:`glass2epm.qlm.meso`): θ from the
    extreme values over ``sizes``, α of its D(ω), Eq. (9) (JSON), and D(ω) of the largest
    lattice per class (passive, active) as a 'qlm_meso_density' table."""
    from glass2epm.qlm.meso import MesoParams, measure_meso, run_meso

    params = MesoParams(coupling=float(coupling))
    runs = []
    for L in sorted(int(v) for v in sizes):
        r = run_meso(L, int(steps), params, seed=seed + L)
        log.info("meso L=%d: %d steps, %d failures, %.1f s", L, int(steps), r.failures, r.wall_s)
        runs.append(r)
    res = measure_meso(runs, omega_range=tuple(omega_range), x_range=tuple(x_range), n_boot=n_boot, seed=seed)
    h = runs[-1].hist
    counts = h.om.sum(axis=0)  # (class, bin)
    nb = counts.shape[1]
    width = h.om_max / nb
    norm = counts.sum() * width
    centers = (np.arange(nb) + 0.5) * width
    io.write_table(out_table, schemas.QLM_MESO_DENSITY,
                   {"omega": centers, "passive": counts[0] / norm, "active": (counts[1] + counts[2]) / norm},
                   extra={"L": runs[-1].L, "coupling": float(coupling), "steps": int(steps)})
    res.update(coupling=float(coupling), omega_range=list(omega_range), x_range=list(x_range))
    io.write_json(out_json, res)
    return res


def _tied_fraction(x) -> float:
    """Fraction of the samples whose value occurs more than once (exact ties). Independent
    continuous extremes never tie; ties mean the minimum sits on a discrete lower edge."""
    _, inv, counts = np.unique(np.asarray(x), return_inverse=True, return_counts=True)
    return float(np.mean(counts[inv] > 1)) if len(x) else 0.0


def epm_extremes_task(init, renewal, calibration, out, *, Tp: float, sizes, strains, realisations: int,
                      onsite: str, n_boot: int, log=_log) -> dict:
    """The pseudogap estimator applied to the calibrated EPM (``epm/``): on L×L lattices
    (``sizes``), ``realisations`` runs each, the smallest distance to threshold
    x_min = min_i (σ_th,i − σ_i) at each strain of ``strains`` (the state after the
    avalanches triggered up to that strain), one row per (L, seed, strain) in a
    'qlm_epm_extremes' table; θ(γ) from ⟨x_min⟩ ∝ (L²)^(−1/(1+θ)) in its metadata (the
    extreme-value relation of Ji et al., Sec. III, text before Fig. 2, with N = L² blocks).
    Strains at which the minima tie across runs (no block has failed yet: x_min is the
    threshold table's lowest value minus the uniform load) get no θ, with that reason."""
    from glass2epm.epm import lattice
    from glass2epm.epm.task import read_eps_pl, read_tables

    init_v, ren_v, mu, mu_ren = read_tables(init, renewal)
    eps = read_eps_pl(calibration)
    strains = sorted(float(s) for s in strains)
    rows = {"L": [], "seed": [], "strain": [], "x_min": []}
    for L in sorted(int(v) for v in sizes):
        for seed in range(int(realisations)):
            model = lattice.EPM.from_tables(L, init_v, ren_v, seed=seed, eps_pl=eps, modulus=mu,
                                            renewal_modulus=mu_ren, onsite=onsite)
            for g in strains:
                if g > 0:
                    model.run(g)
                rows["L"].append(L)
                rows["seed"].append(seed)
                rows["strain"].append(g)
                rows["x_min"].append(float(np.min(model.thresholds - model.sigma)))
    cols = {k: np.asarray(v) for k, v in rows.items()}
    theta = {}
    for g in strains:
        sel = cols["strain"] == g
        try:
            tied = _tied_fraction(cols["x_min"][sel])
            if tied > 0.5:
                raise ValueError(f"{tied:.0%} of the samples share their x_min with another: the minimum "
                                 "is the lower edge of the threshold table (no avalanche has yet "
                                 "spread the stresses), not an extreme-value statistic")
            r = fit_theta(cols["L"][sel] ** 2, cols["x_min"][sel], n_boot=n_boot)
            theta[f"{g:g}"] = {"theta": r["theta"], "theta_ci": r["theta_ci"]}
        except ValueError as exc:
            log.warning("EPM γ = %g: no θ (%s)", g, exc)
            theta[f"{g:g}"] = {"theta": float("nan"), "theta_ci": [float("nan")] * 2, "reason": str(exc)}
        log.info("EPM T_p = %s γ = %g: θ = %s", Tp, g, theta[f"{g:g}"])
    io.write_table(out, schemas.QLM_EPM_EXTREMES, cols,
                   extra={"Tp": float(Tp), "eps_pl": eps, "modulus": mu, "onsite": onsite, "theta": theta})
    return theta
