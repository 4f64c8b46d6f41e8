"""Rule `qlm_epm`: the pseudogap estimator on the calibrated EPM (:func:`glass2epm.qlm.task.epm_extremes_task`)."""

from glass2epm.core.runtime import rule_context
from glass2epm.qlm.task import epm_extremes_task

with rule_context(snakemake) as log:
    q, e, i = snakemake.params.qlm, snakemake.params.epm, snakemake.input
    epm_extremes_task(i.init, i.renewal, i.calibration, snakemake.output[0], Tp=float(snakemake.wildcards.Tp),
                      sizes=q["epm_L"], strains=q["strains"], realisations=q["epm_realisations"],
                      onsite=e["onsite"], n_boot=q["n_boot"], log=log)
