"""Rule `band_growth`: w(γ) and its power-law exponent with CI, particles and EPM (Fig. 7b, d)."""

import numpy as np

from glass2epm.core import io
from glass2epm.bands.growth import growth
from glass2epm.core.schemas import BAND_WIDTHS
from glass2epm.core.runtime import rule_context


def pooled(path):
    """Mean width per strain over replicas (single bands only)."""
    t = io.read_table(path, BAND_WIDTHS)
    per = {}
    for g, w, n in zip(t["strain"], t["width_scaled"], t["n_bands"]):
        if n == 1 and np.isfinite(w):
            per.setdefault(float(g), []).append(float(w))
    strains = np.array(sorted(per))
    return {"strain": strains, "width_scaled": np.array([np.mean(per[g]) for g in strains]),
            "n_bands": np.ones(len(strains), int), "n": np.array([len(per[g]) for g in strains])}


with rule_context(snakemake) as log:
    out = {"Tp": float(snakemake.wildcards.Tp)}
    for name, path in [("particles", snakemake.input.particles)] + [
            (f"epm_L{io.read_meta(p)['extra']['L']}", p) for p in snakemake.input.epm]:
        w = pooled(path)
        fit = growth(w)
        out[name] = {"strain": w["strain"].tolist(), "width": w["width_scaled"].tolist(), "n": w["n"].tolist(),
                     "exponent": None if fit is None else float(fit.fit.b),
                     "exponent_ci": None if fit is None else [float(v) for v in fit.fit.b_ci],
                     "note": None if fit is not None else "fewer than 3 strains with a single band"}
        log.info("%s: exponent %s %s", name, out[name]["exponent"], out[name]["exponent_ci"])
    io.write_json(snakemake.output[0], out)
