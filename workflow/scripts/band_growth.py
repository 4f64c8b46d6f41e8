"""Rule `band_growth`: w(γ) and its power-law exponent with CI, particles and EPM (Fig. 7b, d)."""

from glass2epm.bands.tasks import band_growth
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    band_growth(snakemake.input.particles, list(snakemake.input.epm), float(snakemake.wildcards.Tp),
                snakemake.output[0])
