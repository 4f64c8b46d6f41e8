"""Exports read by OVITO itself (slow tier; skipped when the `ovito` module is not installed:
`pip install ovito` — it installs from PyPI with PySide6, ~250 MB).

OVITO's AtomicStrainModifier computes D²min between the frames of our GSD trajectory; it
must agree with :func:`glass2epm.aqs.activity.d2min` (an independent implementation,
``normalize="sum"`` = Falk–Langer's sum, OVITO's "Nonaffine Squared Displacement").
With the cell folded at γ = ½ (the old export) OVITO saw a fake shear band; with the
continuous tilt the two agree to float32 precision, and an affine shear gives D²min ≈ 0.
"""

from __future__ import annotations

import numpy as np
import pytest

from glass2epm.aqs.activity import d2min
from glass2epm.core import io
from glass2epm.core.box import Box, deformation

pytestmark = pytest.mark.slow
ovito = pytest.importorskip("ovito")


def _sheared(conf, gamma, noise=0.0, seed=0):
    D = deformation("simple_shear", gamma, conf.dim)
    c = conf.copy()
    c.x = conf.x @ D.T + np.random.default_rng(seed).normal(0.0, noise, conf.x.shape)
    c.box = Box(D @ conf.box.h)
    c.strain = {"gamma": gamma, "geometry": "simple_shear", "step": int(round(gamma * 1e4))}
    return c


def _ovito_d2min(path, rcut, frame):
    from ovito.io import import_file
    from ovito.modifiers import AtomicStrainModifier

    pipe = import_file(str(path))
    pipe.modifiers.append(AtomicStrainModifier(cutoff=rcut, output_nonaffine_squared_displacements=True))
    data = pipe.compute(frame)
    return data, np.asarray(data.particles["Nonaffine Squared Displacement"], dtype=float)


@pytest.mark.parametrize("gamma", [0.3, 0.7, 1.3])
def test_ovito_d2min_matches_ours_across_the_fold(tmp_path, small_glass, gamma):
    c0 = small_glass
    affine = _sheared(c0, gamma)
    noisy = _sheared(c0, gamma, noise=0.02, seed=1)
    p = io.export([c0, affine, noisy], tmp_path / "traj.gsd")
    rcut = 2.5
    data, ov_affine = _ovito_d2min(p, rcut, 1)
    assert data.cell.is2D
    assert data.cell[0, 1] == pytest.approx(gamma * c0.box.h[1, 1], rel=1e-5)
    assert np.abs(ov_affine).max() < 1e-6  # a pure shear is affine everywhere: no fake band
    _, ov = _ovito_d2min(p, rcut, 2)
    ours = d2min(c0.x, c0.box, noisy.x, noisy.box, rcut=rcut, normalize="sum")
    ours = ours[0] if isinstance(ours, tuple) else ours
    np.testing.assert_allclose(ov, ours, rtol=2e-3, atol=1e-6)


def test_ovito_reads_extxyz_radius_and_pbc(tmp_path, small_glass):
    from ovito.io import import_file

    c = _sheared(small_glass, 0.6)
    p = io.export(c, tmp_path / "c.extxyz", particles={"sigma_y": np.arange(c.N, dtype=float)})
    data = import_file(str(p)).compute(0)
    np.testing.assert_allclose(np.asarray(data.particles["Radius"]), 0.5 * c.sizes, rtol=1e-6)
    assert list(data.cell.pbc) == [True, True, False]
    assert data.cell[0, 1] == pytest.approx(0.6 * c.box.h[1, 1], rel=1e-6)
    np.testing.assert_allclose(np.asarray(data.particles["sigma_y"]), np.arange(c.N))


def test_ovito_d2min_from_extxyz_with_the_2d_switch(tmp_path, small_glass):
    """extxyz has no 2D flag: OVITO reads a 3D cell (pbc T T F). With its cell set to 2D
    (GUI: Simulation cell → 2D; Python: ``data.cell_.is2D = True``) the D²min of our extxyz
    trajectory agrees with ours as well (the GSD export carries the flag itself)."""
    from ovito.io import import_file
    from ovito.modifiers import AtomicStrainModifier

    c0, c1 = small_glass, _sheared(small_glass, 0.7, noise=0.02, seed=1)
    p = io.export([c0, c1], tmp_path / "traj.extxyz")
    pipe = import_file(str(p))

    def two_d(frame, data):
        data.cell_.is2D = True

    pipe.modifiers.append(two_d)
    pipe.modifiers.append(AtomicStrainModifier(cutoff=2.5, output_nonaffine_squared_displacements=True))
    ov = np.asarray(pipe.compute(1).particles["Nonaffine Squared Displacement"], dtype=float)
    ours = d2min(c0.x, c0.box, c1.x, c1.box, rcut=2.5, normalize="sum")
    ours = ours[0] if isinstance(ours, tuple) else ours
    np.testing.assert_allclose(ov, ours, rtol=2e-3, atol=1e-6)
