"""Rule `yield_map_frozen_chunk`: frozen-matrix yield stresses of one chunk of the sites (scatter)."""

from glass2epm.core.runtime import rule_context
from glass2epm.yieldstress.task import yield_map

with rule_context(snakemake) as log:
    y = snakemake.params.y
    k, K = int(snakemake.wildcards.k), int(y["frozen_chunks"])
    summary = yield_map(snakemake.input[0], snakemake.output[0], "frozen", radius=y["radius"],
                        spacing=y["spacing"], geometry=y["geometry"], component=y["component"],
                        step=y["frozen_step"], max_strain=y["frozen_max_strain"],
                        threads=snakemake.threads, chunk=(k, K),
                        provenance={"rule": "yield_map_frozen_chunk"})
    log.info("%s", summary)
