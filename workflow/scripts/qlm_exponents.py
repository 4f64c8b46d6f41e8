"""Rule `qlm_exponents`: θ(γ) and α(γ) two ways, per preparation (:func:`glass2epm.qlm.task.exponents_task`)."""

from glass2epm.core.runtime import rule_context
from glass2epm.qlm.task import exponents_task

with rule_context(snakemake) as log:
    q = snakemake.params.qlm
    exponents_task(list(snakemake.input.samples), list(snakemake.input.modes), snakemake.output[0], e_c=q["e_c"],
                   omega_c=q["omega_c"], n_boot=q["n_boot"], log=log)
