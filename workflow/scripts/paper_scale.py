"""Rule `paper_scale`: issue 17's comparisons (a) P(σ_s) and peak stress, (b) band growth, of the
particle glasses of each requested N against the calibrated EPM on the matched lattice."""

from glass2epm.analysis.paper_scale import named_inputs, paper_scale
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    p = snakemake.params
    o = snakemake.output
    paper_scale(named_inputs(dict(snakemake.input.items()), p.sizes), o.table, o.numbers,
                renewal_Tp=float(p.renewal_Tp), steady_from=p.steady_from)
