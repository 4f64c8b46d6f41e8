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
