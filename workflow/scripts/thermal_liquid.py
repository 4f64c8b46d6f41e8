"""Rule `thermal_liquid`: τ_α of the particle liquid under displacement-only MC, from the SWAP MC
liquids at T_p = T (:func:`glass2epm.thermal.task.liquid_stage`)."""

from glass2epm.core.runtime import rule_context
from glass2epm.thermal.task import liquid_stage

with rule_context(snakemake) as log:
    liquid_stage(snakemake.output[0], liquids=list(snakemake.input), T=float(snakemake.wildcards.Tth),
                 sweeps=snakemake.params.thermal["bridge_sweeps"], log=log)
