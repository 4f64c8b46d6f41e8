"""Rule `figure_6`: accumulated plasticity maps, particles (top) and EPM (bottom), high to low T_p."""

from glass2epm.plotting.fig6 import plot_fig6
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    i = snakemake.input
    part = {float(k.split("_", 1)[1]): v for k, v in i.items() if k.startswith("particles_")}
    epm = {float(k.split("_", 1)[1]): v for k, v in i.items() if k.startswith("epm_")}
    log.info("%s", plot_fig6(part, epm, snakemake.params.map_strain, snakemake.output.png, snakemake.output.pdf))
