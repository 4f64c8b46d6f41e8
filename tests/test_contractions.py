"""Appendix-B contractions, each checked by finite differences of the order below.

J against the energy and H against the forces of :mod:`glass2epm.core.potential` (an
independent implementation), H against the assembled sparse Hessian, T against
finite differences of H, M against those of T, and the stress-observable
derivatives (B13–B15) against finite differences of the observable. Random pair
fields (not differences of a particle field) are used throughout, since the
affine field A·x enters only that way.
"""

import numpy as np
import pytest

from glass2epm.core import contractions as C
from glass2epm.core.box import Box
from glass2epm.core.pairs import PairField, PairSet, ParticleField
from glass2epm.mechanics.hessian import assemble
from glass2epm.core.io import Configuration
from glass2epm.core.model import Model
from glass2epm.core.potential import ForceField


def _conf3d():
    """A jittered simple-cubic 3D configuration (N = 216, richard2023 preset)."""
    m = Model.from_preset("richard2023", dim=3)
    k = 6
    n = k**3
    L = m.box_side(n)
    a = L / k
    g = np.stack(np.meshgrid(*[np.arange(k)] * 3, indexing="ij"), -1).reshape(-1, 3) * a
    rng = np.random.default_rng(5)
    x = g + 0.12 * a * rng.standard_normal(g.shape)
    sizes = rng.permutation(m.sizes(n))
    return Configuration(x, sizes, Box.square(L, 3, gamma=0.1), m)


@pytest.fixture(scope="module", params=["2d", "3d"])
def system(request, reference_conf):
    if request.param == "2d":  # off force balance, so that J·v does not vanish
        conf = reference_conf.copy()
        conf.x = conf.x + 0.05 * np.random.default_rng(0).standard_normal(conf.x.shape)
    else:
        conf = _conf3d()
    ps = PairSet.from_configuration(conf)
    assert ps.M > conf.N  # ambiguity-free: pair and particle fields differ in length
    return conf, ps


def _perturbed(ps, model, w, h):
    """The pair set with every separation moved by h·w_ι (w a pair field)."""
    rv = ps.rv + h * w
    r = np.sqrt(np.einsum("ij,ij->i", rv, rv))
    return PairSet.from_arrays(ps.ii, ps.jj, rv, model.radial_derivatives(r, ps.lam, order=4),
                               ps.n, ps.lam)


def _fd(func, h):
    """Fourth-order central difference of func(h') at 0."""
    return (8.0 * (func(h) - func(-h)) - (func(2 * h) - func(-2 * h))) / (12.0 * h)


def _close(got, want, rtol):
    got = np.asarray(got, dtype=float)
    want = np.asarray(want, dtype=float)
    scale = np.abs(want).max()
    assert scale > 0
    err = np.abs(got - want).max() / scale
    assert err < rtol, f"max relative deviation {err:.3g} ≥ {rtol:g}"


def _fields(ps, k, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((ps.M, ps.dim)) for _ in range(k)]


H_FD = 1e-4


# ----------------------------------------------------------------------------


def test_prefactors_are_successive_radial_derivatives():
    """(k+1)-th scalar = (1/r) d(k-th)/dr, and (first) = φ'/r, from the model's φ^(k)."""
    m = Model.from_preset("lerner-poly2d")
    r = np.linspace(0.9, 1.45, 41) * 1.3
    lam = np.full_like(r, 1.3)

    def pre(rr):
        return C.prefactors(rr, m.radial_derivatives(rr, lam, order=4))

    p = pre(r)
    der = m.radial_derivatives(r, lam, order=1)
    np.testing.assert_allclose(p[0], der[1] / r, rtol=1e-14)
    h = 1e-5
    dp = (8 * (pre(r + h) - pre(r - h)) - (pre(r + 2 * h) - pre(r - 2 * h))) / (12 * h)
    for k in range(3):
        _close(dp[k] / r, p[k + 1], 1e-8)


def test_jv_against_energy(system):
    conf, ps = system
    ff = ForceField(conf.model)
    v = np.random.default_rng(1).standard_normal(conf.x.shape)
    # particle field: energy of the potential module at x ± h v
    num = _fd(lambda h: ff.compute(conf.x + h * v, conf.sizes, conf.box)[0], H_FD)
    assert C.jv(ps, v) == pytest.approx(num, rel=1e-7)
    assert C.jv(ps, ParticleField(v)) == C.jv(ps, ps.diff(v))
    # pair field, bond by bond: φ(|x_ι + h v_ι|)
    (w,) = _fields(ps, 1, 2)
    num = _fd(lambda h: _perturbed(ps, conf.model, w, h).derivs[0], H_FD)
    _close(C.jv(ps, w, per_bond=True), num, 1e-8)


def test_hv_against_forces_and_sparse_hessian(system):
    conf, ps = system
    ff = ForceField(conf.model)
    v = np.random.default_rng(3).standard_normal(conf.x.shape)
    num = -_fd(lambda h: ff.compute(conf.x + h * v, conf.sizes, conf.box)[1], H_FD)
    got = C.hv(ps, v)
    _close(got, num, 1e-7)
    H = assemble(ps.ii, ps.jj, ps.rv, ps.r, ps.derivs[1], ps.derivs[2], conf.N)
    _close(got, (H @ v.ravel()).reshape(v.shape), 1e-12)
    # pair field: derivative of the bond gradient φ'(r)/r · x_ι (model.py φ')
    (w, u) = _fields(ps, 2, 4)

    def grad(h):
        q = _perturbed(ps, conf.model, w, h)
        return (q.derivs[1] / q.r)[:, None] * q.rv

    _close(C.hv(ps, w, per_bond=True), _fd(grad, H_FD), 1e-8)
    _close(C.hvu(ps, w, u, per_bond=True), np.einsum("ij,ij->i", _fd(grad, H_FD), u), 1e-8)


def test_hvu_against_jv(system):
    conf, ps = system
    v, u = _fields(ps, 2, 5)
    num = _fd(lambda h: C.jv(_perturbed(ps, conf.model, u, h), v, per_bond=True), H_FD)
    _close(C.hvu(ps, v, u, per_bond=True), num, 1e-8)
    assert C.hvu(ps, v, u) == pytest.approx(num.sum(), rel=1e-8)


def test_tvu_against_hv(system):
    """T:vu = d/dh [H(x + h u)·v] (per bond and as a particle field)."""
    conf, ps = system
    v, u = _fields(ps, 2, 6)
    num = _fd(lambda h: C.hv(_perturbed(ps, conf.model, u, h), v, per_bond=True), H_FD)
    _close(C.tvu(ps, v, u, per_bond=True), num, 1e-7)
    _close(C.tvu(ps, v, u), ps.scatter(num), 1e-7)


def test_tvuw_against_hvu(system):
    conf, ps = system
    v, u, w = _fields(ps, 3, 7)
    num = _fd(lambda h: C.hvu(_perturbed(ps, conf.model, w, h), v, u, per_bond=True), H_FD)
    _close(C.tvuw(ps, v, u, w, per_bond=True), num, 1e-7)


def test_mvuw_against_tvu(system):
    conf, ps = system
    v, u, w = _fields(ps, 3, 8)
    num = _fd(lambda h: C.tvu(_perturbed(ps, conf.model, w, h), v, u, per_bond=True), H_FD)
    _close(C.mvuw(ps, v, u, w, per_bond=True), num, 1e-7)


def test_mvuwz_against_tvuw(system):
    conf, ps = system
    v, u, w, z = _fields(ps, 4, 9)
    num = _fd(lambda h: C.tvuw(_perturbed(ps, conf.model, z, h), v, u, w, per_bond=True), H_FD)
    _close(C.mvuwz(ps, v, u, w, z, per_bond=True), num, 1e-7)


def test_vector_and_scalar_forms_agree(system):
    """(H·v)·w, (T:vu)·w, (M⋮vuw)·z summed over particles equal the full contractions
    with the pair differences of w (z): the scatter signs (+ on j, − on i) are right;
    and the full contractions are symmetric in their arguments."""
    conf, ps = system
    v, u, w = _fields(ps, 3, 10)
    rng = np.random.default_rng(11)
    pw = rng.standard_normal(conf.x.shape)
    dw = ps.diff(pw)
    assert np.sum(C.hv(ps, v) * pw) == pytest.approx(C.hvu(ps, v, dw), rel=1e-11)
    assert np.sum(C.tvu(ps, v, u) * pw) == pytest.approx(C.tvuw(ps, v, u, dw), rel=1e-11)
    assert np.sum(C.mvuw(ps, v, u, w) * pw) == pytest.approx(C.mvuwz(ps, v, u, w, dw), rel=1e-11)
    t = C.tvuw(ps, v, u, w)
    for perm in [(u, v, w), (w, u, v), (v, w, u)]:
        assert C.tvuw(ps, *perm) == pytest.approx(t, rel=1e-12)
    m = C.mvuwz(ps, v, u, w, dw)
    for perm in [(dw, u, w, v), (u, v, dw, w), (w, dw, v, u)]:
        assert C.mvuwz(ps, *perm) == pytest.approx(m, rel=1e-12)


def test_observable_is_virial_stress(system):
    conf, ps = system
    s = ForceField(conf.model).compute(conf.x, conf.sizes, conf.box)[2]
    d = conf.dim
    for a in range(d):
        for b in range(d):
            B = np.zeros((d, d))
            B[a, b] = 1.0
            assert C.obs(ps, B) / conf.box.volume == pytest.approx(s[a, b], rel=1e-10, abs=1e-12)


def test_observable_derivatives_B13_B15(system):
    """∂O, ∂²O, ∂³O of O_B = J·(B x) against finite differences, for a general B."""
    conf, ps = system
    d = conf.dim
    B = np.random.default_rng(12).standard_normal((d, d))
    u, v, w = _fields(ps, 3, 13)
    num = _fd(lambda h: C.obs(_perturbed(ps, conf.model, u, h), B, per_bond=True), H_FD)
    _close(C.dobs(ps, B, u, per_bond=True), num, 1e-8)
    num = _fd(lambda h: C.dobs(_perturbed(ps, conf.model, v, h), B, u, per_bond=True), H_FD)
    _close(C.d2obs(ps, B, u, v, per_bond=True), num, 1e-7)
    num = _fd(lambda h: C.d2obs(_perturbed(ps, conf.model, w, h), B, u, v, per_bond=True), H_FD)
    _close(C.d3obs(ps, B, u, v, w, per_bond=True), num, 1e-7)
    assert C.d3obs(ps, B, u, v, w) == pytest.approx(num.sum(), rel=1e-7)


def test_field_kinds_and_errors(reference_conf):
    ps = PairSet.from_configuration(reference_conf)
    rng = np.random.default_rng(14)
    v = rng.standard_normal((ps.n, 2))
    np.testing.assert_array_equal(ps.pair_field(v), v[ps.jj] - v[ps.ii])
    pv = rng.standard_normal((ps.M, 2))
    np.testing.assert_array_equal(ps.pair_field(PairField(pv)), pv)
    np.testing.assert_array_equal(ps.pair_field(pv), pv)
    with pytest.raises(ValueError, match="rows"):
        ps.pair_field(rng.standard_normal((ps.n + 1, 2)))
    with pytest.raises(ValueError, match="shape"):
        ps.pair_field(rng.standard_normal((ps.M, 3)))
    with pytest.raises(ValueError, match="matrix must be 2x2"):
        C.obs(ps, np.eye(3))
    # ambiguous shape when M = N: must be told which
    sub = PairSet.from_arrays(ps.ii[:50] % 50, ps.jj[:50] % 50, ps.rv[:50], ps.derivs[:, :50], 50)
    f = rng.standard_normal((50, 2))
    with pytest.raises(ValueError, match="ambiguous"):
        C.jv(sub, f)
    assert C.jv(sub, f, kind="pair") == C.jv(sub, PairField(f))
    assert C.jv(sub, f, kind="particle") == C.jv(sub, ParticleField(f))
    # per-particle sums of a bond scalar
    s = rng.standard_normal(ps.M)
    want = np.bincount(ps.ii, s, ps.n) + np.bincount(ps.jj, s, ps.n)
    np.testing.assert_allclose(ps.per_particle(s), want, rtol=1e-12, atol=1e-12)


def test_fused_series_kernels_match_the_contractions(system):
    """The fused per-bond kernels used by the expansion equal the compositions of the
    (finite-difference-checked) contractions: Eq. (13) per bond, Eqs. (7)-(8) with
    B13-B15, and the right-hand sides of Eqs. (11)-(12)."""
    conf, ps = system
    d = conf.dim
    rng = np.random.default_rng(15)
    d1, d2, d3 = _fields(ps, 3, 16)
    B = rng.standard_normal((d, d))
    A = rng.standard_normal((d, d))
    e = C.bond_energy_series(ps.rv, ps.pre, d1, d2, d3, 3)
    kw = {"per_bond": True}
    _close(e[0], C.jv(ps, d1, **kw), 1e-13)
    _close(e[1], C.hvu(ps, d1, d1, **kw) + C.jv(ps, d2, **kw), 1e-13)
    _close(e[2], C.tvuw(ps, d1, d1, d1, **kw) + 3 * C.hvu(ps, d1, d2, **kw) + C.jv(ps, d3, **kw), 1e-13)
    o = C.bond_obs_series(ps.rv, ps.pre, B, d1, d2, d3, 3)
    _close(o[0], C.obs(ps, B, **kw), 1e-13)
    _close(o[1], C.dobs(ps, B, d1, **kw), 1e-13)
    _close(o[2], C.d2obs(ps, B, d1, d1, **kw) + C.dobs(ps, B, d2, **kw), 1e-13)
    _close(o[3], C.d3obs(ps, B, d1, d1, d1, **kw) + 3 * C.d2obs(ps, B, d1, d2, **kw)
           + C.dobs(ps, B, d3, **kw), 1e-13)
    _close(C.path_rhs(ps.rv, ps.pre, A, d1, d1, 2),
           C.tvu(ps, d1, d1, **kw) + C.hv(ps, d1 @ A.T, **kw), 1e-13)
    _close(C.path_rhs(ps.rv, ps.pre, A, d1, d2, 3),
           C.mvuw(ps, d1, d1, d1, **kw) + 3 * C.tvu(ps, d1, d2, **kw) + C.hv(ps, d2 @ A.T, **kw), 1e-13)
