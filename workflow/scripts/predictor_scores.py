"""Rule `predictor_scores`: Spearman and ROC-AUC of every predictor at one T_p
(:func:`glass2epm.fields.task.scores_stage`)."""

from glass2epm.core.runtime import rule_context
from glass2epm.fields.task import scores_stage

with rule_context(snakemake) as log:
    f = snakemake.params.fields
    scores_stage(list(snakemake.input), snakemake.output[0], Tp=float(snakemake.wildcards.Tp),
                 top_fraction=f["top_fraction"], n_boot=f["n_boot"], log=log)
