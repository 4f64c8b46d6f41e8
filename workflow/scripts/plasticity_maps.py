"""Rule `plasticity_maps`: accumulated plasticity up to map_strain, particles and EPM (Fig. 6):
active fraction and band detection for each."""

import numpy as np

from glass2epm.bands import detect
from glass2epm.core import io
from glass2epm.bands.growth import read_series_table
from glass2epm.core.runtime import rule_context


def at_strain(path, g0):
    t, L = read_series_table(path)
    s = t["strain"]
    g = s[np.argmin(np.abs(s - g0))]
    sel = s == g
    scale = float((t.meta.get("extra") or {}).get("scale", 1.0))
    return t["x"][sel], t["y"][sel], t["activity"][sel], L, float(g), scale


with rule_context(snakemake) as log:
    g0 = float(snakemake.params.map_strain)
    out = {"Tp": float(snakemake.wildcards.Tp), "map_strain": g0}
    for name, paths in (("particles", list(snakemake.input.particles)), ("epm", [snakemake.input.epm])):
        rows = []
        for p in paths:
            x, y, a, L, g, scale = at_strain(p, g0)
            r = detect.detect_band(x, y, a, L, scale=scale, binary=True)
            rows.append({"strain": g, "active_fraction": float(np.mean(a > 0)), **r.to_dict()})
        out[name] = rows
        log.info("%s: %s", name, [(r["active_fraction"], r["orientation"]) for r in rows])
    io.write_json(snakemake.output[0], out)
