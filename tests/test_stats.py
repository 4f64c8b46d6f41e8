"""Tests of glass2epm.analysis.stats: power-law tails (Eq. 23 exponents), tail prefactors
(Fig. 1c), log-binned densities, power-law fits w ~ x^b, bootstrap CIs.

Samples are drawn with numpy's own generators (``Generator.pareto`` is a Lomax
law: 1 + Lomax(α−1) is Pareto with P ∝ x^(−α) on x ≥ 1), independent of the
module's ``pareto_sample``; estimates are compared with the exact truth, with
scipy's implementations, or with plain reference code."""

import numpy as np
import pytest
from scipy import stats as st

from glass2epm.analysis import stats as S
from glass2epm.analysis.tails import _ks_scan

EQ23 = [7 / 2, 11 / 6, 3 / 2]  # Eq. 23: n = 1, 2, 3 with D(ω) ~ ω^4


def pareto(n, alpha, xmin=1.0, seed=0):
    rng = np.random.default_rng(seed)
    return xmin * (1.0 + rng.pareto(alpha - 1.0, n))


def test_eq23_exponents_are_the_ones_tested():
    for n, a in zip((1, 2, 3), EQ23):
        assert a == pytest.approx((7 + 4 * (n - 1)) / (2 + 4 * (n - 1)))


def test_pareto_sample_is_the_intended_law():
    x = S.pareto_sample(20000, 3.5, xmin=2.0, seed=4)
    assert x.min() >= 2.0
    # KS against scipy's Pareto (b = α − 1, scale = x_min)
    assert st.kstest(x, st.pareto(b=2.5, scale=2.0).cdf).pvalue > 1e-3
    assert np.array_equal(x, S.pareto_sample(20000, 3.5, xmin=2.0, seed=4))


# ----------------------------------------------------------------------------- MLE


@pytest.mark.parametrize("alpha", EQ23)
def test_mle_recovers_eq23_exponents(alpha):
    x = pareto(40000, alpha, xmin=0.5, seed=11)
    for method in ("exact", "normal", "bootstrap"):
        r = S.powerlaw_tail_mle(x, 0.5, method=method, n_boot=300, seed=1)
        assert r.contains(alpha), (method, r)
        assert r.exponent == -r.alpha
        assert abs(r.alpha - alpha) < 4 * (alpha - 1) / np.sqrt(x.size)
        assert r.n_tail == x.size
    # tight CI at this size: half-width ≈ 1.96 (α−1)/√n
    r = S.powerlaw_tail_mle(x, 0.5)
    half = 0.5 * (r.ci[1] - r.ci[0])
    assert half == pytest.approx(1.96 * (alpha - 1) / np.sqrt(x.size), rel=0.05)


def test_mle_agrees_with_scipy_pareto_fit():
    x = pareto(5000, 2.2, xmin=3.0, seed=2)
    b, loc, scale = st.pareto.fit(x, floc=0.0, fscale=3.0)  # MLE of b = α − 1
    r = S.powerlaw_tail_mle(x, 3.0)
    assert r.alpha == pytest.approx(1.0 + b, rel=1e-6)


def test_mle_uses_only_the_tail_and_absolute_values():
    rng = np.random.default_rng(0)
    tail = pareto(3000, 3.5, xmin=1.0, seed=3)
    body = rng.random(5000)  # below x_min: ignored
    x = np.concatenate([tail, body]) * np.where(rng.random(8000) < 0.5, -1, 1)  # signed: |x| is used
    r = S.powerlaw_tail_mle(x, 1.0)
    ref = S.powerlaw_tail_mle(tail, 1.0)
    assert r.alpha == pytest.approx(ref.alpha, rel=1e-12)
    assert r.n_tail == 3000 and r.n_total == 8000
    with pytest.raises(ValueError, match="xmin"):
        S.powerlaw_tail_mle(x, 1e9)


def test_mle_ci_coverage():
    """Over 50 seeded repetitions the true α falls in the 95 % CI ~95 % of the
    time (binomial: ≥ 42/50 fails with probability < 1 %), and in the 80 % CI
    not always (it is not uselessly wide)."""
    alpha, n = 3.5, 400
    hits = {"exact": 0, "normal": 0, "bootstrap": 0}
    hits80 = 0
    for seed in range(50):
        x = pareto(n, alpha, seed=100 + seed)
        for m in hits:
            hits[m] += S.powerlaw_tail_mle(x, 1.0, method=m, n_boot=400, seed=seed).contains(alpha)
        hits80 += S.powerlaw_tail_mle(x, 1.0, conf=0.8).contains(alpha)
    assert hits["exact"] >= 43, hits
    assert hits["normal"] >= 42, hits
    assert hits["bootstrap"] >= 41, hits
    assert 32 <= hits80 <= 47


def test_bootstrap_is_deterministic():
    x = pareto(2000, 2.0, seed=5)
    a = S.powerlaw_tail_mle(x, 1.0, method="bootstrap", n_boot=200, seed=7)
    b = S.powerlaw_tail_mle(x, 1.0, method="bootstrap", n_boot=200, seed=7)
    c = S.powerlaw_tail_mle(x, 1.0, method="bootstrap", n_boot=200, seed=8)
    assert a.ci == b.ci and a.ci != c.ci


# ----------------------------------------------------------------------------- x_min


def _ks_reference(x, xmin):
    """Plain KS distance of the tail against its own MLE fit (CSN Eq. 3.9)."""
    t = np.sort(x[x >= xmin])
    n = t.size
    a = 1 + n / np.sum(np.log(t / xmin))
    F = 1 - (t / xmin) ** (1 - a)
    emp_hi = np.arange(1, n + 1) / n
    emp_lo = np.arange(n) / n
    return a, max(np.max(np.abs(emp_hi - F)), np.max(np.abs(F - emp_lo)))


def test_ks_scan_matches_reference():
    x = np.sort(np.abs(np.random.default_rng(1).standard_cauchy(500)))
    x = x[x > 0]
    cand = np.array([0, 10, 100, 300, 400], dtype=np.int64)
    alphas, D = _ks_scan(x, cand)
    for k, a, d in zip(cand, alphas, D):
        ar, dr = _ks_reference(x, x[k])
        assert a == pytest.approx(ar, rel=1e-10)
        assert d == pytest.approx(dr, rel=1e-10)


@pytest.mark.parametrize("alpha", [7 / 2, 11 / 6])
def test_choose_xmin_finds_onset_of_tail(alpha):
    """Body uniform on (0, 1), power-law tail above 1: x_min ≈ 1 and α recovered."""
    rng = np.random.default_rng(9)
    x = np.concatenate([rng.random(20000), pareto(20000, alpha, seed=10)])
    scan = S.choose_xmin(x)
    # not in the body; above the onset the KS curve is flat within noise (CSN)
    assert 0.9 <= scan.xmin <= 5.0
    in_body = scan.ks_values[scan.candidates < 0.5]
    assert in_body.size and in_body.min() > 5 * scan.ks
    r = S.powerlaw_tail(x, "ks")
    assert r.xmin == scan.xmin
    assert abs(r.alpha - alpha) < 4 * r.stderr
    # the MLE from a too-low x_min is badly off: the scan matters
    assert abs(S.powerlaw_tail_mle(x, 0.1).alpha - alpha) > 10 * r.stderr


def test_lsq_tail_is_consistent_but_for_comparison():
    x = pareto(50000, 3.5, seed=12)
    r = S.powerlaw_tail_lsq(x, 1.0, per_decade=8)
    assert r.method == "lsq"
    assert abs(r.alpha - 3.5) < max(5 * r.stderr, 0.1)


# ----------------------------------------------------------------------------- histograms


def test_log_histogram_normalisation_and_shape():
    alpha = 3.5
    x = pareto(100000, alpha, seed=13)
    h = S.log_histogram(x, per_decade=10)
    assert h.integral() == pytest.approx(1.0, rel=1e-12)
    assert h.n_binned == x.size and h.n_outside == 0 and h.n_nonpositive == 0
    assert np.allclose(np.log10(h.edges[1:] / h.edges[:-1]), 0.1, atol=0.01)
    # expected counts per bin from the analytic CDF; Poisson z-scores
    F = 1 - h.edges ** (1 - alpha)
    expected = x.size * np.diff(F)
    ok = expected > 20
    z = (h.counts[ok] - expected[ok]) / np.sqrt(expected[ok])
    assert np.max(np.abs(z)) < 5
    assert np.mean(z**2) < 2.0


def test_log_histogram_empty_bins_and_total_norm():
    x = np.array([0.0, 0.0, 1.0, 1.5, 2.0, 100.0, 120.0, -110.0])
    h = S.log_histogram(x, per_decade=5)
    assert h.n_nonpositive == 2
    assert np.all(np.isfinite(h.density)) and np.all(h.density >= 0)
    assert (~h.mask).sum() > 0  # the gap between 2 and 100 leaves empty bins
    assert np.all(h.density[~h.mask] == 0)
    assert h.integral() == pytest.approx(1.0)
    ht = S.log_histogram(x, per_decade=5, norm="total")
    assert ht.integral() == pytest.approx(6 / 8)
    hs = S.log_histogram(x, per_decade=5, absolute=False)
    assert hs.n_binned == 5


# ----------------------------------------------------------------------------- prefactor


def _mixture(n, f, alpha, seed):
    """Fraction f Pareto(α) on x ≥ 1, the rest uniform on (0, 1): for x ≥ 1,
    P(x) = f (α−1) x^(−α) exactly, i.e. A = f (α − 1)."""
    rng = np.random.default_rng(seed)
    k = rng.binomial(n, f)
    return np.concatenate([pareto(k, alpha, seed=seed + 1), rng.random(n - k)])


def test_tail_prefactor_fixed_exponent():
    alpha, f = 3.5, 0.02
    A_true = f * (alpha - 1)
    x = _mixture(200000, f, alpha, seed=20)
    r = S.tail_prefactor(x, alpha, 1.0)
    assert r.ci[0] <= A_true <= r.ci[1]
    assert abs(np.log(r.A / A_true)) < 4 * r.log_se
    # a higher x_min estimates the same A (the tail is a pure power law)
    r2 = S.tail_prefactor(x, alpha, 2.0)
    assert r2.ci[0] <= A_true <= r2.ci[1]
    # finite window [xmin, xmax)
    r3 = S.tail_prefactor(x, alpha, 1.0, xmax=3.0)
    assert r3.ci[0] <= A_true <= r3.ci[1]
    # least-squares on a total-normalised log histogram agrees
    h = S.log_histogram(x, norm="total", per_decade=10)
    rl = S.tail_prefactor_lsq(h, alpha, 1.0)
    assert rl.ci[0] <= A_true <= rl.ci[1]
    with pytest.raises(ValueError, match="positive tail exponent"):
        S.tail_prefactor(x, -3.5, 1.0)


def test_tail_prefactor_coverage_and_ratio():
    alpha = 3.5
    hits = 0
    for seed in range(50):
        ci = S.tail_prefactor(_mixture(5000, 0.05, alpha, seed=300 + 3 * seed), alpha, 1.0).ci
        hits += ci[0] <= 0.05 * (alpha - 1) <= ci[1]
    assert hits >= 42
    a = S.tail_prefactor(_mixture(100000, 0.001, alpha, 1), alpha, 1.0)
    b = S.tail_prefactor(_mixture(100000, 0.05, alpha, 2), alpha, 1.0)
    r, lo, hi = S.prefactor_ratio(a, b)
    assert lo <= 0.02 <= hi and lo < r < hi


# ----------------------------------------------------------------------------- y = c x^b


def test_powerlaw_fit_exact_data():
    x = np.geomspace(0.1, 100, 9)
    y = 2.5 * x**0.25
    f = S.powerlaw_fit(x, y)
    assert f.b == pytest.approx(0.25, abs=1e-12)
    assert f.c == pytest.approx(2.5, rel=1e-12)
    assert f.b_ci[0] <= 0.25 <= f.b_ci[1] and f.b_ci[1] - f.b_ci[0] < 1e-10
    fw = S.powerlaw_fit(x, y, yerr=0.1 * y)
    assert fw.b == pytest.approx(0.25, abs=1e-12)
    assert np.allclose(f.predict(x), y)


def test_powerlaw_fit_matches_linregress_and_range():
    rng = np.random.default_rng(3)
    x = np.geomspace(1, 1000, 30)
    y = 0.7 * x**0.68 * np.exp(0.1 * rng.standard_normal(x.size))
    f = S.powerlaw_fit(x, y)
    lr = st.linregress(np.log(x), np.log(y))
    assert f.b == pytest.approx(lr.slope, rel=1e-10)
    assert f.b_stderr == pytest.approx(lr.stderr, rel=1e-8)
    assert f.log_c_stderr == pytest.approx(lr.intercept_stderr, rel=1e-8)
    t = st.t.ppf(0.975, x.size - 2)
    assert f.b_ci[1] - f.b == pytest.approx(t * lr.stderr, rel=1e-8)
    fr = S.powerlaw_fit(x, y, xmin=10, xmax=100)
    assert fr.n == np.count_nonzero((x >= 10) & (x <= 100))


def test_powerlaw_fit_ci_coverage_with_and_without_errors():
    b_true = 0.5
    x = np.geomspace(0.2, 100, 12)
    hits = hits_w = hits_abs = 0
    for seed in range(50):
        rng = np.random.default_rng(500 + seed)
        y = 3.0 * x**b_true * np.exp(0.2 * rng.standard_normal(x.size))
        hits += S.powerlaw_fit(x, y).contains(b_true)
        # heteroscedastic, known relative errors
        rel = np.linspace(0.02, 0.3, x.size)
        y2 = 3.0 * x**b_true * np.exp(rel * rng.standard_normal(x.size))
        hits_w += S.powerlaw_fit(x, y2, yerr=rel * y2).contains(b_true)
        hits_abs += S.powerlaw_fit(x, y2, yerr=rel * y2, absolute_sigma=True).contains(b_true)
    assert hits >= 42 and hits_w >= 42 and hits_abs >= 42, (hits, hits_w, hits_abs)


# ----------------------------------------------------------------------------- means, variances


def test_mean_and_variance_ci():
    rng = np.random.default_rng(7)
    x = 3.0 + 2.0 * rng.standard_normal(4000)
    m = S.mean_ci(x, n_boot=1000, seed=1)
    v = S.variance_ci(x, n_boot=1000, seed=1)
    assert m.value == pytest.approx(np.mean(x)) and v.value == pytest.approx(np.var(x, ddof=1))
    assert m.contains(3.0) and v.contains(4.0)
    assert m.stderr == pytest.approx(np.std(x) / np.sqrt(x.size), rel=0.1)
    # var of the sample variance of a Gaussian: 2σ⁴/(n−1)
    assert v.stderr == pytest.approx(np.sqrt(2 * 16 / (x.size - 1)), rel=0.15)
    assert S.mean_ci(x, n_boot=300, seed=2).ci == S.mean_ci(x, n_boot=300, seed=2).ci


def test_bootstrap_coverage_mean():
    hits = 0
    for seed in range(50):
        x = np.random.default_rng(900 + seed).exponential(2.0, 300)
        hits += S.mean_ci(x, n_boot=500, seed=seed).contains(2.0)
    assert hits >= 41


def test_group_bootstrap_respects_correlations():
    """Pooled samples with a per-sample random offset: resampling whole samples
    gives the right error, resampling points underestimates it."""
    rng = np.random.default_rng(8)
    G, n = 40, 200
    groups = [rng.normal(0.0, 1.0) + rng.normal(0.0, 1.0, n) for _ in range(G)]
    g = S.mean_ci(groups, n_boot=1000, seed=3)
    p = S.mean_ci(groups, n_boot=1000, seed=3, resample="points")
    true_se = np.sqrt(1.0 / G + 1.0 / (G * n))
    assert g.n_groups == G and g.n == G * n
    assert g.stderr == pytest.approx(true_se, rel=0.3)
    assert p.stderr < 0.3 * g.stderr
    med = S.bootstrap_ci(groups, np.median, n_boot=200, seed=1)
    assert med.ci[0] < med.value < med.ci[1]
    vm = S.variance_ci(groups, n_boot=300, seed=1)
    assert vm.contains(2.0)


# --- peak of a sample-averaged curve (Fig. 5c inset) -------------------------------------------

def test_moving_average_matches_convolution_and_handles_ends():
    rng = np.random.default_rng(3)
    y = rng.normal(size=50)
    m = S.moving_average(y, 5)
    np.testing.assert_allclose(m[2:-2], np.convolve(y, np.ones(5) / 5, mode="valid"), atol=1e-12)
    assert m[0] == pytest.approx(y[:3].mean()) and m[-1] == pytest.approx(y[-3:].mean())
    np.testing.assert_array_equal(S.moving_average(y, 1), y)
    with pytest.raises(ValueError, match="odd"):
        S.moving_average(y, 4)


def test_curve_peak_recovers_the_true_peak_where_per_sample_maxima_are_biased():
    """Noisy samples of a known curve y = x e^{1-x/0.1}·0.8 (peak 0.8 at x = 0.1): the peak of
    the smoothed mean is within its bootstrap interval of 0.8, while the mean of the per-sample
    maxima is biased upwards by the noise (extreme-value statistics)."""
    x = np.arange(0, 0.4 + 1e-12, 1e-3)
    true = 0.8 * (x / 0.1) * np.exp(1 - x / 0.1)
    rng = np.random.default_rng(11)
    C = true + rng.normal(scale=0.08, size=(40, x.size))
    pk = S.curve_peak(C, x, window=0.02, n_boot=500, seed=1)
    assert pk.ci[0] - 0.01 < 0.8 < pk.ci[1] + 0.01  # smoothing lowers a smooth peak by < 0.2 %
    assert abs(pk.value - 0.8) < 0.02 and abs(pk.x - 0.1) < 0.03
    assert np.mean(C.max(axis=1)) > 0.8 + 0.1  # the biased statistic the function replaces
    assert pk.window == pytest.approx(0.02) and pk.n_samples == 40
    # deterministic, and a single sample has no spread
    assert S.curve_peak(C, x, window=0.02, n_boot=500, seed=1).value == pk.value
    one = S.curve_peak(true[None], x)
    assert one.value == pytest.approx(0.8, abs=1e-6) and one.stderr == 0.0


def test_curve_peak_rejects_bad_grids():
    x = np.array([0.0, 0.1, 0.3])
    with pytest.raises(ValueError, match="uniform"):
        S.curve_peak(np.ones((2, 3)), x)
    with pytest.raises(ValueError, match="do not match"):
        S.curve_peak(np.ones((2, 4)), x)
    with pytest.raises(ValueError, match="finite"):
        S.curve_peak(np.array([[0.0, np.nan, 1.0]]), np.array([0.0, 0.1, 0.2]))
