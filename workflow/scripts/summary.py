"""Rule `summary`: the key numbers of this run against the paper's (report table)."""

from glass2epm.analysis.summary import summary
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    i = snakemake.input
    pick = lambda prefix: {float(k.split("_", 1)[1]): v for k, v in i.items() if k.startswith(prefix)}  # noqa: E731
    summary(i.calibration, pick("tails_"), i.yield_compare, pick("growth_"), pick("size_"), i.epm_compare,
            i.steady, snakemake.output.table, snakemake.output.numbers, tp_scale=dict(snakemake.params.tp_scale))
