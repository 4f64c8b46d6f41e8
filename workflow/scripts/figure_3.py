"""Rule `figure_3`: one cavity — bond network, non-affine field, expansion vs frozen matrix."""

from glass2epm.plotting.fig3 import plot_fig3
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    i = snakemake.input
    log.info("%s", plot_fig3(i.particles, i.bonds, i.curves, snakemake.output.png, snakemake.output.pdf))
