"""Rule `epm_thresholds`: P(σ_Y, T_p) of one yield-map method, pooled block values, and μ(T_p)
(:func:`glass2epm.epm.task.thresholds_stage`)."""

from glass2epm.core.runtime import rule_context
from glass2epm.epm.task import thresholds_stage

with rule_context(snakemake) as log:
    wc = snakemake.wildcards
    thresholds_stage(snakemake.input.blocks, snakemake.input.properties, snakemake.output[0], Tp=wc.Tp,
                     method=wc.method, threshold=snakemake.params.threshold, log=log)
