"""Rule `figure_qlm`: θ(γ) and α(γ) (both measurements) against Eq. (9), and the mesoscopic model
(:func:`glass2epm.plotting.qlm.plot_qlm`)."""

from glass2epm.core.runtime import rule_context
from glass2epm.plotting.qlm import plot_qlm

from glass2epm.core.io import write_text

with rule_context(snakemake) as log:
    i = snakemake.input
    summary = plot_qlm(i.exponents, list(i.samples), i.meso, i.density, snakemake.output.png, snakemake.output.pdf,
                       epm=list(i.epm))
    log.info("%s", summary)
    write_text(snakemake.output.notes, "\n".join(summary["notes"]) + "\n")
