"""Rule `field_predictors`: structural predictors of one glass and its next plastic window
(:func:`glass2epm.fields.task.predictors_stage`)."""

from glass2epm.core.runtime import rule_context
from glass2epm.fields.task import predictors_stage

with rule_context(snakemake) as log:
    f, a, i = snakemake.params.fields, snakemake.params.activity, snakemake.input
    predictors_stage(i.glass, i.bond, i.frozen, i.snapshots, snakemake.output[0], ell=f["ell"], grid=f["grid"],
                     window=f["window"], r1=f["local_r"][0], r2=f["local_r"][1], r_range=f["r_range"],
                     threshold=a["threshold"], rcut=a["rcut"], log=log)
