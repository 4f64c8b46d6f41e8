"""Rule `yield_map_bond`: local yield stresses from the cavity strain expansion (Sec. IV)."""

from glass2epm.core.runtime import rule_context
from glass2epm.yieldstress.task import yield_map

with rule_context(snakemake) as log:
    y = snakemake.params.y
    summary = yield_map(snakemake.input[0], snakemake.output.map, "bond", radius=y["radius"],
                        spacing=y["spacing"], block=y["block"], geometry=y["geometry"],
                        component=y["component"], threads=snakemake.threads,
                        provenance={"rule": "yield_map_bond"})
    log.info("%s", summary)
