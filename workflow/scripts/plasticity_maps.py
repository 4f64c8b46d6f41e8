"""Rule `plasticity_maps`: accumulated plasticity up to map_strain, particles and EPM (Fig. 6):
active fraction and band detection for each."""

from glass2epm.bands.tasks import plasticity_maps
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    plasticity_maps(list(snakemake.input.particles), snakemake.input.epm, float(snakemake.params.map_strain),
                    float(snakemake.wildcards.Tp), snakemake.output[0])
