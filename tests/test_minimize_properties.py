"""Minimiser and glass properties, checked against explicit deformations."""

import numpy as np
import pytest

from glass2epm.core.box import simple_shear
from glass2epm.mechanics.minimize import MinimizationError, default_ftol, minimize
from glass2epm.core.potential import ForceField
from glass2epm.mechanics.properties import compute_properties


def _relaxed_stress(conf, D, ftol):
    c = conf.copy()
    c.x = conf.x @ D.T
    c.box = conf.box.deformed(D)
    m, _ = minimize(c, ftol=ftol)
    return ForceField(c.model).compute(m.x, m.sizes, m.box)[2]


def test_minimize_reaches_tolerance(small_glass):
    c = small_glass
    rng = np.random.default_rng(3)
    p = c.copy()
    p.x = c.x + 0.1 * rng.standard_normal(c.x.shape)
    m, res = minimize(p)
    assert res.converged and res.fmax < default_ftol(c.N)
    f = ForceField(c.model).compute(m.x, m.sizes, m.box)[1]
    assert np.abs(f).max() == pytest.approx(res.fmax)
    assert res.newton_steps >= 1


def test_minimize_bad_tolerance(small_glass):
    with pytest.raises(ValueError, match="ftol must be positive"):
        minimize(small_glass, ftol=-1)
    with pytest.raises(MinimizationError):
        minimize(small_glass, ftol=1e-18)  # below the round-off floor


def test_shear_modulus_against_explicit_shear(reference_conf):
    """Relaxed dσ_xy/dγ from ±1e-6 AQS steps equals Eq. (19) to 1e-6."""
    p = compute_properties(reference_conf)
    h = 1e-6
    sp = _relaxed_stress(reference_conf, simple_shear(h), 5e-12)
    sm = _relaxed_stress(reference_conf, simple_shear(-h), 5e-12)
    assert (sp[0, 1] - sm[0, 1]) / (2 * h) == pytest.approx(p["shear_modulus"], rel=1e-6)
    # Born term: unrelaxed (affine) derivative
    ff = ForceField(reference_conf.model)
    c = reference_conf
    sa = [ff.compute(c.x @ simple_shear(s).T, c.sizes, c.box.deformed(simple_shear(s)))[2][0, 1]
          for s in (h, -h)]
    assert (sa[0] - sa[1]) / (2 * h) == pytest.approx(p["shear_modulus_born"], rel=1e-6)


def test_bulk_modulus_against_explicit_dilation(reference_conf):
    """K = −V dP/dV = −(1/d) dP/dη with relaxation (Eqs. 21-22)."""
    p = compute_properties(reference_conf)
    h = 1e-6
    I = np.eye(2)
    P = [-np.trace(_relaxed_stress(reference_conf, I * np.exp(s), 5e-12)) / 2 for s in (h, -h)]
    K = -(P[0] - P[1]) / (2 * h) / 2
    assert K == pytest.approx(p["bulk_modulus"], rel=1e-6)


def test_properties_keys(reference_conf):
    p = compute_properties(reference_conf)
    for k in ("N", "dim", "density", "energy_per_particle", "pressure", "stress", "shear_modulus",
              "shear_modulus_born", "bulk_modulus", "max_force"):
        assert k in p
    assert set(p["stress"]) == {"xx", "yy", "xy"}
    assert p["pressure"] == pytest.approx(10.86587305, rel=1e-8)


def test_frozen_particles_stay_put(small_glass):
    c = small_glass
    rng = np.random.default_rng(5)
    p = c.copy()
    p.x = c.x + 0.05 * rng.standard_normal(c.x.shape)
    centre = p.x[0]
    d = c.box.minimum_image(p.x - centre)
    frozen = np.linalg.norm(d, axis=1) > 5.0
    m, res = minimize(p, frozen=frozen)
    np.testing.assert_array_equal(m.x[frozen], p.x[frozen])
    f = ForceField(c.model).compute(m.x, m.sizes, m.box)[1]
    assert np.abs(f[~frozen]).max() < default_ftol(c.N)
    assert np.abs(f[frozen]).max() > 1e-6  # the matrix is not relaxed
    with pytest.raises(ValueError, match="every particle is frozen"):
        minimize(p, frozen=np.ones(c.N, bool))


@pytest.mark.parametrize("power", [1.0, -1.0])  # a downhill and an uphill (back-off) step
def test_blocked_fire_step_is_the_serial_step(power):
    """The threaded FIRE update over row blocks (used from N = PARALLEL_MIN_N) does per row what
    the serial :func:`fire_step` does: one block is bitwise the serial step, 2 and 3 blocks
    agree to round-off (block-ordered sums); the block power sums equal the serial ones."""
    from glass2epm.mechanics.minimize import fire_power, fire_power_blocks, fire_step, fire_step_blocks

    rng = np.random.default_rng(4)
    n = 1001
    x0 = rng.random((n, 2)) * 30
    v0 = 1e-2 * rng.standard_normal((n, 2))
    f = rng.standard_normal((n, 2))
    fmax2, P, fn2 = fire_power(f, v0, n)
    s0 = np.array([0.01, 0.07, 7.0, 0.05, 0.0])  # past N_min downhill steps: dt and α change

    def serial():
        x, v, st = x0.copy(), v0.copy(), s0.copy()
        moved = fire_step(x, v, f, n, power * P, fn2, st, 0.1, x0, 1e-8)
        return x, v, st, moved

    xs, vs, ss, ms = serial()
    assert ms  # every row moved more than 1e-4 λ
    for nb in (1, 2, 3):
        lo = np.array([(n * b) // nb for b in range(nb + 1)], dtype=np.int64)
        got = fire_power_blocks(f, v0, lo)
        assert got[0] == fmax2 and got[1] == pytest.approx(P, rel=1e-13) and got[2] == pytest.approx(fn2, rel=1e-13)
        x, v, st = x0.copy(), v0.copy(), s0.copy()
        moved = fire_step_blocks(x, v, f, power * P, fn2, st, 0.1, x0, 1e-8, lo)
        assert moved == ms
        np.testing.assert_array_equal(st, ss)
        if nb == 1:
            np.testing.assert_array_equal(x, xs)
            np.testing.assert_array_equal(v, vs)
        else:
            np.testing.assert_allclose(v, vs, rtol=1e-13, atol=1e-16)
            np.testing.assert_allclose(x, xs, rtol=1e-14, atol=0)
    if power < 0:  # the back-off zeroed the old velocity: v = dt F mixed
        assert ss[1] == 0.1 and ss[2] == 0.0 and ss[0] == pytest.approx(0.005)


def test_threaded_minimisation_does_not_depend_on_threads(reference_conf):
    """N ≥ PARALLEL_MIN_N: the shared glass tiled 2 × 2 (N = 4096, an inherent state of the
    tiled cell), perturbed, relaxed with 1 and with 2 threads (threaded force kernel and
    blocked FIRE update over fixed blocks): bitwise the same path and minimum, forces below
    the tolerance, and the energy of the serial kernel there."""
    import numba

    from glass2epm.core.box import Box
    from glass2epm.core.potential import PARALLEL_MIN_N

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one numba thread: the threaded path cannot run")
    c = reference_conf
    h = c.box.h
    shifts = [a * h[:, 0] + b * h[:, 1] for a in (0, 1) for b in (0, 1)]
    big = c.copy()
    big.x = np.concatenate([c.x + s for s in shifts])
    big.sizes = np.concatenate([c.sizes] * 4)
    big.box = Box(2 * h)
    assert big.N >= PARALLEL_MIN_N
    f0 = ForceField(c.model).compute(big.x, big.sizes, big.box)[1]
    assert np.abs(f0).max() < 1e-8  # the tiling is itself a minimum
    rng = np.random.default_rng(9)
    big.x = big.x + 0.02 * rng.standard_normal(big.x.shape)
    one, r1 = minimize(big, threads=1)
    two, r2 = minimize(big, threads=2)
    assert r1.fmax < default_ftol(big.N)
    assert np.array_equal(one.x, two.x)
    assert (r1.energy, r1.fire_steps, r1.newton_steps) == (r2.energy, r2.fire_steps, r2.newton_steps)
    from glass2epm.core.potential import energy_forces_half, pair_model

    vl = ForceField(c.model).vlist
    vl.build(one.x, one.sizes, one.box)
    f, s = np.empty_like(one.x), np.empty((2, 2))
    e = energy_forces_half(one.x, one.box.h, vl.record(), pair_model(c.model), f, s)
    assert e == pytest.approx(r1.energy, rel=1e-13) and np.abs(f).max() < default_ftol(big.N)
