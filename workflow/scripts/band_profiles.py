"""Rule `band_profiles`: band orientation, position, width and the centred profile at every strain,
for the particle samples and for each EPM lattice of one T_p (replicas averaged by strain)."""

import numpy as np

from glass2epm.core import io
from glass2epm.bands.growth import analyse_series, read_series_table
from glass2epm.core.schemas import BAND_PROFILES, BAND_WIDTHS
from glass2epm.core.runtime import rule_context


def analyse(paths, log, label):
    widths, profiles = [], []
    extra = {}
    for p in paths:
        t, L = read_series_table(p)
        extra = t.meta.get("extra") or {}
        w, prof, _ = analyse_series(t.columns, L, scale=float(extra.get("scale", 1.0)))
        widths.append(w)
        profiles.append(prof)
        for row in zip(w["strain"], w["orientation"], w["width_scaled"], w["n_bands"]):
            log.info("%s %s: strain %.3g %s width %.3g (n_bands %d)", label, p, *row)
    wcols = {k: np.concatenate([w[k] for w in widths]) for k in BAND_WIDTHS.columns}
    wcols["replica"] = np.concatenate([np.full(len(w["strain"]), k) for k, w in enumerate(widths)])
    # average the centred profiles of the replicas at each (strain, distance)
    allp = {k: np.concatenate([pr[k] for pr in profiles]) for k in BAND_PROFILES.columns}
    key = np.stack([allp["strain"], np.round(allp["d"], 9)], axis=1)
    if len(key):
        uniq, inv = np.unique(key, axis=0, return_inverse=True)
        prof = np.bincount(inv.ravel(), weights=allp["profile"]) / np.bincount(inv.ravel())
        pcols = {"strain": uniq[:, 0], "d": uniq[:, 1], "profile": prof}
    else:
        pcols = {k: np.empty(0) for k in BAND_PROFILES.columns}
    meta = {k: extra.get(k) for k in ("Tp", "source", "length_unit", "scale", "L", "box_side")}
    meta["replicas"] = len(paths)
    return wcols, pcols, meta


with rule_context(snakemake) as log:
    out = snakemake.output
    w, pr, meta = analyse(snakemake.input.particles, log, "particles")
    io.write_table(out.particles_widths, BAND_WIDTHS, w, extra=meta)
    io.write_table(out.particles_profiles, BAND_PROFILES, pr, extra=meta)
    for L, pw, pp in zip(snakemake.params.lattices, out.epm_widths, out.epm_profiles):
        paths = [p for p in snakemake.input.epm if f"epm_bands_L{L}_r" in p]
        w, pr, meta = analyse(paths, log, f"epm L={L}")
        io.write_table(pw, BAND_WIDTHS, w, extra=meta)
        io.write_table(pp, BAND_PROFILES, pr, extra=meta)
