"""One task function per shear-band stage (Sec. V B, Figs. 6, 7, 9, App. D).

Each takes paths and exactly the parameters its stage uses, writes the stage's outputs and
returns what it wrote (for logging). The rule scripts (``workflow/scripts/band_*.py``,
``plasticity_maps.py``) and the ``glass2epm`` subcommands (:mod:`glass2epm.commands.bands`)
both call these functions, so they cannot drift apart.

* :func:`band_profiles`: band orientation, position, width and centred profile at every
  strain of a set of activity series (replicas), profiles averaged over replicas by strain.
* :func:`band_growth`: w(γ) and its growth exponent with CI (Fig. 7b, d).
* :func:`band_size_scaling`: w(L) at a fixed strain against the EPM lattice size (Fig. 9).
* :func:`plasticity_maps`: active fraction and band detection at the map strain (Fig. 6).
"""

from __future__ import annotations

import logging

import numpy as np

from glass2epm.bands import detect
from glass2epm.bands.growth import analyse_series, growth, read_series_table
from glass2epm.core import io
from glass2epm.core.schemas import BAND_PROFILES, BAND_SIZE, BAND_WIDTHS

log = logging.getLogger("glass2epm")


def _profiles_of(paths, label):
    """(width columns, replica-averaged profile columns, metadata) of activity series ``paths``."""
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


def band_profiles(series, widths_out, profiles_out, *, label: str = "") -> dict:
    """Bands of the activity series ``series`` (replicas of one system): writes the
    ``band_widths`` table (one row per replica and strain) and the ``band_profiles`` table
    (centred profiles averaged over replicas at each strain). Returns the metadata."""
    w, pr, meta = _profiles_of(list(series), label)
    io.write_table(widths_out, BAND_WIDTHS, w, extra=meta)
    io.write_table(profiles_out, BAND_PROFILES, pr, extra=meta)
    return meta


def _pooled_widths(path):
    """Mean width per strain over replicas (single bands only)."""
    t = io.read_table(path, BAND_WIDTHS)
    per = {}
    for g, w, n in zip(t["strain"], t["width_scaled"], t["n_bands"]):
        if n == 1 and np.isfinite(w):
            per.setdefault(float(g), []).append(float(w))
    strains = np.array(sorted(per))
    return {"strain": strains, "width_scaled": np.array([np.mean(per[g]) for g in strains]),
            "n_bands": np.ones(len(strains), int), "n": np.array([len(per[g]) for g in strains])}


def band_growth(particles, epm, Tp: float, output) -> dict:
    """w(γ) pooled over replicas and its power-law exponent with CI (Fig. 7b, d), for the
    particle ``band_widths`` table and each EPM one (``epm``: paths, L from their metadata);
    writes the JSON ``output`` and returns its content."""
    out = {"Tp": float(Tp)}
    for name, path in [("particles", particles)] + [(f"epm_L{io.read_meta(p)['extra']['L']}", p) for p in epm]:
        w = _pooled_widths(path)
        fit = growth(w)
        out[name] = {"strain": w["strain"].tolist(), "width": w["width_scaled"].tolist(), "n": w["n"].tolist(),
                     "exponent": None if fit is None else float(fit.fit.b),
                     "exponent_ci": None if fit is None else [float(v) for v in fit.fit.b_ci],
                     "note": None if fit is not None else "fewer than 3 strains with a single band"}
        log.info("%s: exponent %s %s", name, out[name]["exponent"], out[name]["exponent_ci"])
    io.write_json(output, out)
    return out


def band_size_scaling(widths, strain: float, Tp: float, output) -> dict:
    """Band width at the strain nearest ``strain`` against the EPM lattice size L (Fig. 9,
    App. D): mean over replicas with a single band and its standard error, one row per L of
    the ``band_widths`` tables ``widths``; writes the ``band_size`` table ``output``."""
    g0 = float(strain)
    per = {}
    for p in widths:
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
    io.write_table(output, BAND_SIZE, cols, extra={"Tp": float(Tp)})
    return cols


def _at_strain(path, g0):
    """(x, y, activity, L, strain, scale) of the map of an activity series nearest ``g0``."""
    t, L = read_series_table(path)
    s = t["strain"]
    g = s[np.argmin(np.abs(s - g0))]
    sel = s == g
    scale = float((t.meta.get("extra") or {}).get("scale", 1.0))
    return t["x"][sel], t["y"][sel], t["activity"][sel], L, float(g), scale


def plasticity_maps(particles, epm, map_strain: float, Tp: float, output) -> dict:
    """Accumulated plasticity at ``map_strain`` (Fig. 6): the active fraction and the band
    (binary activity) of each particle activity series and of the EPM one; writes the JSON
    ``output`` and returns its content."""
    g0 = float(map_strain)
    out = {"Tp": float(Tp), "map_strain": g0}
    for name, paths in (("particles", list(particles)), ("epm", [epm])):
        rows = []
        for p in paths:
            x, y, a, L, g, scale = _at_strain(p, g0)
            r = detect.detect_band(x, y, a, L, scale=scale, binary=True)
            rows.append({"strain": g, "active_fraction": float(np.mean(a > 0)), **r.to_dict()})
        out[name] = rows
        log.info("%s: %s", name, [(r["active_fraction"], r["orientation"]) for r in rows])
    io.write_json(output, out)
    return out
