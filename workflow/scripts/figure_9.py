"""Rule `figure_9`: band profile against box size and w against L."""

from glass2epm.plotting.fig9 import plot_fig9
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    i = snakemake.input
    prof = {int(k.split("_", 1)[1]): v for k, v in i.items() if k.startswith("prof_")}
    log.info("%s", plot_fig9(prof, i.band_size, snakemake.output.png, snakemake.output.pdf))
