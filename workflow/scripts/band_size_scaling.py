"""Rule `band_size_scaling`: band width at a fixed strain against EPM lattice size (Fig. 9, App. D)."""

import numpy as np

from glass2epm.core import io
from glass2epm.core.schemas import BAND_WIDTHS
from glass2epm.core.schemas import BAND_SIZE
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    g0 = float(snakemake.params.strain)
    per = {}
    for p in snakemake.input:
        t = io.read_table(p, BAND_WIDTHS)
        L = int(t.meta["extra"]["L"])
        for rep in np.unique(t["replica"]):
            sel = t["replica"] == rep
            k = int(np.argmin(np.abs(t["strain"][sel] - g0)))
            if t["n_bands"][sel][k] == 1 and np.isfinite(t["width_scaled"][sel][k]):
                per.setdefault(L, []).append(float(t["width_scaled"][sel][k]))
    sizes = sorted(per)
    cols = {"source": np.array(["epm"] * len(sizes)), "size": np.array(sizes, float),
            "box": np.array(sizes, float), "strain": np.full(len(sizes), g0),
            "width": np.array([np.mean(per[L]) for L in sizes]),
            "width_err": np.array([np.std(per[L], ddof=1) / np.sqrt(len(per[L])) if len(per[L]) > 1 else np.nan
                                   for L in sizes])}
    log.info("w(L) at strain %g: %s", g0, dict(zip(sizes, cols["width"])))
    io.write_table(snakemake.output[0], BAND_SIZE, cols, extra={"Tp": float(snakemake.wildcards.Tp)})
