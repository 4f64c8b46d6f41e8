"""Rule `aqs_statistics`: per-T_p pooled AQS statistics (peak stress, σ_s, P(σ_s))."""

from glass2epm.aqs.tasks import statistics_task
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    statistics_task(list(snakemake.input), snakemake.output[0], Tp=snakemake.wildcards.Tp,
                    steady_from=snakemake.params.steady_from, peak_window=snakemake.params.peak_window,
                    log=log)
