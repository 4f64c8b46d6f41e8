"""Tests for glass2epm.aqs.activity: Falk–Langer D²min and activity bookkeeping.

Independent routes: affine maps (exact zero, J = the imposed map), a plain numpy
reference implementation with brute-force periodic images and known *unwrapped*
displacements (no image bookkeeping at all), hand-built D²min arrays for the
activity counting, and the geometry of an imposed local swirl.
"""

import numpy as np
import pytest

from glass2epm.aqs.activity import (
    accumulate_activity,
    activity_from_d2min,
    d2min,
    default_rcut,
    matched_cell,
    neighbour_list,
    read_activity,
    write_activity,
)
from glass2epm.core.box import Box, deformation, simple_shear
from glass2epm.core.io import Configuration, SchemaError, read_table, write_configuration
from glass2epm.core.model import Model

TINY = 1e-20  # λ²: "zero to round-off" for D²min of O(1) separations


def liquid(n=400, dim=2, gamma=0.0, seed=0):
    """Random (ideal-gas) positions at the model density, in a Lees–Edwards cell."""
    model = Model.from_preset("lerner-poly2d" if dim == 2 else "richard2023", dim=dim)
    L = model.box_side(n)
    box = Box.square(L, dim, gamma)
    rng = np.random.default_rng(seed)
    x = rng.random((n, dim)) @ box.h.T
    return x, box, model


def brute_min_image(dx, h):
    """Shortest lattice-equivalent of each row of dx, by explicit search over images."""
    d = h.shape[0]
    shifts = np.array(np.meshgrid(*[np.arange(-2, 3)] * d, indexing="ij")).reshape(d, -1).T
    lat = shifts @ h.T  # (S, d)
    cand = dx[:, None, :] + lat[None, :, :]
    k = np.argmin((cand**2).sum(-1), axis=1)
    return cand[np.arange(len(dx)), k]


def swirl(x, box, centre, theta0, r1, r2):
    """Displacement of a local swirl: rigid rotation by θ0 inside r1, tapering to 0 at r2."""
    r = brute_min_image(x - centre, box.h)
    rr = np.linalg.norm(r, axis=1)
    th = theta0 * np.clip((r2 - rr) / (r2 - r1), 0.0, 1.0)
    c, s = np.cos(th), np.sin(th)
    rot = np.stack([c * r[:, 0] - s * r[:, 1], s * r[:, 0] + c * r[:, 1]], axis=1)
    return rot - r, rr


def reference_d2min(x0, box0, u, F, rcut, normalize="mean"):
    """Plain numpy D²min: neighbours by brute force, current separations from the known
    unwrapped displacement field u (x¹ = F (x⁰ + u)), J by least squares."""
    n, d = x0.shape
    out = np.empty(n)
    Js = np.empty((n, d, d))
    for i in range(n):
        d0 = brute_min_image(x0 - x0[i], box0.h)
        sel = (np.linalg.norm(d0, axis=1) < rcut) & (np.arange(n) != i)
        a0 = d0[sel]
        a1 = (a0 + u[sel] - u[i]) @ F.T
        Jt, *_ = np.linalg.lstsq(a0, a1, rcond=None)  # a1 ≈ a0 Jᵀ
        res = ((a1 - a0 @ Jt) ** 2).sum()
        out[i] = res / len(a0) if normalize == "mean" else res
        Js[i] = Jt.T
    return out, Js


# ---------------------------------------------------------------------------
# neighbour list


def test_neighbour_list_matches_brute_force():
    x, box, _ = liquid(300, gamma=0.45, seed=3)
    rc = 3.0
    start, nbr = neighbour_list(x, box, rc)
    for i in range(0, 300, 7):
        d = brute_min_image(x - x[i], box.h)
        want = set(np.flatnonzero((np.linalg.norm(d, axis=1) < rc) & (np.arange(300) != i)))
        assert set(nbr[start[i]:start[i + 1]]) == want


def test_rcut_too_large_is_rejected():
    x, box, _ = liquid(100)
    with pytest.raises(ValueError, match="half the cell width"):
        d2min(x, box, x, box, rcut=0.6 * box.lengths[0])


def test_default_rcut_is_2p5_mean_spacing():
    x, box, model = liquid(400)
    assert default_rcut(400, box) == pytest.approx(2.5 * model.density ** -0.5)


# ---------------------------------------------------------------------------
# affine deformations give zero


def test_simple_shear_across_tilt_reduction_is_zero():
    x0, box0, _ = liquid(400, gamma=0.495, seed=1)
    F = simple_shear(0.01)
    box1 = box0.deformed(F)
    assert box1.h[0, 1] < 0  # the tilt was reduced by a lattice vector (γ = 0.505 → −0.495)
    x1 = box1.wrap(x0 @ F.T)
    D2, J = d2min(x0, box0, x1, box1)
    assert np.nanmax(D2) < TINY
    assert np.all(np.isfinite(D2))
    np.testing.assert_allclose(J, np.broadcast_to(F, J.shape), atol=1e-12)
    # the affine map inferred across the reduction is the true one
    np.testing.assert_allclose(matched_cell(box1.h, box0.h) @ np.linalg.inv(box0.h), F, atol=1e-13)


@pytest.mark.parametrize("gamma,explicit", [(1.3, False), (1.3, True), (5.3, True)])
def test_large_simple_shear_step_is_zero(gamma, explicit):
    """One large step: the stored cell is at γ = 0.3. At γ = 5.3 the current separations
    are longer than half the cell, so only the image closest to F·d⁰ (F given) is right."""
    x0, box0, _ = liquid(400, gamma=0.0, seed=2)
    F = simple_shear(gamma)
    box1 = box0.deformed(F)
    assert abs(box1.h[0, 1] - 0.3 * box1.h[0, 0]) < 1e-9
    x1 = box1.wrap(x0 @ F.T)
    D2, J = d2min(x0, box0, x1, box1, affine=F if explicit else None)
    assert np.nanmax(D2) < TINY
    np.testing.assert_allclose(J, np.broadcast_to(F, J.shape), atol=1e-11)


@pytest.mark.parametrize("kind", ["pure_shear", "dilation"])
def test_pure_shear_and_dilation_are_zero(kind):
    x0, box0, _ = liquid(400, gamma=0.2, seed=4)
    F = deformation(kind, 0.05)
    box1 = box0.deformed(F)
    x1 = box1.wrap(x0 @ F.T)
    D2, J = d2min(x0, box0, x1, box1, normalize="sum")
    assert np.nanmax(D2) < TINY
    np.testing.assert_allclose(J, np.broadcast_to(F, J.shape), atol=1e-12)


def test_rigid_translation_across_boundary_is_zero():
    x0, box0, _ = liquid(400, gamma=0.37, seed=5)
    shift = np.array([0.71, 0.43]) * box0.lengths
    x1 = box0.wrap(x0 + shift)
    assert np.any(np.abs(x1 - (x0 + shift)) > 1.0)  # particles were wrapped back
    D2, J = d2min(x0, box0, x1, box0)
    assert np.nanmax(D2) < TINY
    np.testing.assert_allclose(J, np.broadcast_to(np.eye(2), J.shape), atol=1e-12)


def test_3d_general_affine_across_tilt_reduction_is_zero():
    L = Model.from_preset("richard2023", dim=3).box_side(500)
    h0 = np.array([[L, 0.49 * L, -0.3 * L], [0, L, 0.495 * L], [0, 0, L]])
    box0 = Box(h0)
    x0 = box0.wrap(np.random.default_rng(6).random((500, 3)) @ h0.T)
    F = np.array([[1.01, 0.02, 0.015], [0.0, 0.995, 0.012], [0.0, 0.0, 1.003]])
    box1 = box0.deformed(F)
    assert box1.h[1, 2] < 0 and box1.h[0, 1] < 0  # both tilts reduced
    x1 = box1.wrap(x0 @ F.T)
    D2, J = d2min(x0, box0, x1, box1)
    assert np.all(np.isfinite(D2))
    assert np.nanmax(D2) < TINY
    np.testing.assert_allclose(J, np.broadcast_to(F, J.shape), atol=1e-12)


# ---------------------------------------------------------------------------
# local rearrangement


def _swirled(seed=7, theta0=0.5, r1=1.5, r2=3.0, gamma0=0.45, dgamma=0.01):
    x0, box0, _ = liquid(400, gamma=gamma0, seed=seed)
    centre = x0[np.argmin(np.linalg.norm(x0, axis=1))]  # near a corner: the swirl crosses boundaries
    u, rr = swirl(x0, box0, centre, theta0, r1, r2)
    F = simple_shear(dgamma)
    box1 = box0.deformed(F)
    x1 = box1.wrap((x0 + u) @ F.T)
    return x0, box0, x1, box1, u, F, rr


def test_local_swirl_detected_only_around_cluster():
    x0, box0, x1, box1, u, F, rr = _swirled()
    rc = default_rcut(400, box0)
    D2, _ = d2min(x0, box0, x1, box1)
    active = D2 > 0.01
    assert np.all(active[rr < 3.0])  # every particle of the swirl
    assert np.all(rr[active] < 3.0 + rc)  # nothing beyond the swirl plus one neighbourhood
    assert np.nanmax(D2[rr > 3.0 + rc]) < TINY  # those see an exactly affine neighbourhood


@pytest.mark.parametrize("normalize", ["mean", "sum"])
def test_matches_plain_reference_implementation(normalize):
    x0, box0, x1, box1, u, F, rr = _swirled(seed=8, gamma0=0.495)  # tilt reduced in the window
    rc = 2.8
    D2, J, nn = d2min(x0, box0, x1, box1, rc, normalize=normalize, return_counts=True)
    ref, Jref = reference_d2min(x0, box0, u, F, rc, normalize)
    np.testing.assert_allclose(D2, ref, rtol=1e-9, atol=1e-24)
    np.testing.assert_allclose(J, Jref, atol=1e-10)
    if normalize == "mean":
        D2s, _ = d2min(x0, box0, x1, box1, rc, normalize="sum")
        np.testing.assert_allclose(D2s, D2 * nn, rtol=1e-12, atol=1e-24)


def test_isolated_particle_gives_nan_and_is_never_active():
    x0, box0, _ = liquid(200, seed=9)
    D2, _, nn = d2min(x0, box0, x0, box0, rcut=0.5, return_counts=True)
    assert np.any(nn < 2)
    assert np.all(np.isnan(D2[nn < 2]))
    _, count, first = activity_from_d2min(D2[None, :], [0.01], 0.0)
    assert np.all(count[nn < 2] == 0) and np.all(np.isnan(first[nn < 2]))


# ---------------------------------------------------------------------------
# bookkeeping


def test_activity_from_hand_built_d2min():
    d2 = np.array(
        [
            [0.0, 0.02, 0.005, np.nan],
            [0.05, 0.0, 0.011, 0.5],
            [0.0, 0.03, 0.01, 0.0],  # exactly at threshold: not active
        ]
    )
    active, count, first = activity_from_d2min(d2, [0.01, 0.02, 0.03], 0.01)
    np.testing.assert_array_equal(count, [1, 2, 1, 1])
    np.testing.assert_array_equal(first, [0.02, 0.01, 0.02, 0.02])
    np.testing.assert_array_equal(active[:, 1], [True, False, True])
    _, count0, first0 = activity_from_d2min(np.zeros((2, 3)), [0.01, 0.02], 0.01)
    assert np.all(count0 == 0) and np.all(np.isnan(first0))


def _sequence():
    """Six snapshots every 1 %: swirl A in window 0.01→0.02, swirl B in 0.03→0.04 and 0.04→0.05."""
    x0, box0, _ = liquid(600, gamma=0.48, seed=11)
    L = box0.lengths
    cA = x0[np.argmin(np.linalg.norm(box0.minimum_image(x0 - 0.25 * L), axis=1))]
    cB = x0[np.argmin(np.linalg.norm(box0.minimum_image(x0 - 0.75 * L), axis=1))]
    U = np.zeros_like(x0)
    snaps = []
    for k in range(6):
        if k == 2:
            U += swirl(x0 + U, box0, cA, 0.5, 1.5, 3.0)[0]
        if k in (4, 5):
            U += swirl(x0 + U, box0, cB, 0.5, 1.5, 3.0)[0]
        g = 0.01 * k
        F = simple_shear(g)
        box = Box(F @ Box.square(L[0], 2, 0.48).h)
        snaps.append((g, box.wrap((x0 + U) @ F.T), box))
    rA = np.linalg.norm(brute_min_image(x0 - cA, box0.h), axis=1)
    rB = np.linalg.norm(brute_min_image(x0 - cB, box0.h), axis=1)
    return snaps, rA, rB, box0


def test_accumulate_activity_on_synthetic_sequence(tmp_path):
    snaps, rA, rB, box0 = _sequence()
    rc = default_rcut(600, box0)
    res = accumulate_activity(iter(snaps), keep_d2min=True)
    assert res.n_windows == 5
    np.testing.assert_allclose(res.strains, [0, 0.01, 0.02, 0.03, 0.04, 0.05])
    inA, inB = rA < 3.0, rB < 3.0
    far = (rA > 3.0 + rc) & (rB > 3.0 + rc)
    assert np.all(res.n_active[inA] == 1) and np.all(res.first_active_strain[inA] == pytest.approx(0.02))
    assert np.all(res.n_active[inB] == 2) and np.all(res.first_active_strain[inB] == pytest.approx(0.04))
    assert np.all(res.n_active[far] == 0) and np.all(np.isnan(res.first_active_strain[far]))
    assert np.all(res.active_until(0.03) == (res.n_active > 0) & (res.first_active_strain < 0.025))
    np.testing.assert_array_equal(res.count_until(0.045)[inB], 1)
    np.testing.assert_array_equal(res.d2min_last, res.d2min[-1])
    # strain_max truncates the sequence (the paper's "active within γ < 12 %" map)
    part = accumulate_activity(snaps, strain_max=0.03)
    assert part.n_windows == 3 and np.all(part.n_active[inB & ~(rA < 3.0 + rc)] == 0)
    np.testing.assert_array_equal(part.n_active, res.count_until(0.03))

    # write / read through io
    p = write_activity(tmp_path / "act.parquet", res, seed=11)
    t = read_activity(p)
    np.testing.assert_array_equal(t["activity"], res.n_active)
    np.testing.assert_allclose(t["x"], res.x_ref[:, 0])
    np.testing.assert_allclose(t["y"], res.x_ref[:, 1])
    np.testing.assert_array_equal(np.isnan(t["first_active_strain"]), np.isnan(res.first_active_strain))
    assert t.meta["extra"]["threshold"] == 0.01 and t.meta["extra"]["normalize"] == "mean"
    np.testing.assert_allclose(t.box.h, box0.h)
    assert read_table(p, "d2min_activity").columns.keys() >= {"x", "y", "activity"}


def test_accumulate_accepts_configurations_and_rejects_short_sequences(tmp_path):
    x0, box0, model = liquid(200, seed=12)
    F = simple_shear(0.01)
    box1 = box0.deformed(F)
    sizes = model.sizes(200)
    confs = [
        Configuration(x0, sizes, box0, model, strain={"gamma": 0.0, "geometry": "simple_shear"}),
        Configuration(box1.wrap(x0 @ F.T), sizes, box1, model, strain={"gamma": 0.01, "geometry": "simple_shear"}),
    ]
    res = accumulate_activity(confs)
    assert np.all(res.n_active == 0) and np.nanmax(res.d2min_last) < TINY
    with pytest.raises(ValueError, match="at least two snapshots"):
        accumulate_activity(confs[:1])
    # a configuration file is not an activity file
    p = write_configuration(tmp_path / "c.parquet", confs[0])
    with pytest.raises(SchemaError, match="d2min_activity"):
        read_activity(p)
