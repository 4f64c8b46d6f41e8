"""Scalar FFT elasto-plastic model (Sec. V A, Eq. 24): propagator, dynamics, reference, I/O.

Physics is checked by independent routes: direct summation over wave vectors
for the kernel, a continuum integral for the ERRATA on-site value, a plain
real-space reference implementation (no FFT, σ stored directly) for the
trajectories, and global balances computed from the stress field.
"""

import json
import math

import numpy as np
import pytest

from glass2epm.epm import lattice
from glass2epm.core import schemas

EPS = 0.065


# ----------------------------------------------------------------------------
# propagator


def direct_kernel(L, r, q0=-1.0):
    """K(r) = (1/L²) Σ_q Ĝ(q) cos(q·r), summed explicitly over k ∈ [−L/2, L/2)²."""
    tot = 0.0
    ks = range(-(L // 2), L - L // 2)
    for kx in ks:
        for ky in ks:
            if kx == 0 and ky == 0:
                g = q0
            else:
                qx, qy = 2 * math.pi * kx / L, 2 * math.pi * ky / L
                g = -4 * qx * qx * qy * qy / (qx * qx + qy * qy) ** 2
            tot += g * math.cos(2 * math.pi * (kx * r[0] + ky * r[1]) / L)
    return tot / (L * L)


@pytest.mark.parametrize("L", [8, 15, 32])
def test_kernel_matches_direct_summation(L):
    K = lattice.propagator(L)
    for r in [(0, 0), (1, 0), (0, 1), (1, 1), (3, 2), (L - 1, 2), (L // 2, L // 2)]:
        assert K[r] == pytest.approx(direct_kernel(L, r), abs=1e-13)
    assert lattice.onsite_value(L) == pytest.approx(direct_kernel(L, (0, 0)), abs=1e-13)


@pytest.mark.parametrize("L", [8, 15, 64, 256])
def test_kernel_sums_to_minus_one(L):
    K = lattice.propagator(L)
    assert K.sum() == pytest.approx(-1.0, abs=1e-12)
    assert K.dtype == np.float64 and np.all(np.isfinite(K))


def test_onsite_value_errata_large_L():
    from scipy.integrate import dblquad

    # continuum limit: mean of Ĝ over the Brillouin zone (by symmetry, over [0, 1]²)
    cont, _ = dblquad(lambda y, x: -4 * x * x * y * y / (x * x + y * y) ** 2, 0, 1, 0, 1, epsabs=1e-12)
    assert cont == pytest.approx(1 - math.pi / 2, abs=1e-9)  # ERRATA value
    for L in (256, 1024):
        k0 = lattice.propagator(L)[0, 0]
        assert abs(k0 - (1 - math.pi / 2)) < 1.0 / L**2  # converges as ~0.57/L²
    assert lattice.propagator(1024)[0, 0] == pytest.approx(-0.5708, abs=1e-4)


def test_normalised_onsite_kernel():
    L = 16
    K = lattice.propagator(L)
    Kn = lattice.propagator(L, onsite="normalised")
    assert Kn[0, 0] == pytest.approx(-1.0, abs=1e-13)
    assert Kn.sum() == pytest.approx(-1.0, abs=1e-12)
    # documented modification: every off-site value raised by (1 + K(0)) / (L² − 1)
    d = (Kn - K).ravel()[1:]
    assert np.allclose(d, (1 + K[0, 0]) / (L * L - 1), rtol=0, atol=1e-14)
    # stress-control kernel: q = 0 removed
    Ks = lattice.propagator(L, q0=0.0)
    assert Ks.sum() == pytest.approx(0.0, abs=1e-12)
    assert np.allclose(Ks - K, 1.0 / L**2, atol=1e-14)


def test_single_failure_field_is_quadrupolar():
    L = 64
    K = lattice.propagator(L)
    assert np.allclose(K, K.T, atol=1e-15)  # x <-> y
    assert np.allclose(K, np.roll(K[::-1, :], 1, axis=0), atol=1e-15)  # x -> -x
    assert np.allclose(K, np.roll(K[:, ::-1], 1, axis=1), atol=1e-15)  # y -> -y
    r = np.arange(1, L // 2)
    assert np.all(K[r, 0] > 0)  # loaded along the slip (lattice) axes
    assert np.all(K[r, r] < 0)  # unloaded along the diagonals
    # the failing block itself is unloaded, by |K(0)| < 1
    assert -1 < K[0, 0] < -0.5
    # far field along the diagonal: cos(4θ)/(π ρ²) with θ = π/4, ρ² = 2 r²
    Kb = lattice.propagator(1024)
    for rr in (8, 16):
        assert Kb[rr, rr] == pytest.approx(-1.0 / (2 * math.pi * rr * rr), rel=0.01)


# ----------------------------------------------------------------------------
# single failures and balances


def one_unstable_block(L=16, mu_fail=20.0, onsite="paper", control="strain"):
    thr = np.full((L, L), 50.0)
    sig0 = np.zeros((L, L))
    sig0[5, 7] = 51.0  # the only unstable block
    mu = np.full((L, L), 15.0)
    mu[5, 7] = mu_fail
    m = lattice.EPM(thr, np.array([100.0]), eps_pl=EPS, modulus=mu, renewal_modulus=15.0, seed=0,
                sigma0=sig0, onsite=onsite, control=control)
    return m, sig0


@pytest.mark.parametrize("onsite", ["paper", "normalised"])
def test_single_failure_changes(onsite):
    L = 16
    m, sig0 = one_unstable_block(L, onsite=onsite)
    assert m.sigma == pytest.approx(sig0, abs=1e-12)
    n, rounds = m.relax()
    assert (n, rounds) == (1, 1)
    d = m.sigma - sig0
    amp = 2 * 20.0 * EPS  # the failing block's own modulus
    # mean stress drops by exactly 2 μ ε_pl / L² per failure
    assert d.mean() == pytest.approx(-amp / L**2, rel=1e-12)
    own = direct_kernel(L, (0, 0)) if onsite == "paper" else -1.0
    assert d[5, 7] == pytest.approx(own * amp, rel=1e-11)
    assert d[6, 7] == pytest.approx(
        amp * (direct_kernel(L, (1, 0)) + (0 if onsite == "paper" else (1 + direct_kernel(L, (0, 0))) / (L * L - 1))),
        rel=1e-10)
    assert d[6, 7] > 0 and d[5, 9] > 0 and d[6, 8] < 0
    assert m.activity.sum() == 1 and m.activity[5, 7] == 1
    assert m.plastic_strain[5, 7] == EPS
    assert m.modulus[5, 7] == 15.0 and m.thresholds[5, 7] == 100.0


def test_mean_stress_balance_over_a_run():
    """With uniform μ: σ̄ = μ γ − 2 μ ε_pl F / L² (loading minus failures), from the field."""
    L, mu = 32, 15.0
    tab = lattice.weibull_table(1.5, 0.5, 5000, seed=1)
    m = lattice.EPM.from_tables(L, tab, seed=2, eps_pl=EPS, modulus=mu)
    res = m.run(0.6)
    assert m.failures > 1000
    assert m.stress == pytest.approx(mu * 0.6 - 2 * mu * EPS * m.failures / L**2, abs=1e-9)
    assert m.strain == 0.6
    assert m.activity.sum() == m.failures == res.series["avalanche_size"].sum()
    assert np.allclose(m.plastic_strain, EPS * m.activity)
    # every step: the stress rises elastically between steps and drops by 2με_pl/L² per failure
    s = res.series
    drop = s["stress_before"] - s["stress"]
    assert np.allclose(drop, 2 * mu * EPS * s["avalanche_size"] / L**2, atol=1e-10)
    rise = s["stress_before"][1:] - s["stress"][:-1]
    assert np.allclose(rise, mu * np.diff(s["strain"]), atol=1e-10)
    assert np.all(np.diff(s["strain"]) >= 0)


def test_stress_control_conserves_total_stress():
    L = 32
    rng = np.random.default_rng(5)
    thr = rng.normal(1.5, 0.3, (L, L))
    sig0 = rng.normal(0.5, 0.6, (L, L))  # many blocks above threshold
    assert (sig0 >= thr).sum() > 50
    m = lattice.EPM(thr, rng.normal(1.5, 0.3, 1000), eps_pl=EPS, modulus=15.0, seed=1, sigma0=sig0,
                control="stress")
    n, rounds = m.relax()
    assert n > 50 and rounds > 1
    assert np.all(m.sigma < m.thresholds)
    assert m.sigma.mean() == pytest.approx(sig0.mean(), abs=1e-12)
    assert not np.allclose(m.sigma, sig0)
    res = m.run(0.05)  # uniform stress loading: mean = initial mean + applied increment
    assert res.failures > 0
    assert m.sigma.mean() == pytest.approx(sig0.mean() + 0.05, abs=1e-12)
    assert np.allclose(res.series["stress"], res.series["stress_before"], atol=1e-12)


def test_stress_control_runaway_is_reported():
    L = 16
    rng = np.random.default_rng(0)
    thr = rng.normal(0.5, 0.05, (L, L))
    m = lattice.EPM(thr, rng.normal(0.5, 0.05, 100), eps_pl=EPS, modulus=15.0, seed=1,
                sigma0=np.full((L, L), 3.0), control="stress", max_avalanche=20 * L * L)
    with pytest.raises(RuntimeError, match="exceeded"):
        m.relax()


# ----------------------------------------------------------------------------
# fast implementation == plain real-space reference


def brittle_setup(L=24, init=(3.0, 0.05), ren=(1.0, 0.3)):
    thr = np.random.default_rng(1).normal(*init, (L, L))
    tab = np.random.default_rng(2).normal(*ren, 5000)
    return thr, tab


def compare(series_a, series_b):
    assert len(series_a["strain"]) == len(series_b["strain"])
    np.testing.assert_array_equal(series_a["avalanche_size"], series_b["avalanche_size"])
    np.testing.assert_array_equal(series_a["rounds"], series_b["rounds"])
    for k in ("strain", "stress", "stress_before"):
        np.testing.assert_allclose(series_a[k], series_b[k], rtol=1e-10, atol=1e-11)


@pytest.mark.parametrize("nswitch", [1, 8, 10**9])
@pytest.mark.parametrize(
    "onsite,renewal_mode,modulus",
    [("paper", "absolute", 20.0), ("normalised", "absolute", 15.0), ("paper", "relative", 20.0)],
)
def test_fast_matches_reference(nswitch, onsite, renewal_mode, modulus):
    L = 24
    thr, tab = brittle_setup(L)
    if renewal_mode == "relative":
        tab = np.abs(tab) + 0.05
    kw = dict(eps_pl=EPS, modulus=modulus, renewal_modulus=15.0, seed=3, onsite=onsite,
              renewal_mode=renewal_mode)
    m = lattice.EPM(thr, tab, nswitch=nswitch, **kw)
    res = m.run(0.5)
    ref, st = lattice.reference_run(thr, tab, strain_max=0.5, **kw)
    assert res.failures > 1500
    # includes large avalanches (system-spanning, more failures than blocks, for the paper's rule)
    assert res.series["avalanche_size"].max() > (L * L if (onsite, renewal_mode) == ("paper", "absolute")
                                                 else L * L // 4)
    compare(res.series, ref)
    np.testing.assert_array_equal(m.activity, st["activity"])
    np.testing.assert_allclose(m.sigma, st["sigma"], atol=1e-10)
    np.testing.assert_allclose(m.thresholds, st["thresholds"], atol=1e-10)
    np.testing.assert_array_equal(m.modulus, st["modulus"])
    np.testing.assert_allclose(m.plastic_strain, st["plastic_strain"], rtol=1e-12)


def test_fast_matches_reference_stress_control():
    L = 20
    rng = np.random.default_rng(4)
    thr = rng.normal(1.5, 0.2, (L, L))
    sig0 = rng.normal(0.8, 0.3, (L, L))
    tab = rng.normal(1.5, 0.2, 500)
    kw = dict(eps_pl=EPS, modulus=15.0, seed=9, sigma0=sig0, control="stress")
    m = lattice.EPM(thr, tab, nswitch=4, **kw)
    res = m.run(0.15)
    ref, st = lattice.reference_run(thr, tab, strain_max=0.15, **kw)
    assert res.failures > 100
    compare(res.series, ref)
    np.testing.assert_allclose(m.sigma, st["sigma"], atol=1e-10)


def test_steady_flow_matches_reference():
    """Weibull thresholds (ductile, many small avalanches), FFT and sparse paths mixed."""
    L = 32
    tab = lattice.weibull_table(1.5, 0.5, 10000, seed=3)
    thr = lattice.sample_thresholds(tab, L, seed=4)
    kw = dict(eps_pl=EPS, modulus=15.0, seed=4)
    m = lattice.EPM(thr, tab, nswitch=6, **kw)
    res = m.run(1.0)
    ref, _ = lattice.reference_run(thr, tab, strain_max=1.0, **kw)
    assert res.failures > 5000
    compare(res.series, ref)


# ----------------------------------------------------------------------------
# determinism, continuation, snapshots, samplers


def test_determinism_and_seeds():
    L = 24
    tab = lattice.weibull_table(1.5, 0.5, 2000, seed=0)
    runs = [lattice.EPM.from_tables(L, tab, seed=s, eps_pl=EPS, modulus=15.0).run(0.4) for s in (7, 7, 8)]
    for k in runs[0].series:
        np.testing.assert_array_equal(runs[0].series[k], runs[1].series[k])
    assert not np.array_equal(runs[0].series["strain"][:50], runs[2].series["strain"][:50])
    np.testing.assert_array_equal(lattice.sample_thresholds(tab, 8, 3), lattice.sample_thresholds(tab, 8, 3))
    assert not np.array_equal(lattice.sample_thresholds(tab, 8, 3), lattice.sample_thresholds(tab, 8, 4))


def test_continuation_and_snapshots():
    L = 24
    tab = lattice.weibull_table(1.5, 0.5, 2000, seed=0)
    a = lattice.EPM.from_tables(L, tab, seed=1, eps_pl=EPS, modulus=15.0)
    ra = a.run(0.8, snapshots=[0.2, 0.5, 5.0])
    assert sorted(ra.snapshots) == [0.2, 0.5]
    b = lattice.EPM.from_tables(L, tab, seed=1, eps_pl=EPS, modulus=15.0)
    rb1 = b.run(0.2)
    np.testing.assert_array_equal(ra.snapshots[0.2]["activity"], b.activity)
    rb2 = b.run(0.5)
    np.testing.assert_array_equal(ra.snapshots[0.5]["activity"], b.activity)
    rb3 = b.run(0.8)
    for k in ra.series:
        joined = np.concatenate([rb1.series[k], rb2.series[k], rb3.series[k]])
        np.testing.assert_allclose(ra.series[k], joined, rtol=1e-12)
    assert ra.snapshots[0.2]["activity"].sum() == ra.series["avalanche_size"][ra.series["strain"] <= 0.2].sum()


def test_renewal_stream_is_uniform_and_order_free():
    key = np.uint64(lattice.renewal_key(3))
    n = 10
    idx = np.array([lattice.renewal_index(key, k, m, n) for k in range(200) for m in range(1, 201)])
    counts = np.bincount(idx, minlength=n)
    assert counts.min() > 0
    expected = idx.size / n
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 40  # 9 dof; P(chi2 > 40) ~ 1e-5
    # a block's m-th draw does not depend on anything else
    assert lattice.renewal_index(key, 17, 5, 1000) == lattice.renewal_index(key, 17, 5, 1000)
    assert lattice.renewal_index(key, 17, 5, 10**6) != lattice.renewal_index(key, 17, 6, 10**6)


def test_threshold_map_one_to_one():
    L = 4
    v = np.arange(16.0)
    np.testing.assert_array_equal(lattice.threshold_map(v, L), v.reshape(4, 4))
    x, y = np.meshgrid(np.arange(L) * 5.0 + 2.5, np.arange(L) * 5.0 + 2.5, indexing="ij")
    perm = np.random.default_rng(0).permutation(16)
    m = lattice.threshold_map(v[perm], L, x.ravel()[perm], y.ravel()[perm])
    np.testing.assert_array_equal(m, v.reshape(4, 4))
    with pytest.raises(ValueError, match="L²"):
        lattice.threshold_map(v[:10], L)


def test_weibull_table_moments():
    t = lattice.weibull_table(1.5, 0.5, 200_000, seed=1)
    assert t.mean() == pytest.approx(1.5, rel=0.01) and t.std() == pytest.approx(0.5, rel=0.02)


# ----------------------------------------------------------------------------
# steady state and calibration


def test_steady_state_exact_sawtooth():
    rng = np.random.default_rng(0)
    g = np.cumsum(rng.random(40) * 0.05)
    after = rng.normal(1.0, 0.1, 40)
    before = np.empty(40)
    before[0] = after[0] + 0.1
    before[1:] = after[:-1] + 15 * np.diff(g)
    ser = {"strain": g, "stress": after, "stress_before": before}
    a, b = g[5] + 0.01, g[30] - 0.02
    # independent: adaptive quadrature of the saw-tooth signal σ(γ)
    from scipy.integrate import quad

    def sig(x):
        i = np.searchsorted(g, x, side="right") - 1
        return after[i] + (before[i + 1] - after[i]) * (x - g[i]) / (g[i + 1] - g[i])

    pts = g[(g > a) & (g < b)]
    m1 = quad(sig, a, b, points=pts, limit=500, epsabs=1e-13)[0] / (b - a)
    m2 = quad(lambda x: sig(x) ** 2, a, b, points=pts, limit=500, epsabs=1e-13)[0] / (b - a)
    ss = lattice.steady_state(ser, a, b)
    assert ss.mean == pytest.approx(m1, abs=1e-10)
    assert ss.std == pytest.approx(math.sqrt(m2 - m1 * m1), abs=1e-8)
    with pytest.raises(ValueError):
        lattice.steady_state({"strain": g, "stress": after}, 10.0, 11.0)


def test_calibrate_eps_pl_synthetic():
    offsets = {0: 0.01, 1: -0.02, 2: 0.015, 3: -0.005}
    g = np.linspace(0, 2, 201)

    def run_fn(e, seed):
        s = 3.0 - 20.0 * e + offsets[seed] + 0.0 * g
        return {"strain": g, "stress": s, "stress_before": s}

    target = 1.7
    cal = lattice.calibrate_eps_pl(run_fn, target, (0.01, 0.2), gamma_from=1.0, xtol=1e-10)
    mean_off = np.mean(list(offsets.values()))
    se = np.std(list(offsets.values()), ddof=1) / 2
    assert cal.eps_pl == pytest.approx((3.0 + mean_off - target) / 20.0, abs=1e-9)
    assert cal.stress_se == pytest.approx(se, rel=1e-9)
    assert cal.eps_pl_high - cal.eps_pl == pytest.approx(se / 20, rel=1e-6)
    assert cal.eps_pl - cal.eps_pl_low == pytest.approx(se / 20, rel=1e-6)
    cal2 = lattice.calibrate_eps_pl(run_fn, target, (0.01, 0.2), gamma_from=1.0, xtol=1e-10)
    assert cal2.eps_pl == cal.eps_pl
    with pytest.raises(ValueError, match="not bracketed"):
        lattice.calibrate_eps_pl(run_fn, 10.0, (0.01, 0.2), gamma_from=1.0)


@pytest.mark.slow
def test_calibrate_eps_pl_real_model():
    L = 16
    tab = lattice.weibull_table(1.5, 0.5, 5000, seed=0)

    def run_fn(e, seed):
        return lattice.EPM.from_tables(L, tab, seed=seed, eps_pl=e, modulus=15.0).run(3.0).series

    ss = [lattice.steady_state(run_fn(0.065, s), 1.5).mean for s in (0, 1)]
    target = float(np.mean(ss))
    cal = lattice.calibrate_eps_pl(run_fn, target, (0.03, 0.15), seeds=(0, 1), gamma_from=1.5, xtol=1e-4)
    assert abs(cal.eps_pl - 0.065) < 0.01
    assert cal.eps_pl_low <= cal.eps_pl <= cal.eps_pl_high


@pytest.mark.slow
def test_fast_matches_reference_L64_long():
    L = 64
    thr, tab = brittle_setup(L)
    kw = dict(eps_pl=EPS, modulus=20.0, renewal_modulus=15.0, seed=11)
    m = lattice.EPM(thr, tab, **kw)
    res = m.run(2.0)
    ref, st = lattice.reference_run(thr, tab, strain_max=2.0, **kw)
    assert res.series["avalanche_size"].max() > L * L
    compare(res.series, ref)
    np.testing.assert_array_equal(m.activity, st["activity"])


# ----------------------------------------------------------------------------
# files and CLI


def test_bad_inputs(tmp_path):
    from glass2epm.core.io import write_table

    p = tmp_path / "bad.parquet"
    write_table(p, schemas.EPM_SERIES, {"strain": [0.1], "stress": [1.0], "avalanche_size": [1], "rounds": [1]})
    with pytest.raises(ValueError, match="sigma_y"):
        lattice.read_thresholds(p)
    with pytest.raises(ValueError, match="non-finite"):
        lattice.EPM(np.full((4, 4), np.nan), [1.0], eps_pl=EPS, modulus=15.0, seed=0)
    with pytest.raises(ValueError, match="positive residual"):
        lattice.EPM(np.ones((4, 4)), [-1.0, 1.0], eps_pl=EPS, modulus=15.0, seed=0, renewal_mode="relative")
    with pytest.raises(ValueError, match="L, L"):
        lattice.EPM(np.ones((4, 5)), [1.0], eps_pl=EPS, modulus=15.0, seed=0)
    with pytest.raises(ValueError, match="onsite"):
        lattice.propagator(8, onsite="bogus")


def test_cli_epm(tmp_path, capsys):
    from glass2epm.cli import main
    from glass2epm.core.io import read_table

    tab = lattice.weibull_table(1.5, 0.5, 3000, seed=0)
    thr_path = tmp_path / "thr.parquet"
    lattice.write_thresholds(thr_path, tab, tab[:1000] * 0.9)
    out = tmp_path / "series.parquet"
    argv = ["epm", "--thresholds", str(thr_path), "--size", "16", "--eps-pl", "0.065", "--modulus", "15",
            "--renewal-modulus", "14", "--strain", "0.6", "--seed", "3", "-o", str(out),
            "--snapshots", "0.2,0.4", "--steady-from", "0.3"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for k in ("failures", "failures_per_second", "steady_state_stress", "steady_state_std"):
        assert k in summary
    ser = read_table(out, "epm_series")
    act = read_table(tmp_path / "series.activity.parquet", "epm_activity")
    snaps = read_table(tmp_path / "series.snapshots.parquet", "epm_snapshots")
    assert summary["failures"] == int(ser["avalanche_size"].sum()) == int(act["activity"].sum())
    assert ser.meta["extra"]["renewal_source"] == "sigma_y_renewal"
    assert set(np.unique(snaps["strain"])) == {0.2, 0.4}
    assert act["x"].max() == 15 and act["y"].max() == 15
    ss = lattice.steady_state(ser.columns, 0.3, 0.6)
    assert summary["steady_state_stress"] == pytest.approx(ss.mean)
    # same seed: byte-identical series file
    out2 = tmp_path / "series2.parquet"
    argv[argv.index(str(out))] = str(out2)
    assert main(argv) == 0
    capsys.readouterr()
    assert out.read_bytes() == out2.read_bytes()
    # missing column: exit code 2 and a message naming the column
    bad = tmp_path / "bad.parquet"
    from glass2epm.core.io import write_table

    write_table(bad, schemas.EPM_SERIES, {"strain": [0.1], "stress": [1.0], "avalanche_size": [1], "rounds": [1]})
    argv[argv.index(str(thr_path))] = str(bad)
    assert main(argv) == 2
    assert "sigma_y" in capsys.readouterr().err


def test_cli_one_to_one_and_renewal_table(tmp_path, capsys):
    from glass2epm.cli import main
    from glass2epm.core.io import read_table

    L = 8
    rng = np.random.default_rng(0)
    vals = rng.normal(1.5, 0.3, L * L)
    x, y = np.meshgrid(np.arange(L) * 5.0, np.arange(L) * 5.0, indexing="ij")
    from glass2epm.core.io import write_table

    write_table(tmp_path / "map.parquet", schemas.THRESHOLDS, {"sigma_y": vals, "x": x.ravel(), "y": y.ravel()})
    lattice.write_thresholds(tmp_path / "ren.parquet", rng.normal(1.2, 0.2, 500))
    out = tmp_path / "s.parquet"
    argv = ["epm", "--thresholds", str(tmp_path / "map.parquet"), "--renewal-table", str(tmp_path / "ren.parquet"),
            "-L", str(L), "--eps-pl", "0.065", "--modulus", "15", "--strain", "0.3", "--seed", "1",
            "-o", str(out), "--one-to-one", "--onsite", "normalised"]
    assert main(argv) == 0
    capsys.readouterr()
    ser = read_table(out, "epm_series")
    assert ser.meta["extra"]["onsite_value"] == pytest.approx(-1.0)
    # the same run through the API with the map placed by coordinates
    m = lattice.EPM(vals.reshape(L, L), read_table(tmp_path / "ren.parquet")["sigma_y"], eps_pl=0.065,
                modulus=15.0, seed=1, onsite="normalised")
    res = m.run(0.3)
    np.testing.assert_array_equal(ser["avalanche_size"], res.series["avalanche_size"])
    np.testing.assert_allclose(ser["stress"], res.series["stress"], rtol=1e-12)
    argv[argv.index("8")] = "9"  # wrong L for a one-to-one map
    assert main(argv) == 2
    assert "L²" in capsys.readouterr().err
