"""Rule `aqrd`: AQRD of one glass under a Gaussian field of correlation length ξ
(:func:`glass2epm.aqrd.tasks.drive_task`; step and strain in Eq. 36 rescaled units)."""

from glass2epm.aqrd.tasks import drive_task
from glass2epm.aqs.protocol import AQSParams
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    wc, p, a = snakemake.wildcards, snakemake.params.aqrd, snakemake.params.aqs
    step = a["step"] if p["step"] is None else p["step"]  # null: the AQS step (same rescaled resolution)
    protocol = AQSParams.build(step, p["strain"], snapshot_every=0, event_threshold=a["event_threshold"],
                               displacement_threshold=a["displacement_threshold"],
                               event_displacement=a["event_displacement"])
    res, summary = drive_task(snakemake.input[0], snakemake.output.series, protocol, forcing="gaussian",
                              xi=float(wc.xi), seed=1000 * int(wc.seed) + 7, amplitude=p["amplitude"], ell=p["ell"],
                              summary=snakemake.output.summary, threads=snakemake.threads,
                              steady_from=p["steady_from"], rescaled=True)
    log.info("xi %s: mu_c = %.5g, kappa_mu = %.4g, kappa_F = %.4g, slope error %.2e, %d events, %.1f s", wc.xi,
             summary["mu_c"], summary["kappa_mu"], summary["frak_F"]["kappa_F"], summary["slope_relative_error"],
             int(res.series["event"].sum()), res.stats["wall_s"])
