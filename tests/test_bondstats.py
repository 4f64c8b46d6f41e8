"""Pooled bond statistics (Sec. III) on synthetic coefficient tables with known tails."""

import numpy as np
import pytest

from glass2epm.analysis import bondstats, stats


class _T(dict):
    """Stands in for an io.Table (column access by name)."""


def _table(n, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    sign = rng.choice([-1.0, 1.0], size=n)
    return _T(
        phi_g=sign * scale * stats.pareto_sample(n, 3.5, 1.0, seed=seed),
        phi_gg=sign * stats.pareto_sample(n, 11 / 6, 1.0, seed=seed + 1),
        phi_ggg=sign * stats.pareto_sample(n, 1.5, 1.0, seed=seed + 2),
    )


def test_distributions_recover_eq23_exponents():
    tables = [_table(40000, s) for s in (1, 2)]
    hist, fits = bondstats.distributions(tables)
    for n in (1, 2, 3):
        f = fits[n]
        assert f["theory_in_ci"], (n, f["alpha"], f["ci"])
        sel = hist["order"] == n
        widths = np.diff(stats.log_edges(1.0, 10.0))  # shape check only
        assert sel.sum() > 5 and widths.size > 0
        assert np.all(hist["density"][sel] > 0)


def test_prefactor_ratio_tracks_tail_weight():
    # T_p = 0.7 and 0.6: full Pareto tail; T_p = 0.3: only 1 % of bonds in the tail
    rng = np.random.default_rng(3)
    n = 50000
    pools = {0.7: stats.pareto_sample(n, 3.5, 1.0, seed=4), 0.6: stats.pareto_sample(n, 3.5, 1.0, seed=5)}
    low = rng.random(n) * 0.9 + 0.05  # bulk below the tail
    k = n // 100
    low[:k] = stats.pareto_sample(k, 3.5, 1.0, seed=6)
    pools[0.3] = low
    cols, info = bondstats.prefactors(pools, xmin=1.0, plateau=2)
    r = dict(zip(cols["Tp"], cols["ratio"]))
    assert r[0.7] == pytest.approx(1.0, rel=0.05)
    assert r[0.3] == pytest.approx(0.01, rel=0.15)
    lo = dict(zip(cols["Tp"], cols["ratio_lo"]))
    hi = dict(zip(cols["Tp"], cols["ratio_hi"]))
    assert lo[0.3] < 0.01 < hi[0.3]
