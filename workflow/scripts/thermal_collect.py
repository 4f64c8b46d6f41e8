"""Rule `thermal_collect`: every thermal-EPM run in one table (:func:`glass2epm.thermal.task.collect_stage`)."""

from glass2epm.core.runtime import rule_context
from glass2epm.thermal.task import collect_stage

with rule_context(snakemake) as log:
    cols = collect_stage(list(snakemake.input), snakemake.output[0])
    log.info("%d thermal runs", len(cols["T"]))
