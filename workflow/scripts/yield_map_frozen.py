"""Rule `yield_map_frozen`: gather the frozen-matrix chunks into the map (gather)."""

from glass2epm.core.runtime import rule_context
from glass2epm.yieldstress.task import yield_map

with rule_context(snakemake) as log:
    summary = yield_map(snakemake.input.glass, snakemake.output.map, "frozen",
                        block=snakemake.params.y["block"], merge=list(snakemake.input.chunks),
                        provenance={"rule": "yield_map_frozen"})
    log.info("%s", summary)
