"""Rule `swap_mc`: equilibrate a liquid at T_p with SWAP Monte Carlo (paper ref. [60]); a killed
job resumes bitwise from its checkpoint (saved every 10 minutes)."""

from glass2epm.core.runtime import rule_context
from glass2epm.prepare.tasks import equilibrate_liquid, progress_line

with rule_context(snakemake) as log:
    wc, p = snakemake.wildcards, snakemake.params
    conf, res = equilibrate_liquid(
        preset=wc.preset, dim=int(wc.dim), N=int(wc.N), Tp=float(wc.Tp), seed=int(wc.seed),
        sizes=p.sizes, sweeps=p.sweeps, tune_sweeps=p.tune_sweeps, p_swap=p.p_swap, check=p.check,
        tau_fraction=p.tau_fraction, liquid_path=snakemake.output.liquid,
        series_path=snakemake.output.series, provenance={"rule": "swap_mc"},
        progress=lambda sweep, info: log.info("%s", progress_line(sweep, info)),
        checkpoint=p.checkpoint,
    )
    log.info("%s", res.message)
