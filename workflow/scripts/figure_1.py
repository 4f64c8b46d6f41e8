"""Rule `figure_1`: bond-coefficient distributions and tail prefactors (Fig. 1)."""

from glass2epm.plotting.fig1 import plot_fig1
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    info = plot_fig1(list(snakemake.input.histograms), snakemake.input.prefactors[0],
                     snakemake.output.png, snakemake.output.pdf)
    log.info("%s", info)
