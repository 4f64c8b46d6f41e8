"""Rule `yield_map_frozen_chunk`: frozen-matrix yield stresses of one chunk of the sites (scatter)."""

from glass2epm.core import io
from glass2epm.yieldstress import yieldmap
from glass2epm.yieldstress.cavity import mean_spacing
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    y = snakemake.params.y
    conf = io.read_configuration(snakemake.input[0])
    d = mean_spacing(conf)
    k, K = int(snakemake.wildcards.k), int(y["frozen_chunks"])
    table = yieldmap.frozen_chunk(conf, k, K, radius=y["radius"] * d, spacing=y["spacing"] * d,
                                  geometry=y["geometry"], component=y["component"], step=y["frozen_step"],
                                  max_strain=y["frozen_max_strain"], threads=snakemake.threads)
    log.info("chunk %d/%d: %d sites", k, K, len(table))
    yieldmap.write_sites(snakemake.output[0], conf, table, provenance={"rule": "yield_map_frozen_chunk"})
