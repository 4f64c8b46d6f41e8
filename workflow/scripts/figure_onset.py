"""Rule `figure_onset`: e_IS(T_p) for both presets."""

from glass2epm.plotting.onset import plot_onset
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    fits = plot_onset(snakemake.input[0], snakemake.output.png, snakemake.output.pdf)
    log.info("fits: %s", fits)
