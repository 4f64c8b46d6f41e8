"""Rule `activity`: D2min activity between successive AQS snapshots (Falk-Langer), and the
accumulated activity maps at the band-analysis strains."""

from glass2epm.aqs import activity
from glass2epm.bands import growth
from glass2epm.core import io
from glass2epm.aqs.engine import iter_snapshots
from glass2epm.yieldstress.cavity import mean_spacing
from glass2epm.core.runtime import rule_context
from glass2epm.core import schemas

with rule_context(snakemake) as log:
    p = snakemake.params.activity
    snaps = list(iter_snapshots(snakemake.input[0]))
    first = snaps[0]
    d = mean_spacing(first)
    res = activity.accumulate_activity(snaps, rcut=p["rcut"] * d, threshold=p["threshold"])
    log.info("%d windows, %d particles ever active, rcut = %.3f", len(res.strains) - 1,
             int((res.n_active > 0).sum()), p["rcut"] * d)
    activity.write_activity(snakemake.output.activity, res, model=first.model, seed=first.seed,
                            provenance={"rule": "activity"},
                            extra={"Tp": first.Tp, "map_strain": p["map_strain"]})
    cols = growth.from_d2min(res, snakemake.params.strains)
    io.write_table(snakemake.output.series, schemas.ACTIVITY_SERIES, cols, model=first.model, box=first.box,
                   seed=first.seed, extra={"Tp": first.Tp, "box_side": float(first.box.h[0, 0]),
                                           "length_unit": "lambda", "scale": d, "source": "particles"})
