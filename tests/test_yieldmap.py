"""Local yield-stress maps (Sec. IV): cavity expansion, frozen matrix, maps, command.

Independent routes:

* the cavity expansion (bond micromechanics) against explicit frozen-matrix AQS of
  the same cavity at small |γ| (Newton relaxation of the free particles with the
  sparse free–free Hessian to the round-off floor, compensated stress differences,
  polynomial fits inside a window in which no bond of the cavity crosses its cutoff);
* limits: a cavity covering the cell (every particle free, weights 1, box volume) is
  the system-level :class:`~glass2epm.mechanics.expansion.Expansion`; an empty free region is
  the affine response (explicit stress of affinely deformed positions, and the Born
  term written out with numpy);
* the batched numba path against the per-site reference (:class:`CavityExpansion`),
  and the numba frozen-matrix path against the plain reference
  (:func:`frozen_matrix_curve`, :func:`glass2epm.mechanics.minimize.minimize` with a mask);
* yield roots on synthetic cubics with known extrema; map assignment and blocks
  against brute force.
"""

import json
import math

import numpy as np
import pytest
from scipy.linalg import expm

from glass2epm import cli
from glass2epm.yieldstress import bond, maps as Y
from glass2epm.core.box import Box, deformation, deformation_generator
from glass2epm.yieldstress.cavity import (
    cavity_stress,
    free_sets,
    make_cavity,
    mean_spacing,
    site_grid,
    site_particles,
)
from glass2epm.mechanics.expansion import Expansion
from glass2epm.yieldstress.frozen import chunk_sites, frozen_site_curve, frozen_sites
from glass2epm.yieldstress.frozen_reference import frozen_matrix_curve
from glass2epm.mechanics.hessian import HessianSolver, SPDSolver, assemble, pair_data
from glass2epm.core.io import Configuration, read_table, write_configuration, write_table
from glass2epm.core.model import Model
from glass2epm.core.neighbors import VerletList
from glass2epm.core.potential import ForceField
from glass2epm.core import schemas

# ----------------------------------------------------------------------------
# helpers independent of glass2epm.yieldstress.bond / maps / contractions / frozen


def polish(conf):
    """Full Newton (fresh sparse Hessian each step) until max|F| stops decreasing."""
    ff = ForceField(conf.model)
    c = conf.copy()
    _, f, _ = ff.compute(c.x, c.sizes, c.box)
    fmax = np.abs(f).max()
    for _ in range(8):
        ii, jj, rv, lam, r, der = pair_data(c, ff, order=2)
        S = HessianSolver(assemble(ii, jj, rv, r, der[1], der[2], c.N), c.N, c.dim)
        xt = c.x + S.solve(f)
        _, ft, _ = ff.compute(xt, c.sizes, c.box)
        fm = np.abs(ft).max()
        if fm >= fmax:
            break
        c.x, f, fmax = xt, ft, fm
    return c


def relax_free(conf, free, max_iter=20):
    """Newton on the free particles only (sparse free–free block, CHOLMOD) to the
    round-off floor. Returns (positions, max|F| on the free particles)."""
    ff = ForceField(conf.model)
    d = conf.dim
    dofs = np.flatnonzero(np.repeat(free, d))
    x = conf.x.copy()
    _, f, _ = ff.compute(x, conf.sizes, conf.box)
    f[~free] = 0.0
    fmax = np.abs(f).max()
    for _ in range(max_iter):
        ii, jj, rv, lam = ff.pairs(x, conf.sizes, conf.box)
        r = np.sqrt(np.einsum("ij,ij->i", rv, rv))
        der = conf.model.radial_derivatives(r, lam, order=2)
        H = assemble(ii, jj, rv, r, der[1], der[2], conf.N)
        xt = x.copy()
        xt.reshape(-1)[dofs] += SPDSolver(H[dofs][:, dofs])(f.reshape(-1)[dofs])
        _, ft, _ = ff.compute(xt, conf.sizes, conf.box)
        ft[~free] = 0.0
        fm = np.abs(ft).max()
        if fm >= fmax:
            break
        x, f, fmax = xt, ft, fm
    return x, fmax


def candidate_bonds(sub, free):
    """Pairs of the subsystem within cutoff + 0.3 λ with at least one free end, and their
    per-atom-virial weights."""
    vl = VerletList(sub.model, skin=0.3, per_pair=True, full=False)
    vl.build(sub.x, sub.sizes, sub.box)
    ii = np.repeat(np.arange(sub.N), np.diff(vl.start))
    jj = np.asarray(vl.nbr, dtype=np.int64)
    w = 0.5 * (free[ii].astype(float) + free[jj].astype(float))
    keep = w > 0
    ii, jj, w = ii[keep], jj[keep], w[keep]
    return ii, jj, sub.model.pair_size(sub.sizes[ii], sub.sizes[jj]), w


def bond_virials(x, box, model, ii, jj, lam, w, B):
    """Per bond w φ'(r)/r x·(B x) and whether the pair is inside its cutoff."""
    rv = box.minimum_image(x[jj] - x[ii])
    r = np.sqrt(np.einsum("ij,ij->i", rv, rv))
    der = model.radial_derivatives(r, lam, order=1)
    return w * der[1] / r * np.einsum("pa,ab,pb->p", rv, B, rv), r < model.xc * lam


def cavity_scan(cav, kind, B, gmax=1e-3, step=2e-5):
    """Explicit frozen-matrix AQS of a cavity on |γ| ≤ gmax. Returns strains, the cavity
    stress change σ(γ) − σ(0) (compensated sums), σ(0), whether the set of interacting
    bonds is that of γ = 0 everywhere, and the largest residual force."""
    sub = cav.sub
    free = cav.free
    d = sub.dim
    A = deformation_generator(kind, d)
    ii, jj, lam, w = candidate_bonds(sub, free)
    x0 = sub.x
    v0, in0 = bond_virials(x0, sub.box, sub.model, ii, jj, lam, w, B)
    V0 = cav.volume
    O0 = math.fsum(v0)
    out = {0.0: (0.0, True, 0.0)}
    K = int(round(gmax / step))
    for sgn in (1, -1):
        E = expm(sgn * step * A)
        x = x0.copy()
        for k in range(1, K + 1):
            g = sgn * k * step
            D = deformation(kind, g, d)
            c = sub.copy()
            c.box = Box(D @ sub.box.h)
            c.x = x @ E.T
            c.x[~free] = (x0 @ D.T)[~free]
            x, fmax = relax_free(c, free)
            v, inside = bond_virials(x, c.box, sub.model, ii, jj, lam, w, B)
            V = V0 * np.exp(g * np.trace(A))
            dO = math.fsum(v - v0)
            out[g] = (dO / V + O0 * (1.0 / V - 1.0 / V0), bool(np.all(inside == in0)), fmax)
    gs = np.array(sorted(out))
    return {"gamma": gs, "dsigma": np.array([out[g][0] for g in gs]),
            "same": np.array([out[g][1] for g in gs]), "fmax": np.array([out[g][2] for g in gs]),
            "sigma0": O0 / V0}


def fit_derivatives(g, y, deg=7):
    """First three derivatives at 0 of a polynomial without constant fitted to y(g)."""
    s = np.abs(g).max()
    X = np.stack([(g / s) ** k for k in range(1, deg + 1)], axis=1)
    a = np.linalg.lstsq(X, y, rcond=None)[0]
    return np.array([math.factorial(k) * a[k - 1] / s**k for k in range(1, 4)])


# ----------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def ref(reference_conf):
    return polish(reference_conf)


@pytest.fixture(scope="module")
def ref_sites(ref):
    return site_particles(ref, 3 * mean_spacing(ref))


@pytest.fixture(scope="module")
def small(small_glass):
    """A small polished glass (N = 256, conftest) for the whole-cell limit and the command."""
    return polish(small_glass)


# ----------------------------------------------------------------------------
# the cavity expansion against its own frozen-matrix AQS


@pytest.mark.parametrize("kind,comp", [("simple_shear", "xy"), ("dilation", "xx"),
                                       ("pure_shear", "xx")])
def test_cavity_expansion_against_frozen_aqs(ref, ref_sites, kind, comp):
    R = 5 * mean_spacing(ref)
    B = bond.component_matrix(comp, 2)
    for site in ref_sites[::7]:  # the first site whose bonds stay inside/outside their cutoff
        cav = make_cavity(ref, site, R)
        scan = cavity_scan(cav, kind, B)
        if scan["same"].all():
            break
    else:
        pytest.fail("no site with a crossing-free window |γ| ≤ 1e-3")
    assert scan["fmax"].max() < 1e-11  # the round-off floor of the forces
    ce = bond.CavityExpansion(ref, site, R, kind, comp)
    c = ce.coefficients
    assert c[0] == pytest.approx(scan["sigma0"], rel=1e-12)
    # σ₀ is also the cavity stress of cavity.py (its own pair search)
    assert c[0] == pytest.approx(np.einsum("ab,ab->", B, cavity_stress(cav)), rel=1e-12)
    fit = fit_derivatives(scan["gamma"], scan["dsigma"])
    rel = np.abs(fit - c[1:]) / np.abs(c[1:])
    # measured: ~1e-13, 1e-9, 1e-7 (simple shear), tighter for the others
    assert rel[0] < 1e-8, (fit, c)
    assert rel[1] < 1e-6, (fit, c)
    assert rel[2] < 1e-4, (fit, c)
    # the batched path gives the same numbers
    b = bond.bond_sites(ref, [site], R, kind, comp)
    np.testing.assert_allclose(b.coefficients[0], c, rtol=1e-10)
    # and the numba frozen path has the same σ₀ and slope μ₀
    fs = frozen_sites(ref, [site], R, kind, comp, max_strain=0.002)
    assert fs.sigma0[0] == pytest.approx(c[0], rel=1e-12)
    assert fs.mu0[0] == pytest.approx(c[1], rel=1e-6)


def test_batched_equals_reference(ref, ref_sites):
    """bond_sites (envelope Cholesky, gathered bonds) against CavityExpansion (CHOLMOD
    on the subsystem) for several sites, geometries and components."""
    R = 5 * mean_spacing(ref)
    sites = ref_sites[::20]
    for kind, comp in (("simple_shear", "xy"), ("pure_shear", "xx"), ("dilation", "yy"),
                       ("simple_shear", "yy")):
        b = bond.bond_sites(ref, sites, R, kind, comp)
        assert b.ok.all()
        for k, s in enumerate(sites):
            c = bond.CavityExpansion(ref, s, R, kind, comp).coefficients
            np.testing.assert_allclose(b.coefficients[k], c, rtol=1e-9, atol=1e-12 * abs(c[1]))
        np.testing.assert_array_equal(b.n_free, [make_cavity(ref, s, R).n_free for s in sites])


# ----------------------------------------------------------------------------
# limits


@pytest.mark.parametrize("kind,comp", [("simple_shear", "xy"), ("dilation", "xx"),
                                       ("pure_shear", "yy")])
def test_whole_cell_cavity_is_the_system_expansion(small, kind, comp):
    """R beyond the cell: every particle free, every weight 1; with V_R → V the cavity
    stress expansion is the system one (Eqs. 16–18, C1–C2)."""
    V = small.box.volume
    B = bond.component_matrix(comp, 2)
    want = Expansion(small, kind).stress(B)
    R = 2 * small.box.lengths.max()
    site = 0
    ce = bond.CavityExpansion(small, site, R, kind, comp, volume=V)
    assert ce.cavity.n_free == small.N and np.all(ce.weights == 1.0)
    np.testing.assert_allclose(ce.coefficients, want, rtol=1e-8, atol=1e-10 * abs(want[1]))
    b = bond.bond_sites(small, [site, 17], R, kind, comp, volume=V)
    assert b.ok.all() and np.all(b.n_free == small.N)
    for k in range(2):
        np.testing.assert_allclose(b.coefficients[k], want, rtol=1e-8, atol=1e-10 * abs(want[1]))


def test_empty_free_region_is_affine(ref, ref_sites):
    """No non-affine response (every particle frozen): d_n = Aⁿ·x, σ' is the Born term,
    and the coefficients are the derivatives of the cavity stress of affinely mapped
    positions."""
    R = 5 * mean_spacing(ref)
    site = ref_sites[3]
    for kind, comp in (("simple_shear", "xy"), ("dilation", "xy")):
        A = deformation_generator(kind, 2)
        B = bond.component_matrix(comp, 2)
        ce = bond.CavityExpansion(ref, site, R, kind, comp, relax=False)
        ps = ce.ex.ps
        np.testing.assert_allclose(ce.ex.d[1], ps.rv @ A.T, atol=1e-14)
        np.testing.assert_allclose(ce.ex.d[2], ps.rv @ (A @ A).T, atol=1e-14)
        # Born term: (1/V_R) Σ w [(second)(x·Bx)(x·Ax) + (first)(Ax·Bx) + (first) x·(BAx)] − trA σ₀
        der = ref.model.radial_derivatives(ps.r, ps.lam, order=2)
        f1 = der[1] / ps.r
        f2 = (der[2] - f1) / ps.r**2
        x = ps.rv
        bx, ax = x @ B.T, x @ A.T
        born = np.sum(ce.weights * (f2 * np.einsum("pa,pa->p", x, bx) * np.einsum("pa,pa->p", x, ax)
                                    + f1 * np.einsum("pa,pa->p", ax, bx)
                                    + f1 * np.einsum("pa,pa->p", x, ax @ B.T)))
        born = born / ce.volume - np.trace(A) * ce.coefficients[0]
        assert ce.coefficients[1] == pytest.approx(born, rel=1e-12)
        # explicit stress of the affinely deformed cavity
        cav = ce.cavity
        gs = np.linspace(-1e-3, 1e-3, 41)
        s0 = np.einsum("ab,ab->", B, cavity_stress(cav))
        y = np.array([np.einsum("ab,ab->", B, cavity_stress(
            cav, cav.sub.x @ deformation(kind, g).T, cav.sub.box.deformed(deformation(kind, g)),
            volume=cav.volume * np.exp(g * np.trace(A)))) - s0 for g in gs])
        fit = fit_derivatives(gs, y, deg=5)
        np.testing.assert_allclose(fit[:2], ce.coefficients[1:3], rtol=1e-6)
        # the batched path with relax=False
        b = bond.bond_sites(ref, [site], R, kind, comp, relax=False)
        np.testing.assert_allclose(b.coefficients[0], ce.coefficients, rtol=1e-10)


def test_one_particle_cavity(ref, ref_sites):
    """R = 0: only the site particle is free (2 dofs); both implementations agree and the
    frozen matrix has the same σ₀ and μ₀."""
    site = ref_sites[5]
    with pytest.raises(ValueError, match="volume must be positive"):
        bond.CavityExpansion(ref, site, 0.0)
    # R = 0 has V_R = 0: use a finite volume for the stress
    ce = bond.CavityExpansion(ref, site, 0.0, volume=1.0)
    assert ce.cavity.n_free == 1
    b = bond.bond_sites(ref, [site], 0.0, volume=1.0)
    np.testing.assert_allclose(b.coefficients[0], ce.coefficients, rtol=1e-10)
    with pytest.raises(ValueError, match="volume must be positive"):
        bond.bond_sites(ref, [site], 0.0)


# ----------------------------------------------------------------------------
# the frozen matrix: numba path against the plain reference


def test_frozen_numba_against_reference(ref, ref_sites):
    R = 5 * mean_spacing(ref)
    site = ref_sites[0]
    fast = frozen_site_curve(ref, site, R, max_strain=0.2)
    assert fast.yielded
    slow = frozen_matrix_curve(make_cavity(ref, site, R), max_strain=fast.gamma_y + 0.0025)
    assert slow.yielded
    assert fast.gamma_y == pytest.approx(slow.gamma_y, abs=1e-12)
    assert fast.sigma_y == pytest.approx(slow.sigma_y, rel=1e-9)
    n = len(slow.stress)
    np.testing.assert_allclose(fast.stress[:n], slow.stress, rtol=0, atol=1e-9)
    back = frozen_site_curve(ref, site, R, direction=-1, max_strain=0.2)
    assert back.yielded and back.gamma_y < 0 and back.sigma_y < fast.sigma_y
    # the batched path has the same yield points
    fs = frozen_sites(ref, [site], R, max_strain=0.2)
    assert fs.sigma_y[0] == fast.sigma_y and fs.gamma_y_backward[0] == back.gamma_y
    assert fs.status.tolist() == [[0, 0]]
    # a strain limit below the yield strain: discarded (status 1)
    fs = frozen_sites(ref, [site], R, max_strain=0.01)
    assert fs.status.tolist() == [[1, 1]] and np.isnan(fs.sigma_y[0])


def test_frozen_errors(ref):
    with pytest.raises(ValueError, match="too large for the frozen-matrix"):
        frozen_sites(ref, [0], 30.0)
    with pytest.raises(ValueError, match="step must be positive"):
        frozen_sites(ref, [0], 5.0, step=0.0)
    with pytest.raises(ValueError, match="0-based"):
        chunk_sites(np.arange(10), 3, 3)
    np.testing.assert_array_equal(chunk_sites(np.arange(10), 1, 3), [1, 4, 7])


# ----------------------------------------------------------------------------
# yield roots, assignment, blocks


def _cubic_with_extrema(a, b, c3, s0=0.3):
    """c's of σ with σ'(γ) = (c3/2)(γ − a)(γ − b)."""
    return np.array([s0, 0.5 * c3 * a * b, -0.5 * c3 * (a + b), c3])


def test_yield_roots_synthetic():
    cases = [  # (a, b, c3) -> forward, backward
        ((0.1, -0.2, -100.0), (0.1, -0.2)),
        ((0.3, 0.1, -50.0), (0.1, np.nan)),     # both positive: no backward
        ((-0.05, -0.4, 80.0), (np.nan, -0.05)),  # both negative: stiffening forward, discarded
        ((1e-4, -3.0, -1e3), (1e-4, -3.0)),
    ]
    C = np.array([_cubic_with_extrema(a, b, c3) for (a, b, c3), _ in cases])
    gf, gb = Y.yield_roots(C[:, 1], C[:, 2], C[:, 3])
    for k, (_, (wf, wb)) in enumerate(cases):
        assert (np.isnan(gf[k]) and np.isnan(wf)) or gf[k] == pytest.approx(wf, rel=1e-10)
        assert (np.isnan(gb[k]) and np.isnan(wb)) or gb[k] == pytest.approx(wb, rel=1e-10)
    # σ_Y at the forward root is the local maximum of the cubic
    c = C[0]
    g = np.linspace(0, 0.2, 20001)
    assert Y.cubic(c, gf[0]) == pytest.approx(Y.cubic(c, g).max(), rel=1e-8)
    # no real root, linear cases, all-positive coefficients (the diverging stress of Sec. IV)
    gf, gb = Y.yield_roots([1.0, 1.0, -1.0, 1.0, 2.0], [0.0, -2.0, 0.0, 0.0, 3.0],
                           [2.0, 0.0, 0.0, 0.0, 4.0])
    assert np.isnan(gf[0]) and np.isnan(gb[0])          # 1 + γ² > 0
    assert gf[1] == pytest.approx(0.5) and np.isnan(gb[1])  # linear: 1 − 2γ
    assert np.isnan(gf[2]) and np.isnan(gb[2])          # constant −1
    assert np.isnan(gf[3]) and np.isnan(gb[3])
    assert np.isnan(gf[4]) and np.isnan(gb[4])          # 2 + 3γ + 2γ²: no real root


def test_site_table_discards(ref, ref_sites):
    R = 5 * mean_spacing(ref)
    t = Y.bond_table(ref, ref_sites, R)
    disc = np.asarray(t["discarded"])
    np.testing.assert_array_equal((disc & 1) > 0, np.isnan(t["gamma_y"]))
    np.testing.assert_array_equal((disc & 2) > 0, np.isnan(t["gamma_y_backward"]))
    ok = ~np.isnan(t["gamma_y"])
    c = np.stack([t["sigma0"], t["mu0"], t["c2"], t["c3"]], axis=1)
    np.testing.assert_allclose(t["sigma_y"][ok], Y.cubic(c[ok], t["gamma_y"][ok]), rtol=1e-14)
    assert np.all(t["gamma_y"][ok] > 0) and np.all(t["gamma_y_backward"][~np.isnan(t["gamma_y_backward"])] < 0)
    # dσ/dγ vanishes at the yield strains
    g = t["gamma_y"][ok]
    slope = c[ok, 1] + c[ok, 2] * g + c[ok, 3] * g**2 / 2
    assert np.abs(slope).max() < 1e-9 * np.abs(c[ok, 1]).max()


def test_map_assignment_brute_force():
    m = Model.from_preset("lerner-poly2d")
    rng = np.random.default_rng(3)
    L = 20.0
    h = np.array([[L, 4.0], [0.0, L]])  # a sheared cell
    conf = Configuration(rng.random((300, 2)) @ h.T, np.ones(300), Box(h), m)
    sites = np.array([0, 10, 20, 30, 40, 50])
    vals = np.array([1.0, 0.5, np.nan, 2.0, 0.7, 3.0])
    R = 4.0
    got = Y.assign_particles(conf, sites, R, vals)
    want = np.full(conf.N, np.nan)
    for s, v in zip(sites, vals):
        dd = conf.box.minimum_image(conf.x - conf.x[s])
        inside = np.einsum("ij,ij->i", dd, dd) <= R * R
        if np.isfinite(v):
            want[inside] = np.fmin(want[inside], v)
    np.testing.assert_array_equal(got, want)
    assert np.isnan(got).any() and np.isfinite(got).any()
    # the free lists are the brute-force sets
    st, idx = free_sets(conf, sites, R)
    for k, s in enumerate(sites):
        dd = conf.box.minimum_image(conf.x - conf.x[s])
        np.testing.assert_array_equal(idx[st[k]:st[k + 1]],
                                      np.flatnonzero(np.einsum("ij,ij->i", dd, dd) <= R * R))


def test_residual_strength_map(small, tmp_path):
    """Residual strength σ_Y − σ₀ (the EPM's ``threshold: residual``): each particle gets
    the lowest value over its covering cavities (brute force), the blocks the mean, and
    the EPM pools the block column; a block file without it is refused by name."""
    d = mean_spacing(small)
    m = Y.bond_map(small, radius=3 * d, spacing=2 * d)
    t = m.sites
    sites = np.asarray(t["site"])
    r_site = np.asarray(t["sigma_y"]) - np.asarray(t["sigma0"])
    assert np.all(r_site[np.isfinite(r_site)] > 0)  # forward yield lies above the prestress
    want = np.full(small.N, np.nan)
    for s, v in zip(sites, r_site):
        dd = small.box.minimum_image(small.x - small.x[s])
        inside = np.einsum("ij,ij->i", dd, dd) <= (3 * d) ** 2
        if np.isfinite(v):
            want[inside] = np.fmin(want[inside], v)
    np.testing.assert_array_equal(m.residual, want)
    # not σ_Y shifted by one constant: the particle's weakest cavity differs between the two
    assert not np.allclose(m.residual - m.sigma_y, np.nanmean(m.residual - m.sigma_y), equal_nan=True)
    np.testing.assert_array_equal(m.blocks["residual"], Y.coarse_grain(small, want, 5 * d)["value"])
    paths = Y.write_map(tmp_path / "m.parquet", small, m)
    tm = read_table(paths[0], "yield_map")
    tb = read_table(paths[2], "yield_blocks")
    assert tm.meta["columns"]["residual"] == "epsilon/lambda^d"
    from glass2epm.epm.calibrate import pooled_block_thresholds
    b = np.asarray(tb["residual"])
    np.testing.assert_array_equal(pooled_block_thresholds([paths[2]], residual=True), b[np.isfinite(b) & (b > 0)])
    old = {k: v for k, v in m.blocks.items() if k != "residual"}
    write_table(tmp_path / "old.blocks.parquet", schemas.YIELD_BLOCKS, old, model=small.model, box=small.box)
    with pytest.raises(ValueError, match="no column 'residual'.*rebuild the yield maps"):
        pooled_block_thresholds([tmp_path / "old.blocks.parquet"], residual=True)


def test_site_particles_brute_force(ref):
    sp = 3 * mean_spacing(ref)
    pts = site_grid(ref, sp)
    assert len(pts) == 11 * 11
    near = [int(np.argmin(np.einsum("ij,ij->i", *(2 * [ref.box.minimum_image(ref.x - p)]))))
            for p in pts]
    _, first = np.unique(near, return_index=True)
    np.testing.assert_array_equal(site_particles(ref, sp), np.asarray(near)[np.sort(first)])


def test_coarse_grain():
    m = Model.from_preset("lerner-poly2d")
    L = 20.0
    # two particles per block of a 4×4 partition, plus NaNs
    centres = (np.stack(np.meshgrid(np.arange(4), np.arange(4), indexing="ij"), -1).reshape(-1, 2) + 0.5) * 5
    x = np.concatenate([centres - 1.0, centres + 1.0])
    vals = np.concatenate([np.arange(16.0), 2 * np.arange(16.0)])
    vals[0] = np.nan  # block (0,0) keeps one particle
    vals[[3, 19]] = np.nan  # block 3 has none
    conf = Configuration(x, np.ones(32), Box.square(L), m)
    b = Y.coarse_grain(conf, vals, 5.0)
    k = b["bx"] * 4 + b["by"]
    assert np.array_equal(k, np.arange(16))
    want = 1.5 * np.arange(16.0)
    want[0] = 0.0
    want[3] = np.nan
    np.testing.assert_allclose(b["value"], want)
    np.testing.assert_array_equal(b["n_particles"], [1, 2, 2, 0] + [2] * 12)
    np.testing.assert_allclose(np.stack([b["x"], b["y"]], 1), centres)
    # block counts: round(L/ξ)
    assert Y.block_counts(conf, 6.0).tolist() == [3, 3]
    assert Y.block_counts(conf, 50.0).tolist() == [1, 1]


# ----------------------------------------------------------------------------
# maps on the reference glass


def test_reference_maps_smoke(ref, ref_sites):
    """Bond map of the reference glass (N = 1024): few particles without a value; the
    frozen matrix on every fourth site: same σ₀ and μ₀ per site, means within a loose
    factor (the paper: bond overestimates large barriers)."""
    bm = Y.bond_map(ref, threads=2)
    info = bm.info
    assert info["n_sites"] == len(ref_sites) == 121
    assert info["fraction_without_value"] < 0.05
    assert info["fraction_without_value_backward"] < 0.05
    assert info["n_failed"] == 0
    assert np.isfinite(bm.blocks["sigma_y"]).all() and bm.blocks["sigma_y"].size == 36
    sub = ref_sites[::4]
    ft = Y.frozen_table(ref, sub, info["radius"], threads=2)
    assert np.count_nonzero(ft["discarded"]) <= 1
    bt = bm.sites
    pos = np.searchsorted(np.asarray(bt["site"]), sub, sorter=np.argsort(bt["site"]))
    rows = np.argsort(bt["site"])[pos]
    np.testing.assert_allclose(ft["sigma0"], np.asarray(bt["sigma0"])[rows], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(ft["mu0"], np.asarray(bt["mu0"])[rows], rtol=1e-6)
    fm = np.nanmean(ft["sigma_y"])
    bmean = np.nanmean(np.asarray(bt["sigma_y"])[rows])
    assert 0.5 < bmean / fm < 3.0
    # frozen yield strains are positive/negative; stresses bracket σ₀
    ok = np.isfinite(ft["sigma_y"])
    assert np.all(ft["gamma_y"][ok] > 0) and np.all(ft["sigma_y"][ok] > ft["sigma0"][ok])
    ok = np.isfinite(ft["sigma_y_backward"])
    assert np.all(ft["gamma_y_backward"][ok] < 0)
    assert np.all(ft["sigma_y_backward"][ok] < ft["sigma0"][ok])


def test_merge_chunks_equals_whole(ref, ref_sites):
    """Chunk tables (interleaved k/K) merge back into the whole table and map."""
    R = 5 * mean_spacing(ref)
    sp = 3 * mean_spacing(ref)
    whole = Y.bond_table(ref, ref_sites, R, spacing=sp)
    K = 3
    parts = []
    for k in range(K):
        order = chunk_sites(np.arange(ref_sites.size), k, K)
        parts.append(Y.bond_table(ref, ref_sites[order], R, spacing=sp, order=order))
    m1 = Y.merge(ref, parts[::-1])
    m2 = Y.build_map(ref, whole)
    np.testing.assert_array_equal(m1.sites["site"], whole["site"])
    np.testing.assert_array_equal(m1.sigma_y, m2.sigma_y)
    np.testing.assert_array_equal(m1.blocks["sigma_y"], m2.blocks["sigma_y"])
    with pytest.raises(ValueError, match="do not cover"):
        Y.merge(ref, parts[:2])
    with pytest.raises(ValueError, match="overlap"):
        Y.merge(ref, [parts[0], parts[0]])
    other = Y.bond_table(ref, ref_sites[:3], 4.0, spacing=sp)
    with pytest.raises(ValueError, match="different parameters"):
        Y.merge(ref, [parts[0], other])


def test_comparison_helpers(ref, ref_sites):
    out = Y.site_comparison(ref, ref_sites[0], max_strain=0.2)
    assert out["sigma0"]["bond"] == pytest.approx(out["sigma0"]["frozen"], rel=1e-12)
    assert out["mu0"]["bond"] == pytest.approx(out["mu0"]["frozen"], rel=1e-6)
    ff = out["frozen_forward"]
    assert ff["yielded"] and ff["strain"][-2] == pytest.approx(ff["gamma_y"])
    e = out["expansion"]
    assert e["strain"][0] <= out["frozen_backward"]["strain"].min()
    np.testing.assert_allclose(e["stress"], Y.cubic(e["coefficients"], e["strain"]))
    vals = np.random.default_rng(0).gamma(4.0, 0.3, 500)
    st = Y.yield_statistics(vals)
    assert st["mean"]["value"] == pytest.approx(vals.mean())
    assert st["variance"]["value"] == pytest.approx(vals.var(ddof=1))
    assert st["mean"]["ci"][0] < vals.mean() < st["mean"]["ci"][1]
    h = Y.yield_distribution(vals, bins=20)
    assert np.sum(h["density"] * np.diff(h["edges"])) == pytest.approx(1.0)
    hl = Y.yield_distribution(vals, bins=10, log=True)
    assert np.sum(hl["density"] * np.diff(hl["edges"])) == pytest.approx(1.0)


# ----------------------------------------------------------------------------
# the command


def test_yieldmap_command(ref, tmp_path, capsys):
    path = tmp_path / "conf.parquet"
    write_configuration(path, ref)
    out = tmp_path / "map.parquet"
    assert cli.main(["yieldmap", str(path), "--method", "bond", "--radius", "5", "--spacing", "3d",
                     "-o", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_sites"] == 121 and summary["fraction_without_value"] < 0.05
    t = read_table(out, "yield_map")
    s = read_table(tmp_path / "map.sites.parquet", "yield_sites")
    b = read_table(tmp_path / "map.blocks.parquet", "yield_blocks")
    assert len(t["x"]) == ref.N and len(s["site"]) == 121 and len(b["bx"]) == 36
    ex = t.meta["extra"]
    for k in ("method", "radius", "spacing", "geometry", "component"):
        assert k in ex
    assert ex["method"] == "bond" and ex["radius"] == pytest.approx(5 * mean_spacing(ref))
    assert t.meta["columns"]["sigma_y"] == "epsilon/lambda^d"
    want = Y.bond_map(ref)
    np.testing.assert_allclose(t["sigma_y"], want.sigma_y, rtol=1e-12)
    # a radius in λ
    out2 = tmp_path / "m2.parquet"
    R = 5 * mean_spacing(ref)
    assert cli.main(["yieldmap", str(path), "--radius", f"{R!r}lambda", "-o", str(out2)]) == 0
    capsys.readouterr()
    np.testing.assert_allclose(read_table(out2, "yield_map")["sigma_y"], want.sigma_y, rtol=1e-12)
    # errors: exit code 2 with a message
    assert cli.main(["yieldmap", str(path), "--radius", "5x", "-o", str(out2)]) == 2
    assert "--radius" in capsys.readouterr().err
    assert cli.main(["yieldmap", str(path), "--sites-chunk", "0/2", "-o", str(out2)]) == 2
    assert "--method frozen" in capsys.readouterr().err
    assert cli.main(["yieldmap", str(path), "--method", "frozen", "--sites-chunk", "2/2",
                     "-o", str(out2)]) == 2
    assert "0-based" in capsys.readouterr().err
    assert cli.main(["yieldmap", str(path), "--component", "zz", "-o", str(out2)]) == 2
    assert "component" in capsys.readouterr().err


def test_yieldmap_command_frozen_chunks(small, tmp_path, capsys):
    """--sites-chunk k/K then --merge: the map of a direct frozen run (small glass, R = 3d)."""
    path = tmp_path / "conf.parquet"
    write_configuration(path, small)
    files = []
    for k in range(2):
        f = tmp_path / f"c{k}.sites.parquet"
        assert cli.main(["yieldmap", str(path), "--method", "frozen", "--radius", "3",
                         "--sites-chunk", f"{k}/2", "-o", str(f)]) == 0
        files.append(str(f))
    out = tmp_path / "frozen.parquet"
    assert cli.main(["yieldmap", str(path), "--method", "frozen", "--radius", "3", "--merge",
                     *files, "-o", str(out)]) == 0
    capsys.readouterr()
    t = read_table(out, "yield_map")
    d = mean_spacing(small)
    want = Y.frozen_map(small, 3 * d)
    np.testing.assert_array_equal(t["sigma_y"], want.sigma_y)
    assert t.meta["extra"]["method"] == "frozen" and t.meta["extra"]["step"] == 1e-3
    assert cli.main(["yieldmap", str(path), "--method", "bond", "--merge", *files, "-o", str(out)]) == 2
    assert "'frozen' site table" in capsys.readouterr().err


# ----------------------------------------------------------------------------
# slow tier


@pytest.mark.slow
def test_reference_frozen_map_statistics(ref):
    """The full frozen-matrix map of the reference glass against the bond map: block-level
    mean and variance (Fig. 4c–d numbers for one sample)."""
    bm = Y.bond_map(ref, threads=2)
    fm = Y.frozen_map(ref, threads=2)
    assert fm.info["fraction_without_value"] < 0.05 and fm.info["n_failed"] == 0
    cmp = Y.compare_maps(bm, fm)
    assert 0.7 < cmp["mean_ratio"] < 1.5
    assert cmp["variance_ratio"] > 0.5
    sc = cmp["scatter"]
    np.testing.assert_allclose(sc["mu0_bond"], sc["mu0_frozen"], rtol=1e-6)


def test_three_dimensions():
    """3D (richard2023 preset, N = 250): batched path = reference, the whole-cell limit is
    the system expansion, and the frozen matrix has the same σ₀, μ₀."""
    from glass2epm.mechanics.minimize import minimize

    m = Model.from_preset("richard2023", dim=3)
    n = 250
    rng = np.random.default_rng(2)
    L = m.box_side(n)
    conf = polish(minimize(Configuration(rng.random((n, 3)) * L, m.sizes(n), Box.square(L, 3), m))[0])
    d = mean_spacing(conf)
    R = 1.8 * d
    sites = site_particles(conf, 3 * d)
    assert sites.size == 8
    b = bond.bond_sites(conf, sites[:3], R, "simple_shear", "xz")
    assert b.ok.all() and b.coefficients.shape == (3, 4)
    for k, s in enumerate(sites[:3]):
        c = bond.CavityExpansion(conf, s, R, "simple_shear", "xz").coefficients
        np.testing.assert_allclose(b.coefficients[k], c, rtol=1e-9, atol=1e-12 * abs(c[1]))
    want = Expansion(conf, "dilation").stress(bond.component_matrix("zz", 3))
    w = bond.bond_sites(conf, [0], 2 * L, "dilation", "zz", volume=conf.box.volume)
    np.testing.assert_allclose(w.coefficients[0], want, rtol=1e-8, atol=1e-10 * abs(want[1]))
    # the frozen matrix needs a larger cell: a 2×2×2 tiling (an inherent state too)
    h = conf.box.h
    shifts = [a * h[:, 0] + b * h[:, 1] + c * h[:, 2] for a in (0, 1) for b in (0, 1) for c in (0, 1)]
    big = Configuration(np.concatenate([conf.x + sh for sh in shifts]), np.tile(conf.sizes, 8),
                        Box(2 * h), m)
    B = np.zeros((3, 3))
    B[0, 1] = 1.0
    fs = frozen_sites(big, sites[:2], R, "simple_shear", B, max_strain=0.002)
    bb = bond.bond_sites(big, sites[:2], R, "simple_shear", "xy")
    np.testing.assert_allclose(bb.coefficients, bond.bond_sites(conf, sites[:2], R).coefficients,
                               rtol=1e-9)
    np.testing.assert_allclose(fs.sigma0, bb.coefficients[:, 0], rtol=1e-12)
    np.testing.assert_allclose(fs.mu0, bb.coefficients[:, 1], rtol=1e-6)
