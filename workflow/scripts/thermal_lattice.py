"""Rule `thermal_lattice`: thermal-EPM runs at one (L, T) (:func:`glass2epm.thermal.task.lattice_stage`)."""

from glass2epm.core.runtime import rule_context
from glass2epm.thermal.task import lattice_stage

with rule_context(snakemake) as log:
    p, wc, out = snakemake.params.thermal, snakemake.wildcards, snakemake.output
    params = {"kicks": p["kicks"], "alpha": p["alpha"], "a": p["a"], "n_origins": p["n_origins"],
              "equil_events_per_site": p["equil_events_per_site"], "max_events_per_site": p["max_events_per_site"]}
    lattice_stage(out.runs, out.persistence, out.blocks, L=int(wc.Lth), T=float(wc.Tth), seeds=range(p["seeds"]),
                  params=params, series_out=out.series, log=log)
