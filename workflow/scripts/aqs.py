"""Rule `aqs`: quasistatic shear of one glass (resumes from its checkpoint if one exists)."""

from glass2epm.core import io
from glass2epm.aqs.engine import run_aqs, summarize
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    wc, p = snakemake.wildcards, snakemake.params.aqs
    res = run_aqs(
        io.read_configuration(snakemake.input[0]),
        step=p["step"],
        strain_max=snakemake.params.strain,
        direction=wc.direction,
        geometry=wc.geometry,
        snapshot_every=p["snapshot_every"],
        event_threshold=p["event_threshold"],
        displacement_threshold=p["displacement_threshold"],
        output=snakemake.output.series,
        checkpoint=snakemake.params.checkpoint,
        threads=snakemake.threads,
        progress=lambda info: log.info("%s", info),
    )
    summary = summarize(res.series, window=(p["steady_from"], None))
    log.info("summary: %s; stats: %s", summary, res.stats)
    io.write_json(snakemake.output.summary, {**summary, "stats": res.stats})
