"""Rule `swap_mc`: equilibrate a liquid at T_p with SWAP Monte Carlo (paper ref. [60])."""

from glass2epm.core import io
from glass2epm.prepare import swapmc
from glass2epm.core.model import Model
from glass2epm.core.runtime import Progress, rule_context

with rule_context(snakemake) as log:
    wc, p = snakemake.wildcards, snakemake.params
    model = Model.from_preset(wc.preset, dim=int(wc.dim))
    liquid = swapmc.random_liquid(model, int(wc.N), seed=int(wc.seed), sizes=p.sizes)
    conf, res = swapmc.run_swap_mc(
        liquid,
        T=float(wc.Tp),
        sweeps=p.sweeps + p.tune_sweeps,
        tune_sweeps=p.tune_sweeps,
        seed=int(wc.seed),
        p_swap=p.p_swap,
        check_equilibration=p.check,
        tau_fraction=p.tau_fraction,
        progress=lambda sweep, info: log.info("sweep %d %s", sweep, info),
    )
    log.info("%s", res.message)
    swapmc.write_series(snakemake.output.series, res, conf)
    io.write_configuration(snakemake.output.liquid, conf, provenance={"rule": "swap_mc"})
