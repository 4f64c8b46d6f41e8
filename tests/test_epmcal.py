"""EPM calibration glue (Sec. V A): saw-tooth sampling, realisation averages, ε_pl root find."""

import numpy as np
import pytest

from glass2epm.epm import lattice as E
from glass2epm.epm import calibrate


def _tables(seed=0):
    rng = np.random.default_rng(seed)
    return 1.0 + 0.4 * rng.weibull(2.0, 4000), 0.8 + 0.3 * rng.weibull(2.0, 4000)


def test_stress_on_grid_is_the_sawtooth():
    init, ren = _tables()
    m = E.EPM.from_tables(8, init, ren, seed=3, eps_pl=0.065, modulus=12.0, renewal_modulus=10.0)
    ser = m.run(0.5).series
    g = np.asarray(ser["strain"])
    # at recorded steps the grid value equals the post-avalanche stress
    np.testing.assert_allclose(calibrate.stress_on_grid(ser, g[:-1]), ser["stress"][:-1], atol=1e-12)
    # just before a step, the value approaches the pre-avalanche stress
    k = len(g) // 2
    before = calibrate.stress_on_grid(ser, np.array([g[k] - 1e-12]))
    assert before[0] == pytest.approx(ser["stress_before"][k], abs=1e-9)


def test_realisations_and_summary():
    init, ren = _tables(1)
    r = calibrate.run_realisations(init, ren, calibrate.RealisationConfig(
        L=8, eps_pl=0.065, modulus=12.0, renewal_modulus=10.0, strain_max=1.0, seeds=(1, 2, 3),
        steady_from=0.5, snapshots=(0.2, 0.6)))
    curve, summ = r["curve"], r["summary"]
    assert curve["n"][-1] == 3 and len(summ["peak_stress"]) == 3
    assert np.all(summ["peak_stress"] >= summ["steady_stress"])
    assert sorted(r["snapshots0"]) == [0.2, 0.6]
    assert r["steady"].size == 3 * 200 and np.all(np.isfinite(r["steady"]))
    # each steady value carries its realisation; its block equals that realisation's own samples
    np.testing.assert_array_equal(r["steady_seed"], np.repeat([1, 2, 3], 200))
    own = calibrate.run_realisations(init, ren, calibrate.RealisationConfig(
        L=8, eps_pl=0.065, modulus=12.0, renewal_modulus=10.0, strain_max=1.0, seeds=(2,), steady_from=0.5))
    np.testing.assert_array_equal(r["steady"][r["steady_seed"] == 2], own["steady"])
    # the peak of the mean curve: below the mean of per-realisation maxima (max of a mean <=
    # mean of maxima, smoothing only lowers it), and on the curve file's grid
    pk = r["peak"]
    assert pk.value <= np.mean(summ["peak_stress"]) + 1e-12
    assert pk.value <= np.nanmax(curve["stress_mean"]) + 1e-12
    assert np.allclose(np.diff(curve["strain"]), 1e-3)
    assert pk.n_samples == 3 and pk.ci[0] <= pk.value <= pk.ci[1] + 1e-12
    # a restricted peak range applies to the per-realisation maxima and the mean-curve peak alike
    r2 = calibrate.run_realisations(init, ren, calibrate.RealisationConfig(
        L=8, eps_pl=0.065, modulus=12.0, renewal_modulus=10.0, strain_max=1.0, seeds=(1, 2, 3),
        steady_from=0.5, peak_strain_max=0.05))
    assert np.all(r2["summary"]["peak_strain"] <= 0.05 + 1e-12) and r2["peak"].x <= 0.05 + 1e-12
    assert np.all(r2["summary"]["peak_stress"] <= summ["peak_stress"] + 1e-12)


def test_calibration_recovers_a_known_eps_pl():
    """Target generated at ε_pl = 0.08 with the same seeds: the root find must return 0.08."""
    init, ren = _tables(2)
    seeds = (0, 1)
    runs = [E.EPM.from_tables(10, init, init, seed=s, eps_pl=0.08, modulus=12.0, renewal_modulus=12.0)
            .run(1.5).series for s in seeds]
    target = float(np.mean([E.steady_state(r, 0.7).mean for r in runs]))
    cal = calibrate.calibrate(init, init, L=10, modulus=12.0, target=target, strain_max=1.5, steady_from=0.7,
                           seeds=seeds, bracket=(0.02, 0.3))
    assert cal.eps_pl == pytest.approx(0.08, abs=2e-3)
    assert cal.eps_pl_low <= cal.eps_pl <= cal.eps_pl_high


def test_task_stages_write_what_run_realisations_returns(tmp_path):
    """The stage functions the rule scripts call: same numbers as the library calls."""
    import json

    from glass2epm.core.io import read_table
    from glass2epm.epm import task

    init = E.weibull_table(1.2, 0.4, 400, seed=1)
    ren = E.weibull_table(0.9, 0.3, 400, seed=2)
    E.write_thresholds(tmp_path / "init.parquet", init, extra={"modulus": 12.0})
    E.write_thresholds(tmp_path / "ren.parquet", ren, extra={"modulus": 10.0})
    (tmp_path / "cal.json").write_text(json.dumps({"eps_pl": 0.065}))
    out = {k: tmp_path / f"{k}.parquet" for k in ("curves", "summary", "steady", "example")}
    task.realisations_stage(tmp_path / "init.parquet", tmp_path / "ren.parquet", tmp_path / "cal.json", **out,
                            Tp=0.4, method="bond", L=8, strain=1.0, realisations=2, onsite="paper",
                            steady_from=0.5, peak_window=0.0, peak_strain_max=None)
    r = calibrate.run_realisations(init, ren, calibrate.RealisationConfig(
        L=8, eps_pl=0.065, modulus=12.0, renewal_modulus=10.0, strain_max=1.0, seeds=(0, 1), steady_from=0.5))
    np.testing.assert_array_equal(read_table(out["summary"])["peak_stress"], r["summary"]["peak_stress"])
    np.testing.assert_array_equal(read_table(out["example"])["stress"], r["series0"]["stress"])
    st = read_table(out["steady"])
    np.testing.assert_array_equal(st["stress"], r["steady"])
    np.testing.assert_array_equal(st["sample"], r["steady_seed"])
    paths = [tmp_path / f"act{k}.parquet" for k in range(2)]
    task.bands_stage(tmp_path / "init.parquet", tmp_path / "ren.parquet", tmp_path / "cal.json", paths, Tp=0.4,
                     lattices=[8], epm_L=[8], strain=0.6, strains=[0.2, 0.6], size_strain=0.4, map_strain=0.6,
                     realisations=2, onsite="paper")
    assert all(p.exists() for p in paths)


def test_steady_widths_resample_whole_samples(tmp_path):
    """P(σ_s) statistics per source and size: mean and std are numpy's on the pooled values; the
    bootstrap intervals resample whole samples, so samples that differ by an offset (correlated
    values within a sample) widen the interval of the mean far beyond the i.i.d. one."""
    from glass2epm.analysis.summary import steady_widths
    from glass2epm.core import io
    from glass2epm.core.schemas import EPM_STEADY

    rng = np.random.default_rng(5)
    offsets = np.array([-0.05, 0.0, 0.05, 0.1])
    part = np.concatenate([0.4 + o + 0.01 * rng.standard_normal(300) for o in offsets])
    epm = 0.45 + 0.02 * rng.standard_normal(8 * 200)
    cols = {"source": np.array(["particles"] * part.size + ["epm"] * epm.size),
            "size": np.concatenate([np.full(part.size, 10000.0), np.full(epm.size, 20.0)]),
            "stress": np.concatenate([part, epm]),
            "sample": np.concatenate([np.repeat(np.arange(1, 5), 300), np.repeat(np.arange(8), 200)])}
    io.write_table(tmp_path / "steady.parquet", EPM_STEADY, cols)
    w = steady_widths(tmp_path / "steady.parquet")
    p, e = w["particles"][10000], w["epm"][20]
    assert p["n"] == part.size and p["samples"] == 4 and e["samples"] == 8
    assert p["mean"] == pytest.approx(part.mean(), rel=1e-12) and p["std"] == pytest.approx(part.std(), rel=1e-12)
    for d in (p, e):
        assert d["mean_ci"][0] <= d["mean"] <= d["mean_ci"][1]
        assert d["std_ci"][0] <= d["std"] <= d["std_ci"][1] + 1e-12
    iid_half = 1.96 * part.std() / np.sqrt(part.size)
    assert (p["mean_ci"][1] - p["mean_ci"][0]) / 2 > 5 * iid_half
    # without the column (tables written before it): the point values, no intervals
    del cols["sample"]
    io.write_table(tmp_path / "old.parquet", EPM_STEADY, cols)
    o = steady_widths(tmp_path / "old.parquet")["particles"][10000]
    assert o["std"] == p["std"] and "std_ci" not in o
