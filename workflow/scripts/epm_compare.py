"""Rule `epm_compare`: peak and steady-state stresses per T_p, particles against EPM (Fig. 5c inset)."""

import numpy as np

from glass2epm import io
from glass2epm.aqs import AQS_STATISTICS
from glass2epm.epmcal import EPM_SUMMARY
from glass2epm.figdata import EPM_COMPARE
from glass2epm.runtime import rule_context


def mean_err(v):
    v = np.asarray(v, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.nan, np.nan
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else 0.0


with rule_context(snakemake) as log:
    cols = {k: [] for k in EPM_COMPARE.columns}

    def add(Tp, source, peak, steady):
        cols["Tp"].append(Tp)
        cols["source"].append(source)
        (pm, pe), (sm, se) = mean_err(peak), mean_err(steady)
        cols["peak_stress"].append(pm)
        cols["peak_err"].append(pe)
        cols["steady_stress"].append(sm)
        cols["steady_err"].append(se)

    for path in snakemake.input.particles:
        t = io.read_table(path, AQS_STATISTICS)
        add(float(t.meta["extra"]["Tp"]), "particles", t["peak_stress"], t["steady_stress"])
    # EPM: the largest lattice of each method (the paper compares at L = 40)
    best = {}
    for path in snakemake.input.summaries:
        ex = io.read_meta(path)["extra"]
        key = (ex["method"], ex["Tp"])
        if key not in best or ex["L"] > best[key][0]:
            best[key] = (ex["L"], path)
    for (method, Tp), (L, path) in sorted(best.items()):
        t = io.read_table(path, EPM_SUMMARY)
        add(float(Tp), f"epm_{method}", t["peak_stress"], t["steady_stress"])
    for row in zip(*cols.values()):
        log.info("%s", row)
    io.write_table(snakemake.output[0], EPM_COMPARE, {k: np.asarray(v) for k, v in cols.items()})
