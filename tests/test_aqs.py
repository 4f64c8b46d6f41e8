"""Athermal quasistatic shear (glass2epm.aqs.engine, ``glass2epm aqs``).

Physics is checked by independent routes: the first elastic slope against the
Hessian shear modulus of properties.compute_properties (Eq. 19) with a minimiser
that never sees the Hessian (affine start, FIRE); energy–stress consistency
dU/dγ = V σ:A along the path (a thermodynamic identity the code never uses);
plastic events against irreversibility (a reversed step does not return to the
previous state), elastic steps against reversibility.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from glass2epm import cli
from glass2epm.core import io
from glass2epm.aqs.engine import (
    AQSInterrupted,
    events_path,
    iter_snapshots,
    list_snapshots,
    loading_curves,
    pooled_statistics,
    read_events,
    read_series,
    run_aqs,
    snapshots_path,
    steady_state_distribution,
    summarize,
)
from glass2epm.core.box import Box, deformation, deformation_generator
from glass2epm.mechanics.minimize import minimize
from glass2epm.core.model import Model
from glass2epm.mechanics.properties import compute_properties

REF = Path("/work/shared/data/lerner-swap2d-N1024.dat")


@pytest.fixture(scope="module")
def ref():
    if not REF.exists():
        pytest.skip("reference configuration not available")
    return io.read_lerner(REF)


@pytest.fixture(scope="module")
def small_glass():
    """N = 300 instantaneous quench (random positions minimised): a poorly annealed glass."""
    m = Model.from_preset("lerner-poly2d")
    n = 300
    L = m.box_side(n)
    rng = np.random.default_rng(1)
    c = io.Configuration(rng.random((n, 2)) * L, m.sizes(n), Box.square(L), m, seed=1)
    c, _ = minimize(c)
    return c


# ---------------------------------------------------------------------------
# elastic branch


@pytest.mark.parametrize("predictor", ["affine", "linear"])
def test_first_elastic_slope_is_the_shear_modulus(ref, predictor):
    mu = compute_properties(ref)["shear_modulus"]
    r = run_aqs(ref, 1e-6, 3e-6, predictor=predictor, snapshot_every=0)
    s = r.series
    assert r.complete and len(s["strain"]) == 4
    np.testing.assert_allclose(s["strain"], [0, 1e-6, 2e-6, 3e-6], rtol=0, atol=1e-15)
    slope = (s["sxy"][1] - s["sxy"][0]) / 1e-6
    assert abs(slope / mu - 1) < 1e-4
    assert not s["event"].any()
    assert np.all(s["max_force"][1:] < 1e-10)
    if predictor == "linear":  # the linear-response start was used, not the fallback
        assert np.all(s["predictor"][1:] == 1)


def test_backward_gives_mirror_initial_slope(ref):
    fwd = run_aqs(ref, 1e-6, 1e-6, snapshot_every=0).series
    bwd = run_aqs(ref, 1e-6, 1e-6, direction="backward", snapshot_every=0).series
    assert bwd["strain"][1] == pytest.approx(-1e-6, abs=1e-18)
    dsf = fwd["sxy"][1] - fwd["sxy"][0]
    dsb = bwd["sxy"][1] - bwd["sxy"][0]
    assert dsf > 0 and dsb < 0
    assert dsb == pytest.approx(-dsf, rel=1e-3)
    mu = compute_properties(ref)["shear_modulus"]
    assert abs(dsb / -1e-6 / mu - 1) < 1e-4


@pytest.mark.parametrize("geometry", ["simple_shear", "pure_shear", "dilation"])
def test_energy_stress_consistency(ref, geometry):
    """dU/dγ = V(γ) σ:A along the AQS path (trapezoid rule over each step)."""
    dg, nst = 1e-5, 6  # trapezoid error ~ Δγ² relative (≈ 2e-5 at Δγ = 1e-4 in pure shear)
    r = run_aqs(ref, dg, nst * dg, geometry=geometry, snapshot_every=0)
    s = r.series
    A = deformation_generator(geometry, 2)
    V = np.array([ref.box.volume * np.linalg.det(deformation(geometry, g, 2)) for g in s["strain"]])
    U = s["energy_per_particle"] * ref.N
    dUdg = V * (A * A).sum() * s["loaded_stress"]
    lhs = np.diff(U)
    rhs = 0.5 * (dUdg[1:] + dUdg[:-1]) * dg
    np.testing.assert_allclose(lhs, rhs, rtol=1e-6)
    # the cell follows D(γ)·h0 exactly
    np.testing.assert_allclose(r.final.box.volume, V[-1], rtol=1e-12)
    if geometry == "pure_shear":
        np.testing.assert_allclose(
            np.diag(r.final.box.h),
            np.diag(ref.box.h) * [np.exp(nst * dg), np.exp(-nst * dg)],
            rtol=1e-12,
        )
        # loaded stress is (σxx − σyy)/2 and grows under pure shear
        np.testing.assert_allclose(
            s["loaded_stress"], 0.5 * (s["sxx"] - s["syy"]), rtol=0, atol=1e-14
        )
        assert np.all(np.diff(s["loaded_stress"]) > 0)
    assert not s["event"].any()


def test_linear_response_start_follows_plain_aqs(small_glass):
    """Same branches, same events, far fewer force evaluations than the affine start."""
    lin = run_aqs(small_glass, 1e-3, 0.06, snapshot_every=0).series
    aff = run_aqs(small_glass, 1e-3, 0.06, snapshot_every=0, predictor="affine").series
    assert lin["event"].sum() >= 2
    np.testing.assert_array_equal(lin["event"], aff["event"])
    for k in ("sxx", "syy", "sxy", "energy_per_particle"):
        np.testing.assert_allclose(lin[k], aff[k], rtol=0, atol=1e-8)
    assert np.all(aff["predictor"][1:] == 0)
    assert lin["predictor"][1:].mean() > 0.5
    assert lin["force_evaluations"].sum() < 0.7 * aff["force_evaluations"].sum()


def test_lees_edwards_tilt_reduction(small_glass):
    """Past γ = 0.5 the tilt jumps by a side; the series stays continuous."""
    c = small_glass.copy()
    c.strain = {"gamma": 0.498, "geometry": "simple_shear"}
    c.box = Box(deformation("simple_shear", 0.498) @ small_glass.box.h)
    c.x = small_glass.x @ deformation("simple_shear", 0.498).T
    r = run_aqs(c, 1e-3, 0.501, snapshot_every=0)
    h = r.final.box.h
    L = h[0, 0]
    assert h[0, 1] == pytest.approx((0.501 - 1.0) * L, rel=1e-9)  # reduced into [−L/2, L/2)
    s = r.series
    assert len(s["strain"]) == 4
    # no spurious event at the image jump: the stress changes by an elastic amount
    assert np.all(np.abs(np.diff(s["sxy"])) < 0.1)


# ---------------------------------------------------------------------------
# plastic events


def test_events_detected_and_irreversible(small_glass):
    dg = 1e-3
    r = run_aqs(small_glass, dg, 0.13, snapshot_every=dg)
    s = r.series
    ev = s["event"]
    assert ev.sum() >= 2
    # raw criterion ⇔ loaded-stress drop beyond the threshold (recomputed from the series)
    drop = -np.diff(s["loaded_stress"])
    np.testing.assert_array_equal(s["stress_drop"][1:], drop > 1e-6)
    assert not np.any(ev & ~s["stress_drop"])  # events are confirmed stress drops
    e = r.events
    np.testing.assert_array_equal(e["step"], np.flatnonzero(ev))
    np.testing.assert_allclose(e["dsigma"], -drop[ev[1:]])
    np.testing.assert_allclose(
        e["denergy"],
        np.diff(s["energy_per_particle"] * small_glass.N)[ev[1:]],
        rtol=1e-9,
        atol=1e-9,
    )
    assert np.all(e["reversal_distance"] > 1e-3)
    assert np.all(e["n_displaced"] >= 0) and e["n_displaced"].max() > 0
    snaps = {int(c.strain["step"]): c for c in r.snapshots}
    assert sorted(snaps) == list(range(len(s["strain"])))

    def back(n):
        """Reverse step n (an independent AQS run): largest displacement from state n − 1."""
        c = snaps[n]
        rb = run_aqs(
            c,
            dg,
            dg - c.strain["gamma"],
            direction="backward",
            snapshot_every=0,
            predictor="affine",
        )
        assert len(rb.series["strain"]) == 2
        u = snaps[n - 1].box.minimum_image(rb.final.x - snaps[n - 1].x)
        return np.abs(u).max()

    big = e["step"][np.argmax(-e["dsigma"])]
    assert back(int(big)) > 1e-2  # a plastic event is irreversible
    elastic = [n for n in range(2, len(ev)) if not s["stress_drop"][n] and s["predictor"][n] == 1]
    assert back(elastic[0]) < 1e-6  # an elastic step is reversible
    # this glass softens reversibly before an instability (σ ≈ σ_c − c√(γ_c − γ)): such
    # stress drops are not events, and undoing them does return
    soft = np.flatnonzero(s["stress_drop"] & ~ev)
    assert soft.size > 0
    assert back(int(soft[0])) < 1e-6


# ---------------------------------------------------------------------------
# outputs, checkpoints, determinism


def _assert_same_series(a: dict, b: dict):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_outputs_and_snapshots(small_glass, tmp_path):
    out = tmp_path / "run.parquet"
    calls = []
    r = run_aqs(
        small_glass,
        2e-3,
        0.03,
        snapshot_every=0.01,
        output=out,
        progress=calls.append,
        progress_every=0.0,
    )
    assert r.complete
    assert [c["step"] for c in calls] == list(range(1, 16))
    assert {"strain", "loaded_stress", "events", "steps_per_s"} <= set(calls[-1])
    t = read_series(out)
    for c in (
        "strain",
        "sxx",
        "syy",
        "sxy",
        "pressure",
        "energy_per_particle",
        "force_evaluations",
        "event",
    ):
        assert c in t.columns
    _assert_same_series(t.columns, r.series)
    assert t.meta["extra"]["aqs"]["geometry"] == "simple_shear"
    ev = read_events(events_path(out))
    assert len(ev["step"]) == r.series["event"].sum()
    snaps = list_snapshots(snapshots_path(out))
    strains = [c.strain["gamma"] for c in iter_snapshots(snapshots_path(out))]
    np.testing.assert_allclose(strains, [0.0, 0.01, 0.02, 0.03], atol=1e-12)
    assert len(snaps) == 4
    assert not (tmp_path / "run.snapshots.part").exists()
    last = io.read_configuration(snaps[-1])
    np.testing.assert_array_equal(last.x, r.final.x)
    np.testing.assert_array_equal(last.box.h, r.final.box.h)


def test_restart_is_bitwise_identical(small_glass, tmp_path):
    dg, gmax = 1e-3, 0.06
    ref = run_aqs(small_glass, dg, gmax, snapshot_every=0.02, output=tmp_path / "a" / "s.parquet")
    assert ref.series["event"].sum() >= 1  # the fallback path is exercised too

    # 1) killed mid-way (after the checkpoint at step 40) and restarted
    out = tmp_path / "b" / "s.parquet"
    ck = tmp_path / "b" / "ck.npz"

    def kill(n, row):
        if n == 45:
            raise AQSInterrupted("simulated kill")

    with pytest.raises(AQSInterrupted):
        run_aqs(
            small_glass,
            dg,
            gmax,
            snapshot_every=0.02,
            output=out,
            checkpoint=ck,
            checkpoint_every=10,
            on_step=kill,
        )
    assert ck.exists()
    assert not out.exists() and not events_path(out).exists() and not snapshots_path(out).exists()
    res = run_aqs(
        small_glass, dg, gmax, snapshot_every=0.02, output=out, checkpoint=ck, checkpoint_every=10
    )
    assert res.complete and res.stats["resumed"]
    assert not ck.exists()  # removed after a complete run
    _assert_same_series(res.series, ref.series)
    _assert_same_series(read_series(out).columns, ref.series)
    _assert_same_series(res.events, ref.events)
    for p, q in zip(list_snapshots(snapshots_path(out)), ref.snapshots, strict=True):
        a, b = io.read_configuration(p), io.read_configuration(q)
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.box.h, b.box.h)

    # 2) stopped by max_steps twice (checkpoint written at the stop), no output until the end
    ck2 = tmp_path / "c" / "ck.npz"
    r1 = run_aqs(small_glass, dg, gmax, snapshot_every=0, checkpoint=ck2, max_steps=23)
    assert not r1.complete and len(r1.series["strain"]) == 24 and ck2.exists()
    r2 = run_aqs(small_glass, dg, gmax, snapshot_every=0, checkpoint=ck2, max_steps=23)
    assert not r2.complete and len(r2.series["strain"]) == 47
    r3 = run_aqs(small_glass, dg, gmax, snapshot_every=0, checkpoint=ck2)
    assert r3.complete
    _assert_same_series(r3.series, ref.series)

    # a checkpoint is refused for other parameters
    run_aqs(small_glass, dg, gmax, snapshot_every=0, checkpoint=ck2, max_steps=3)
    with pytest.raises(ValueError, match="other parameters"):
        run_aqs(small_glass, 2 * dg, gmax, snapshot_every=0, checkpoint=ck2)


def test_restart_inside_hessian_reuse(ref, tmp_path):
    """Stop while a factorisation is being reused (stiff glass, small steps): the
    checkpoint carries the Hessian's reference state, so the resumed steps are bitwise
    the same (without it the chord iterations differ in the last bits)."""
    full = run_aqs(ref, 1e-4, 3e-3, snapshot_every=0)
    fac = full.series["factorizations"]
    assert (
        fac[1] == 1 and fac[2:].sum() < len(fac) // 3 and fac[13] == 0
    )  # reuse happens at step 13
    ck = tmp_path / "ck.npz"
    run_aqs(ref, 1e-4, 3e-3, snapshot_every=0, checkpoint=ck, max_steps=13)
    r = run_aqs(ref, 1e-4, 3e-3, snapshot_every=0, checkpoint=ck)
    _assert_same_series(r.series, full.series)


def test_deterministic_files(small_glass, tmp_path):
    paths = []
    for k in range(2):
        out = tmp_path / f"r{k}" / "s.parquet"
        run_aqs(small_glass, 2e-3, 0.02, snapshot_every=0.01, output=out)
        paths.append(out)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert events_path(paths[0]).read_bytes() == events_path(paths[1]).read_bytes()
    for p, q in zip(
        list_snapshots(snapshots_path(paths[0])),
        list_snapshots(snapshots_path(paths[1])),
        strict=True,
    ):
        assert p.read_bytes() == q.read_bytes()


# ---------------------------------------------------------------------------
# summaries


def test_summary_and_pooled_distribution():
    g = np.linspace(0, 0.5, 501)
    sig = np.where(g < 0.1, 10 * g, 0.6)  # peak 1.0 at γ = 0.1, steady 0.6
    sig[100] = 1.0
    ss = {"strain": g, "sxy": sig, "event": np.zeros_like(g, bool)}
    sm = summarize(ss, window=(0.2, None), component="sxy")
    assert sm["peak_stress"] == 1.0 and sm["peak_strain"] == pytest.approx(0.1)
    assert sm["steady_stress"] == pytest.approx(0.6) and sm["steady_std"] == pytest.approx(
        0.0, abs=1e-12
    )
    assert sm["overshoot"] == pytest.approx(0.4)
    # backward: the peak is the most negative stress
    sb = summarize({"strain": -g, "sxy": -sig}, window=(0.2, None), component="sxy")
    assert (
        sb["direction"] == "backward"
        and sb["peak_stress"] == -1.0
        and sb["overshoot"] == pytest.approx(0.4)
    )
    rng = np.random.default_rng(0)
    series = [{"strain": g, "sxy": 0.6 + 0.05 * rng.standard_normal(g.size)} for _ in range(3)]
    P = steady_state_distribution(series, window=(0.2, None), bins=20, component="sxy")
    n_win = np.count_nonzero(g >= 0.2)
    assert P["n_samples"] == 3 * n_win
    assert np.sum(P["density"] * np.diff(P["edges"])) == pytest.approx(1.0)
    pooled = np.concatenate([s["sxy"][g >= 0.2] for s in series])
    assert P["mean"] == pytest.approx(pooled.mean()) and P["std"] == pytest.approx(pooled.std())


def test_loading_curves_and_mean_curve_peak():
    """Curves of different lengths and directions on one grid; the pooled peak is the peak of
    the mean curve (a hand-built saw-tooth pair whose mean peaks at 0.9, not at 1.0)."""
    g = np.linspace(0, 0.3, 301)
    a = np.minimum(10 * g, 1.0)  # reaches 1.0 at 0.1, stays
    b = np.where(g < 0.08, 10 * g, 0.8)  # rises to 0.8, then flat
    ser = [{"strain": g, "sxy": a}, {"strain": -g[:251], "sxy": -b[:251]}]  # second backward
    grid, C = loading_curves(ser, dx=1e-3, component="sxy")
    assert grid[-1] == pytest.approx(0.25) and C.shape == (2, grid.size)
    np.testing.assert_allclose(C[1], np.interp(grid, g, b), atol=1e-12)  # sign · σ along loading
    cols, pooled = pooled_statistics([{"strain": g, "sxy": a, "event": np.zeros_like(g, bool)},
                                      {"strain": g, "sxy": b, "event": np.zeros_like(g, bool)}],
                                     window=(0.2, None))
    assert pooled["mean_curve_peak"]["value"] == pytest.approx(0.9, abs=1e-9)
    assert np.mean(cols["peak_stress"]) == pytest.approx(0.9)  # here the two agree by design
    with pytest.raises(ValueError, match="too short"):
        loading_curves([{"strain": np.array([0.0, 1e-4]), "sxy": np.zeros(2)}], component="sxy")


# ---------------------------------------------------------------------------
# bad input


def test_bad_inputs(small_glass):
    with pytest.raises(ValueError, match="--step"):
        run_aqs(small_glass, -1e-4, 0.1)
    with pytest.raises(ValueError, match="--step"):
        run_aqs(small_glass, 0.0, 0.1)
    c = small_glass.copy()
    c.strain = {"gamma": 0.05, "geometry": "simple_shear"}
    with pytest.raises(ValueError, match=r"0\.01.*0\.05|0\.05.*0\.01"):
        run_aqs(c, 1e-3, 0.01)
    with pytest.raises(ValueError, match="--geometry"):
        run_aqs(small_glass, 1e-3, 0.01, geometry="twist")
    with pytest.raises(ValueError, match="--direction"):
        run_aqs(small_glass, 1e-3, 0.01, direction="sideways")


def _cli(argv, capsys):
    rc = cli.main(argv)
    return rc, capsys.readouterr().err


def test_cli(small_glass, tmp_path, capsys):
    cfg = tmp_path / "glass.parquet"
    io.write_configuration(cfg, small_glass)
    out = tmp_path / "o" / "series.parquet"
    rc, err = _cli(
        [
            "aqs",
            str(cfg),
            "--step",
            "2e-3",
            "--strain",
            "0.02",
            "-o",
            str(out),
            "--checkpoint",
            str(tmp_path / "o" / "ck.npz"),
            "--summary",
            str(tmp_path / "sum.json"),
            "--quiet",
        ],
        capsys,
    )
    assert rc == 0, err
    t = read_series(out)
    assert {"strain", "sxy", "pressure", "energy_per_particle"} <= set(t.columns)
    assert len(t["strain"]) == 11
    assert len(list_snapshots(snapshots_path(out))) == 3
    assert json.loads((tmp_path / "sum.json").read_text())["peak_strain"] > 0

    # a file of another schema as input
    rc, err = _cli(
        ["aqs", str(out), "--step", "1e-3", "--strain", "0.01", "-o", str(tmp_path / "x.parquet")],
        capsys,
    )
    assert rc == 2 and "configuration" in err
    # a configuration whose model metadata is broken (another model)
    bad = tmp_path / "bad.parquet"
    io.write_table(
        bad,
        io.CONFIGURATION,
        {"x": small_glass.x[:, 0], "y": small_glass.x[:, 1], "size": small_glass.sizes},
        model={"preset": "kob-andersen", "epsilon_AB": 1.5},
        box=small_glass.box,
    )
    rc, err = _cli(
        ["aqs", str(bad), "--step", "1e-3", "--strain", "0.01", "-o", str(tmp_path / "y.parquet")],
        capsys,
    )
    assert rc == 2 and "model" in err
    # negative step
    for step in (["--step", "-1e-3"], ["--step=-0.001"]):
        rc, err = _cli(
            ["aqs", str(cfg), *step, "--strain", "0.01", "-o", str(tmp_path / "z.parquet")], capsys
        )
        assert rc == 2 and "--step" in err and "positive" in err
    # strain target below the current strain
    c = small_glass.copy()
    c.strain = {"gamma": 0.05, "geometry": "simple_shear"}
    io.write_configuration(tmp_path / "strained.parquet", c)
    rc, err = _cli(
        [
            "aqs",
            str(tmp_path / "strained.parquet"),
            "--step",
            "1e-3",
            "--strain",
            "0.02",
            "-o",
            str(tmp_path / "w.parquet"),
        ],
        capsys,
    )
    assert rc == 2 and "0.02" in err and "0.05" in err
    assert not (tmp_path / "w.parquet").exists()


def test_3d_smoke():
    m = Model.from_preset("richard2023", dim=3)
    n = 300
    L = m.box_side(n)
    rng = np.random.default_rng(3)
    c, _ = minimize(io.Configuration(rng.random((n, 3)) * L, m.sizes(n), Box.square(L, 3), m))
    r = run_aqs(c, 1e-3, 3e-3, snapshot_every=0)
    s = r.series
    for k in ("szz", "sxz", "syz"):
        assert k in s
    tr = s["sxx"] + s["syy"] + s["szz"]
    np.testing.assert_allclose(s["pressure"], -tr / 3, rtol=1e-12)
    assert r.final.box.h[0, 1] == pytest.approx(3e-3 * L, rel=1e-9)


def test_protocol_record_and_task_function(small_glass, tmp_path):
    """run_protocol(conf, AQSParams, RunControl) is run_aqs; the task function (CLI and rule
    script) writes the same series and a summary JSON."""
    from glass2epm.aqs.engine import AQSParams, RunControl, run_protocol
    from glass2epm.aqs.tasks import shear_task

    kw = dict(direction="backward", snapshot_every=0.01)
    a = run_aqs(small_glass, 1e-3, 0.02, **kw)
    b = run_protocol(small_glass, AQSParams(step=1e-3, strain_max=0.02, **kw), RunControl())
    for k in a.series:
        assert np.array_equal(a.series[k], b.series[k]), k
    assert np.array_equal(a.final.x, b.final.x)
    assert len(a.snapshots) == len(b.snapshots) == 3

    conf_path = tmp_path / "in.parquet"
    io.write_configuration(conf_path, small_glass)
    res, summ = shear_task(conf_path, tmp_path / "s.parquet", AQSParams.build(1e-3, 0.02, **kw),
                           summary=tmp_path / "s.json", steady_from=0.01)
    for k in a.series:
        assert np.array_equal(read_series(tmp_path / "s.parquet").columns[k], a.series[k]), k
    saved = json.loads((tmp_path / "s.json").read_text())
    assert saved["peak_stress"] == summ["peak_stress"] == summarize(a, window=(0.01, None))["peak_stress"]
    assert len(list_snapshots(snapshots_path(tmp_path / "s.parquet"))) == 3
