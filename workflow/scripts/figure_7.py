"""Rule `figure_7`: band profiles against strain and w(γ), particles and EPM."""

from glass2epm.plotting.fig7 import plot_fig7
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    i = snakemake.input
    pick = lambda prefix: {float(k.split("_", 1)[1]): v for k, v in i.items() if k.startswith(prefix)}  # noqa: E731
    ewid = {}
    for k, v in i.items():
        if k.startswith("ewid_"):
            _, L, tp = k.split("_", 2)
            ewid[(int(L), float(tp))] = v
    log.info("%s", plot_fig7(pick("pprof_"), pick("pwid_"), pick("eprof_"), ewid, snakemake.output.png,
                             snakemake.output.pdf))
