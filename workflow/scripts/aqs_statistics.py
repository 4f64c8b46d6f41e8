"""Rule `aqs_statistics`: per-T_p pooled AQS statistics (peak stress, σ_s, P(σ_s))."""

from glass2epm.core import io
from glass2epm.aqs.engine import pooled_statistics, read_series
from glass2epm.core.schemas import AQS_STATISTICS
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    window = (snakemake.params.steady_from, None)
    cols, pooled = pooled_statistics([read_series(p) for p in snakemake.input], window=window,
                                     peak_window=snakemake.params.peak_window)
    log.info("T_p %s: per-sample peaks %s, peak of the mean curve %.4f +- %.4f, sigma_s = %.4f +- %.4f",
             snakemake.wildcards.Tp, cols["peak_stress"], pooled["mean_curve_peak"]["value"],
             pooled["mean_curve_peak"]["stderr"], pooled["mean"], pooled["std"])
    io.write_table(snakemake.output[0], AQS_STATISTICS, cols,
                   extra={"Tp": float(snakemake.wildcards.Tp), "steady_window": list(window), "pooled": pooled})
