"""Forces, stress and neighbour lists, checked by independent routes."""

import numpy as np
import pytest

from glass2epm.core.box import Box, simple_shear
from glass2epm.core.model import Model
from glass2epm.core.neighbors import VerletList
from glass2epm.core.potential import ForceField


def _random_conf(n=200, dim=2, seed=0, preset="lerner-poly2d", gamma=0.0):
    m = Model.from_preset(preset, dim=dim)
    rng = np.random.default_rng(seed)
    L = m.box_side(n)
    box = Box.square(L, dim, gamma)
    x = (rng.random((n, dim)) @ box.h.T)
    sizes = m.sizes(n, "random", rng)
    return m, box, x, sizes


def _energy(m, box, x, s):
    return ForceField(m).compute(x, s, box)[0]


@pytest.mark.parametrize("dim,preset", [(2, "lerner-poly2d"), (3, "richard2023")])
@pytest.mark.parametrize("gamma", [0.0, 0.37])
def test_forces_are_minus_gradient(dim, preset, gamma):
    n = 200 if dim == 2 else 300
    m, box, x, s = _random_conf(n, dim, 1, preset, gamma)
    # push particles apart a bit so energies are moderate
    from glass2epm.mechanics.minimize import minimize
    from glass2epm.core.io import Configuration

    conf, _ = minimize(Configuration(x, s, box, m), ftol=1e-2)
    x = conf.x + 0.05 * np.random.default_rng(2).standard_normal(conf.x.shape)
    e, f, _ = ForceField(m).compute(x, s, box)
    h = 1e-6
    for i in (0, 17, n - 1):
        for a in range(dim):
            xp = x.copy(); xp[i, a] += h
            xm = x.copy(); xm[i, a] -= h
            fd = -(_energy(m, box, xp, s) - _energy(m, box, xm, s)) / (2 * h)
            assert f[i, a] == pytest.approx(fd, rel=1e-5, abs=1e-6)


def test_stress_is_affine_energy_derivative(small_glass):
    """σ_xy = (1/V) ∂U/∂γ|affine and p = −(1/(dV)) ∂U/∂η|affine (Eq. 15)."""
    c = small_glass
    ff = ForceField(c.model)
    _, _, sig = ff.compute(c.x, c.sizes, c.box)
    h = 1e-6

    def U(D):
        return ff.compute(c.x @ D.T, c.sizes, c.box.deformed(D))[0]

    dU = (U(simple_shear(h)) - U(simple_shear(-h))) / (2 * h)
    assert sig[0, 1] == pytest.approx(dU / c.box.volume, rel=1e-6)
    I = np.eye(2)
    dUeta = (U(I * np.exp(h)) - U(I * np.exp(-h))) / (2 * h)
    assert -np.trace(sig) / 2 == pytest.approx(-dUeta / (2 * c.box.volume), rel=1e-7)


def test_half_and_full_kernels_agree():
    m, box, x, s = _random_conf(3000, 2, 3, gamma=0.21)
    e1, f1, s1 = ForceField(m, threads=1).compute(x, s, box)
    e2, f2, s2 = ForceField(m, threads=2).compute(x, s, box)
    assert e1 == pytest.approx(e2, rel=1e-12)
    np.testing.assert_allclose(f1, f2, rtol=1e-9, atol=1e-9 * np.abs(f1).max())
    np.testing.assert_allclose(s1, s2, rtol=1e-11)


@pytest.mark.parametrize("gamma", [0.0, 0.49, -0.3])
def test_verlet_list_matches_brute_force(gamma):
    """Every pair within its cutoff, found by explicit image search, is in the list."""
    m, box, x, s = _random_conf(400, 2, 4, gamma=gamma)
    vl = VerletList(m, skin=0.2)
    vl.build(x, s, box)
    i, j = vl.pairs()
    listed = {(min(a, b), max(a, b)) for a, b in zip(i, j)}
    assert len(listed) == len(i)
    h = box.h
    found = set()
    for a in range(len(x)):
        d = x - x[a]
        best = np.full(len(x), np.inf)
        for n1 in (-1, 0, 1):
            for n2 in (-1, 0, 1):
                dd = d + n1 * h[:, 0] + n2 * h[:, 1]
                best = np.minimum(best, np.linalg.norm(dd, axis=1))
        lam = m.pair_size(s[a], s)
        for b in np.flatnonzero(best < m.xc * lam):
            if b != a:
                found.add((min(a, b), max(a, b)))
    assert found <= listed


def test_lees_edwards_lattice_equivalence(small_glass):
    """A tilt of γL and γL ± L describe the same lattice: same energy and stress."""
    c = small_glass
    D = simple_shear(0.3)
    x = c.x @ D.T
    b1 = c.box.deformed(D)
    h2 = b1.h.copy(); h2[0, 1] += b1.h[0, 0]
    e1, f1, s1 = ForceField(c.model).compute(x, c.sizes, b1)
    e2, f2, s2 = ForceField(c.model).compute(x, c.sizes, Box(h2))
    assert e1 == pytest.approx(e2, rel=1e-13)
    np.testing.assert_allclose(s1, s2, rtol=1e-12)


def test_list_rebuild_criterion(small_glass):
    """After moves below the skin bound the stale list still gives exact forces."""
    c = small_glass
    ff = ForceField(c.model, skin=0.4)
    ff.compute(c.x, c.sizes, c.box)
    builds = ff.vlist.builds
    rng = np.random.default_rng(0)
    x = c.x + 0.05 * rng.standard_normal(c.x.shape).clip(-1, 1)
    D = simple_shear(0.02)
    x = x @ D.T
    box = c.box.deformed(D)
    e, f, _ = ff.compute(x, c.sizes, box)
    fresh = ForceField(c.model, skin=0.4)
    e2, f2, _ = fresh.compute(x, c.sizes, box)
    assert e == pytest.approx(e2, rel=1e-13)
    np.testing.assert_allclose(f, f2, atol=1e-12)
    assert ff.vlist.builds == builds or ff.vlist.builds == builds + 1


def test_reference_configuration(reference_conf):
    """The authors' inherent state under lerner-poly2d (shared/data README)."""
    c = reference_conf
    e, f, s = ForceField(c.model).compute(c.x, c.sizes, c.box)
    assert e / c.N == pytest.approx(2.827516901, rel=1e-8)
    assert -np.trace(s) / 2 == pytest.approx(10.86587305, rel=1e-8)
    assert np.abs(f).max() < 1e-8
    assert c.N / c.box.volume == pytest.approx(0.65, rel=1e-3)



@pytest.mark.parametrize("dim,preset", [(2, "lerner-poly2d"), (3, "richard2023")])
@pytest.mark.parametrize("gamma", [0.0, 0.43])
@pytest.mark.parametrize("full", [False, True])
def test_verlet_list_is_exactly_the_pairs_within_cutoff_plus_skin(dim, preset, gamma, full):
    """The one-pass cell build lists exactly the pairs with minimum-image r < x_c λ_ij + skin
    (brute force over all 3^d images; pairs within 1e-9 λ of that radius not judged), each
    once (half list, i < j) or from both ends (full list), rows in CSR order."""
    n = 500 if dim == 2 else 700
    m, box, x, s = _random_conf(n, dim, 11, preset=preset, gamma=gamma)
    skin = 0.3
    vl = VerletList(m, skin=skin, full=full)
    vl.build(x, s, box)
    i, j = vl.pairs()
    got = list(zip(i.tolist(), j.tolist()))
    assert len(set(got)) == len(got)
    if not full:
        assert np.all(i < j)
    import itertools
    shifts = np.array(list(itertools.product((-1, 0, 1), repeat=dim))) @ box.h.T
    want, edge = set(), set()
    for a in range(n):
        d = x - x[a]
        r = np.min(np.linalg.norm(d[:, None, :] + shifts[None], axis=2), axis=1)
        rc = m.xc * m.pair_size(s[a], s) + skin
        for b in np.flatnonzero(r < rc + 1e-9):
            if b != a and (full or b > a):
                (edge if abs(r[b] - rc[b]) < 1e-9 else want).add((a, int(b)))
    assert want <= set(got) <= want | edge

def test_small_box_rejected():
    m = Model.from_preset("lerner-poly2d")
    vl = VerletList(m)
    with pytest.raises(ValueError, match="box too small"):
        vl.build(np.zeros((4, 2)), np.ones(4), Box.square(5.0))


@pytest.mark.parametrize("beta,q", [(12, 2), (10, 4)])
def test_generic_kernel_path(beta, q):
    """Models other than β = 10, q = 3 take the generic branch: forces = −∇U there too."""
    from glass2epm.core.model import Model

    m = Model(preset="custom", dim=2, beta=beta, q=q, xc=1.5, na=0.1, lam_min=1.0, lam_max=2.22,
              density=0.65)
    rng = np.random.default_rng(9)
    L = m.box_side(150)
    box = Box.square(L, 2, 0.2)
    from glass2epm.core.io import Configuration
    from glass2epm.mechanics.minimize import minimize

    conf, _ = minimize(Configuration(rng.random((150, 2)) @ box.h.T, m.sizes(150), box, m), ftol=1e-2)
    x = conf.x + 0.03 * rng.standard_normal(conf.x.shape)
    e, f, _ = ForceField(m).compute(x, conf.sizes, box)
    h = 1e-6
    for i in (3, 77):
        for a in range(2):
            xp = x.copy(); xp[i, a] += h
            xm = x.copy(); xm[i, a] -= h
            fd = -(_energy(m, box, xp, conf.sizes) - _energy(m, box, xm, conf.sizes)) / (2 * h)
            assert f[i, a] == pytest.approx(fd, rel=1e-5, abs=1e-6)
    # the energy equals the radial-form sum over interacting pairs
    ii, jj, rv, lam = ForceField(m).pairs(x, conf.sizes, box)
    r = np.sqrt((rv**2).sum(1))
    assert e == pytest.approx(m.radial_derivatives(r, lam, order=0)[0].sum(), rel=1e-12)


def test_size_change_rebuilds_the_list(small_glass):
    """A ForceField reused after a size swap must not use stale per-pair data."""
    c = small_glass
    ff = ForceField(c.model)
    e0 = ff.compute(c.x, c.sizes, c.box)[0]
    s = c.sizes.copy()
    s[[0, -1]] = s[[-1, 0]]
    e1 = ff.compute(c.x, s, c.box)[0]
    assert e1 == pytest.approx(ForceField(c.model).compute(c.x, s, c.box)[0], rel=1e-13)
    assert e1 != pytest.approx(e0, rel=1e-6)
