"""Rule `minimize`: SWAP MC liquid -> inherent state (FIRE + Newton)."""

from dataclasses import asdict

from glass2epm.core import io
from glass2epm.mechanics.minimize import minimize
from glass2epm.core.runtime import Progress, rule_context

with rule_context(snakemake) as log:
    conf = io.read_configuration(snakemake.input[0])
    glass, res = minimize(
        conf,
        ftol=snakemake.params.ftol,
        threads=snakemake.threads,
        progress=Progress(log, "minimize", every=5),
    )
    log.info("converged: %s", res)
    io.write_configuration(snakemake.output.glass, glass, provenance={"rule": "minimize"})
    io.write_json(snakemake.output.summary, asdict(res))
