"""Rule `expansion_check`: explicit AQS against the strain expansions (Fig. 8, Appendix C)."""

from glass2epm.core import io
from glass2epm.mechanics.expansion import aqs_check
from glass2epm.core.schemas import EXPANSION_CHECK
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    conf = io.read_configuration(snakemake.input[0])
    cols, coeffs = aqs_check(conf, strain=snakemake.params.strain, step=snakemake.params.step,
                             threads=snakemake.threads)
    log.info("coefficients: %s", coeffs)
    io.write_table(snakemake.output[0], EXPANSION_CHECK, cols, model=conf.model, box=conf.box,
                   seed=conf.seed, extra={"Tp": conf.Tp, "coefficients": coeffs})
