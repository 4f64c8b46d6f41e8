"""Coarse-grained fields (issue 22): box means against the virial stress and N/V on the shared
reference glass, the divergence identity, spreading against direct summation, structure functions
against the exact Poisson results."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from conftest import REFERENCE
from glass2epm.core import io
from glass2epm.fields import coarse


@pytest.fixture(scope="module")
def ref():
    if not REFERENCE.exists():  # a checkout without ../shared beside it: skipped like the other suites
        pytest.skip(f"reference configuration not found at {REFERENCE}")
    return io.read_lerner(REFERENCE)


@pytest.mark.parametrize("ell,n", [(1.5, 64), (3.0, 64)])  # direct spreading; semigroup + FFT route
def test_box_means_divergence_and_direct_sum(ref, ell, n):
    from glass2epm.mechanics.properties import compute_properties

    f = coarse.coarse_fields(ref, ell, n)
    V = abs(np.linalg.det(ref.box.h))
    assert abs(f["rho"].mean() / (ref.N / V) - 1) < 1e-8
    st = compute_properties(ref)["stress"]
    for c in ("xx", "yy", "xy"):
        assert abs(f["s" + c].mean() - st[c]) < 1e-6 * abs(st["xx"])
    # an inherent state: ∇·σ_ℓ = Σ F_i G_ℓ(x − x_i) ≈ 0, measured spectrally on the returned grid
    div, scale = coarse.spectral_divergence(f, ref)
    assert np.abs(div).max() < 1e-5 * scale
    idx = [0, 77, 1000, n * n - 1]
    pts = np.column_stack([f["x"][idx], f["y"][idx]])
    d = coarse.direct_fields(ref, ell, pts)
    for c in ("rho", "sxx", "syy", "sxy"):
        assert np.abs(d[c] - f[c][idx]).max() < 1e-8 * np.abs(d[c]).max() + 1e-12


def test_divergence_equals_spread_forces_off_equilibrium(ref):
    """Away from equilibrium ∇·σ_ℓ = Σ_i F_i G_ℓ(x − x_i) ≠ 0."""
    from glass2epm.core.potential import ForceField

    conf = ref.copy()
    conf.x = conf.x + np.random.default_rng(0).normal(0, 0.05, conf.x.shape)
    ell, n = 2.0, 64
    f = coarse.coarse_fields(conf, ell, n)
    div, scale = coarse.spectral_divergence(f, conf)
    _, F, _ = ForceField(conf.model).compute(conf.x, conf.sizes, conf.box)
    pts = np.column_stack([f["x"], f["y"]])
    h, hinv = conf.box.h, np.linalg.inv(conf.box.h)
    sel = np.arange(0, n * n, 97)
    expect = np.zeros((2, sel.size))
    for k, p in enumerate(pts[sel]):
        dx = p - conf.x
        fr = dx @ hinv.T
        dx = (fr - np.round(fr)) @ h.T
        G = np.exp(-np.einsum("ij,ij->i", dx, dx) / (2 * ell * ell)) / (2 * np.pi * ell * ell)
        expect[:, k] = F.T @ G
    assert np.abs(div[:, sel]).max() > 1e-2 * scale  # not an equilibrium
    assert np.abs(div[:, sel] - expect).max() < 1e-6 * np.abs(expect).max()


def test_sheared_cell_means(ref):
    """Lees–Edwards: a tilted cell (the reference glass sheared affinely) keeps both means exact."""
    from glass2epm.core.potential import ForceField

    conf = ref.copy()
    D = np.array([[1.0, 0.07], [0.0, 1.0]])
    conf.box = conf.box.deformed(D)
    conf.x = conf.x @ D.T
    f = coarse.coarse_fields(conf, 1.5, 64)
    _, _, st = ForceField(conf.model).compute(conf.x, conf.sizes, conf.box)  # the virial stress (ε/λ²)
    V = abs(np.linalg.det(conf.box.h))
    assert abs(f["rho"].mean() / (conf.N / V) - 1) < 1e-8
    for c, (a, b) in {"xx": (0, 0), "yy": (1, 1), "xy": (0, 1)}.items():
        assert abs(f["s" + c].mean() - st[a, b]) < 1e-6 * abs(st[0, 0])
    assert abs(st[0, 1]) > 0.1  # the shear stress is not small: a real check of the tilted grid


def test_cli_fields(ref, tmp_path):
    glass = tmp_path / "g.parquet"
    io.write_configuration(glass, ref)
    out = tmp_path / "f.parquet"
    r = subprocess.run([sys.executable, "-m", "glass2epm.cli", "fields", str(glass), "--ell", "1.5", "--grid", "32",
                        "-o", str(out)], capture_output=True, text=True, check=True)
    d = json.loads(r.stdout)
    assert d["rho_mean"] == pytest.approx(d["N_over_V"], rel=1e-8)
    t = io.read_table(out, "fields")
    assert len(t["rho"]) == 32 * 32 and t.meta["extra"]["ell"] == 1.5
    bad = subprocess.run([sys.executable, "-m", "glass2epm.cli", "fields", str(glass), "--ell", "1.5", "--grid", "2",
                          "-o", str(out)], capture_output=True, text=True)
    assert bad.returncode == 2 and "grid" in bad.stderr


def test_structure_functions_of_poisson_points():
    """S_2 and S_4 of the coarse-grained density of Poisson points against Campbell's exact moments."""
    from glass2epm.fields import structure

    Lbox, n0, ell, n = 128.0, 1.0, 1.0, 256
    spacing = Lbox / n
    S = 0.0
    for seed in range(4):  # a realisation scatters by ~2 % (S_2) and ~5 % (S_4)
        x = np.random.default_rng(seed).random((int(n0 * Lbox * Lbox), 2)) * Lbox
        rho = coarse.density_field(x, np.diag([Lbox, Lbox]), ell, n)
        r, s = structure.structure_functions(rho, n, spacing, qs=(2, 4), kmax=8)
        S = S + s / 4
    for k in (1, 2, 4, 8):  # r = 0.5, 1, 2, 4 ℓ
        s2, s4 = structure.poisson_moments(n0, ell, r[k - 1])
        assert S[0, k - 1] == pytest.approx(s2, rel=0.03)
        assert S[1, k - 1] == pytest.approx(s4, rel=0.08)
    # a smooth field: S_2 ∝ r² well below ℓ (here 1 − e^{−r²/4ℓ²} between r = 0.5 and 1: slope 1.91)
    ex = structure.scaling_exponents(rho, n, spacing, (0.5, 1.0), qs=(2,), n_boot=50)
    exact = math.log((1 - math.exp(-0.25)) / (1 - math.exp(-1 / 16))) / math.log(2)
    assert ex["xi"][0] == pytest.approx(exact, abs=0.03) and ex["xi_lo"][0] < ex["xi"][0] < ex["xi_hi"][0]


def test_scores_against_brute_force():
    """ROC-AUC against the pairwise definition P(score_active > score_inactive); Spearman against scipy."""
    from scipy.stats import spearmanr

    from glass2epm.fields.predict import _auc, score_predictors

    rng = np.random.default_rng(2)
    d2 = rng.exponential(1.0, 400)
    noisy = np.log(d2) + rng.normal(0, 1.0, d2.size)
    label = d2 >= np.quantile(d2, 0.9)
    pos, neg = noisy[label], noisy[~label]
    brute = np.mean(pos[:, None] > neg[None, :])
    assert _auc(noisy, label) == pytest.approx(brute, abs=1e-12)
    rows = {r["predictor"]: r for r in score_predictors(
        {"glass": np.zeros(d2.size), "d2min": d2, "grad_rho": noisy, "dev_stress": np.random.default_rng(7).random(d2.size),
         "weak_bond": d2}, top_fraction=0.1, n_boot=100)}
    assert rows["grad_rho"]["spearman"] == pytest.approx(spearmanr(noisy, d2)[0], abs=1e-12)
    assert rows["weak_bond"]["auc"] == pytest.approx(1.0) and rows["weak_bond"]["spearman"] == pytest.approx(1.0)
    assert rows["dev_stress"]["auc_lo"] < 0.5 < rows["dev_stress"]["auc_hi"]


def test_three_dimensional_cell():
    """3D: box means against N/V and the virial stress (all six components), grid against direct sums."""
    from glass2epm.core.model import Model
    from glass2epm.core.potential import ForceField
    from glass2epm.prepare.swapmc import random_liquid

    conf = random_liquid(Model.from_preset("richard2023", dim=3), 1200, seed=3)
    f = coarse.coarse_fields(conf, 0.9, 32)  # ℓ > 2 spacings: the semigroup + FFT route
    _, _, st = ForceField(conf.model).compute(conf.x, conf.sizes, conf.box)
    V = abs(np.linalg.det(conf.box.h))
    assert abs(f["rho"].mean() / (conf.N / V) - 1) < 1e-8
    for c, (a, b) in zip(coarse.COMPONENTS[3], coarse._PAIRS[3]):
        assert abs(f[c].mean() - st[a, b]) < 1e-6 * abs(st[0, 0])
    idx = [0, 500, 9000]
    d = coarse.direct_fields(conf, 0.9, np.column_stack([f["x"][idx], f["y"][idx], f["z"][idx]]))
    for c in ("rho", "sxx", "sxy", "syz"):
        assert np.abs(d[c] - f[c][idx]).max() < 1e-8 * np.abs(d[c]).max()


def test_flux_balance_of_an_elastic_step(ref):
    """U_B − U_A = ∫R_ℓ + ∫Π_ℓ + residual for a linear-response step (Eq. 5) of the reference glass: the
    residual is at round-off (< 1e-8 of dU and of ∫|Π_ℓ|), and ∫R_ℓ ≈ V σ_xy δγ."""
    from glass2epm.fields import flux
    from glass2epm.mechanics.properties import compute_properties

    dg = 1e-4
    b, u = flux.elastic_step(ref, dg)
    bal = flux.balance(ref, b, 1.5, 64)
    assert bal["residual_over_dU"] < 1e-8 and bal["residual_over_abs_Pi"] < 1e-8
    V = abs(np.linalg.det(ref.box.h))
    assert bal["int_R"] == pytest.approx(V * compute_properties(ref)["stress"]["xy"] * dg, rel=0.05)
    assert bal["int_abs_Pi"] > 10 * abs(bal["int_Pi"])  # Π_ℓ moves energy between places, nets ~0


def test_flux_balance_over_real_aqs_steps(ref, tmp_path):
    """The balance between consecutive AQS states of the reference glass, across its first plastic event
    (step 111 at Δγ = 1e-4): the residual stays below 1e-7 of dU and of ∫|Π_ℓ|, and the event step's
    ∫Π_ℓ is not negligible against dU (energy handed below ℓ)."""
    from glass2epm.fields import flux

    glass = tmp_path / "g.parquet"
    io.write_configuration(glass, ref)
    out = tmp_path / "s.parquet"
    subprocess.run([sys.executable, "-m", "glass2epm.cli", "aqs", str(glass), "--step", "1e-4", "--strain", "0.0113",
                    "--snapshot-every", "1e-4", "-o", str(out)], capture_output=True, text=True, check=True)
    events = list(io.read_table(tmp_path / "s.events.parquet")["step"])
    assert 111 in events
    snaps = sorted((tmp_path / "s.snapshots").glob("step-*.parquet"))
    for a, b in zip(snaps[108:112], snaps[109:113]):
        bal = flux.balance(io.read_configuration(a, check=False), io.read_configuration(b, check=False), 1.5, 64)
        assert bal["residual_over_dU"] < 1e-7 and bal["residual_over_abs_Pi"] < 1e-7
        if b.name == "step-00000111.parquet":
            assert abs(bal["int_Pi"]) > 1e-3 * abs(bal["dU"])


def test_fields_do_not_depend_on_threads(small_glass):
    """The spreading kernel sums a fixed number of chunk grids (SPREAD_CHUNKS) in chunk order:
    1 and 2 numba threads give the same bits."""
    got = [coarse.coarse_fields(small_glass, 1.0, 16, threads=t) for t in (1, 2)]
    for k in ("rho", "sxx", "sxy", "syy"):
        assert np.array_equal(got[0][k], got[1][k]), k
    assert np.abs(got[0]["sxy"]).max() > 0
