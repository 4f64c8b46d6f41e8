"""Rule `figure_thermal`: Γ(T), τ_α(T), ξ(T) of the lattice against mean field, with the paper's
scaling forms fitted (:func:`glass2epm.plotting.thermal.plot_thermal`)."""

from glass2epm.core.io import write_json
from glass2epm.core.runtime import rule_context
from glass2epm.plotting.thermal import plot_thermal

with rule_context(snakemake) as log:
    i, o = snakemake.input, snakemake.output
    fits = plot_thermal(i.meanfield, i.gillespie, i.runs, list(i.persistence), o.png, o.pdf)
    write_json(o.fits, fits)
    log.info("fits: %s", fits)
