"""Rule `activity`: D2min activity between successive AQS snapshots (Falk-Langer), and the
accumulated activity maps at the band-analysis strains."""

from glass2epm.aqs.tasks import activity_task
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    p = snakemake.params.activity
    activity_task(snakemake.input[0], snakemake.output.activity, snakemake.output.series,
                  rcut=p["rcut"], threshold=p["threshold"], map_strain=p["map_strain"],
                  strains=snakemake.params.strains, log=log)
