"""Shear bands along the strain: activity series, profiles, growth and size scaling
(Sec. V B, Figs. 6, 7, 9, Appendix D).

The *plastic activity* of a particle (or EPM block) at strain γ is the number of
plastic events it took part in up to γ: for particles, the number of 1 %-strain
windows with D²min > 0.01 (:mod:`glass2epm.aqs.activity`); for blocks, the number of
failures. An ``activity_series`` table holds such maps at a list of strains in
long format (one row per particle/block and strain). Band detection and the
width definition are those of :mod:`glass2epm.bands.detect` (full width at half maximum
above background of the profile across the band; orientation decided on the
last, most developed map and kept for all strains).

Lengths: particles in λ (and in particle diameters d = (N/V)^{−1/dim}), blocks
in block units (one block = ξ = 5d).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glass2epm.analysis.stats import PowerLawFit, powerlaw_fit
from glass2epm.bands import detect
from glass2epm.core.io import read_table
from glass2epm.core.schemas import ACTIVITY_SERIES, BAND_PROFILES, BAND_WIDTHS


def from_d2min(result, strains) -> dict:
    """Activity series of a D²min :class:`~glass2epm.aqs.activity.ActivityResult` at ``strains``.

    Positions are the reference (unstrained) ones; strains beyond the last window are dropped.
    """
    last = float(result.strains[-1])
    cols = {k: [] for k in ACTIVITY_SERIES.columns}
    x = result.x_ref
    for g in strains:
        if g > last + 1e-12:
            continue
        c = result.count_until(g)
        cols["strain"].append(np.full(len(c), float(g)))
        cols["x"].append(x[:, 0])
        cols["y"].append(x[:, 1])
        cols["activity"].append(np.asarray(c, float))
    if not cols["strain"]:
        raise ValueError(f"no requested strain {list(strains)} within the activity record (≤ {last})")
    return {k: np.concatenate(v) for k, v in cols.items()}


def from_epm_snapshots(snapshots: dict) -> dict:
    """Activity series of EPM block activity snapshots {strain: {"activity": (L, L)}}."""
    if not snapshots:
        raise ValueError("no EPM activity snapshots")
    cols = {k: [] for k in ACTIVITY_SERIES.columns}
    for g in sorted(snapshots):
        a = np.asarray(snapshots[g]["activity"], float)
        L = a.shape[0]
        i, j = np.meshgrid(np.arange(L), np.arange(L), indexing="ij")  # EPM fields are [x, y]
        cols["strain"].append(np.full(a.size, float(g)))
        cols["x"].append(i.ravel().astype(float))
        cols["y"].append(j.ravel().astype(float))
        cols["activity"].append(a.ravel())
    return {k: np.concatenate(v) for k, v in cols.items()}


def read_series_table(path):
    """An activity_series table with its box side (``extra.box_side``)."""
    t = read_table(path, ACTIVITY_SERIES)
    L = (t.meta.get("extra") or {}).get("box_side")
    if L is None:
        raise ValueError(f"{path}: activity series without extra.box_side")
    return t, float(L)


def analyse_series(cols: dict, L: float, scale: float = 1.0, orientation: str | None = None, **kw):
    """Band at every strain of an activity series: (width columns, profile columns, results)."""
    strains = np.unique(cols["strain"])
    fields = []
    for g in strains:
        sel = cols["strain"] == g
        fields.append((cols["x"][sel], cols["y"][sel], cols["activity"][sel]))
    last = detect.detect_band(*fields[-1], L, orientation=orientation, scale=scale, **kw)
    if last.orientation == "none" and orientation is None:
        # no band in the most developed map (ductile flow, Fig. 6): report each map as it is
        results = [detect.detect_band(*f, L, scale=scale, **kw) for f in fields]
    else:
        results = track_band(fields, L, orientation=orientation or last.orientation, scale=scale, **kw)
    widths = {k: [] for k in BAND_WIDTHS.columns}
    prof = {k: [] for k in BAND_PROFILES.columns}
    for g, r in zip(strains, results):
        widths["strain"].append(float(g))
        widths["orientation"].append(r.orientation)
        widths["position"].append(np.nan if r.position is None else float(r.position))
        widths["width"].append(np.nan if r.width is None else float(r.width))
        widths["width_scaled"].append(np.nan if r.width is None else float(r.width) / scale)
        widths["n_bands"].append(int(r.n_bands))
        widths["contrast"].append(np.nan if r.contrast is None else float(r.contrast))
        if r.orientation != "none" and r.position is not None:
            d, P = r.centered()
            prof["strain"].append(np.full(len(d), float(g)))
            prof["d"].append(np.asarray(d, float))
            prof["profile"].append(np.asarray(P, float))
    widths = {k: np.asarray(v) for k, v in widths.items()}
    prof = {k: (np.concatenate(v) if v else np.empty(0)) for k, v in prof.items()}
    return widths, prof, results


def growth(widths: dict, xmin: float | None = None):
    """Power-law fit w ∝ γ^b over strains where a single band was found (None if < 3 points)."""
    ok = (widths["n_bands"] == 1) & np.isfinite(widths["width_scaled"]) & (widths["strain"] > 0)
    if ok.sum() < 3:
        return None
    return fit_width(widths["strain"][ok], widths["width_scaled"][ok], xmin=xmin)


# -----------------------------------------------------------------------------
# growth w(γ) and finite-size scaling w(L)


def track_band(fields, L, *, orientation: str | None = None, **kw) -> list:
    """:func:`~glass2epm.bands.detect.detect_band` on a sequence of activity maps [(x, y, activity), ...] (e.g.
    increasing strain γ, Fig. 7a). The orientation, if not given, is decided on
    the LAST map (most developed band) and imposed on all, so that the profiles
    are comparable. Returns the list of BandResult."""
    fields = list(fields)
    if not fields:
        raise ValueError("no activity maps")
    if orientation is None:
        orientation = detect.detect_band(*fields[-1], L, **kw).orientation
        if orientation == "none":
            raise ValueError("no band in the last activity map: cannot track a band")
    return [detect.detect_band(*f, L, orientation=orientation, **kw) for f in fields]


@dataclass
class WidthScaling:
    """w against γ or L with a power-law fit w = c x^b (CI on b)."""

    x: np.ndarray
    w: np.ndarray
    w_err: np.ndarray | None
    n_rep: np.ndarray
    fit: PowerLawFit

    def to_dict(self) -> dict:
        return {"x": self.x.tolist(), "w": self.w.tolist(),
                "w_err": None if self.w_err is None else self.w_err.tolist(),
                "n_rep": self.n_rep.tolist(), "fit": self.fit.to_dict()}


def fit_width(x, widths, *, xmin: float | None = None, xmax: float | None = None, conf: float = 0.95,
              use_errors: bool = True) -> WidthScaling:
    """Power law w = c x^b for w(γ) (Fig. 7b, d: b ≈ 0.25 particles, 0.5 EPM) or
    w(L) (Fig. 9b: b = α ≈ 0.55–0.75), with a t-based CI on b (``stats.powerlaw_fit``).

    ``widths``: one value per x, or one sequence of replicate widths per x (then
    the mean is fitted, with the standard error of the mean as per-point error
    where ≥ 2 replicates exist and ``use_errors``). ``xmin``/``xmax`` restrict the
    fit range (e.g. before the band reaches the box size).
    """
    x = np.asarray(x, dtype=float)
    reps = [np.atleast_1d(np.asarray(wv, dtype=float)).ravel() for wv in widths]
    if len(reps) != x.size:
        raise ValueError(f"{x.size} x values but {len(reps)} width entries")
    reps = [r[np.isfinite(r)] for r in reps]
    n_rep = np.array([r.size for r in reps])
    w = np.array([r.mean() if r.size else np.nan for r in reps])
    err = None
    if use_errors and np.all(n_rep >= 2):
        err = np.array([r.std(ddof=1) / np.sqrt(r.size) for r in reps])
        if np.any(err <= 0):
            err = None
    fit = powerlaw_fit(x, w, err, xmin=xmin, xmax=xmax, conf=conf)
    return WidthScaling(x, w, err, n_rep, fit)
