"""Rule `minimize`: SWAP MC liquid -> inherent state (FIRE + Newton)."""

from glass2epm.core.runtime import Progress, rule_context
from glass2epm.prepare.tasks import minimise_liquid

with rule_context(snakemake) as log:
    glass, res = minimise_liquid(
        snakemake.input[0], glass_path=snakemake.output.glass, ftol=snakemake.params.ftol,
        threads=snakemake.threads, summary_path=snakemake.output.summary,
        provenance={"rule": "minimize"}, progress=Progress(log, "minimize", every=5),
    )
    log.info("converged: %s", res)
