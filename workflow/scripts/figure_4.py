"""Rule `figure_4`: yield-stress maps, P(σ_Y) for both methods, mean and variance against T_p."""

from glass2epm.plotting.fig4 import plot_fig4
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    i = snakemake.input
    maps = {float(k[4:]): v for k, v in i.items() if k.startswith("map_")}
    blocks = {}
    for k, v in i.items():
        if k.startswith("blocks_"):
            _, method, tp = k.split("_", 2)
            blocks[(method, float(tp))] = list(v) if not isinstance(v, str) else [v]
    log.info("%s", plot_fig4(maps, i.compare, blocks, snakemake.output.png, snakemake.output.pdf))
