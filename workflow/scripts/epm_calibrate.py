"""Rule `epm_calibrate`: the single fit parameter ε_pl, from σ_s of the T_p = 0.7 particles
(:func:`glass2epm.epm.task.calibrate_stage`)."""

from glass2epm.core.runtime import rule_context
from glass2epm.epm.task import calibrate_stage

with rule_context(snakemake) as log:
    p = snakemake.params.epm
    calibrate_stage(snakemake.input.thresholds, snakemake.input.particles, snakemake.output[0],
                    L=p["calibration_L"], strain=p["strain"], steady_from=p["steady_from"],
                    seeds=p["calibration_seeds"], bracket=p["eps_pl_bracket"], onsite=p["onsite"],
                    renewal_Tp=p["renewal_Tp"], log=log)
