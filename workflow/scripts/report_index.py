"""Rule `report_index`: the report's landing page (key numbers, figures with captions)."""

from glass2epm.core.runtime import rule_context
from glass2epm.plotting.index import write_index

with rule_context(snakemake) as log:
    figs = list(snakemake.input.figures)
    scale = [("Paper-scale comparison: (a) P(σ_s) and peak stress, (b) band growth", t)
             for t in snakemake.input.scale]
    write_index(snakemake.input.table, list(zip(figs, snakemake.params.captions)), snakemake.output[0],
                tables=scale)
