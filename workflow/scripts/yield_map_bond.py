"""Rule `yield_map_bond`: local yield stresses from the cavity strain expansion (Sec. IV)."""

from glass2epm.core import io
from glass2epm.yieldstress import yieldmap
from glass2epm.yieldstress.cavity import mean_spacing
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    y = snakemake.params.y
    conf = io.read_configuration(snakemake.input[0])
    d = mean_spacing(conf)
    ymap = yieldmap.bond_map(conf, radius=y["radius"] * d, spacing=y["spacing"] * d, block=y["block"] * d,
                             geometry=y["geometry"], component=y["component"], threads=snakemake.threads)
    log.info("%s", ymap.info)
    yieldmap.write_map(snakemake.output.map, conf, ymap, provenance={"rule": "yield_map_bond"})
