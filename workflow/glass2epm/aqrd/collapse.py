"""The paper's rescaling tested in finite dimension (agoritsas-global-shear-vs-random-forcing, Eq. 36).

In infinite dimension AQRD under a field c and AQS collapse when the AQRD strain and
stress are rescaled as γ_shear = γ̃√κ, σ_AQS = Σ/√κ with κ = 𝔉/ℓ² = μ_AQRD/μ_AQS (Eqs.
34–36). Here κ is measured: κ_𝔉 = 𝔉/𝔉_shear on the interacting pairs
(:func:`glass2epm.aqrd.forcing.measure_frak_f`, the estimator the rescaling prescribes)
and, independently, κ_μ = ⟨μ_c⟩/⟨μ_AQS⟩ from the linear responses (ratio of sample means). The sample-averaged
curves are rescaled by κ_𝔉 (mean over the samples of one ξ) and compared with the AQS
ones: the peak of the mean curve and its strain (:func:`glass2epm.analysis.bootstrap.curve_peak`,
smoothed over ``peak_window``), the steady stress (mean over rescaled strain ≥
``steady_from``), the mean rescaled stress drop |ΔΣ|/√κ and the mean rescaled strain
between events Δγ√κ; 95 % percentile bootstrap intervals over samples. ``relative`` is
value/AQS − 1: the finite-d deviation. Units: stress ε/λ^d, strain dimensionless.
"""

from __future__ import annotations

import numpy as np

from glass2epm.analysis.bootstrap import bootstrap_ci, curve_peak
from glass2epm.aqs.statistics import loading_curves

QUANTITIES = ("peak_stress", "peak_strain", "steady_stress", "mean_drop", "mean_interval", "kappa")


def _curves(series_list, kappa, dx, x_max=None):
    """Mean-curve inputs on the loading grid, cut at rescaled strain ``x_max`` (the range
    every compared forcing reaches, so that peaks and windows refer to the same strains)."""
    grid, C = loading_curves(series_list, dx=dx)
    r = np.sqrt(kappa)
    if x_max is not None:
        keep = grid * r <= x_max * (1 + 1e-9)
        grid, C = grid[keep], C[:, keep]
    return grid, C, grid * r, C / r


def rescaled_range(series_list, kappa) -> float:
    """The largest rescaled strain γ√κ that every series of one forcing reaches."""
    return min(float(np.max(np.abs(np.asarray(c["strain"], dtype=float)))) for c in series_list) * np.sqrt(kappa)


def _events(series_list, r, x_max=None):
    """Per-sample mean rescaled stress drop and strain between events (events at rescaled
    strain ≤ ``x_max``)."""
    drops, gaps = [], []
    for cols in series_list:
        ev = np.asarray(cols["event"], dtype=bool)
        if x_max is not None:
            ev = ev & (np.abs(np.asarray(cols["strain"], dtype=float)) * r <= x_max * (1 + 1e-9))
        s = np.asarray(cols["loaded_stress"], dtype=float)
        g = np.asarray(cols["strain"], dtype=float)
        k = np.flatnonzero(ev)
        d = -(s[k] - s[k - 1]) / r if k.size else np.array([])
        drops.append(float(np.mean(d)) if d.size else np.nan)
        gaps.append(float(np.mean(np.diff(g[k]))) * r if k.size > 1 else np.nan)
    return np.array(drops), np.array(gaps)


def sample_statistics(series_list, kappa, *, dx, steady_from, peak_window, seed=0, x_max=None) -> dict:
    """{quantity: (value, lo, hi)} for one forcing after the Eq. 36 rescaling by ``kappa``,
    on rescaled strains ≤ ``x_max``."""
    _, _, xs, ys = _curves(series_list, kappa, dx, x_max)
    # the rescaled grid is uniform: curve_peak applies
    pk = curve_peak(ys, xs, peak_window, seed=seed)
    n = ys.shape[0]
    idx = np.arange(n, dtype=float)

    def peak_strain(ii):
        return curve_peak(ys[ii.astype(int)], xs, peak_window, n_boot=1).x

    def steady(ii):
        sel = xs >= steady_from
        return float(ys[ii.astype(int)][:, sel].mean()) if sel.any() else np.nan

    out = {"peak_stress": (pk.value, *pk.ci)}
    if n > 1:
        e = bootstrap_ci(idx, peak_strain, resample="points", n_boot=400, seed=seed)
        out["peak_strain"] = (pk.x, *e.ci)
        e = bootstrap_ci(idx, steady, resample="points", n_boot=400, seed=seed)
        out["steady_stress"] = (e.value, *e.ci)
    else:
        out["peak_strain"] = (pk.x, pk.x, pk.x)
        v = steady(idx)
        out["steady_stress"] = (v, v, v)
    drops, gaps = _events(series_list, np.sqrt(kappa), x_max)
    for name, v in (("mean_drop", drops), ("mean_interval", gaps)):
        v = v[np.isfinite(v)]
        if v.size > 1:
            e = bootstrap_ci(v, np.mean, resample="points", n_boot=1000, seed=seed)
            out[name] = (e.value, *e.ci)
        else:
            m = float(v.mean()) if v.size else np.nan
            out[name] = (m, m, m)
    return out


def rescaled_curves(series_list, kappa, dx, x_max=None) -> dict:
    grid, C, xs, ys = _curves(series_list, kappa, dx, x_max)
    n = C.shape[0]
    err = C.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(C.shape[1])
    return {"strain": grid, "stress": C.mean(axis=0), "stress_err": err, "rescaled_strain": xs,
            "rescaled_stress": ys.mean(axis=0), "n_samples": np.full(grid.size, n)}
