"""Rule `activity`: D2min activity between successive AQS snapshots (Falk-Langer)."""

from glass2epm import activity, io
from glass2epm.aqs import iter_snapshots
from glass2epm.cavity import mean_spacing
from glass2epm.runtime import rule_context

with rule_context(snakemake) as log:
    p = snakemake.params.activity
    snaps = list(iter_snapshots(snakemake.input[0]))
    first = snaps[0]
    rcut = p["rcut"] * mean_spacing(first)
    res = activity.accumulate_activity(snaps, rcut=rcut, threshold=p["threshold"])
    log.info("%d windows, %d particles ever active, rcut = %.3f", len(res.strains) - 1,
             int((res.n_active > 0).sum()), rcut)
    activity.write_activity(snakemake.output[0], res, model=first.model, seed=first.seed,
                            provenance={"rule": "activity"},
                            extra={"Tp": first.Tp, "map_strain": p["map_strain"]})
