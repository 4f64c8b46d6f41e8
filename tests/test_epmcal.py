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
    paths = [tmp_path / f"act{k}.parquet" for k in range(2)]
    task.bands_stage(tmp_path / "init.parquet", tmp_path / "ren.parquet", tmp_path / "cal.json", paths, Tp=0.4,
                     lattices=[8], epm_L=[8], strain=0.6, strains=[0.2, 0.6], size_strain=0.4, map_strain=0.6,
                     realisations=2, onsite="paper")
    assert all(p.exists() for p in paths)
