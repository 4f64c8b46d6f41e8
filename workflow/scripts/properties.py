"""Rule `properties`: energy, stress, pressure and moduli of an inherent state."""

from glass2epm.core import io
from glass2epm.mechanics.properties import compute_properties
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    props = compute_properties(io.read_configuration(snakemake.input[0]), threads=snakemake.threads)
    log.info("%s", props)
    io.write_json(snakemake.output[0], props)
