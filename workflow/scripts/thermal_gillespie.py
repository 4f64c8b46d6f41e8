"""Rule `thermal_gillespie`: App. E simulation of the mean-field dynamics beside the solver
(:func:`glass2epm.thermal.task.gillespie_stage`)."""

from glass2epm.core.runtime import rule_context
from glass2epm.thermal.task import gillespie_stage

with rule_context(snakemake) as log:
    p = snakemake.params.thermal
    gillespie_stage(snakemake.output[0], temperatures=p["gillespie_T"], N=p["gillespie_N"], alpha=p["alpha"],
                    a=p["a"], events_per_site=p["gillespie_events"], seed=1, log=log)
