"""Rule `epm_run`: EPM realisations at one T_p, yield-map method and lattice size
(:func:`glass2epm.epm.task.realisations_stage`)."""

from glass2epm.core.runtime import rule_context
from glass2epm.epm.task import realisations_stage

with rule_context(snakemake) as log:
    p, wc, out = snakemake.params.epm, snakemake.wildcards, snakemake.output
    realisations_stage(snakemake.input.init, snakemake.input.renewal, snakemake.input.calibration,
                       curves=out.curves, summary=out.summary, steady=out.steady, example=out.example,
                       Tp=float(wc.Tp), method=wc.method, L=int(wc.L), strain=p["strain"],
                       realisations=p["realisations"], onsite=p["onsite"], steady_from=p["steady_from"],
                       peak_window=p["peak_window"], peak_strain_max=snakemake.params.peak_strain_max, log=log)
