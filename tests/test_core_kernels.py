"""The dispatched fast paths of the pair kernels against the generic kernel (Eq. A2).

The β = 10, q = 3 pair term and the written-out 2D half-list loop are fast variants of the
generic term (:func:`glass2epm.core.model.phi_and_dphi_u`, itself checked against the
radial form and finite differences in ``test_model.py``); they must agree with it to
round-off on a real configuration, in 2D and (generic) 3D, serial and threaded.
"""

import numpy as np
import pytest

from glass2epm.core import potential as P
from glass2epm.core.box import Box
from glass2epm.core.model import Model
from glass2epm.core.neighbors import VerletList


@pytest.mark.parametrize("xc", [1.4, 1.5])
def test_b10q3_term_matches_generic(xc):
    m = Model.from_preset("lerner-poly2d", xc=xc)
    xc2 = xc * xc
    for u in np.linspace(0.5, 1.1 * xc2, 97):
        for il2 in (1.0, 0.37):
            fast = P._term_b10q3(u, il2, m.half_beta, m.coeffs, xc2)
            gen = P._term_generic(u, il2, m.half_beta, m.coeffs, xc2)
            assert fast[0] == pytest.approx(gen[0], rel=1e-12, abs=1e-14)
            assert fast[1] == pytest.approx(gen[1], rel=1e-12, abs=1e-14)
            if u >= xc2:
                assert fast == (0.0, 0.0) and gen == (0.0, 0.0)


def _config(model, n, dim, seed=0):
    rng = np.random.default_rng(seed)
    L = model.box_side(n)
    h = np.eye(dim) * L
    h[0, 1] = 0.1 * L
    box = Box(h)
    # a jittered lattice: no overlaps, many pairs inside the cutoff
    k = int(np.ceil(n ** (1 / dim)))
    grid = np.stack(np.meshgrid(*[np.arange(k)] * dim, indexing="ij"), -1).reshape(-1, dim)[:n]
    s = (grid + 0.5 + 0.15 * rng.standard_normal(grid.shape)) / k
    return s @ box.h.T, model.sizes(n), box


def _run(kernel, x, sizes, box, model, full):
    vl = VerletList(model, skin=0.3, per_pair=True, full=full)
    vl.build(x, sizes, box)
    f = np.empty_like(x)
    s = np.empty((x.shape[1], x.shape[1]))
    e = kernel(x, box.h, vl.record(), P.pair_model(model), f, s)
    return e, f, s


def _threads(k):
    """Run with k numba threads (at most the pool size)."""
    import numba

    return min(k, numba.config.NUMBA_NUM_THREADS)


@pytest.mark.parametrize("threaded", [False, True])
def test_fast_2d_kernels_match_generic(threaded):
    import numba

    m = Model.from_preset("lerner-poly2d")
    x, sizes, box = _config(m, 900, 2)
    fast = P._threaded_b10q3 if threaded else P._half2_b10q3
    gen = P._threaded_generic if threaded else P._half2_generic
    prev = numba.get_num_threads()
    numba.set_num_threads(_threads(2))
    try:
        e1, f1, s1 = _run(fast, x, sizes, box, m, False)
        e2, f2, s2 = _run(gen, x, sizes, box, m, False)
        e3, f3, _ = _run(P.energy_forces_threaded if threaded else P.energy_forces_half, x, sizes, box, m,
                         False)
    finally:
        numba.set_num_threads(prev)
    assert e1 > 0 and np.abs(f1).max() > 1e-3
    assert e1 == pytest.approx(e2, rel=1e-12)
    np.testing.assert_allclose(f1, f2, rtol=0, atol=1e-11 * np.abs(f2).max())
    np.testing.assert_allclose(s1, s2, rtol=0, atol=1e-12 * np.abs(s2).max())
    # the dispatcher picks the fast path for the presets
    assert e3 == pytest.approx(e1, rel=1e-14)
    np.testing.assert_allclose(f3, f1, rtol=0, atol=1e-13 * np.abs(f1).max())


@pytest.mark.parametrize("dim,preset,n", [(2, "lerner-poly2d", 2000), (3, "richard2023", 1000)])
def test_threaded_kernel_equals_serial(dim, preset, n):
    """The threaded half-list kernel (fixed blocks, per-block force buffers) against the
    serial one: energies, forces and stress agree to round-off; forces sum to zero; and 1
    and 2 threads give the same bits (the blocks, not the threads, fix the sums' order)."""
    import numba

    m = Model.from_preset(preset, dim=dim)
    x, sizes, box = _config(m, n, dim)
    e1, f1, s1 = _run(P.energy_forces_half, x, sizes, box, m, False)
    prev = numba.get_num_threads()
    got = []
    try:
        for k in (1, _threads(2)):
            numba.set_num_threads(k)
            e2, f2, s2 = _run(P.energy_forces_threaded, x, sizes, box, m, False)
            assert e1 > 0
            assert e2 == pytest.approx(e1, rel=1e-12)
            np.testing.assert_allclose(f2, f1, rtol=0, atol=1e-11 * np.abs(f1).max())
            np.testing.assert_allclose(s2, s1, rtol=0, atol=1e-12 * np.abs(s1).max())
            assert np.abs(f2.sum(axis=0)).max() < 1e-10 * np.abs(f2).max() * n
            got.append((e2, f2, s2))
    finally:
        numba.set_num_threads(prev)
    assert got[0][0] == got[-1][0]
    assert np.array_equal(got[0][1], got[-1][1]) and np.array_equal(got[0][2], got[-1][2])


@pytest.mark.parametrize("dim,preset,tilt", [(2, "lerner-poly2d", 0.0), (2, "lerner-poly2d", 0.37),
                                             (3, "richard2023", 0.21)])
@pytest.mark.parametrize("n", [60, 1500])
def test_packed_lists_match_brute_force(dim, preset, tilt, n):
    """SWAP MC's packed lists (``neighbors.packed_lists``: the one cell binning and stencil) hold
    exactly the pairs within the list range, each with the image that realises its separation,
    and each size-class prefix holds exactly the pairs closer than its radius; checked against
    all pairs × all 3^d images (n = 60: the all-images fallback; 1500: cells, K = 1 or 2)."""
    from glass2epm.core.cells import fractional_coords
    from glass2epm.core.neighbors import packed_lists
    from glass2epm.prepare.mclists import image_shifts

    m = Model.from_preset(preset, dim=dim)
    x, sizes, box = _config(m, n, dim)
    h = box.h.copy()
    h[0, 1] = tilt * h[0, 0]
    s = fractional_coords(x, h)
    x = (s - np.floor(s)) @ h.T
    rlist = min(m.max_cutoff + 1.0, 0.45 * (1.0 / np.linalg.norm(np.linalg.inv(h), axis=1)).min())
    radii2 = np.array([0.3, 0.6, 1.0]) ** 2 * rlist**2
    radii2[-1] = rlist**2 * (1 + 1e-12)
    start, ent, ends = packed_lists(x, h, rlist, radii2)
    shifts = image_shifts(h)
    ref = set()
    for c in range(3**dim):
        r2 = np.sum((x[None, :, :] - x[:, None, :] + shifts[c]) ** 2, axis=-1)
        if c == (3**dim - 1) // 2:
            np.fill_diagonal(r2, np.inf)
        ref.update((int(i), int(j), c) for i, j in zip(*np.nonzero(r2 < rlist**2)))
    got = set()
    for i in range(n):
        prev = start[i]
        for mlev in range(len(radii2)):
            for p in range(prev, ends[i, mlev]):
                j, c = int(ent[p]) >> 5, int(ent[p]) & 31
                r2 = np.sum((x[j] - x[i] + shifts[c]) ** 2)
                assert r2 < radii2[mlev] * (1 + 1e-12) and (mlev == 0 or r2 >= radii2[mlev - 1] * (1 - 1e-12))
                got.add((i, j, c))
            prev = ends[i, mlev]
        assert prev == start[i + 1]
    assert got == ref and len(ent) == len(ref)


def test_swap_mc_fast_loops_match_generic():
    """The β = 10, q = 3 SWAP MC loops (``_ddisp_fast``, ``_dsize_fast``, ``_dswap_fast``)
    against the generic branching loops on the same packed lists, for displacements, size
    changes and whole swaps."""
    from glass2epm.prepare import kernels as K
    from glass2epm.prepare import swapmc

    m = Model.from_preset("lerner-poly2d")
    conf = swapmc.random_liquid(m, 400, seed=5, push_off_sweeps=20)
    mc = swapmc.SwapMC(conf, 1.0, seed=1)
    mc.rebuild()
    nl, pm = mc._lists, mc._pm
    rng = np.random.default_rng(2)
    k = pm.k
    assert pm.fast == 1  # the preset takes the fast loops
    for _ in range(50):
        i = int(rng.integers(conf.N))
        end = nl.ends[i, -1]
        dd = tuple(0.3 * (rng.random(3) - 0.5))
        fast = K._ddisp_fast(i, dd, mc.x, mc.sizes, nl.ent, nl.shifts, (nl.start[i], end), k)
        gen = K._ddisp(i, dd, mc.x, mc.sizes, nl, end, pm)
        assert fast == pytest.approx(gen, rel=1e-12, abs=1e-12)
        j = int(rng.integers(conf.N))
        lo, ln = mc.sizes[i], mc.sizes[j]
        fast = K._dsize_fast(i, lo, ln, j, mc.x, mc.sizes, nl.ent, nl.shifts, (nl.start[i], end), k)
        gen = K._dsize(i, lo, ln, j, mc.x, mc.sizes, nl, end, pm)
        assert fast == pytest.approx(gen, rel=1e-12, abs=1e-12)
        if j != i:  # a whole swap, fast route against the generic one
            fast = K._dswap_fast(i, j, mc.x, mc.sizes, nl.start, nl.ends, nl.ent, nl.shifts,
                                 (nl.lam_lo, nl.inv_dl), k)
            gen = K._dswap(i, j, mc.x, mc.sizes, nl, pm)
            assert fast == pytest.approx(gen, rel=1e-12, abs=1e-12) and gen != 0.0
