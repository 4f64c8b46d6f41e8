"""Rule `epm_compare`: peak and steady-state stresses per T_p, particles against EPM (Fig. 5c inset).

The EPM lattice compared is ``params.lattice`` (the one matched to the particle box,
or the largest); the peak is the maximum of the sample-averaged, smoothed curve for
both (``glass2epm.analysis.stats.curve_peak``, stored by the aqs_statistics and epm_run rules).
"""

import numpy as np

from glass2epm.core import io
from glass2epm.core.schemas import AQS_STATISTICS
from glass2epm.core.schemas import EPM_SUMMARY
from glass2epm.core.schemas import EPM_COMPARE
from glass2epm.core.runtime import rule_context


def mean_err(v):
    v = np.asarray(v, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.nan, np.nan
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else 0.0


def curve_peak(meta, path):
    pk = (meta.get("extra") or {}).get("mean_curve_peak") or ((meta.get("extra") or {}).get("pooled") or {}).get(
        "mean_curve_peak")
    if pk is None:
        raise ValueError(f"{path}: no mean_curve_peak in the metadata (rerun the rule that wrote it)")
    return pk


with rule_context(snakemake) as log:
    cols = {k: [] for k in EPM_COMPARE.columns}
    windows = set()

    def add(Tp, source, size, peak, sample_peaks, steady):
        (sm, se) = mean_err(steady)
        cols["Tp"].append(Tp)
        cols["source"].append(source)
        cols["size"].append(int(size))
        cols["peak_stress"].append(float(peak["value"]))
        cols["peak_err"].append(float(peak["stderr"]))
        cols["peak_strain"].append(float(peak["x"]))
        cols["sample_peak_stress"].append(mean_err(sample_peaks)[0])
        cols["steady_stress"].append(sm)
        cols["steady_err"].append(se)
        windows.add(float(peak["window"]))

    N = int(snakemake.wildcards.N)
    for path in snakemake.input.particles:
        t = io.read_table(path, AQS_STATISTICS)
        add(float(t.meta["extra"]["Tp"]), "particles", N, curve_peak(t.meta, path), t["peak_stress"],
            t["steady_stress"])
    L = int(snakemake.params.lattice)
    for path in snakemake.input.summaries:
        ex = io.read_meta(path)["extra"]
        if int(ex["L"]) != L:
            continue
        t = io.read_table(path, EPM_SUMMARY)
        add(float(ex["Tp"]), f"epm_{ex['method']}", L, curve_peak(t.meta, path), t["peak_stress"],
            t["steady_stress"])
    for row in zip(*cols.values()):
        log.info("%s", row)
    io.write_table(snakemake.output[0], EPM_COMPARE, {k: np.asarray(v) for k, v in cols.items()},
                   extra={"lattice": L, "N": N, "peak_window": sorted(windows)})
