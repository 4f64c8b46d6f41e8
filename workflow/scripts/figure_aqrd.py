"""Rule `figure_aqrd`: 𝔉(ξ), κ and the Eq. 36 collapse of AQRD on AQS
(:func:`glass2epm.plotting.aqrd.plot_aqrd`)."""

from glass2epm.core.runtime import rule_context
from glass2epm.plotting.aqrd import plot_aqrd

with rule_context(snakemake) as log:
    log.info("%s", plot_aqrd(list(snakemake.input.runs), snakemake.output.png, snakemake.output.pdf,
                             sine=snakemake.input.sine))
