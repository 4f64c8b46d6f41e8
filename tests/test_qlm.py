"""Quasi-localised modes and the pseudogap (issue 19): modes against a dense diagonalisation and
the continuum plane waves, γ_min against an explicit fine AQS, θ and α estimators against exact
extreme-value samples, and the commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from glass2epm.core.box import Box
from glass2epm.core.io import Configuration, read_lerner
from glass2epm.qlm.modes import dense_modes, lowest_modes, participation, plane_wave_omega2
from glass2epm.qlm.pseudogap import alpha_prediction, density_exponent, fit_alpha_fss, fit_theta

SNAP = Path(__file__).resolve().parents[2] / "shared" / "data" / "lerner-swap2d-N1024.dat"


@pytest.fixture(scope="module")
def snap():
    if not SNAP.exists():
        pytest.skip("shared snapshot not available")
    return read_lerner(SNAP)


def test_modes_match_dense_diagonalisation(snap):
    """The 12 lowest non-zero ω² and participations of the shared snapshot, against LAPACK."""
    m = lowest_modes(snap, 12, vectors=True)
    r = dense_modes(snap, 12)
    assert np.all(np.abs(m.omega2 / r.omega2 - 1) < 1e-8)
    assert np.all(np.abs(m.participation - r.participation) < 1e-6)
    # same eigenvectors up to sign, normalised, zero mean (translations projected out)
    overlap = np.abs(np.einsum("knd,knd->k", m.vectors, r.vectors))
    assert np.all(overlap > 1 - 1e-8)
    assert np.allclose(m.vectors.mean(axis=1), 0, atol=1e-12)
    assert np.all(np.diff(m.omega2) > 0) and m.omega2[0] > 0.1


def test_translations_are_the_excluded_zero_modes(snap):
    """The dense spectrum has exactly d = 2 eigenvalues at zero (uniform translations); the
    Lanczos route returns the first non-zero one as its lowest."""
    from glass2epm.qlm.modes import interacting_hessian

    Ha, _ = interacting_hessian(snap)
    w, v = np.linalg.eigh(Ha.toarray())
    zero = np.abs(w) < 1e-8 * np.abs(w).max()
    assert zero.sum() == 2
    # the zero modes are the translations: uniform displacement fields
    t = v[:, zero].T.reshape(2, -1, 2)
    assert np.allclose(np.abs(t - t.mean(axis=1, keepdims=True)).max(), 0, atol=1e-8)
    m = lowest_modes(snap, 1)
    assert abs(m.omega2[0] / np.sort(w[~zero])[0] - 1) < 1e-10


def test_participation_limits():
    v = np.zeros((2, 100, 2))
    v[0, :, 0] = 0.1  # spread evenly over all particles: e = 1
    v[1, 7, 1] = 1.0  # on one particle: e = 1/N
    assert np.allclose(participation(v), [1.0, 0.01])


def test_lowest_modes_approach_transverse_plane_waves(snap):
    """ω² of the lowest four (the n = 1 transverse plane waves) over (2π/L)² μ/ρ tends to 1 as
    the system grows (tilings of the shared inherent state, which are inherent states)."""
    from glass2epm.mechanics.expansion import shear_modulus

    mu = shear_modulus(snap)
    L = snap.box.h[0, 0]
    ratios = []
    for k in (1, 2, 3):
        sh = np.array([(i, j) for i in range(k) for j in range(k)], float) * L
        x = (snap.x[None] + sh[:, None]).reshape(-1, 2)
        big = Configuration(x, np.tile(snap.sizes, k * k), Box(np.eye(2) * L * k), snap.model)
        ratios.append(lowest_modes(big, 4).omega2.mean() / plane_wave_omega2(big, mu))
    dev = np.abs(1 - np.array(ratios))
    assert dev[0] > dev[1] > dev[2]
    assert dev[2] < 0.02


def test_gamma_min_brackets_the_instability_of_a_fine_aqs(snap):
    """γ_min (App. F refinement to 1e-3 relative) against an explicit AQS with Δγ = 1e-5: the
    first confirmed event with a real stress drop lies in the refined bracket."""
    from glass2epm.aqs.engine import run_aqs
    from glass2epm.qlm.gammamin import GammaMinParams, gamma_min

    g = gamma_min(snap, GammaMinParams(precision=1e-3))
    assert g.gamma_hi - g.gamma_lo <= 1e-3 * g.gamma_hi
    r = run_aqs(snap, 1e-5, g.gamma_hi + 5e-5, snapshot_every=0)
    ev = r.events
    big = np.flatnonzero(np.asarray(ev["dsigma"]) < -1e-4)
    assert big.size >= 1
    s = float(ev["strain"][big[0]])
    assert s - 1e-5 - 1e-12 <= g.gamma_hi and g.gamma_lo <= s + 1e-12


def _exact_extremes(theta, sizes, samples, rng):
    N, x = [], []
    for n in sizes:
        u = rng.random((samples, n))
        x += list((u ** (1 / (1 + theta))).min(axis=1))  # min of n draws of P(x) = (1+θ)x^θ on [0, 1]
        N += [n] * samples
    return np.array(N), np.array(x)


@pytest.mark.parametrize("theta", [0.0, 0.3, 1.0])
def test_theta_recovered_from_exact_extreme_values(theta):
    rng = np.random.default_rng(int(theta * 10) + 1)
    N, x = _exact_extremes(theta, [50, 200, 800, 3200], 300, rng)
    r = fit_theta(N, x, n_boot=400)
    assert r["theta_ci"][0] < theta < r["theta_ci"][1]
    assert abs(r["theta"] - theta) < 0.12
    assert r["theta_ci"][1] - r["theta_ci"][0] < 0.3


def test_fss_alpha_and_direct_alpha_agree_with_a_known_density():
    """D(ω) ∝ ω^α on [0, 1]: α from ⟨ω_min⟩ ∝ N^(−1/(1+α)) and from the direct fit."""
    rng = np.random.default_rng(3)
    alpha = 3.0
    N, w = _exact_extremes(alpha, [50, 200, 800, 3200], 300, rng)
    r = fit_alpha_fss(N, w, n_boot=300)
    assert r["alpha_ci"][0] < alpha < r["alpha_ci"][1]
    # direct: 40 samples of 200 modes; extended modes (e = 0.6) above ω_c are ignored, and
    # those below it are filtered by e_c
    omega = rng.random(8000) ** (1 / (1 + alpha))
    e = np.full(omega.size, 0.05)
    ext = rng.random(omega.size) < 0.05
    e[ext] = 0.6
    omega[ext] = rng.random(ext.sum())  # a different (flat) density: must be filtered out
    sample = np.repeat(np.arange(40), 200)
    d = density_exponent(omega, e, sample, omega_c=0.8, e_c=0.3, n_boot=300)
    assert d["alpha_ci"][0] < alpha < d["alpha_ci"][1]
    assert abs(d["alpha_ec_low"] - alpha) < 0.3 and abs(d["alpha_ec_high"] - alpha) < 0.3
    unfiltered = density_exponent(omega, e, sample, omega_c=0.8, e_c=1.0, n_boot=10)
    assert unfiltered["alpha"] < d["alpha"] - 0.5


def test_alpha_prediction_eq9():
    assert np.allclose(alpha_prediction([0.0, 0.1, 0.25, 0.6]), [3.0, 3.4, 4.0, 4.0])


def test_fit_theta_rejects_bad_tables():
    with pytest.raises(ValueError, match="two distinct N"):
        fit_theta([100, 100, 100], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="row 1"):
        fit_theta([10, 10, 20, 20], [0.1, -0.2, 0.1, 0.1])
    with pytest.raises(ValueError, match="2 samples per N"):
        fit_theta([10, 10, 20], [0.1, 0.2, 0.1])
    # a minimum pinned to a discrete lower edge (same at every N) has no exponent, not θ = 1e16
    with pytest.raises(ValueError, match="same at every N"):
        fit_theta([64, 64, 256, 256], [0.4, 0.4, 0.4, 0.4])


def test_epm_extremes_flag_a_saturated_threshold_table():
    from glass2epm.qlm.task import _tied_fraction

    assert _tied_fraction([0.3, 0.3, 0.3, 0.2]) == 0.75
    assert _tied_fraction(np.random.default_rng(0).random(50)) == 0.0


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "glass2epm.cli", *map(str, args)], capture_output=True, text=True)


def test_pseudogap_command(tmp_path):
    rng = np.random.default_rng(7)
    N, x = _exact_extremes(0.5, [100, 400, 1600], 200, rng)
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"N": N, "x_min": x}), tmp_path / "ev.parquet")  # a plain Parquet table
    p = _cli("pseudogap", tmp_path / "ev.parquet", "--n-boot", 300)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["theta_ci"][0] < 0.5 < out["theta_ci"][1]
    (tmp_path / "bad.csv").write_text("N,xmin\n10,0.1\n")
    p = _cli("pseudogap", tmp_path / "bad.csv")
    assert p.returncode != 0 and "x_min" in p.stderr and "missing" in p.stderr


def test_modes_command_writes_table_and_vectors(tmp_path, snap):
    from glass2epm.core.io import read_table, write_configuration

    write_configuration(tmp_path / "c.parquet", snap)
    p = _cli("modes", tmp_path / "c.parquet", "--count", 5, "-o", tmp_path / "m.parquet",
             "--vectors", tmp_path / "v.parquet")
    assert p.returncode == 0, p.stderr
    t = read_table(tmp_path / "m.parquet", "modes")
    r = dense_modes(snap, 5)
    assert np.allclose(t["omega2"], r.omega2, rtol=1e-8)
    v = read_table(tmp_path / "v.parquet", "mode_vectors")
    assert len(v["particle"]) == snap.N and "m4_y" in v.columns
    assert abs(np.sum(np.asarray(v["m0_x"]) ** 2 + np.asarray(v["m0_y"]) ** 2) - 1) < 1e-10
    p = _cli("modes", tmp_path / "c.parquet", "--count", 0, "-o", tmp_path / "m2.parquet")
    assert p.returncode != 0 and "--count" in p.stderr
