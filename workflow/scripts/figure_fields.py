"""Rule `figure_fields`: predictor scores per T_p and the density's structure-function exponents
(:func:`glass2epm.plotting.fields.plot_fields`)."""

from glass2epm.core.runtime import rule_context
from glass2epm.plotting.fields import plot_fields

with rule_context(snakemake) as log:
    log.info("%s", plot_fields(list(snakemake.input), snakemake.output.png, snakemake.output.pdf))
