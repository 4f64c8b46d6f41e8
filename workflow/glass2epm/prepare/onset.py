"""The model's onset temperature from inherent-state energies e_IS(T_p).

Above the onset, inherent states do not depend on the parent temperature
(e_IS sits on a plateau); below it, they deepen as T_p decreases. The onset is
estimated by a least-squares fit of a plateau-plus-linear ("hockey stick")
curve, e_IS = e_∞ for T_p ≥ T_on and e_∞ + s (T_p − T_on) below, with T_on
scanned on a fine grid over the sampled range. Energies in ε, temperatures in ε/k_B.

:func:`onset_interval` adds a bootstrap confidence interval (samples resampled with
replacement, refitted). :data:`MEASURED_ONSET` holds this project's measured onsets
per preset, with their intervals: ``glasses.Tp_units: onset`` in the workflow config
reads parent temperatures in units of them (:func:`absolute_tp`).
"""

from __future__ import annotations

import numpy as np


def estimate_onset(Tp, e) -> dict:
    """Hockey-stick fit of e_IS(T_p); returns T_on, plateau e_∞, slope and rms residual."""
    Tp = np.asarray(Tp, float)
    e = np.asarray(e, float)
    order = np.argsort(Tp)
    Tp, e = Tp[order], e[order]
    if len(np.unique(Tp)) < 3:
        raise ValueError("need at least three distinct T_p to estimate an onset")
    best = None
    for Ton in np.linspace(Tp[0], Tp[-1], 400):
        below = np.minimum(Tp - Ton, 0.0)
        X = np.stack([np.ones_like(Tp), below], axis=1)
        coef, *_ = np.linalg.lstsq(X, e, rcond=None)
        res = float(np.sum((X @ coef - e) ** 2))
        if best is None or res < best[0]:
            best = (res, Ton, coef)
    res, Ton, coef = best
    return {"T_onset": float(Ton), "e_plateau": float(coef[0]), "slope": float(coef[1]),
            "rms": float(np.sqrt(res / len(e)))}


def onset_interval(Tp, e, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> dict:
    """:func:`estimate_onset` plus a bootstrap interval of T_onset (``level``, percentile
    method over ``n_boot`` resamples of the (T_p, e_IS) samples; resamples with fewer than
    three distinct T_p are redrawn)."""
    Tp = np.asarray(Tp, float)
    e = np.asarray(e, float)
    fit = estimate_onset(Tp, e)
    rng = np.random.default_rng(seed)
    vals = []
    while len(vals) < n_boot:
        k = rng.integers(0, len(Tp), len(Tp))
        if len(np.unique(Tp[k])) < 3:
            continue
        vals.append(estimate_onset(Tp[k], e[k])["T_onset"])
    lo, hi = np.quantile(vals, [(1 - level) / 2, (1 + level) / 2])
    return {**fit, "T_onset_ci": [float(lo), float(hi)], "ci_level": level, "n_boot": n_boot}


#: Onset temperatures (ε/k_B) measured by this project's ``onset`` stage (N = 500,
#: SWAP MC glasses at 9 T_p × 3 seeds, :func:`onset_interval`), with their 95 %
#: bootstrap intervals. ``glasses.Tp_units: onset`` uses them unless ``glasses.T_onset``
#: gives another value. Re-measure with the ``onset`` rule (results/onset.parquet holds
#: the fit and interval of each run).
MEASURED_ONSET: dict[str, dict] = {
    # 9 T_p (0.5 … 3.0) × 3 seeds, N = 500, 20 000 SWAP sweeps each (the default config's
    # swap_mc); e_IS still rises between T_p = 1 and 2, hence the wide interval
    "lerner-poly2d": {"T_onset": 1.67, "T_onset_ci": [1.08, 1.93], "N": 500,
                      "samples": "T_p = 0.5, 0.6, 0.7, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0 x seeds 1, 2, 3"},
}


def absolute_tp(values, units: str, preset: str, T_onset: float | None = None) -> list[float]:
    """Parent temperatures in ε/k_B from config values in ``units``: ``absolute`` (as
    given) or ``onset`` (multiples of T_onset: ``T_onset`` if given, else the preset's
    measured onset). Results are rounded to 0.01, the resolution of the results paths
    (T_p is written with two decimals), so the run uses exactly the T_p its path names."""
    if units == "absolute":
        return [float(v) for v in values]
    if units != "onset":
        raise ValueError(f"glasses.Tp_units must be 'absolute' or 'onset', got {units!r}")
    if T_onset is None:
        if preset not in MEASURED_ONSET:
            raise ValueError(
                f"glasses.Tp_units: onset needs the onset temperature of preset {preset!r}: "
                f"none is stored (known: {sorted(MEASURED_ONSET)}); set glasses.T_onset "
                "(ε/k_B), e.g. from results/onset.parquet of the onset rule"
            )
        T_onset = MEASURED_ONSET[preset]["T_onset"]
    if not T_onset > 0:
        raise ValueError(f"glasses.T_onset must be positive, got {T_onset!r}")
    out = [round(float(v) * float(T_onset), 2) for v in values]
    if any(t <= 0 for t in out):
        raise ValueError(f"glasses.Tp (in units of T_onset = {T_onset:g}) gives T_p = {out}: "
                         "every T_p must be at least 0.01 after rounding")
    return out
