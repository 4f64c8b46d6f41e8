"""Exponents by extreme-value statistics: the pseudogap θ and the mode density α.

Finite-size scaling (Ji et al., Sec. III and Fig. 3): if the N independent local
quantities of a sample have the density P(x) ~ x^θ near zero, the smallest of them
scales as ⟨x_min⟩ ∝ N^(−1/(1+θ)). The same holds for the lowest quasi-localised
frequency, ⟨ω_min⟩ ∝ N^(−1/(1+α)) for D_L(ω) ~ ω^α. :func:`fss_exponent` fits
log⟨v⟩ = a − k log N by weighted least squares over the distinct N (weights: the
inverse variance of log⟨v⟩ from the sample spread), returns e = 1/k − 1, and a
bootstrap confidence interval that resamples the samples within each N.

:func:`density_exponent` is the second route to α: a direct fit of the
participation-filtered D_L(ω) ~ ω^α over (0, ω_c] by maximum likelihood,
α̂ + 1 = n / Σ log(ω_c/ω_i) (the modes with e ≥ e_c, the extended plane waves, removed),
with its robustness to ±20 % in e_c.

Eq. (9) of the paper: α = 3 + 4θ for θ < 1/4, α = 4 otherwise (:func:`alpha_prediction`).
"""

from __future__ import annotations

import numpy as np


def alpha_prediction(theta):
    """α = min(4, 3 + 4θ) (Eq. 9)."""
    return np.minimum(4.0, 3.0 + 4.0 * np.asarray(theta, dtype=float))


def _groups(N, v, what):
    N = np.asarray(N)
    v = np.asarray(v, dtype=float)
    if N.shape != v.shape or N.ndim != 1:
        raise ValueError(f"N and {what} must be 1-D of equal length, got {N.shape} and {v.shape}")
    if not np.all(np.isfinite(v)) or np.any(v <= 0):
        bad = int(np.flatnonzero(~(np.isfinite(v) & (v > 0)))[0])
        raise ValueError(f"{what} must be finite and positive: row {bad} has {v[bad]!r}")
    if not np.all(np.isfinite(N.astype(float))) or np.any(N.astype(float) < 1) or np.any(N != np.round(N)):
        bad = int(np.flatnonzero((N.astype(float) < 1) | (N != np.round(N)))[0])
        raise ValueError(f"N must be a positive integer: row {bad} has {N[bad]!r}")
    sizes = np.unique(N)
    if sizes.size < 2:
        raise ValueError(f"finite-size scaling needs at least two distinct N, got {sizes.tolist()}")
    groups = [v[N == s] for s in sizes]
    if min(g.size for g in groups) < 2:
        s = sizes[int(np.argmin([g.size for g in groups]))]
        raise ValueError(f"finite-size scaling needs at least 2 samples per N: N = {int(s)} has one")
    return sizes.astype(float), groups


def _slope(logN, groups_means, groups_var):
    y = np.log(groups_means)
    w = 1.0 / np.maximum(groups_var, 1e-300)
    X = np.column_stack([np.ones_like(logN), logN])
    W = np.sqrt(w)[:, None]
    coef, *_ = np.linalg.lstsq(X * W, y * W[:, 0], rcond=None)
    return coef[1], coef[0]


def _moments(groups):
    m = np.array([g.mean() for g in groups])
    # variance of log⟨v⟩ by the delta method: var(v)/(n ⟨v⟩²)
    var = np.array([g.var(ddof=1) / g.size for g in groups]) / m**2
    return m, var


def fss_exponent(N, values, *, n_boot: int = 2000, seed: int = 0, level: float = 0.95,
                 what: str = "x_min") -> dict:
    """The exponent e of ⟨v⟩ ∝ N^(−1/(1+e)) (module docstring).

    Returns ``exponent``, ``exponent_ci`` (percentile bootstrap at ``level``), the fitted
    ``slope`` −1/(1+e) and ``prefactor``, and per-N ``sizes``, ``means``, ``counts``."""
    sizes, groups = _groups(N, values, what)
    logN = np.log(sizes)
    m, var = _moments(groups)
    if np.ptp(m) <= 1e-12 * np.max(np.abs(m)):
        raise ValueError(f"⟨{what}⟩ is the same at every N ({m[0]:.6g}): no exponent")
    k, a = _slope(logN, m, var)
    if not k < 0:
        raise ValueError(f"⟨{what}⟩ does not decrease with N (fitted slope {k:.3g}): no exponent")
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(int(n_boot)):
        rs = [g[rng.integers(0, g.size, g.size)] for g in groups]
        mb, vb = _moments(rs)
        kb, _ = _slope(logN, mb, np.where(vb > 0, vb, var))
        if kb < 0:
            boots.append(-1.0 / kb - 1.0)
    boots = np.asarray(boots)
    q = (1 - level) / 2
    ci = [float(np.quantile(boots, q)), float(np.quantile(boots, 1 - q))] if boots.size else [np.nan, np.nan]
    return {
        "exponent": float(-1.0 / k - 1.0),
        "exponent_ci": ci,
        "slope": float(k),
        "prefactor": float(np.exp(a)),
        "sizes": sizes.astype(int).tolist(),
        "means": m.tolist(),
        "counts": [int(g.size) for g in groups],
        "n_boot": int(n_boot),
        "level": float(level),
    }


def fit_theta(N, x_min, **kw) -> dict:
    """θ from ⟨x_min⟩ ∝ N^(−1/(1+θ)): ``theta``, ``theta_ci`` and the fit (see :func:`fss_exponent`)."""
    r = fss_exponent(N, x_min, what="x_min", **kw)
    return {"theta": r.pop("exponent"), "theta_ci": r.pop("exponent_ci"), **r}


def fit_alpha_fss(N, omega_min, **kw) -> dict:
    """α from ⟨ω_min⟩ ∝ N^(−1/(1+α)): ``alpha``, ``alpha_ci`` and the fit."""
    r = fss_exponent(N, omega_min, what="omega_min", **kw)
    return {"alpha": r.pop("exponent"), "alpha_ci": r.pop("exponent_ci"), **r}


def _mle_power(omega, omega_c):
    w = omega[(omega > 0) & (omega <= omega_c)]
    if w.size < 3:
        return np.nan, int(w.size)
    return w.size / np.sum(np.log(omega_c / w)) - 1.0, int(w.size)


def density_exponent(omega, participation, sample, *, omega_c: float, e_c: float,
                     n_boot: int = 2000, seed: int = 0, level: float = 0.95, spread: float = 0.2) -> dict:
    """α of D_L(ω) ~ ω^α on (0, ω_c] from the modes with participation e < ``e_c``.

    ``omega``, ``participation``, ``sample`` (one entry per mode; ``sample`` labels the
    configuration, for the bootstrap, which resamples configurations). Returns
    ``alpha``, ``alpha_ci``, ``n_modes``, and ``alpha_ec_low`` / ``alpha_ec_high``, the
    estimates with e_c × (1 ∓ ``spread``)."""
    omega = np.asarray(omega, dtype=float)
    e = np.asarray(participation, dtype=float)
    sample = np.asarray(sample)
    if not (omega.shape == e.shape == sample.shape):
        raise ValueError("omega, participation and sample must have the same length")
    keep = e < e_c
    alpha, n = _mle_power(omega[keep], omega_c)
    labels = np.unique(sample)
    rng = np.random.default_rng(seed)
    boots = []
    by = {s: np.flatnonzero((sample == s) & keep) for s in labels}
    for _ in range(int(n_boot)):
        pick = np.concatenate([by[s] for s in rng.choice(labels, labels.size)])
        a, _ = _mle_power(omega[pick], omega_c)
        if np.isfinite(a):
            boots.append(a)
    q = (1 - level) / 2
    ci = [float(np.quantile(boots, q)), float(np.quantile(boots, 1 - q))] if boots else [np.nan, np.nan]
    lo, _ = _mle_power(omega[e < e_c * (1 - spread)], omega_c)
    hi, _ = _mle_power(omega[e < e_c * (1 + spread)], omega_c)
    return {"alpha": float(alpha), "alpha_ci": ci, "n_modes": n, "omega_c": float(omega_c),
            "e_c": float(e_c), "alpha_ec_low": float(lo), "alpha_ec_high": float(hi)}
