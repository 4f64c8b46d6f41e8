"""Rule `aqrd_sine`: the sine field's μ_c/(μ_AQS A²k²/2) against N on instantaneous quenches
(:func:`glass2epm.aqrd.sine.sine_scan_task`)."""

from glass2epm.aqrd.sine import sine_scan_task
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    m, a = snakemake.params.model, snakemake.params.aqrd
    sine_scan_task(snakemake.output[0], preset=m["preset"], dim=m["dim"], sizes=a["sine_N"],
                   seeds=range(1, a["sine_seeds"] + 1), modes=a["sine_modes"], amplitude=a["amplitude"], log=log)
