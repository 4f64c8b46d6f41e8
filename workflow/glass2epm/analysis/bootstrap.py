"""Pooled means and variances with bootstrap confidence intervals, a generic percentile
bootstrap, and the peak of a sample-averaged curve (the yield stress, Fig. 5c).
Conventions in :mod:`glass2epm.analysis.stats`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from glass2epm.analysis._common import WithCI, _check_conf, percentile_ci

__all__ = ["Estimate", "mean_ci", "variance_ci", "bootstrap_ci", "CurvePeak", "uniform_grid",
           "moving_average", "curve_peak"]


@dataclass
class Estimate(WithCI):
    """A point estimate with a standard error and a confidence interval."""

    value: float
    stderr: float
    ci: tuple
    n: int
    n_groups: int
    conf: float
    method: str


@njit(cache=True)
def _boot_moments(s0, s1, s2, n_boot, ddof, seed):
    """Bootstrap over groups with sufficient statistics (count, Σx, Σx²) per
    group: returns the resampled means and variances (ddof as in numpy)."""
    np.random.seed(seed)
    G = s0.size
    means = np.empty(n_boot)
    varis = np.empty(n_boot)
    for b in range(n_boot):
        n = 0.0
        a1 = 0.0
        a2 = 0.0
        for _ in range(G):
            g = np.random.randint(0, G)
            n += s0[g]
            a1 += s1[g]
            a2 += s2[g]
        m = a1 / n
        means[b] = m
        varis[b] = (a2 - a1 * m) / (n - ddof) if n > ddof else np.nan
    return means, varis


def _groups(x):
    """(pooled values, group index) from an array (each point its own group) or a
    list of arrays (one group per array, e.g. one per sample/configuration)."""
    if isinstance(x, (list, tuple)):
        parts = [np.asarray(v, dtype=float).ravel() for v in x]
        parts = [p[np.isfinite(p)] for p in parts]
        parts = [p for p in parts if p.size]
        if not parts:
            raise ValueError("no finite samples")
        vals = np.concatenate(parts)
        gid = np.repeat(np.arange(len(parts)), [p.size for p in parts])
        return vals, gid, len(parts)
    vals = np.asarray(x, dtype=float).ravel()
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        raise ValueError("no finite samples")
    return vals, np.arange(vals.size), vals.size


def _resampling_units(x, resample):
    """(values, unit index, number of units): the units resampled by a bootstrap are the
    groups of ``x`` (``resample="groups"``, see :func:`_groups`) or its single values."""
    vals, gid, G = _groups(x)
    if resample == "points":
        gid, G = np.arange(vals.size), vals.size
    elif resample != "groups":
        raise ValueError(f"resample must be 'groups' or 'points', got {resample!r}")
    return vals, gid, G


def _percentile_estimate(value, reps, n, G, conf, resample, n_boot, seed):
    """``Estimate`` of ``value`` with the sd and percentile CI of the finite replicates."""
    reps = reps[np.isfinite(reps)]
    return Estimate(
        value=float(value),
        stderr=float(np.std(reps, ddof=1)),
        ci=percentile_ci(reps, conf),
        n=int(n),
        n_groups=int(G),
        conf=conf,
        method=f"bootstrap-percentile ({resample}, n_boot={n_boot}, seed={seed})",
    )


def _moments_ci(x, which, conf, n_boot, seed, ddof, resample):
    _check_conf(conf)
    vals, gid, G = _resampling_units(x, resample)
    shift = float(np.mean(vals))  # resample centred values: no cancellation in Σx² − (Σx)²/n
    v = vals - shift
    s0 = np.bincount(gid, minlength=G).astype(float)
    s1 = np.bincount(gid, weights=v, minlength=G)
    s2 = np.bincount(gid, weights=v * v, minlength=G)
    means, varis = _boot_moments(s0, s1, s2, int(n_boot), float(ddof), int(seed))
    reps = means + shift if which == "mean" else varis
    est = shift if which == "mean" else float(np.var(vals, ddof=ddof))
    return _percentile_estimate(est, reps, vals.size, G, conf, resample, n_boot, seed)


def mean_ci(x, *, conf: float = 0.95, n_boot: int = 2000, seed: int = 0, resample: str = "groups") -> Estimate:
    """Pooled mean with a bootstrap percentile CI.

    x: an array (each value resampled) or a list of arrays (pooled; with
    ``resample="groups"`` whole arrays are resampled, which respects
    correlations within one sample, e.g. all bonds of one configuration).
    """
    return _moments_ci(x, "mean", conf, n_boot, seed, 0, resample)


def variance_ci(x, *, conf: float = 0.95, n_boot: int = 2000, seed: int = 0, ddof: int = 1,
                resample: str = "groups") -> Estimate:
    """Pooled variance (``ddof`` as numpy) with a bootstrap percentile CI; see ``mean_ci``."""
    return _moments_ci(x, "var", conf, n_boot, seed, ddof, resample)


def bootstrap_ci(x, statistic, *, conf: float = 0.95, n_boot: int = 2000, seed: int = 0,
                 resample: str = "groups") -> Estimate:
    """Percentile bootstrap CI of an arbitrary ``statistic(values) -> float``.

    x as in ``mean_ci``. Pure numpy (``np.random.default_rng(seed)``): use the
    specialised functions for means/variances of large samples.
    """
    _check_conf(conf)
    vals, gid, G = _resampling_units(x, resample)
    rng = np.random.default_rng(seed)
    order = np.argsort(gid, kind="stable")
    sorted_vals = vals[order]
    bounds = np.concatenate([[0], np.cumsum(np.bincount(gid, minlength=G))])
    reps = np.empty(n_boot)
    for b in range(n_boot):
        pick = rng.integers(0, G, G)
        if G == vals.size:
            sample = sorted_vals[pick]
        else:
            sample = np.concatenate([sorted_vals[bounds[g]:bounds[g + 1]] for g in pick])
        reps[b] = statistic(sample)
    return _percentile_estimate(statistic(vals), reps, vals.size, G, conf, resample, n_boot, seed)


@dataclass
class CurvePeak:
    """Peak of a sample-averaged curve (:func:`curve_peak`); y in the units of the curves."""

    value: float  # max of the smoothed mean curve
    x: float  # where it is reached
    stderr: float  # bootstrap standard deviation over samples
    ci: tuple  # percentile bootstrap interval
    n_samples: int
    window: float  # moving-average width (units of x)
    conf: float = 0.95

    def as_dict(self) -> dict:
        return {"value": self.value, "x": self.x, "stderr": self.stderr, "ci": list(self.ci),
                "n_samples": self.n_samples, "window": self.window, "conf": self.conf}


def uniform_grid(end: float, step: float) -> np.ndarray:
    """0, step, 2·step, … up to ``end`` (inclusive within round-off): the common strain grid
    on which sample curves are averaged before :func:`curve_peak`."""
    if not (step > 0 and end >= 0):
        raise ValueError(f"uniform_grid needs step > 0 and end >= 0, got end={end}, step={step}")
    return np.arange(int(np.floor(end / step + 1e-9)) + 1) * step


def moving_average(y, k: int) -> np.ndarray:
    """Centred moving average over k (odd) points along the last axis; near the ends the
    window is truncated and the average taken over the points it still covers."""
    y = np.asarray(y, float)
    if k < 1 or k % 2 == 0:
        raise ValueError(f"moving-average width must be an odd number of points >= 1, got {k}")
    if k == 1:
        return y.copy()
    h = k // 2
    n = y.shape[-1]
    c = np.concatenate([np.zeros(y.shape[:-1] + (1,)), np.cumsum(y, axis=-1)], axis=-1)
    lo = np.clip(np.arange(n) - h, 0, n)
    hi = np.clip(np.arange(n) + h + 1, 0, n)
    return (c[..., hi] - c[..., lo]) / (hi - lo)


def curve_peak(curves, x, window: float = 0.0, *, conf: float = 0.95, n_boot: int = 2000,
               seed: int = 0) -> CurvePeak:
    """Peak of the sample-averaged curve: the yield (peak) stress of Fig. 5(c), inset.

    ``curves`` (n_samples, n_x): one curve per sample on the common uniform grid ``x``
    (for stress–strain curves: σ in ε/λ^d against γ). The samples are averaged, the
    mean is smoothed by a centred moving average of width ``window`` (in units of x;
    rounded to an odd number of grid points, truncated at the ends) and its maximum is
    the peak. Averaging before taking the maximum is the paper's convention ("stress
    signals are averaged over realizations"): the mean of per-sample maxima of noisy
    small-system curves is biased upwards by the fluctuations (extreme-value
    statistics), not by the yield stress. The smoothing removes the same bias from
    the residual noise of a finite number of samples. Uncertainty: percentile
    bootstrap over samples (whole curves resampled), ``seed`` fixed.
    """
    _check_conf(conf)
    C = np.atleast_2d(np.asarray(curves, float))
    x = np.asarray(x, float)
    if C.shape[1] != x.size or x.size < 2:
        raise ValueError(f"curves {C.shape} do not match a grid of {x.size} points (need >= 2)")
    if not np.all(np.isfinite(C)):
        raise ValueError("curves must be finite on the whole grid (cut the grid to the shortest curve)")
    dx = np.diff(x)
    if not np.allclose(dx, dx[0], rtol=1e-6, atol=0.0) or dx[0] <= 0:
        raise ValueError("curve_peak needs a uniform increasing grid")
    if window < 0:
        raise ValueError(f"window must be >= 0, got {window}")
    k = 2 * int(round(0.5 * window / dx[0])) + 1

    def peak(rows):
        m = moving_average(rows.mean(axis=0), k)
        j = int(np.argmax(m))
        return m[j], x[j]

    value, xp = peak(C)
    n = C.shape[0]
    rng = np.random.default_rng(seed)
    reps = np.array([peak(C[rng.integers(0, n, n)])[0] for _ in range(n_boot)]) if n > 1 else np.array([value])
    return CurvePeak(value=float(value), x=float(xp),
                     stderr=float(np.std(reps, ddof=1)) if reps.size > 1 else 0.0,
                     ci=percentile_ci(reps, conf),
                     n_samples=int(n), window=float((k - 1) * dx[0]), conf=conf)
