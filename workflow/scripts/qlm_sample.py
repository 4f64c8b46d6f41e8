"""Rule `qlm_sample`: one glass sheared to the sampled strains; modes and γ_min there
(:func:`glass2epm.qlm.task.sample_task`)."""

from glass2epm.core.runtime import rule_context
from glass2epm.qlm.task import sample_task

with rule_context(snakemake) as log:
    q = snakemake.params.qlm
    sample_task(snakemake.input.glass, snakemake.output.samples, snakemake.output.modes, strains=q["strains"],
                aqs_step=q["aqs_step"], count=q["modes"], gamma_min_params=q["gamma_min"],
                threads=snakemake.threads, log=log)
