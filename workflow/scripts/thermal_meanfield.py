"""Rule `thermal_meanfield`: the stationary mean-field solution on a T grid
(:func:`glass2epm.thermal.task.meanfield_stage`)."""

from glass2epm.core.runtime import rule_context
from glass2epm.thermal.task import meanfield_stage

with rule_context(snakemake) as log:
    p = snakemake.params.thermal
    meanfield_stage(snakemake.output[0], temperatures=p["meanfield_T"], alpha=p["alpha"], a=p["a"],
                    threads=snakemake.threads, log=log)
