"""Statistics of block yield stresses per T_p and method (Fig. 4b-d, Sec. IV).

The block values of all samples of one T_p are pooled; the mean and variance of
P(σ_Y) get bootstrap confidence intervals that resample whole samples (blocks of
one glass are correlated). Stresses in ε/λ^d.
"""

from __future__ import annotations

import numpy as np

from glass2epm.analysis import stats
from glass2epm.core.schemas import YIELD_COMPARE
from glass2epm.core.io import read_table


def block_values(path, column: str = "sigma_y") -> np.ndarray:
    t = read_table(path)
    if column not in t.columns:
        raise ValueError(f"{path}: no column {column!r} (expected a yield_blocks file)")
    v = np.asarray(t[column], float)
    return v[np.isfinite(v)]


def compare(groups: dict) -> dict:
    """``groups``: {(method, T_p): [block-file paths]} → columns of ``yield_compare``."""
    cols = {k: [] for k in YIELD_COMPARE.columns}
    for (method, Tp) in sorted(groups, key=lambda k: (k[0], k[1])):
        paths = groups[(method, Tp)]
        samples = [block_values(p) for p in paths]
        samples = [s for s in samples if s.size]
        if not samples:
            raise ValueError(f"no finite block yield stresses for {method} at T_p = {Tp}")
        m = stats.mean_ci(samples if len(samples) > 1 else samples[0])
        v = stats.variance_ci(samples if len(samples) > 1 else samples[0])
        infos = [read_table(p).meta.get("extra") or {} for p in paths]
        cols["Tp"].append(float(Tp))
        cols["method"].append(method)
        cols["mean"].append(m.value)
        cols["mean_lo"].append(m.ci[0])
        cols["mean_hi"].append(m.ci[1])
        cols["variance"].append(v.value)
        cols["variance_lo"].append(v.ci[0])
        cols["variance_hi"].append(v.ci[1])
        cols["n_blocks"].append(int(sum(s.size for s in samples)))
        # sites without a forward yield point (bond: the matrix stabilises the cavity, Sec. IV)
        cols["discarded_fraction"].append(float(np.mean(
            [i.get("n_discarded_forward", np.nan) / i.get("n_sites", np.nan) for i in infos])))
        cols["unassigned_fraction"].append(float(np.mean([i.get("fraction_without_value", np.nan) for i in infos])))
    return {k: np.asarray(v) for k, v in cols.items()}
