"""Rule `band_size_scaling`: band width at a fixed strain against EPM lattice size (Fig. 9, App. D)."""

from glass2epm.bands.tasks import band_size_scaling
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    band_size_scaling(list(snakemake.input), float(snakemake.params.strain), float(snakemake.wildcards.Tp),
                      snakemake.output[0])
