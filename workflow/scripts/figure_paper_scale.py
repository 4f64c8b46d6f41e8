"""Rule `figure_paper_scale`: the figure of issue 17's comparisons and their HTML page (table, figure)."""

from glass2epm.core.runtime import rule_context
from glass2epm.plotting.index import write_index
from glass2epm.plotting.paper_scale import plot_paper_scale

with rule_context(snakemake) as log:
    i, o = snakemake.input, snakemake.output
    log.info("%s", plot_paper_scale(i.numbers, o.png, o.pdf))
    sizes = snakemake.wildcards.sizes.replace("_", ", ")
    write_index(i.table, [(o.png, snakemake.params.caption)], o.page,
                title=f"glass2epm: paper-scale comparisons (issue 17), N = {sizes}")
