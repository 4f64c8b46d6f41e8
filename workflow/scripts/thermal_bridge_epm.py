"""Rule `thermal_bridge_epm`: the thermal EPM at T built from the particle blocks of the glasses
quenched from T (:func:`glass2epm.thermal.task.bridge_epm_stage`)."""

from glass2epm.core.runtime import rule_context
from glass2epm.thermal.task import bridge_epm_stage

with rule_context(snakemake) as log:
    p = snakemake.params.thermal
    params = {"a": p["a"], "equil_events_per_site": p["equil_events_per_site"], "n_origins": p["n_origins"],
              "max_events_per_site": p["max_events_per_site"]}
    T = float(snakemake.wildcards.Tth)
    bridge_epm_stage(list(snakemake.input.blocks), list(snakemake.input.properties), snakemake.output[0],
                     Tp=T, temperatures=[T], L=p["bridge_L"], seeds=range(p["bridge_seeds"]),
                     volume_fraction=p["bridge_volume_fraction"], params=params, log=log)
