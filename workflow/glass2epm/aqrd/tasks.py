"""The AQRD stage's task functions: called by the CLI (``glass2epm aqs --forcing``) and the rules.

:func:`drive_task` runs one AQRD (or shear) series of a configuration
(:mod:`glass2epm.aqrd.engine`) and writes its forcing field and a summary with the
linear-response modulus μ_c (:func:`glass2epm.mechanics.linear_response.constrained_modulus`),
the initial slope of Σ and 𝔉 (:func:`glass2epm.aqrd.forcing.measure_frak_f`).
:func:`collapse_task` pools the runs of one glass set: Eq. 36 rescaling and its
collapse statistics (:mod:`glass2epm.aqrd.collapse`). Units: strain dimensionless,
stress and moduli ε/λ^d, lengths λ.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from glass2epm.aqrd import collapse, forcing as forcing_mod
from glass2epm.aqrd.engine import run_aqrd
from glass2epm.aqs.protocol import AQSParams, RunControl
from glass2epm.aqs.statistics import read_series, summarize
from glass2epm.aqs.tasks import read_input_configuration
from glass2epm.core import io, schemas
from glass2epm.mechanics.linear_response import constrained_modulus
from glass2epm.mechanics.minimize import default_ftol, minimize
from glass2epm.mechanics.properties import compute_properties


def forcing_path(series) -> Path:
    p = Path(series)
    return p.with_name(p.stem + ".forcing" + (p.suffix or ".parquet"))


def _inherent(conf, ftol):
    from glass2epm.core.potential import ForceField

    _, f, _ = ForceField(conf.model).compute(conf.x, conf.sizes, conf.box)
    if np.abs(f).max() < ftol:
        return conf
    out, _ = minimize(conf, ftol=ftol)
    return out


def linear_response(conf, forcing) -> dict:
    """μ_c (ε/λ^d) of the forcing at the inherent state ``conf``, the AQS shear modulus
    μ_AQS (Eq. 19, :func:`glass2epm.mechanics.properties.compute_properties`) and
    κ_μ = μ_c/μ_AQS (Eq. 35)."""
    mu_aqs = float(compute_properties(conf)["shear_modulus"])
    out = {"mu_aqs": mu_aqs}
    if forcing.constrained:
        mu_c, _, _ = constrained_modulus(conf, forcing.c)
        out.update(mu_c=mu_c, kappa_mu=mu_c / mu_aqs)
    else:
        out.update(mu_c=mu_aqs, kappa_mu=1.0)
    return out


def drive_task(config, series, protocol: AQSParams, *, forcing: str, xi=None, seed=None, mode=None,
               amplitude: float = 1.0, ell: float = 1.0, summary=None, checkpoint=None,
               checkpoint_every: int = 1000, checkpoint_seconds: float = 600.0, threads: int = 1,
               steady_from: float = 0.2, progress_every: float = 30.0, rescaled: bool = False):
    """AQRD of the configuration at ``config`` under ``forcing`` (a field file, ``gaussian``
    with ``xi``/``seed``, ``sine`` with ``mode``, or ``shear``) with ``protocol``; writes
    ``series`` (events, snapshots, ``.forcing.parquet`` beside it) and the ``summary`` JSON.
    Bad input (field shape, columns, parameters) fails before any relaxation.
    ``rescaled``: the protocol's step and strain are in rescaled (Eq. 36) units γ√κ_𝔉, so the
    run covers the same range of AQS-equivalent strain as the AQS runs it is compared with.
    Returns (result, summary dict)."""
    conf = read_input_configuration(config)
    fo = forcing_mod.build(conf, forcing, xi=xi, seed=seed, mode=mode, amplitude=amplitude, ell=ell)
    protocol.validate()
    ftol = default_ftol(conf.N) if protocol.ftol is None else float(protocol.ftol)
    conf0 = _inherent(conf, ftol)
    lr = linear_response(conf0, fo)
    frak = forcing_mod.measure_frak_f(conf0, fo)
    if rescaled and fo.constrained:
        r = math.sqrt(frak["kappa_F"])
        protocol = AQSParams.build(protocol.step / r, protocol.strain_max / r,
                                   **{k: v for k, v in protocol.to_dict().items() if k not in ("step", "strain_max")})
    control = RunControl(output=series, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                         checkpoint_seconds=checkpoint_seconds, threads=threads, progress_every=progress_every)
    res = run_aqrd(conf0, fo, protocol, control)
    forcing_mod.write_field(forcing_path(series), fo, conf0)
    s, g = res.series["loaded_stress"], res.series["strain"]
    slope = float((s[1] - s[0]) / (g[1] - g[0])) if len(g) > 1 else math.nan
    summ = {**summarize(res, window=(steady_from, None)), "forcing": fo.kind, "forcing_params": fo.params,
            **lr, "initial_slope": slope, "slope_relative_error": slope / lr["mu_c"] - 1.0, "frak_F": frak,
            "stats": res.stats}
    if summary is not None:
        io.write_json(summary, summ)
    return res, summ


def collapse_task(runs: dict, out_curves, out_table, out_json, *, dx: float, steady_from: float,
                  peak_window: float, log=None) -> dict:
    """``runs``: {label: [(series path, summary path), …]}, label ``shear`` (AQS) or
    ``xi<ξ>``; writes the rescaled mean curves (``aqrd_curves``), the collapse table
    (``aqrd_collapse``) and a JSON of 𝔉, κ_𝔉, κ_μ per ξ. Returns the JSON dict."""
    if "shear" not in runs:
        raise ValueError("collapse needs the AQS ('shear') runs")
    curves = {k: [] for k in schemas.AQRD_CURVES.columns}
    curves["n_samples"] = []
    table = {k: [] for k in schemas.AQRD_COLLAPSE.columns}
    table.update(kappa_F=[], kappa_mu=[])
    info = {}
    stats = {}
    loaded = {}
    for label, items in runs.items():
        sers = [read_series(p).columns for p, _ in items]
        xi = float(label[2:]) if label.startswith("xi") else math.inf
        if label == "shear":
            kF = kmu = 1.0
            info[label] = {"xi": xi, "kappa_F": kF, "kappa_mu": kmu, "n_samples": len(items)}
        else:
            sums = [_read_json(q) for _, q in items]
            kF = float(np.mean([sm["frak_F"]["kappa_F"] for sm in sums]))
            # ratio of the sample means: a glass close to an instability along shear (μ_AQS → 0)
            # would otherwise dominate a mean of per-glass ratios
            kmu = float(np.mean([sm["mu_c"] for sm in sums]) / np.mean([sm["mu_aqs"] for sm in sums]))
            info[label] = {"xi": xi, "kappa_F": kF, "kappa_mu": kmu, "n_samples": len(items),
                           "F": [sm["frak_F"]["F"] for sm in sums],
                           "F_eq7": [sm["frak_F"].get("F_eq7") for sm in sums],
                           "F_eq9": [sm["frak_F"].get("F_eq9") for sm in sums],
                           "F_shear": [sm["frak_F"]["F_shear"] for sm in sums],
                           "ell_c": [sm["frak_F"]["ell_c"] for sm in sums],
                           "mu_c": [sm["mu_c"] for sm in sums], "mu_aqs": [sm["mu_aqs"] for sm in sums],
                           "amplitude": sums[0]["forcing_params"].get("amplitude"),
                           "ell": sums[0]["forcing_params"].get("ell")}
        loaded[label] = (sers, xi, kF, kmu)
    # every statistic on the rescaled strain range that all forcings reach
    x_max = min(collapse.rescaled_range(sers, kF) for sers, _, kF, _ in loaded.values())
    for label, (sers, xi, kF, kmu) in loaded.items():
        c = collapse.rescaled_curves(sers, kF, dx, x_max)
        m = len(c["strain"])
        curves["forcing"] += [label] * m
        curves["xi"] += [xi] * m
        for k in ("strain", "stress", "stress_err", "rescaled_strain", "rescaled_stress", "n_samples"):
            curves[k] += list(c[k])
        stats[label] = collapse.sample_statistics(sers, kF, dx=dx, steady_from=steady_from,
                                                  peak_window=peak_window, x_max=x_max)
        stats[label]["kappa"] = (kmu, kmu, kmu)
        info[label]["kappa_F_over_kappa_mu"] = kF / kmu
    ref = stats["shear"]
    for label, st in stats.items():
        for q in collapse.QUANTITIES:
            v, lo, hi = st[q]
            a, alo, ahi = ref[q] if q != "kappa" else (info[label]["kappa_F"],) * 3
            table["forcing"].append(label)
            table["xi"].append(info[label]["xi"])
            table["quantity"].append(q)
            table["value"].append(v)
            table["lo"].append(lo)
            table["hi"].append(hi)
            table["aqs"].append(a)
            table["aqs_lo"].append(alo)
            table["aqs_hi"].append(ahi)
            table["relative"].append(v / a - 1.0 if a else np.nan)
            table["kappa_F"].append(info[label]["kappa_F"])
            table["kappa_mu"].append(info[label]["kappa_mu"])
        info[label]["collapse"] = {q: list(map(float, st[q])) for q in collapse.QUANTITIES}
        if log is not None:
            log.info("%s: kappa_F = %.4g, kappa_mu = %.4g, peak %s (AQS %s)", label, info[label]["kappa_F"],
                     info[label]["kappa_mu"], st["peak_stress"], ref["peak_stress"])
    io.write_table(out_curves, schemas.AQRD_CURVES, {k: np.asarray(v) for k, v in curves.items()})
    io.write_table(out_table, schemas.AQRD_COLLAPSE, {k: np.asarray(v) for k, v in table.items()},
                   extra={"steady_from": steady_from, "peak_window": peak_window, "dx": dx,
                          "rescaled_strain_max": x_max})
    io.write_json(out_json, info)
    return info


def _read_json(path):
    import json

    return json.loads(Path(path).read_text())

