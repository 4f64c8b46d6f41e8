"""Rule `epm_run`: EPM realisations at one T_p, yield-map method and lattice size."""

import json

import numpy as np

from glass2epm.epm import lattice
from glass2epm.core import io
from glass2epm.epm.calibrate import run_realisations
from glass2epm.core.schemas import EPM_CURVES, EPM_SUMMARY
from glass2epm.core.schemas import EPM_STEADY
from glass2epm.core.runtime import rule_context
from glass2epm.core import schemas

with rule_context(snakemake) as log:
    p, wc = snakemake.params.epm, snakemake.wildcards
    init, _, _ = lattice.read_thresholds(snakemake.input.init)
    ren, _, _ = lattice.read_thresholds(snakemake.input.renewal)
    mu = float(io.read_meta(snakemake.input.init)["extra"]["modulus"])
    mu_ren = float(io.read_meta(snakemake.input.renewal)["extra"]["modulus"])
    eps = float(json.load(open(snakemake.input.calibration))["eps_pl"])
    L = int(wc.L)
    r = run_realisations(init, ren, L=L, eps_pl=eps, modulus=mu, renewal_modulus=mu_ren,
                         strain_max=p["strain"], seeds=range(p["realisations"]), onsite=p["onsite"],
                         steady_from=p["steady_from"], peak_window=p["peak_window"],
                         peak_strain_max=snakemake.params.peak_strain_max)
    meta = dict(extra={"Tp": float(wc.Tp), "method": wc.method, "L": L, "eps_pl": eps, "modulus": mu,
                       "renewal_modulus": mu_ren})
    log.info("per-realisation peaks %.4f +- %.4f, peak of the mean curve %.4f +- %.4f, steady %.4f",
             r["summary"]["peak_stress"].mean(), r["summary"]["peak_stress"].std(), r["peak"].value,
             r["peak"].stderr, np.nanmean(r["summary"]["steady_stress"]))
    io.write_table(snakemake.output.curves, EPM_CURVES, r["curve"], **meta)
    summary_meta = dict(extra={**meta["extra"], "mean_curve_peak": r["peak"].as_dict()})
    io.write_table(snakemake.output.summary, EPM_SUMMARY, r["summary"], **summary_meta)
    n = r["steady"].size
    io.write_table(snakemake.output.steady, EPM_STEADY,
                   {"source": np.array(["epm"] * n), "size": np.full(n, L), "stress": r["steady"]}, **meta)
    s0 = r["series0"]
    io.write_table(snakemake.output.example, schemas.EPM_SERIES, {k: np.asarray(v) for k, v in s0.items()}, **meta)
