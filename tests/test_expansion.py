"""Strain expansions (Sec. II, Appendix C) against independent routes.

* force balance: J·ẋ summed over the system vanishes, so σ_γ is Eq. (19) and the
  shear modulus of :mod:`glass2epm.mechanics.properties` (its own implementation);
* the non-affine fields: ẋ against ``properties.nonaffine_velocity``, ẍ and x⃛
  against finite differences of ẋ along explicit AQS states;
* explicit AQS (Appendix C, Fig. 8): affine steps of positions and box
  (``box.deformation``) followed by Newton relaxation to the round-off floor, with
  polynomial fits of σ_xy(γ), P(η), U(γ) and of every bond energy φ_ι(γ) inside a
  window in which no pair crosses its cutoff (the potential is only C³ there);
* periodic images: a tiled copy of a configuration has the same intensive
  coefficients;
* the ``expand`` command and the ``bonds``/``bond_field`` tables.
"""

import json
import math

import numpy as np
import pytest
from scipy.linalg import expm

from glass2epm import cli
from glass2epm.core import contractions as C
from glass2epm.core.box import Box, deformation, deformation_generator
from glass2epm.mechanics.expansion import (
    Expansion,
    bulk_modulus,
    expand,
    read_bonds,
    shear_modulus,
    stress_selector,
)
from glass2epm.mechanics.hessian import HessianSolver, assemble, pair_data
from glass2epm.core.io import Configuration, read_table, write_configuration
from glass2epm.mechanics.minimize import minimize
from glass2epm.core.model import Model
from glass2epm.core.neighbors import VerletList
from glass2epm.core.potential import ForceField
from glass2epm.mechanics.linear_response import nonaffine_velocity
from glass2epm.mechanics.properties import compute_properties

SXY = np.array([[0.0, 1.0], [0.0, 0.0]])

# ----------------------------------------------------------------------------
# helpers: explicit AQS (independent of glass2epm.core.contractions / expansion)


def hessian_solver(conf, ff):
    ii, jj, rv, lam, r, der = pair_data(conf, ff, order=2)
    return HessianSolver(assemble(ii, jj, rv, r, der[1], der[2], conf.N), conf.N, conf.dim)


def relax(conf, ff, S, max_iter=50):
    """Newton-like steps x += S⁻¹F (S a factorised Hessian near x) until max|F|
    stops decreasing: the double-precision floor. Returns (conf, max|F|)."""
    x = conf.x
    _, f, _ = ff.compute(x, conf.sizes, conf.box)
    fmax = np.abs(f).max()
    stall = 0
    for _ in range(max_iter):
        xt = x + S.solve(f)
        _, ft, _ = ff.compute(xt, conf.sizes, conf.box)
        fm = np.abs(ft).max()
        if fm >= fmax:
            break
        stall = stall + 1 if fm > 0.5 * fmax else 0
        x, f, fmax = xt, ft, fm
        if stall >= 2:
            break
    conf.x = x
    return conf, fmax


def polish(conf):
    """Full Newton to the round-off floor (fresh Hessian each step)."""
    ff = ForceField(conf.model)
    c = conf.copy()
    fmax = np.inf
    for _ in range(6):
        c, f = relax(c, ff, hessian_solver(c, ff), max_iter=1)
        if f >= 0.5 * fmax:
            break
        fmax = f
    return c, fmax


def candidate_pairs(conf):
    """Pairs within their cutoff + 0.3 λ: every pair that can interact in the window."""
    vl = VerletList(conf.model, skin=0.3, per_pair=True, full=False)
    vl.build(conf.x, conf.sizes, conf.box)
    ii = np.repeat(np.arange(conf.N), np.diff(vl.start))
    jj = np.asarray(vl.nbr, dtype=np.int64)
    return ii, jj, conf.model.pair_size(conf.sizes[ii], conf.sizes[jj])


def pair_terms(conf, ii, jj, lam):
    """Per pair: φ(r), φ'(r)/r · x_ι x_ιᵀ (the virial), and whether r < x_c λ_ij."""
    rv = conf.box.minimum_image(conf.x[jj] - conf.x[ii])
    r = np.sqrt(np.einsum("ij,ij->i", rv, rv))
    der = conf.model.radial_derivatives(r, lam, order=1)
    w = (der[1] / r)[:, None, None] * rv[:, :, None] * rv[:, None, :]
    return der[0], w, r < conf.model.xc * lam


def aqs_scan(conf0, kind, gmax=1e-3, step=1e-5):
    """Explicit AQS from γ = 0 in both directions (steps of ``step``).

    Returns a dict with the strains, the bond energy changes (per candidate pair),
    ΔU, ΔO_ab = Σ_pairs [w_ab(γ) − w_ab(0)] (compensated sums), the volumes, whether
    the set of interacting pairs is that of γ = 0, and max|F| at each point.
    """
    ff = ForceField(conf0.model)
    d = conf0.dim
    ii, jj, lam = candidate_pairs(conf0)
    A = deformation_generator(kind, d)
    e0, w0, in0 = pair_terms(conf0, ii, jj, lam)
    K = int(round(gmax / step))
    rows = {0: (np.zeros_like(e0), np.zeros((d, d)), conf0.box.volume, True, 0.0)}
    for sgn in (1, -1):
        c = conf0.copy()
        E = expm(sgn * step * A)
        for k in range(1, K + 1):
            g = sgn * k * step
            c.x = c.x @ E.T
            c.box = Box(deformation(kind, g, d) @ conf0.box.h)
            if k % 25 == 1:
                S = hessian_solver(c, ff)
            c, fmax = relax(c, ff, S)
            e, w, inside = pair_terms(c, ii, jj, lam)
            dO = np.array([[math.fsum(w[:, a, b] - w0[:, a, b]) for b in range(d)] for a in range(d)])
            rows[g] = (e - e0, dO, c.box.volume, bool(np.all(inside == in0)), fmax)
    gs = np.array(sorted(rows))
    de = np.array([rows[g][0] for g in gs])
    return {
        "gamma": gs,
        "de": de,
        "dU": np.array([math.fsum(row) for row in de]),
        "dO": np.array([rows[g][1] for g in gs]),
        "V": np.array([rows[g][2] for g in gs]),
        "same_pairs": np.array([rows[g][3] for g in gs]),
        "fmax": np.array([rows[g][4] for g in gs]),
        "pairs": (ii, jj),
    }


def crossing_free(scan):
    """Mask of the largest window around γ = 0 with no change of the interacting pairs."""
    g, ok = scan["gamma"], scan["same_pairs"]
    k0 = int(np.argmin(np.abs(g)))
    lo = k0
    while lo > 0 and ok[lo - 1]:
        lo -= 1
    hi = k0
    while hi < len(g) - 1 and ok[hi + 1]:
        hi += 1
    mask = np.zeros(len(g), dtype=bool)
    mask[lo : hi + 1] = True
    return mask


def fit_derivatives(g, y, deg=7):
    """First three derivatives at 0 of a polynomial (no constant: y(0) = 0) fitted to y(g)."""
    s = np.abs(g).max()
    t = g / s
    X = np.stack([t**k for k in range(1, deg + 1)], axis=1)
    a = np.linalg.lstsq(X, y, rcond=None)[0]
    return np.array([math.factorial(k) * a[k - 1] / s**k for k in range(1, 4)])


def stress_change(scan, O0, V0, comb):
    """σ(γ) − σ(0) for σ = Σ comb_ab O_ab / V (comb a d×d weight), from ΔO and V(γ)."""
    dO = np.einsum("kab,ab->k", scan["dO"], comb)
    return dO / scan["V"] + O0 * (1.0 / scan["V"] - 1.0 / V0)


def make_glass(n, seed, preset="lerner-poly2d", dim=2):
    m = Model.from_preset(preset, dim=dim)
    rng = np.random.default_rng(seed)
    L = m.box_side(n)
    conf = Configuration(rng.random((n, dim)) * L, m.sizes(n), Box.square(L, dim), m, seed=seed)
    out, _ = minimize(conf)
    return polish(out)[0]


def linear_crossing_strain(conf, kinds):
    """Smallest |γ| at which a pair would cross its cutoff, to linear order (for picking a seed)."""
    ii, jj, lam = candidate_pairs(conf)
    rv = conf.box.minimum_image(conf.x[jj] - conf.x[ii])
    r = np.sqrt(np.einsum("ij,ij->i", rv, rv))
    out = np.inf
    for kind in kinds:
        A = deformation_generator(kind, conf.dim)
        xdot, _ = nonaffine_velocity(conf, A)
        d1 = rv @ A.T + xdot[jj] - xdot[ii]
        rdot = np.einsum("ij,ij->i", rv, d1) / r
        out = min(out, np.abs((conf.model.xc * lam - r) / rdot).min())
    return out


def tile(conf, k):
    h = conf.box.h
    xs = [conf.x + a * h[:, 0] + b * h[:, 1] for a in range(k) for b in range(k)]
    return Configuration(np.concatenate(xs), np.tile(conf.sizes, k * k), Box(h * k), conf.model)


# ----------------------------------------------------------------------------
# fixtures

GMAX = 1e-3
KINDS = ("simple_shear", "dilation", "pure_shear")


@pytest.fixture(scope="module")
def glass():
    """A small stable 2D glass (N = 200) with no pair crossing its cutoff for |γ| ≤ 1.3e-3
    under the three deformations (to linear order; the AQS scans check it exactly).
    Candidates found by a search over seeds; the first one is used on the reference machine."""
    for n, seed in ((200, 96), (200, 64), (128, 63), (128, 4), (128, 76)):
        c = make_glass(n, seed)
        if linear_crossing_strain(c, KINDS) > 1.3 * GMAX:
            return c
    pytest.fail("no candidate seed gives a crossing-free AQS window")


@pytest.fixture(scope="module")
def scans(glass):
    return {kind: aqs_scan(glass, kind, GMAX) for kind in KINDS}


@pytest.fixture(scope="module")
def ref_polished(reference_conf):
    return polish(reference_conf)[0]


# ----------------------------------------------------------------------------
# force balance and the moduli


def test_force_balance_terms_vanish_and_moduli(reference_conf):
    c = reference_conf
    ex = Expansion(c, "simple_shear", order=1)
    ps = ex.ps
    # J·ẋ and J·(B ẋ) vanish at force balance (relative to the size of their terms)
    for field in (ex.xdot, ex.xdot @ SXY.T):
        terms = C.jv(ps, field, per_bond=True)
        assert abs(terms.sum()) < 1e-10 * np.abs(terms).sum()
    # … so σ_γ (Eq. 16) is Eq. (19), and both give the modulus of properties.py
    p = compute_properties(c)
    mu = ex.coefficients("sxy", 1)["c1"]
    assert mu == pytest.approx(ex.eq19(), rel=1e-10)
    assert mu == pytest.approx(p["shear_modulus"], rel=1e-10)
    assert shear_modulus(c) == pytest.approx(p["shear_modulus"], rel=1e-10)
    # bulk modulus (Eqs. 21-22) = −(1/d) dP/dη
    K = bulk_modulus(c)
    assert K == pytest.approx(p["bulk_modulus"], rel=1e-10)
    assert K == pytest.approx(-expand(c, "dilation", "pressure", 1)["c1"] / 2, rel=1e-12)
    # the value c0 is the stress / pressure / energy of the potential module
    assert ex.coefficients("sxy", 0)["c0"] == pytest.approx(p["stress"]["xy"], rel=1e-10)
    assert ex.coefficients("pressure", 0)["c0"] == pytest.approx(p["pressure"], rel=1e-12)
    assert ex.coefficients("energy", 0)["c0"] == pytest.approx(p["energy_per_particle"], rel=1e-12)


def test_nonaffine_fields_along_the_path(glass):
    """ẋ = properties.nonaffine_velocity; ẍ and x⃛ are the γ-derivatives of ẋ(γ)
    measured on explicit AQS states (Eqs. 5, 11, 12)."""
    c = glass
    A = deformation_generator("simple_shear", 2)
    ex = Expansion(c, "simple_shear")
    xdot0, _ = nonaffine_velocity(c, A)
    np.testing.assert_allclose(ex.xdot, xdot0, rtol=0, atol=1e-10 * np.abs(xdot0).max())
    ff = ForceField(c.model)
    h = 2e-4
    xd = {}
    for g in (-2 * h, -h, h, 2 * h):
        cg = c.copy()
        cg.x = c.x @ deformation("simple_shear", g).T
        cg.box = Box(deformation("simple_shear", g) @ c.box.h)
        for _ in range(3):
            cg, _ = relax(cg, ff, hessian_solver(cg, ff), max_iter=1)
        xd[g] = nonaffine_velocity(cg, A)[0]
    xd[0.0] = xdot0
    xdd = (8 * (xd[h] - xd[-h]) - (xd[2 * h] - xd[-2 * h])) / (12 * h)
    x3 = (-(xd[2 * h] + xd[-2 * h]) + 16 * (xd[h] + xd[-h]) - 30 * xd[0.0]) / (12 * h * h)
    np.testing.assert_allclose(ex.xddot, xdd, rtol=0, atol=1e-6 * np.abs(xdd).max())
    np.testing.assert_allclose(ex.xdddot, x3, rtol=0, atol=1e-3 * np.abs(x3).max())
    # one step of iterative refinement changes nothing that matters (well-conditioned solves)
    exr = Expansion(c, "simple_shear", refine=1)
    np.testing.assert_allclose(exr.xdddot, ex.xdddot, rtol=0, atol=1e-9 * np.abs(x3).max())
    # the d_n pair fields: Aⁿ x_ι plus differences of the periodic parts
    for n in (1, 2, 3):
        want = ex.ps.rv @ np.linalg.matrix_power(A, n).T + ex.ps.diff(ex.p[n])
        np.testing.assert_allclose(ex.d[n], want, rtol=0, atol=1e-12 * np.abs(want).max())


# ----------------------------------------------------------------------------
# the independent route: explicit AQS (Appendix C, Fig. 8)


def _check(fit, pred, what, tol=(1e-7, 1e-5, 1e-4)):
    """Relative agreement of the first three derivatives (the brief asks for 1e-6, 1e-4,
    1e-2; the fits reach ~1e-10, 1e-7, 1e-6 inside a crossing-free window)."""
    for n in range(3):
        rel = abs(fit[n] - pred[n]) / abs(pred[n])
        assert rel < tol[n], f"{what}: derivative {n + 1}: AQS {fit[n]:.10g}, expansion {pred[n]:.10g}"


@pytest.mark.parametrize("kind", KINDS)
def test_expansion_against_explicit_aqs(glass, scans, kind):
    scan = scans[kind]
    assert np.all(scan["same_pairs"]), f"{kind}: a pair crosses its cutoff within |γ| ≤ {GMAX}"
    assert scan["fmax"].max() < 1e-11  # relaxed to the round-off floor
    g = scan["gamma"]
    ex = Expansion(glass, kind)
    V0, d = glass.box.volume, glass.dim
    # energy
    U = ex.energy()
    _check(fit_derivatives(g, scan["dU"]), U[1:], f"{kind}: U")
    assert ex.coefficients("energy")["c3"] == pytest.approx(U[3] / glass.N, rel=1e-14)
    # stress observables (volume terms of Appendix C for the dilation)
    I = np.eye(d)
    O_I0 = ex.observable(I, 0)[0]
    if kind == "simple_shear":
        y = stress_change(scan, ex.observable(SXY, 0)[0], V0, SXY)
        _check(fit_derivatives(g, y), ex.stress(SXY)[1:], "simple shear: σ_xy")
    elif kind == "dilation":
        y = -stress_change(scan, O_I0, V0, I) / d
        pred = ex.pressure()
        _check(fit_derivatives(g, y), pred[1:], "dilation: P")
        c = ex.coefficients("pressure")
        assert [c["c1"], c["c2"], c["c3"]] == pytest.approx(list(pred[1:]), rel=1e-14)
        # a shear component under dilation: the volume terms act on σ_xy too (Fig. 8a)
        y = stress_change(scan, ex.observable(SXY, 0)[0], V0, SXY)
        _check(fit_derivatives(g, y), ex.stress(SXY)[1:], "dilation: σ_xy", tol=(1e-6, 1e-4, 1e-2))
    else:
        Bxx = np.diag([1.0, 0.0])
        y = stress_change(scan, ex.observable(Bxx, 0)[0], V0, Bxx)
        _check(fit_derivatives(g, y), ex.stress(Bxx)[1:], "pure shear: σ_xx")
    # pressure under the shears too (volume kept)
    if kind != "dilation":
        y = -stress_change(scan, O_I0, V0, I) / d
        _check(fit_derivatives(g, y), ex.pressure()[1:], f"{kind}: P")


@pytest.mark.parametrize("kind", ["simple_shear", "dilation"])
def test_bond_coefficients_against_explicit_aqs(glass, scans, kind):
    """φ_γ, φ_γγ, φ_γγγ of every interacting pair against fits of φ_ι(γ) along AQS."""
    scan = scans[kind]
    ex = Expansion(glass, kind)
    b = ex.bond_coefficients()
    ii, jj = scan["pairs"]
    n = glass.N
    key_scan = {k: p for p, k in enumerate(np.minimum(ii, jj) * n + np.maximum(ii, jj))}
    keys = np.minimum(ex.ps.ii, ex.ps.jj) * n + np.maximum(ex.ps.ii, ex.ps.jj)
    sel = np.array([key_scan[k] for k in keys])
    g = scan["gamma"]
    s = np.abs(g).max()
    X = np.stack([(g / s) ** k for k in range(1, 8)], axis=1)
    a = np.linalg.lstsq(X, scan["de"][:, sel], rcond=None)[0]
    fits = np.array([math.factorial(k) * a[k - 1] / s**k for k in (1, 2, 3)])
    for order, tol in ((1, 1e-7), (2, 1e-5), (3, 1e-4)):
        err = np.abs(fits[order - 1] - b[order]).max() / np.abs(b[order]).max()
        assert err < tol, f"{kind}: bond order {order}: max deviation {err:.3g}"
    # the system coefficients are the sums of the bond ones (Eq. 13 per bond)
    assert b[1:].sum(axis=1) == pytest.approx(ex.energy()[1:], rel=1e-12)
    f = ex.bond_field()
    np.testing.assert_allclose(
        f, np.bincount(ex.ps.ii, b[1] * b[2], n) + np.bincount(ex.ps.jj, b[1] * b[2], n),
        rtol=1e-12, atol=1e-12 * np.abs(f).max(),
    )


def test_tiled_copy_has_the_same_coefficients(reference_conf):
    """A 2×2 tiling is force balanced with the same intensive coefficients, and each
    bond of the copy carries the coefficients of its original."""
    c = reference_conf
    t = tile(c, 2)
    for kind, obs in (("simple_shear", "sxy"), ("pure_shear", "sxx"), ("dilation", "pressure"),
                      ("simple_shear", "energy")):
        a = Expansion(c, kind).coefficients(obs)
        b = Expansion(t, kind).coefficients(obs)
        for k in ("c0", "c1", "c2", "c3"):
            assert b[k] == pytest.approx(a[k], rel=1e-8, abs=1e-10 * abs(a["c1"])), (kind, obs, k)
    ea, eb = Expansion(c, "simple_shear"), Expansion(t, "simple_shear")
    ba, bb = ea.bond_coefficients(), eb.bond_coefficients()
    for row in (1, 2, 3):
        qa = np.sort(np.round(ba[row] / np.abs(ba[row]).max(), 8))
        qb = np.sort(np.round(bb[row] / np.abs(bb[row]).max(), 8))
        np.testing.assert_allclose(qb, np.repeat(qa, 4), atol=2e-8)


def test_errors():
    m = Model.from_preset("lerner-poly2d")
    c = Configuration(np.random.default_rng(0).random((10, 2)) * 3.9, m.sizes(10), Box.square(3.9), m)
    with pytest.raises(ValueError, match="order must be"):
        Expansion(c, "simple_shear", order=4)
    with pytest.raises(ValueError, match="unknown deformation"):
        Expansion(c, "twist")
    with pytest.raises(ValueError, match="unknown observable"):
        stress_selector("szz", 2)
    with pytest.raises(ValueError, match="unknown observable"):
        expand(c, "simple_shear", "volume")


# ----------------------------------------------------------------------------
# the command and the tables


def test_expand_command(reference_conf, tmp_path, capsys):
    path = tmp_path / "conf.parquet"
    write_configuration(path, reference_conf)
    bonds = tmp_path / "bonds.parquet"
    field = tmp_path / "field.parquet"
    rc = cli.main(["expand", str(path), "--deformation", "dilation", "--observable", "pressure",
                   "--order", "3", "--bonds", str(bonds), "--field", str(field)])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    ex = Expansion(reference_conf, "dilation")
    want = ex.coefficients("pressure")
    assert set(out) - {"units"} == {"c0", "c1", "c2", "c3"}
    for k in want:
        assert out[k] == pytest.approx(want[k], rel=1e-12)
    t = read_bonds(bonds)
    assert t.meta["extra"]["deformation"] == "dilation"
    b = ex.bond_coefficients()
    np.testing.assert_array_equal(t["i"], ex.ps.ii)
    np.testing.assert_allclose(t["phi_ggg"], b[3], rtol=1e-14)
    assert t.meta["columns"]["phi_g"] == "epsilon"
    f = read_table(field, "bond_field")
    np.testing.assert_allclose(f["phi_g_phi_gg"], ex.bond_field(), rtol=1e-14)
    np.testing.assert_allclose(f["x"], reference_conf.x[:, 0])
    # energy per particle under simple shear, order 1 only
    assert cli.main(["expand", str(path), "--observable", "energy", "--order", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) - {"units"} == {"c0", "c1"}
    assert out["c1"] == pytest.approx(Expansion(reference_conf).energy(1)[1] / reference_conf.N)
    # errors exit with code 2 and a message
    assert cli.main(["expand", str(path), "--observable", "szz"]) == 2
    assert "unknown observable" in capsys.readouterr().err
    assert cli.main(["expand", str(path), "--order", "2", "--bonds", str(bonds)]) == 2
    assert "--order 3" in capsys.readouterr().err
    assert cli.main(["expand", str(tmp_path / "missing.parquet")]) == 2
    with pytest.raises(ValueError, match="expected a 'bonds' file"):
        read_bonds(field)


# ----------------------------------------------------------------------------
# slow tier: N ≈ 1e4 and 3D


@pytest.mark.slow
def test_tiled_reference_N9216(ref_polished):
    """3×3 tiling of the (polished) reference: N = 9216, force balanced, same intensive
    coefficients (all observables, orders and deformations), and the shear modulus of
    properties.py."""
    c = ref_polished
    t = tile(c, 3)
    assert np.abs(ForceField(t.model).compute(t.x, t.sizes, t.box)[1]).max() < 1e-10
    for kind, obs in (("simple_shear", "sxy"), ("simple_shear", "energy"), ("pure_shear", "sxx"),
                      ("pure_shear", "pressure"), ("dilation", "pressure"), ("dilation", "energy")):
        a = expand(c, kind, obs)
        b = expand(t, kind, obs, threads=2)
        for k in a:
            assert b[k] == pytest.approx(a[k], rel=1e-8, abs=1e-10 * abs(a["c1"])), (kind, obs, k)
    assert shear_modulus(t) == pytest.approx(compute_properties(t)["shear_modulus"], rel=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("kind", ["simple_shear", "dilation"])
def test_aqs_reference(ref_polished, kind, k):
    """Explicit AQS on the reference configuration (N = 1024) and on its 3×3 tiling
    (N = 9216), fitted inside the crossing-free window around γ = 0 (periodic copies
    cross together, so both sizes have the same window, ≈ −7e-4…+2e-4)."""
    c = tile(ref_polished, k) if k > 1 else ref_polished
    scan = aqs_scan(c, kind, gmax=GMAX)
    mask = crossing_free(scan)
    g = scan["gamma"][mask]
    assert mask.sum() >= 41, f"crossing-free window too small: {g.min()}..{g.max()}"
    ex = Expansion(c, kind)
    I = np.eye(2)
    if kind == "simple_shear":
        y = stress_change(scan, ex.observable(SXY, 0)[0], c.box.volume, SXY)[mask]
        pred = ex.stress(SXY)
    else:
        y = -stress_change(scan, ex.observable(I, 0)[0], c.box.volume, I)[mask] / 2
        pred = ex.pressure()
    tol = (1e-6, 1e-4, 1e-2)  # the brief's: the window is narrower than for N = 200
    _check(fit_derivatives(g, y), pred[1:], f"reference, {kind}", tol)
    _check(fit_derivatives(g, scan["dU"][mask]), ex.energy()[1:], f"reference, {kind}: U", tol)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["simple_shear", "dilation"])
def test_aqs_3d(kind):
    """3D (richard2023 preset), N = 256, against explicit AQS. Pairs cross the cutoff far
    more often in 3D: the glass (seed 8, chosen by a search over seeds) has none within
    |γ| ≤ 2.5e-4, the window used here (tolerances of the brief: 1e-6, 1e-4, 1e-2)."""
    c = make_glass(256, 8, preset="richard2023", dim=3)
    gmax = 2.5e-4
    scan = aqs_scan(c, kind, gmax=gmax, step=5e-6)
    assert np.all(scan["same_pairs"]), f"{kind}: a pair crosses its cutoff within |γ| ≤ {gmax}"
    ex = Expansion(c, kind)
    I = np.eye(3)
    if kind == "simple_shear":
        B = np.zeros((3, 3))
        B[0, 1] = 1.0
        y = stress_change(scan, ex.observable(B, 0)[0], c.box.volume, B)
        pred = ex.stress(B)
    else:
        y = -stress_change(scan, ex.observable(I, 0)[0], c.box.volume, I) / 3
        pred = ex.pressure()
    tol = (1e-6, 1e-4, 1e-2)
    _check(fit_derivatives(scan["gamma"], y), pred[1:], f"3D {kind}", tol)
    _check(fit_derivatives(scan["gamma"], scan["dU"]), ex.energy()[1:], f"3D {kind}: U", tol)
