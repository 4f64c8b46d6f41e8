"""The fast paths of the bond-micromechanics yield map against plain references.

Independent routes:

* the 2D block-envelope Cholesky (``cholesky.block_envelope_*``) against numpy's dense
  solve on random SPD matrices with a particle envelope, and its refusal of an
  indefinite matrix; its explicit-SIMD panel products (``simd.panel_dot2/4``) bit for
  bit against the scalar fused-multiply-add loop they replace;
* the stable bucket/insertion sort of the site's free particles against numpy's
  mergesort, ties included; the run merge against ``np.sort``;
* ``PairSet.from_configuration`` (threaded, no Verlet list) against the
  ``hessian.pair_data`` route it replaces, number for number, including the second
  (overflow) fill pass of the pair scan;
* ``particles_within`` / ``nearest_particles`` against brute-force minimum-image
  distances;
* the 2D batched site path (block envelope, fused vectorised bond passes) against the
  any-dimension path (scalar envelope Cholesky, serial ``contractions`` kernels) on
  every site of the reference glass, and its independence of the thread count.
"""

import numpy as np
import pytest
from numba import njit

from glass2epm.core.pairs import PairSet, _pair_table
from glass2epm.yieldstress import bond
from glass2epm.core.box import Box, deformation
from glass2epm.yieldstress.cavity import (
    _merge_runs,
    free_sets,
    mean_spacing,
    nearest_particles,
    particles_within,
    site_grid,
    site_particles,
)
from glass2epm.mechanics.envelope import block_envelope_factor, block_envelope_layout, block_envelope_solve
from glass2epm.core.runtime import numba_threads
from glass2epm.mechanics.expansion import generator
from glass2epm.mechanics.hessian import pair_data
from glass2epm.core.io import Configuration
from glass2epm.core.model import Model
from glass2epm.core.simd import panel_dot2, panel_dot4


def _random_envelope(rng, nf):
    """firstp (lowest coupled particle ≤ l) of a random 2D particle envelope."""
    firstp = np.array([max(0, l - rng.integers(0, 6)) for l in range(nf)], dtype=np.int64)
    firstp[0] = 0
    return firstp


def _spd_with_envelope(rng, nf, firstp):
    """A dense SPD matrix (2 nf dofs) that is zero outside the envelope of firstp."""
    n = 2 * nf
    A = np.zeros((n, n))
    for l in range(nf):
        for q in range(firstp[l], l + 1):
            blk = rng.normal(size=(2, 2))
            A[2 * l:2 * l + 2, 2 * q:2 * q + 2] = blk
            A[2 * q:2 * q + 2, 2 * l:2 * l + 2] = blk.T
    A = 0.5 * (A + A.T)
    A += np.eye(n) * (np.abs(A).sum(axis=1).max() + 1.0)  # diagonally dominant
    return A


def _to_block_envelope(A, nf, firstp):
    nb, fb, fd, bptr = block_envelope_layout(firstp, nf)
    env = np.zeros(bptr[nb])
    for I in range(nb):
        for r in range(4):
            row = 4 * I + r
            for c in range(4 * fb[I], 4 * I + 4):
                if row < 2 * nf and c < 2 * nf and c <= row:
                    env[bptr[I] + 4 * (c - 4 * fb[I]) + r] = A[row, c]
                elif row >= 2 * nf and c == row:
                    env[bptr[I] + 4 * (c - 4 * fb[I]) + r] = 1.0  # padding particle
    return nb, fb, fd, bptr, env


@pytest.mark.parametrize("nf", [1, 2, 7, 40, 41])
def test_block_envelope_cholesky_against_dense(nf):
    rng = np.random.default_rng(nf)
    firstp = _random_envelope(rng, nf)
    A = _spd_with_envelope(rng, nf, firstp)
    nb, fb, fd, bptr, env = _to_block_envelope(A, nf, firstp)
    dinv = np.empty(14 * nb)
    assert block_envelope_factor(env, fb, fd, bptr, dinv)
    b = rng.normal(size=2 * nf)
    u = np.zeros(4 * nb)
    u[:2 * nf] = b
    block_envelope_solve(env, fb, fd, bptr, dinv, u)
    np.testing.assert_allclose(u[:2 * nf], np.linalg.solve(A, b), rtol=1e-11, atol=1e-13)
    np.testing.assert_array_equal(u[2 * nf:], 0.0)
    # an indefinite matrix (one negative eigenvalue) is refused
    w, V = np.linalg.eigh(A)
    nb, fb, fd, bptr, env = _to_block_envelope(A - (w[0] + 1.0) * np.eye(2 * nf), nf, firstp)
    assert not block_envelope_factor(env, fb, fd, bptr, dinv)


@njit(fastmath={"contract"})
def _scalar_panel(env, ua, ub, n, nrows, init):
    s = init.copy()
    for k in range(n):
        for r in range(nrows):
            a = env[ua + 4 * k + r]
            for c in range(4):
                s[r, c] += a * env[ub + 4 * k + c]
    return s


@njit
def _simd_panels(env, ua, ub, n, init4):
    t4 = panel_dot4(env, np.uint64(ua), np.uint64(ub), n,
                    (init4[0, 0], init4[0, 1], init4[0, 2], init4[0, 3],
                     init4[1, 0], init4[1, 1], init4[1, 2], init4[1, 3],
                     init4[2, 0], init4[2, 1], init4[2, 2], init4[2, 3],
                     init4[3, 0], init4[3, 1], init4[3, 2], init4[3, 3]))
    t2 = panel_dot2(env, np.uint64(ua), np.uint64(ub), n, (0.0,) * 8)
    out4 = np.empty((4, 4))
    out2 = np.empty((2, 4))
    for k in range(16):
        out4[k // 4, k % 4] = t4[k]
    for k in range(8):
        out2[k // 4, k % 4] = t2[k]
    return out4, out2


@pytest.mark.parametrize("n", [0, 1, 5, 23])
def test_simd_panel_products_bitwise(n):
    rng = np.random.default_rng(10 + n)
    env = rng.normal(size=8 * n + 64)
    init = rng.normal(size=(4, 4))
    ua, ub = 3, 4 * n + 17
    s4, s2 = _simd_panels(env, ua, ub, n, init)
    np.testing.assert_array_equal(s4, _scalar_panel(env, ua, ub, n, 4, init))
    np.testing.assert_array_equal(s2, _scalar_panel(env, ua, ub, n, 2, np.zeros((2, 4))))
    # and against numpy (round-off only)
    A = env[ua:ua + 4 * n].reshape(n, 4)
    B = env[ub:ub + 4 * n].reshape(n, 4)
    np.testing.assert_allclose(s4, init + A.T @ B, rtol=1e-12, atol=1e-12)


def test_stable_sort_and_run_merge():
    rng = np.random.default_rng(3)
    order = np.empty(300, dtype=np.int64)
    count = np.empty(301, dtype=np.int64)
    for n in (0, 1, 2, 5, 79, 200):
        for key in (rng.normal(size=n), np.round(rng.normal(size=n), 1), np.ones(n),
                    np.sort(rng.normal(size=n))[::-1].copy()):
            bond._argsort_stable(key, n, order, count)
            np.testing.assert_array_equal(order[:n], np.argsort(key, kind="mergesort"))
    for nr in (1, 2, 3, 9, 27):
        lens = rng.integers(0, 12, size=nr)
        runs = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        a = np.concatenate([np.sort(rng.choice(10_000, size=k, replace=False)) for k in lens]
                           + [np.zeros(5, dtype=np.int64)]).astype(np.int64)
        want = np.sort(a[:runs[-1]])
        buf = np.empty_like(a)
        r = np.empty(28, dtype=np.int64)
        r[:nr + 1] = runs
        _merge_runs(a, buf, r, nr)
        np.testing.assert_array_equal(a[:runs[-1]], want)


def _configurations(reference_conf):
    out = {"ref": reference_conf}
    F = deformation("simple_shear", 0.37)
    out["sheared"] = Configuration(reference_conf.x @ F.T, reference_conf.sizes,
                                   reference_conf.box.deformed(F), reference_conf.model)
    m3 = Model.from_preset("richard2023", dim=3)
    rng = np.random.default_rng(1)
    n = 1500
    L = m3.box_side(n)
    out["3d"] = Configuration(rng.random((n, 3)) * L, m3.sizes(n), Box.square(L, 3), m3)
    return out


def test_pairset_equals_pair_data(reference_conf):
    """Same pairs, same order, same numbers as the Verlet-list route (hessian.pair_data)."""
    for name, conf in _configurations(reference_conf).items():
        ii, jj, rv, lam, r, derivs = pair_data(conf, order=4)
        want = PairSet.from_arrays(ii, jj, rv, derivs, conf.N, lam)
        for threads in (1, 2):
            with numba_threads(threads):
                got = PairSet.from_configuration(conf)
            for k in ("ii", "jj", "rv", "r", "derivs", "pre", "lam"):
                np.testing.assert_array_equal(getattr(got, k), getattr(want, k), err_msg=f"{name} {k}")
    # the second (exact) fill pass when a chunk overflows its buffer gives the same table
    conf = reference_conf
    m = conf.model
    h = conf.box.h
    s = np.linalg.solve(h, conf.x.T).T
    s -= np.floor(s)
    ncell = np.maximum(1, np.floor(conf.box.perpendicular_widths() / (m.max_cutoff + 0.3))).astype(np.int64)
    ref = _pair_table(conf.x, conf.sizes, h, s, ncell, float(m.xc), float(m.na), 4, 8)
    for room, nchunks in ((0, 3), (2, 5), (4, 1)):
        got = _pair_table(conf.x, conf.sizes, h, s, ncell, float(m.xc), float(m.na), nchunks, room)
        for a, b in zip(ref, got):
            np.testing.assert_array_equal(a, b)


def _brute_distances(conf, points):
    d = points[:, None, :] - conf.x[None, :, :]
    d = conf.box.minimum_image(d.reshape(-1, conf.dim)).reshape(d.shape)
    return np.einsum("pna,pna->pn", d, d)


def test_particles_within_and_nearest_brute_force(reference_conf):
    for name, conf in _configurations(reference_conf).items():
        dd = mean_spacing(conf)
        sites = site_particles(conf, 3 * dd)[:40]
        r2 = _brute_distances(conf, conf.x[sites])
        for R in (0.0, 1.7 * dd, 5 * dd):
            start, idx = particles_within(conf.x, conf.box.h, sites, R)
            for k in range(sites.size):
                np.testing.assert_array_equal(idx[start[k]:start[k + 1]],
                                              np.flatnonzero(r2[k] <= R * R), err_msg=name)
        pts = site_grid(conf, 3 * dd)[:60]
        near = nearest_particles(conf.x, conf.box.h, pts, 3 * dd)
        np.testing.assert_array_equal(near, np.argmin(_brute_distances(conf, pts), axis=1))


def test_batched_2d_path_against_generic_path(reference_conf):
    """Every site of the reference glass: block-envelope Cholesky + fused vectorised bond
    passes against the scalar envelope Cholesky + serial contractions kernels; the
    result does not depend on the number of threads (bit for bit)."""
    conf = reference_conf
    dd = mean_spacing(conf)
    sites = site_particles(conf, 3 * dd)
    free = free_sets(conf, sites, 5 * dd)
    ps = PairSet.from_configuration(conf)
    for kind, comp in (("simple_shear", "xy"), ("dilation", "yy")):
        A = generator(kind, 2)
        B = bond.component_matrix(comp, 2)
        got, ok = bond._batched(conf, sites, free, ps, A, B, True)
        want, ok2 = bond._batched(conf, sites, free, ps, A, B, True, generic=True)
        assert ok.all() and ok2.all()
        for k in range(4):  # each derivative order; absolute floor: round-off of the largest
            np.testing.assert_allclose(got[:, k], want[:, k], rtol=1e-10,
                                       atol=1e-13 * np.abs(want[:, k]).max())
        # the affine limit (no solve)
        got, _ = bond._batched(conf, sites, free, ps, A, B, False)
        want, _ = bond._batched(conf, sites, free, ps, A, B, False, generic=True)
        for k in range(4):
            np.testing.assert_allclose(got[:, k], want[:, k], rtol=1e-12,
                                       atol=1e-14 * np.abs(want[:, k]).max())
    runs = []
    for threads in (1, 2):
        runs.append(bond.bond_sites(conf, sites, 5 * dd, threads=threads).coefficients)
    np.testing.assert_array_equal(runs[0], runs[1])
