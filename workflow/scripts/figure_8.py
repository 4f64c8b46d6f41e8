"""Rule `figure_8`: σ_xy and pressure against strain, AQS vs linear and non-linear predictions."""

from glass2epm.plotting.fig8 import plot_fig8
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    log.info("%s", plot_fig8(snakemake.input[0], snakemake.output.png, snakemake.output.pdf))
