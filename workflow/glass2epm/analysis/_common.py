"""Shared pieces of the statistics modules: input cleaning, the confidence-level check, the
percentile interval of bootstrap replicates and the ``contains``/``to_dict`` of results that
carry a ``ci`` (see :mod:`glass2epm.analysis.stats` for the conventions)."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np


def _as_positive(x, absolute=True):
    """Finite values of x (|x| if ``absolute``): (all finite, strictly positive)."""
    x = np.asarray(x, dtype=float).ravel()
    x = x[np.isfinite(x)]
    if absolute:
        x = np.abs(x)
    return x, x[x > 0]


def _check_conf(conf):
    if not 0.0 < conf < 1.0:
        raise ValueError(f"confidence level must be in (0, 1), got {conf}")



def percentile_ci(reps, conf):
    """Percentile interval (q, 1 − q), q = (1 − conf)/2, of bootstrap replicates."""
    q = (1.0 - conf) / 2.0
    return (float(np.quantile(reps, q)), float(np.quantile(reps, 1.0 - q)))


class WithCI:
    """Mixin for result dataclasses with a confidence interval tuple (the field named by
    ``_ci``): membership test and a JSON-ready dict."""

    _ci = "ci"

    def contains(self, v: float) -> bool:
        lo, hi = getattr(self, self._ci)
        return bool(lo <= v <= hi)

    def to_dict(self) -> dict:
        d = asdict(self)
        d[self._ci] = list(getattr(self, self._ci))
        return d
