"""Rule `epm_compare`: peak and steady-state stresses per T_p, particles against EPM (Fig. 5c inset).

The EPM lattice compared is ``params.lattice`` (the one matched to the particle box,
or the largest); the peak is the maximum of the sample-averaged, smoothed curve for
both (``glass2epm.analysis.stats.curve_peak``, stored by the aqs_statistics and epm_run rules).
:func:`glass2epm.epm.task.compare_stage`.
"""

from glass2epm.core.runtime import rule_context
from glass2epm.epm.task import compare_stage

with rule_context(snakemake) as log:
    compare_stage(snakemake.input.particles, snakemake.input.summaries, snakemake.output[0],
                  N=int(snakemake.wildcards.N), lattice_size=int(snakemake.params.lattice), log=log)
