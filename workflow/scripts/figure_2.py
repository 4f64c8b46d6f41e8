"""Rule `figure_2`: the φ_γ × φ_γγ field of a poorly annealed glass (Fig. 2)."""

from glass2epm.plotting.fig2 import plot_fig2
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    log.info("%s", plot_fig2(snakemake.input[0], snakemake.output.png, snakemake.output.pdf))
