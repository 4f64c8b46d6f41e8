"""Rule `qlm_meso`: the mesoscopic (λ, κ) model on the EPM lattice (:func:`glass2epm.qlm.task.meso_task`)."""

from glass2epm.core.runtime import rule_context
from glass2epm.qlm.task import meso_task

with rule_context(snakemake) as log:
    q = snakemake.params.qlm
    meso_task(snakemake.output.json, snakemake.output.density, sizes=q["meso_L"], steps=q["meso_steps"],
              coupling=q["meso_coupling"], omega_range=q["meso_omega_range"], x_range=q["meso_x_range"],
              n_boot=q["n_boot"], log=log)
