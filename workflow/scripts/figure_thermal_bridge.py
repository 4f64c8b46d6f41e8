"""Rule `figure_thermal_bridge`: τ_α(T) of the particle liquid against the thermal EPM built from the
particle yield maps (:func:`glass2epm.plotting.thermal.plot_bridge`)."""

from glass2epm.core.io import write_json
from glass2epm.core.runtime import rule_context
from glass2epm.plotting.thermal import plot_bridge

with rule_context(snakemake) as log:
    i, o = snakemake.input, snakemake.output
    summary = plot_bridge(list(i.liquid), list(i.epm), o.png, o.pdf)
    write_json(o.summary, summary)
    log.info("bridge: %s", summary)
