"""Rule `thermal_liquid`: τ_α of the particle liquid under displacement-only MC
(:func:`glass2epm.thermal.task.liquid_stage`)."""

from glass2epm.core.runtime import rule_context
from glass2epm.thermal.task import liquid_stage

with rule_context(snakemake) as log:
    p = snakemake.params.thermal
    liquid_stage(snakemake.output[0], preset=snakemake.params.preset, dim=int(snakemake.params.dim),
                 N=p["bridge_N"], T=float(snakemake.wildcards.Tth), seeds=range(1, p["bridge_seeds"] + 1),
                 equil_sweeps=p["bridge_equil_sweeps"], sweeps=p["bridge_sweeps"], log=log)
