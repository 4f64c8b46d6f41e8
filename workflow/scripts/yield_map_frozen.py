"""Rule `yield_map_frozen`: gather the frozen-matrix chunks into the map (gather)."""

from glass2epm.core import io
from glass2epm.yieldstress import yieldmap
from glass2epm.yieldstress.cavity import mean_spacing
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    conf = io.read_configuration(snakemake.input.glass)
    d = mean_spacing(conf)
    ymap = yieldmap.merge(conf, [yieldmap.read_sites(p) for p in snakemake.input.chunks],
                          block=snakemake.params.y["block"] * d)
    log.info("%s", ymap.info)
    yieldmap.write_map(snakemake.output.map, conf, ymap, provenance={"rule": "yield_map_frozen"})
