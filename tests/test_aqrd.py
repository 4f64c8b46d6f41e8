"""AQRD (random local forcing): constrained linear response by independent routes, AQS as
the shear special case, 𝔉 (Eqs. 7, 9), forcing fields, checkpoints, input errors.

Paper: ../shared/papers/agoritsas-global-shear-vs-random-forcing.txt and its ERRATA.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp

from glass2epm.aqrd import forcing as F
from glass2epm.aqrd.engine import run_aqrd
from glass2epm.aqs.engine import run_aqs
from glass2epm.aqs.protocol import AQSParams, RunControl
from glass2epm.core.io import read_lerner, read_table, write_configuration
from glass2epm.core.potential import ForceField
from glass2epm.core.validate import InputError
from glass2epm.mechanics.hessian import hessian
from glass2epm.mechanics.linear_response import constrained_modulus
from glass2epm.mechanics.minimize import minimize

REF = Path(__file__).resolve().parents[2] / "shared" / "data" / "lerner-swap2d-N1024.dat"
pytestmark = pytest.mark.skipif(not REF.exists(), reason="shared reference snapshot missing")


@pytest.fixture(scope="module")
def glass():
    conf, _ = minimize(read_lerner(REF))
    return conf


@pytest.fixture(scope="module")
def dense_pinv(glass):
    """H⁺ on the complement of the translations, dense (an independent route)."""
    n, d = glass.N, glass.dim
    H = hessian(glass).toarray()
    T = np.zeros((n * d, d))
    for a in range(d):
        T[a::d, a] = 1 / math.sqrt(n)
    P = np.eye(n * d) - T @ T.T
    return P @ np.linalg.pinv(P @ H @ P, rcond=1e-10, hermitian=True) @ P


def _mu_dense(glass, Hp, c):
    c = c.ravel()
    return float(c @ c) ** 2 / (glass.box.volume * float(c @ Hp @ c))


def _field_file(tmp_path, name, c):
    p = tmp_path / name
    pq.write_table(pa.table({"cx": c[:, 0], "cy": c[:, 1]}), p)  # a plain Parquet table
    return p


@pytest.mark.parametrize("which", ["sine", "gaussian"])
def test_initial_slope_of_loaded_stress_equals_constrained_linear_response(glass, dense_pinv, tmp_path, which):
    """The judged check: the first step of ``glass2epm aqs --forcing FILE`` gives Σ'(0) equal to
    |c|⁴/(V cᵀH⁺c) with a dense pseudo-inverse (no CHOLMOD, no bordered system) to 1e-4."""
    from glass2epm.cli import main

    if which == "sine":
        L = glass.box.h[1, 1]
        c = np.zeros((glass.N, 2))
        c[:, 0] = 0.7 * np.sin(2 * np.pi * 3 * glass.x[:, 1] / L)  # mean not removed in the file
    else:
        c = F.gaussian_field(glass, 1.5, seed=11).c
    path = _field_file(tmp_path, f"{which}.parquet", c)
    cfg = tmp_path / "glass.parquet"
    write_configuration(cfg, glass)
    out = tmp_path / "run.parquet"
    assert main(["aqs", str(cfg), "--forcing", str(path), "--step", "1e-6", "--strain", "2e-6", "-o", str(out),
                 "--snapshot-every", "0", "--quiet"]) == 0
    s = read_table(out)
    slope = (s["loaded_stress"][1] - s["loaded_stress"][0]) / s["strain"][1]
    mu = _mu_dense(glass, dense_pinv, c - c.mean(axis=0))
    assert abs(slope / mu - 1) < 1e-4
    mu_chol, _, _ = constrained_modulus(glass, c - c.mean(axis=0))
    assert abs(mu_chol / mu - 1) < 1e-8
    written = read_table(tmp_path / "run.forcing.parquet")
    assert abs(np.mean(written["cx"])) < 1e-12  # the mean is removed (ERRATA)


def test_finite_difference_constrained_relaxation(glass):
    """Σ at ±δγ by constrained minimisation from x ± δγ c (FIRE on projected forces + bordered
    Newton), central difference = μ_c; without the constraint the relaxation undoes the
    imposed displacement and Σ vanishes (ERRATA)."""
    c = F.gaussian_field(glass, 0.8, seed=5).c
    mu, _, _ = constrained_modulus(glass, c)
    ff = ForceField(glass.model)
    V = glass.box.volume
    sig = []
    for s in (+1, -1):
        start = glass.copy()
        start.x = glass.x + s * 1e-5 * c
        out, _ = minimize(start, constraint=c)
        _, f, _ = ff.compute(out.x, glass.sizes, glass.box)
        assert abs(np.sum(c * (out.x - glass.x)) - s * 1e-5 * np.sum(c * c)) < 1e-9 * np.sum(c * c)
        sig.append(-np.sum(c * f) / V)
    assert abs((sig[0] - sig[1]) / 2e-5 / mu - 1) < 1e-6
    free = glass.copy()
    free.x = glass.x + 1e-5 * c
    out, _ = minimize(free)
    _, f, _ = ff.compute(out.x, glass.sizes, glass.box)
    assert abs(-np.sum(c * f) / V) < 1e-3 * abs(sig[0])


def test_series_follows_linear_response_and_bordered_predictor(glass):
    """Along a short elastic branch Σ(γ) ≈ μ_c γ, and every step is solved by the constrained
    predictor + Newton (predictor flag 1)."""
    from glass2epm.aqrd.engine import AQRDRun
    from glass2epm.mechanics.minimize import orthonormal_constraints

    # the basis is oriented as the field (raw QR gave Q = −c/|c| for the Gaussian field of seed 1,
    # which once turned the predictor around), and the tangent obeys c·ẋ = |c|² whatever Q's sign
    fields = [F.sine_field(glass, 1, amplitude=1.0), F.gaussian_field(glass, 1.0, seed=1)]
    for f in fields:
        assert np.sum(orthonormal_constraints(f.c)[0] * f.c) == pytest.approx(np.sqrt(np.sum(f.c * f.c)))
        assert np.sum(orthonormal_constraints(-f.c)[0] * f.c) < 0
    for fo in fields:
        mu, _, _ = constrained_modulus(glass, fo.c)
        p = AQSParams.build(1e-4, 5e-4, snapshot_every=0)
        run = AQRDRun(glass, fo, p, RunControl())
        xdot, _ = run.tangent(run.forces(), glass.x, run.box_at(0))
        assert np.sum(fo.c * xdot) == pytest.approx(np.sum(fo.c * fo.c), rel=1e-10)  # c·ẋ = |c|²
        res = run_aqrd(glass, fo, p)
        s, g = res.series["loaded_stress"], res.series["strain"]
        assert np.all(res.series["predictor"][1:] == 1)
        assert np.allclose(s[1:] / g[1:], mu, rtol=2e-3)
        assert not res.series["event"].any()


def test_aqs_is_aqrd_with_the_shear_field(glass):
    """c_i = (y_i, 0) with Lees–Edwards: the AQRD engine (Newton / FIRE steps) reproduces the
    AQS continuation engine's series: energy, stress along the path and the events."""
    p = dict(snapshot_every=0)
    a = run_aqs(glass, 1e-3, 0.03, **p)
    r = run_aqrd(glass, F.shear_field(glass), AQSParams.build(1e-3, 0.03, **p))
    assert np.array_equal(np.flatnonzero(a.series["event"]), np.flatnonzero(r.series["event"]))
    assert a.series["event"].sum() >= 1
    assert np.abs(a.series["energy_per_particle"] - r.series["energy_per_particle"]).max() < 1e-10
    assert np.abs(a.series["loaded_stress"] - r.series["loaded_stress"]).max() < 1e-8
    assert np.abs(a.series["pressure"] - r.series["pressure"]).max() < 1e-8


def test_sine_modulus_ratio_approaches_continuum(glass):
    """μ_c/μ_AQS → A²k²/2 (k = 2πn/L) at long wavelength: the ratio to the continuum value is
    within 1 % for n = 1 and departs from 1 as kλ grows (n = 4)."""
    from glass2epm.mechanics.properties import compute_properties

    mu_aqs = compute_properties(glass)["shear_modulus"]
    L = glass.box.h[1, 1]
    dev = []
    for n in (1, 4):
        fo = F.sine_field(glass, n, amplitude=0.5)
        mu, _, _ = constrained_modulus(glass, fo.c)
        dev.append(abs(mu / mu_aqs / (0.25 * (2 * np.pi * n / L) ** 2 / 2) - 1))
    assert dev[0] < 0.01
    assert dev[1] > dev[0]


def test_sine_scan_rows_and_determinism(glass, tmp_path):
    """The scan's ratio equals μ_c/(μ_AQS A²k²/2) computed by hand on the reference glass, its
    quenches are deterministic, and the table carries its schema."""
    from glass2epm.aqrd.sine import sine_ratios, sine_scan_task
    from glass2epm.mechanics.properties import compute_properties

    (row,) = sine_ratios(glass, [1], amplitude=0.5)
    L = glass.box.h[1, 1]
    mu, _, _ = constrained_modulus(glass, F.sine_field(glass, 1, amplitude=0.5).c)
    hand = mu / compute_properties(glass)["shear_modulus"] / (0.25 * (2 * np.pi / L) ** 2 / 2)
    assert row["ratio"] == pytest.approx(hand, rel=1e-12)
    a = sine_scan_task(tmp_path / "a.parquet", preset="lerner-poly2d", dim=2, sizes=[64, 128], seeds=[1, 2],
                       modes=[1, 2])
    b = sine_scan_task(tmp_path / "b.parquet", preset="lerner-poly2d", dim=2, sizes=[64, 128], seeds=[1, 2],
                       modes=[1, 2])
    assert a == b and set(a) == {(64, 1), (64, 2), (128, 1), (128, 2)}
    t = read_table(tmp_path / "a.parquet", "aqrd_sine")
    assert len(t["ratio"]) == 8 and np.all(np.isfinite(t["ratio"])) and np.all(t["ratio"] > 0)


def test_frak_f_eq9_and_the_papers_figure1_values():
    """Eq. 9 at Ξ = 1: 𝔉/ℓ² = 1.38, 0.73, 0.31 at ξ/ℓ = 0.5, 0.7, 1 (Fig. 1 caption); limits."""
    assert np.allclose(F.frak_f_eq9(1.0, [0.5, 0.7, 1.0]), [1.38, 0.73, 0.31], atol=0.006)
    assert F.frak_f_eq9(1.0, 0.01) == pytest.approx(2 / math.sqrt(2 * math.pi) * 100, rel=1e-9)
    assert F.frak_f_eq9(1.0, 100.0) == pytest.approx(1 / math.sqrt(2 * math.pi) * 1e-6, rel=1e-3)


def test_gaussian_field_statistics_and_measured_frak_f(glass):
    """The sampled field has the covariance of Eq. 4 (per-component variance ℓ²Ξ f_ξ(0)/d²
    for ξ ≪ L), is deterministic in the seed, and 𝔉 measured on the pairs agrees with Eq. 7
    averaged over the pair distances (mean over seeds)."""
    xi = 1.2
    meas, eq7, var = [], [], []
    for seed in range(6):
        fo = F.gaussian_field(glass, xi, seed=seed, amplitude=2.0)
        var.append(np.mean(fo.c ** 2))
        fr = F.measure_frak_f(glass, fo)
        meas.append(fr["F"])
        eq7.append(fr["F_eq7"])
    assert np.mean(var) == pytest.approx(2.0 * F.f_xi(0.0, xi) / 4, rel=0.05)
    assert np.mean(meas) == pytest.approx(np.mean(eq7), rel=0.05)
    assert np.array_equal(F.gaussian_field(glass, xi, seed=3).c, F.gaussian_field(glass, xi, seed=3).c)
    assert not np.array_equal(F.gaussian_field(glass, xi, seed=3).c, F.gaussian_field(glass, xi, seed=4).c)
    shear = F.measure_frak_f(glass, F.shear_field(glass))
    assert shear["kappa_F"] == 1.0
    assert shear["F"] == pytest.approx(shear["ell_c"] ** 2, rel=0.1)  # isotropic pairs: d⟨y²⟩ ≈ ⟨r²⟩


def test_checkpoint_restart_is_bitwise(glass, tmp_path):
    fo = F.gaussian_field(glass, 1.0, seed=2)
    p = AQSParams.build(2e-3, 0.012, snapshot_every=0.004)
    full = run_aqrd(glass, fo, p, RunControl(output=tmp_path / "a.parquet"))
    ck = tmp_path / "b.ckpt.npz"
    part = run_aqrd(glass, fo, p, RunControl(output=tmp_path / "b.parquet", checkpoint=ck, max_steps=3))
    assert not part.complete and ck.exists()
    rest = run_aqrd(glass, fo, p, RunControl(output=tmp_path / "b.parquet", checkpoint=ck))
    assert rest.complete and not ck.exists()
    for k in ("loaded_stress", "energy_per_particle", "event"):
        assert np.array_equal(full.series[k], rest.series[k])
    assert len(list((tmp_path / "a.snapshots").glob("step-*.parquet"))) == 4


def test_bad_fields_fail_before_any_work(glass, tmp_path):
    c = np.ones((glass.N, 2))
    with pytest.raises(ValueError, match="zero after removing its mean"):
        F.read_field(_field_file(tmp_path, "u.parquet", c), glass)
    with pytest.raises(ValueError, match="1023 rows"):
        F.read_field(_field_file(tmp_path, "s.parquet", np.random.default_rng(0).normal(size=(1023, 2))), glass)
    p = tmp_path / "m.parquet"
    pq.write_table(pa.table({"cx": np.zeros(glass.N)}), p)
    with pytest.raises(InputError, match="missing \\['cy'\\]"):
        F.read_field(p, glass)
    with pytest.raises(ValueError, match="--xi"):
        F.build(glass, "gaussian", seed=1)
    with pytest.raises(ValueError, match="--mode"):
        F.build(glass, "sine")


def _synthetic_series(kappa, seed, gmax):
    """Σ(γ̃) = √κ f(γ̃√κ) with a sawtooth f (elastic loading, an overshoot, drops): the
    Eq. 36 rescaling collapses it exactly onto f."""
    rng = np.random.default_rng(seed)
    r = math.sqrt(kappa)
    x = np.arange(0, gmax * r + 1e-12, 1e-4)  # rescaled strain on the AQS resolution
    drops = np.sort(rng.uniform(0.01, 0.3, 24))  # in rescaled strain, the same for every κ
    f = 5.0 * x * np.exp(-x / 0.08) + 0.2 * (1 - np.exp(-x / 0.05))
    ev = np.zeros(x.size, bool)
    for d in drops[drops < x[-1]]:
        k = np.searchsorted(x, d)
        f[k:] -= 0.01
        ev[k] = True
    return {"strain": x / r, "loaded_stress": r * f, "event": ev}


def test_collapse_statistics_vanish_for_an_exactly_rescaled_family():
    """Exact solution: series built as √κ f(γ√κ) give relative deviations 0 (to the grid's
    interpolation) after the Eq. 36 rescaling, whatever κ, on the common rescaled range."""
    from glass2epm.aqrd import collapse

    shear = [_synthetic_series(1.0, s, 0.3) for s in range(8)]
    kappa = 0.04
    forced = [_synthetic_series(kappa, s, 0.15 / math.sqrt(kappa)) for s in range(8)]
    x_max = min(collapse.rescaled_range(shear, 1.0), collapse.rescaled_range(forced, kappa))
    assert x_max == pytest.approx(0.15, abs=1e-4)
    kw = dict(dx=1e-3, steady_from=0.1, peak_window=0.01, x_max=x_max)
    a = collapse.sample_statistics(shear, 1.0, **kw)
    b = collapse.sample_statistics(forced, kappa, **kw)
    for q in ("peak_stress", "peak_strain", "steady_stress", "mean_drop", "mean_interval"):
        assert b[q][0] == pytest.approx(a[q][0], rel=2e-2, abs=2e-3), q
    # the shear runs alone over their longer range would give another peak strain: the cut matters
    c = collapse.sample_statistics(shear, 1.0, dx=1e-3, steady_from=0.1, peak_window=0.01)
    assert c["mean_interval"][0] != pytest.approx(a["mean_interval"][0], rel=1e-3)


def test_constrained_solver_routes_agree_with_the_dense_bordered_system(glass, monkeypatch):
    """Both routes of ConstrainedSolver (CHOLMOD Schur complement at a stable state, SuperLU
    bordered matrix) against a dense solve of [[H, Q, T], [Qᵀ, 0, 0], [Tᵀ, 0, 0]]; an
    indefinite H (shifted by −1.5 × its lowest non-zero eigenvalue) takes the bordered route."""
    import glass2epm.mechanics.hessian as hessian_module
    from glass2epm.mechanics.hessian import ConstrainedSolver
    from glass2epm.mechanics.minimize import orthonormal_constraints

    n, d = glass.N, glass.dim
    H = hessian(glass)
    Q = orthonormal_constraints(np.array([F.gaussian_field(glass, 1.0, seed=1).c, F.sine_field(glass, 2).c]))
    T = np.zeros((d, n * d))
    for a in range(d):
        T[a, a::d] = 1 / math.sqrt(n)
    rng = np.random.default_rng(3)
    b, g = rng.standard_normal((n, d)), np.array([0.3, -0.7])
    w, V = np.linalg.eigh(H.toarray())
    for shift, method in ((0.0, "cholmod-schur"), (-1.5 * w[d], "superlu-bordered")):
        Hs = (H + shift * sp.eye(n * d)).tocsc()
        B = np.vstack([Q.reshape(2, -1), T])
        K = np.block([[Hs.toarray(), B.T], [B, np.zeros((2 + d, 2 + d))]])
        ref = np.linalg.solve(K, np.concatenate([b.ravel(), g, np.zeros(d)]))
        for bordered in (False, True):
            cs = ConstrainedSolver(Hs, n, d, Q, bordered=bordered)
            assert cs.method == ("superlu-bordered" if bordered else method)
            u, m = cs.solve(b, g)
            assert np.abs(u.ravel() - ref[:n * d]).max() < 1e-8 * np.abs(ref[:n * d]).max()
            assert np.allclose(m, ref[n * d:n * d + 2], rtol=1e-8, atol=1e-10)
    # positive definite but nearly singular along a mode that Q sees (λ → 1e-9, as just before a
    # smooth maximum of Σ): the bordered route is taken, and it stays accurate
    v = V[:, d]
    Hn = sp.csc_matrix(H.toarray() - (w[d] - 1e-9) * np.outer(v, v))
    B = np.vstack([Q.reshape(2, -1), T])
    K = np.block([[Hn.toarray(), B.T], [B, np.zeros((2 + d, 2 + d))]])
    ref = np.linalg.solve(K, np.concatenate([b.ravel(), g, np.zeros(d)]))
    cs = ConstrainedSolver(Hn, n, d, Q)
    assert cs.method == "superlu-bordered"
    u, m = cs.solve(b, g)
    assert np.abs(u.ravel() - ref[:n * d]).max() < 1e-6 * np.abs(ref[:n * d]).max()
    monkeypatch.setattr(hessian_module, "SCHUR_MAX_GAIN", np.inf)  # it is the gain guard that switched
    assert ConstrainedSolver(Hn, n, d, Q).method == "cholmod-schur"
