"""Model (Appendix A with ERRATA): coefficients, derivatives by finite differences, cutoff smoothness."""

import numpy as np
import pytest

from glass2epm.core.model import Model, phi_and_dphi_u, smoothing_coefficients


def test_errata_coefficients():
    for xc in (1.4, 1.5):
        c = smoothing_coefficients(10, 3, xc)
        expect = [-56 / xc**10, 140 / xc**12, -120 / xc**14, 35 / xc**16]
        np.testing.assert_allclose(c, expect, rtol=1e-14)


@pytest.mark.parametrize("preset", ["lerner-poly2d", "richard2023"])
def test_derivatives_against_finite_differences(preset):
    m = Model.from_preset(preset)
    lam = np.array([1.0, 1.3, 2.0, 1.7])
    r = lam * np.array([0.95, 1.1, 1.3, 0.8]) * (m.xc / 1.5)
    der = m.radial_derivatives(r, lam, order=5)
    h = 1e-5
    up = m.radial_derivatives(r + h, lam, order=5)
    dn = m.radial_derivatives(r - h, lam, order=5)
    for k in range(5):
        fd = (up[k] - dn[k]) / (2 * h)
        np.testing.assert_allclose(der[k + 1], fd, rtol=2e-7, err_msg=f"derivative {k + 1}")


@pytest.mark.parametrize("preset", ["lerner-poly2d", "richard2023"])
def test_vanishes_smoothly_at_cutoff(preset):
    m = Model.from_preset(preset)
    lam = np.array([1.0, 1.6, 2.2])
    r = m.xc * lam * (1 - 1e-15)
    der = m.radial_derivatives(r, lam, order=4)
    # φ and its first q = 3 derivatives vanish at x_c (relative to the core scale)
    scale = m.radial_derivatives(lam, lam, order=4)
    for k in range(m.q + 1):
        assert np.all(np.abs(der[k]) < 1e-10 * np.abs(scale[k])), k
    assert np.all(np.abs(der[4]) > 1.0)  # q = 3: the fourth derivative jumps (C³ only)
    beyond = m.radial_derivatives(m.xc * lam * 1.0001, lam, order=4)
    assert np.all(beyond == 0)


def test_u_form_matches_radial_form():
    m = Model.from_preset("lerner-poly2d")
    lam = 1.37
    for x in (0.8, 1.0, 1.2, 1.45):
        r = x * lam
        phi, dphi = phi_and_dphi_u(x * x, m.half_beta, m.coeffs)
        der = m.radial_derivatives(np.array([r]), np.array([lam]), order=1)
        assert phi == pytest.approx(der[0, 0], rel=1e-13)
        # φ'(r)/r = (2/λ²) dφ/du
        assert 2 * dphi / lam**2 == pytest.approx(der[1, 0] / r, rel=1e-13)


def test_sizes():
    m = Model.from_preset("lerner-poly2d")
    s = m.sizes(100000)
    assert s.min() >= m.lam_min and s.max() <= m.lam_max
    # mean of p(λ) ∝ λ^-3 on [1, 2.22]: 2/(1/1 - 1/2.22^2)... analytic
    a, b = m.lam_min, m.lam_max
    mean = (1 / a - 1 / b) / (0.5 * (1 / a**2 - 1 / b**2))
    assert s.mean() == pytest.approx(mean, rel=1e-4)
    np.testing.assert_array_equal(s, np.sort(s))  # quantiles are ordered and deterministic
    r1 = m.sizes(1000, "random", np.random.default_rng(1))
    r2 = m.sizes(1000, "random", np.random.default_rng(1))
    np.testing.assert_array_equal(r1, r2)


def test_bad_parameters():
    with pytest.raises(ValueError, match="unknown model preset"):
        Model.from_preset("nope")
    with pytest.raises(ValueError, match="no density for dim=3"):
        Model.from_preset("lerner-poly2d", dim=3)
    with pytest.raises(ValueError, match="even integer"):
        smoothing_coefficients(9, 3, 1.5)
