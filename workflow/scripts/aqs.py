"""Rule `aqs`: quasistatic shear of one glass (resumes from its checkpoint if one exists)."""

from glass2epm.aqs.tasks import AQSParams, shear_task
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    wc, p = snakemake.wildcards, snakemake.params.aqs
    protocol = AQSParams.build(
        p["step"],
        snakemake.params.strain,
        direction=wc.direction,
        geometry=wc.geometry,
        snapshot_every=p["snapshot_every"],
        event_threshold=p["event_threshold"],
        displacement_threshold=p["displacement_threshold"],
        event_displacement=p["event_displacement"],
    )
    res, summary = shear_task(
        snakemake.input[0],
        snakemake.output.series,
        protocol,
        steady_from=p["steady_from"],
        summary=snakemake.output.summary,
        checkpoint=snakemake.params.checkpoint,
        threads=snakemake.threads,
        progress=lambda info: log.info("%s", info),
    )
    log.info("summary: %s; stats: %s", summary, res.stats)
