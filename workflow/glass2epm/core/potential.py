"""Energy, forces and virial stress of the pair model (Eq. A2) over a Verlet list.

Kernels work in u = (r/λ_ij)², so neither a square root nor a ``pow`` is needed:
φ'(r)/r = (2/λ_ij²) dφ/du. All quantities are in ε, λ units; the stress is
σ_ab = (1/V) Σ_pairs φ'(r) r_a r_b / r in ε/λ^d (negative for a repulsive
system: the pressure is p = −tr σ / d).

``ForceField`` wraps a model, a cell and a list, and counts force evaluations.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from glass2epm.core.box import Box, min_image_2d, min_image_3d
from glass2epm.core.model import Model, pair_size, phi_and_dphi_u  # noqa: F401
from glass2epm.core.neighbors import PairRows, VerletList, store_pair
from glass2epm.core.runtime import numba_threads


class PairModel(NamedTuple):
    """The pair-potential parameters a force kernel reads (Eqs. A2, A3): β/2, the
    smoothing coefficients c_0..c_2q and the cutoff x_c (in units of λ_ij)."""

    half_beta: int
    coeffs: np.ndarray
    xc: float


def pair_model(model: Model) -> PairModel:
    """The :class:`PairModel` record of a :class:`Model` (typed as the kernels expect)."""
    return PairModel(int(model.half_beta), model.coeffs, float(model.xc))


@njit(cache=True, inline="always")
def _term_b10q3(u, il2, half_beta, coeffs, xc2):
    """Eq. (A2) fast path of :func:`_term_generic` for β = 10, q = 3 (both presets):
    w·φ and w·φ'(r)/r, u = (r/λ_ij)², w = [u < x_c²] (tested against the generic term)."""
    w = 1.0 if u < xc2 else 0.0  # branch-free cutoff: a mispredicted branch costs more
    u = min(u, xc2)
    inv = 1.0 / u
    i2 = inv * inv
    ipl = i2 * i2 * inv  # u^-5 = (λ_ij/r)^10
    phi = ipl + coeffs[0] + u * (coeffs[1] + u * (coeffs[2] + u * coeffs[3]))
    dphi = -5.0 * ipl * inv + coeffs[1] + u * (2.0 * coeffs[2] + 3.0 * coeffs[3] * u)
    return w * phi, w * 2.0 * il2 * dphi


@njit(cache=True, inline="always")
def _term_generic(u, il2, half_beta, coeffs, xc2):
    """w·φ and w·φ'(r)/r of Eq. (A2) for any even β and any q, through
    :func:`glass2epm.core.model.phi_and_dphi_u`; u = (r/λ_ij)², w = [u < x_c²]."""
    w = 1.0 if u < xc2 else 0.0
    phi, dphi = phi_and_dphi_u(min(u, xc2), half_beta, coeffs)
    return w * phi, w * 2.0 * il2 * dphi


@njit(cache=True, inline="always")
def _image_separation(x, h, i, j, n0, n1, n2, d):
    """x_j − x_i + h·n for the listed lattice vector n (upper-triangular h)."""
    if d == 2:
        return (x[j, 0] - x[i, 0] + n0 * h[0, 0] + n1 * h[0, 1],
                x[j, 1] - x[i, 1] + n1 * h[1, 1], 0.0)
    return (x[j, 0] - x[i, 0] + n0 * h[0, 0] + n1 * h[0, 1] + n2 * h[0, 2],
            x[j, 1] - x[i, 1] + n1 * h[1, 1] + n2 * h[1, 2],
            x[j, 2] - x[i, 2] + n2 * h[2, 2])


# Fast-math flags of the 2D pair loop: no reassociation, so that the compiled sums do not
# depend on whether LLVM inlined this loop into its caller (which depends on whether the
# caller was compiled in the same process as the loop or found in numba's cache). With
# ``fastmath=True`` the shared reference glass sheared to γ = 0.15 gave σ_xy differing by
# 1.7e-11 depending on what had filled the cache; with these flags the bits are the same
# (tests/test_numba_cache_determinism.py, slow tier) at the same speed (FMA contraction kept).
_PAIR_FASTMATH = {"nnan", "ninf", "nsz", "arcp", "contract", "afn"}


def _make_rows2(term):
    """2D pair loop over the rows i0..i1−1 of a half list, specialised on the pair term at
    compile time: adds the pair forces on i and on its partners j into ``out`` (which the
    caller zeroes) and returns (Σφ, Σ g r_x r_x, Σ g r_x r_y, Σ g r_y r_y, 0, 0, 0)."""

    @njit(cache=True, fastmath=_PAIR_FASTMATH)
    def rows(x, h, nl, pm, out, i0, i1):
        start, nbr, il2, img = nl.start, nl.nbr, nl.il2, nl.img
        half_beta, coeffs = pm.half_beta, pm.coeffs
        xc2 = pm.xc * pm.xc
        hxx = h[0, 0]
        hxy = h[0, 1]
        hyy = h[1, 1]
        e = 0.0
        sxx = 0.0
        sxy = 0.0
        syy = 0.0
        for i in range(i0, i1):
            xi = x[i, 0]
            yi = x[i, 1]
            fxi = 0.0
            fyi = 0.0
            for p in range(start[i], start[i + 1]):
                j = nbr[p]
                ny = img[p, 1]
                dx = x[j, 0] - xi + img[p, 0] * hxx + ny * hxy
                dy = x[j, 1] - yi + ny * hyy
                ph, g = term((dx * dx + dy * dy) * il2[p], il2[p], half_beta, coeffs, xc2)
                e += ph
                fx = g * dx
                fy = g * dy
                # force on i is +g r, on j −g r (r = x_j − x_i)
                fxi += fx
                fyi += fy
                out[j, 0] -= fx
                out[j, 1] -= fy
                sxx += fx * dx
                sxy += fx * dy
                syy += fy * dy
            out[i, 0] += fxi
            out[i, 1] += fyi
        return e, sxx, sxy, syy, 0.0, 0.0, 0.0

    return rows


@njit(cache=True)
def _rows3(x, h, nl, pm, out, i0, i1):
    """3D pair loop (generic pair term) over the rows i0..i1−1 of a half list, as
    :func:`_make_rows2`: (Σφ, s_xx, s_xy, s_yy, s_xz, s_yz, s_zz)."""
    start, nbr, il2, img = nl.start, nl.nbr, nl.il2, nl.img
    xc2 = pm.xc * pm.xc
    e = 0.0
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    s4 = 0.0
    s5 = 0.0
    for i in range(i0, i1):
        for p in range(start[i], start[i + 1]):
            j = nbr[p]
            r0, r1, r2 = _image_separation(x, h, i, j, img[p, 0], img[p, 1], img[p, 2], 3)
            ph, g = _term_generic((r0 * r0 + r1 * r1 + r2 * r2) * il2[p], il2[p], pm.half_beta,
                                  pm.coeffs, xc2)
            e += ph
            g0 = g * r0
            g1 = g * r1
            g2 = g * r2
            out[i, 0] += g0
            out[i, 1] += g1
            out[i, 2] += g2
            out[j, 0] -= g0
            out[j, 1] -= g1
            out[j, 2] -= g2
            s0 += g0 * r0
            s1 += g0 * r1
            s2 += g1 * r1
            s3 += g0 * r2
            s4 += g1 * r2
            s5 += g2 * r2
    return e, s0, s1, s2, s3, s4, s5


@njit(cache=True, inline="always")
def _store_stress(stress, s0, s1, s2, s3, s4, s5):
    """The symmetric stress sum from its 3 (2D) or 6 (3D) distinct components."""
    stress[0, 0] = s0
    stress[0, 1] = s1
    stress[1, 0] = s1
    stress[1, 1] = s2
    if stress.shape[0] == 3:
        stress[0, 2] = s3
        stress[2, 0] = s3
        stress[1, 2] = s4
        stress[2, 1] = s4
        stress[2, 2] = s5


def _make_serial(rows):
    """Serial kernel over a half list: one :func:`_make_rows2` / :func:`_rows3` pass."""

    @njit(cache=True)
    def kernel(x, h, nl, pm, forces, stress):
        forces[:] = 0.0
        e, s0, s1, s2, s3, s4, s5 = rows(x, h, nl, pm, forces, 0, x.shape[0])
        _store_stress(stress, s0, s1, s2, s3, s4, s5)
        return e

    return kernel


#: blocks of particles of the threaded kernel (and of FIRE's threaded update) from
#: N = :data:`PARALLEL_MIN_N`: a constant, so that the order of every sum is fixed whatever
#: the thread count (1 thread runs the blocks in turn and gives the same bits as 2). On
#: 2 cores at N = 4·10⁴, 2 blocks took 0.73 ms on 2 threads and 1.36 ms on 1 (the serial
#: kernel 1.27 ms); 4 and 8 blocks 0.82 and 1.16 ms on 2 threads (more buffer traffic), and
#: a gather kernel independent of any blocking 1.15 ms: 2 it is, and more than 2 threads
#: do not speed up the force kernel.
FORCE_BLOCKS = 2


def _make_threaded(rows):
    """Threaded kernel over a *half* list: the row loop ``rows`` of the serial kernel on
    :data:`FORCE_BLOCKS` blocks of particles with equal pair counts, on numba's threads.

    Each block adds its pair forces (on i and on j > i) into its own buffer rows i ≥ its
    first row, and the buffers are summed per particle in block order afterwards. Every
    pair is computed once (a full list computes each twice, so 2 threads over it gained
    nothing on 2 cores). The block count, not the thread count, fixes the order of the
    sums: 1 or 2 threads give the same bits; against the serial kernel the results differ
    by round-off (tests/test_core_kernels.py)."""

    @njit(cache=True, parallel=True)
    def kernel(x, h, nl, pm, forces, stress):
        start = nl.start
        n, d = x.shape
        nt = FORCE_BLOCKS
        m = start[n]
        lo = np.empty(nt + 1, dtype=np.int64)
        lo[0] = 0
        for t in range(1, nt):
            lo[t] = np.searchsorted(start, (m * t) // nt)
        lo[nt] = n
        buf = np.empty((nt, n, d))
        part = np.zeros((nt, 7))
        for t in prange(nt):
            b = buf[t]
            for k in range(lo[t], n):
                for a in range(d):
                    b[k, a] = 0.0
            e, s0, s1, s2, s3, s4, s5 = rows(x, h, nl, pm, b, lo[t], lo[t + 1])
            part[t, 0] = e
            part[t, 1] = s0
            part[t, 2] = s1
            part[t, 3] = s2
            part[t, 4] = s3
            part[t, 5] = s4
            part[t, 6] = s5
        for k in prange(n):
            for a in range(d):
                acc = 0.0
                for t in range(nt):
                    if k >= lo[t]:
                        acc += buf[t, k, a]
                forces[k, a] = acc
        tot = np.zeros(7)
        for t in range(nt):
            for c in range(7):
                tot[c] += part[t, c]
        _store_stress(stress, tot[1], tot[2], tot[3], tot[4], tot[5], tot[6])
        return tot[0]

    return kernel


_rows2_b10q3 = _make_rows2(_term_b10q3)
_rows2_generic = _make_rows2(_term_generic)
_half2_b10q3 = _make_serial(_rows2_b10q3)
_half2_generic = _make_serial(_rows2_generic)
_half3 = _make_serial(_rows3)
_threaded_b10q3 = _make_threaded(_rows2_b10q3)
_threaded_generic = _make_threaded(_rows2_generic)
_threaded3 = _make_threaded(_rows3)


@njit(cache=True)
def energy_forces_half(x, h, nl, pm, forces, stress):
    """Total energy Σ φ (Eq. A2, ε); fills forces (N, d) (ε/λ) and the stress sum
    Σ φ'/r r_a r_b (d, d). The one force/virial kernel (the stress of Eq. 2 is this sum / V).

    Serial kernel over a half :class:`~glass2epm.core.neighbors.NeighbourList` with
    per-pair 1/λ_ij² and images (:func:`glass2epm.core.neighbors.pair_images`) and a
    :class:`PairModel`; the stress sum is not divided by V. β = 10, q = 3 in 2D (the
    presets) dispatches to a written-out pair term, other models to the generic one.
    """
    if x.shape[1] == 3:
        return _half3(x, h, nl, pm, forces, stress)
    if pm.half_beta == 5 and pm.coeffs.shape[0] == 4:
        return _half2_b10q3(x, h, nl, pm, forces, stress)
    return _half2_generic(x, h, nl, pm, forces, stress)


@njit(cache=True)
def energy_forces_threaded(x, h, nl, pm, forces, stress):
    """As :func:`energy_forces_half` (same half list), on numba's threads over
    :data:`FORCE_BLOCKS` blocks of particles (:func:`_make_threaded`): the kernel of every
    N ≥ :data:`PARALLEL_MIN_N` (:func:`threaded`), whatever the thread count, which does
    not change the results."""
    if x.shape[1] == 3:
        return _threaded3(x, h, nl, pm, forces, stress)
    if pm.half_beta == 5 and pm.coeffs.shape[0] == 4:
        return _threaded_b10q3(x, h, nl, pm, forces, stress)
    return _threaded_generic(x, h, nl, pm, forces, stress)


@njit(cache=True)
def pair_table(x, sizes, h, start, nbr, xc, na):
    """Interacting pairs (r < x_c λ_ij, Eqs. A2, A4) of a half list: i, j, separation
    vectors x_j − x_i (minimum image), λ_ij. The threaded equivalent without the list is
    :func:`glass2epm.core.pairs._pair_table` (same pairs, order and numbers)."""
    n, d = x.shape
    m = 0
    xc2 = xc * xc
    ii = np.empty(0, dtype=np.int64)
    jj = np.empty(0, dtype=np.int64)
    rv = np.empty((0, d))
    lam = np.empty(0)
    for pas in range(2):
        if pas == 1:
            ii = np.empty(m, dtype=np.int64)
            jj = np.empty(m, dtype=np.int64)
            rv = np.empty((m, d))
            lam = np.empty(m)
            m = 0
        for i in range(n):
            for p in range(start[i], start[i + 1]):
                j = nbr[p]
                if d == 2:
                    dx, dy = min_image_2d(x[j, 0] - x[i, 0], x[j, 1] - x[i, 1], h)
                    dz = 0.0
                else:
                    dx, dy, dz = min_image_3d(
                        x[j, 0] - x[i, 0], x[j, 1] - x[i, 1], x[j, 2] - x[i, 2], h
                    )
                r2 = dx * dx + dy * dy + dz * dz
                lij = pair_size(sizes[i], sizes[j], na)
                if r2 >= xc2 * lij * lij:
                    continue
                if pas == 1:
                    ii[m] = i
                    store_pair(PairRows(jj, rv, lam), m, j, dx, dy, dz, lij)
                m += 1
    return ii, jj, rv, lam


#: N from which the threaded kernel (and FIRE's threaded update) is used, on any number of
#: threads; below it the serial kernel (threads cost more than they save there, measured)
PARALLEL_MIN_N = 4000


def threaded(n: int) -> bool:
    """Whether N particles use the threaded kernel (:func:`energy_forces_threaded`): a
    function of N only, so that the thread count never changes a result."""
    return n >= PARALLEL_MIN_N


def effective_threads(threads: int, n: int) -> int:
    """Threads worth using for N particles: 1 below ``PARALLEL_MIN_N`` (the serial
    kernel), else ``threads``."""
    return max(1, int(threads)) if threaded(n) else 1


class ForceField:
    """Energy, forces and stress of a configuration, with its own Verlet list.

    From N = :data:`PARALLEL_MIN_N` the threaded kernel runs on ``threads`` numba threads
    (its results do not depend on them). ``evaluations`` counts force evaluations.
    """

    def __init__(self, model: Model, skin: float = 0.3, threads: int = 1):
        self.model = model
        self.threads = max(1, int(threads))
        self.vlist = VerletList(model, skin=skin, per_pair=True, full=False)
        self.evaluations = 0

    def ensure_list(self, x: np.ndarray, sizes: np.ndarray, box: Box) -> None:
        self.vlist.update(x, sizes, box)

    def compute(self, x: np.ndarray, sizes: np.ndarray, box: Box):
        """(energy, forces (N, d), stress tensor σ (d, d) in ε/λ^d)."""
        self.ensure_list(x, sizes, box)
        vl = self.vlist
        pm = pair_model(self.model)
        forces = np.empty_like(x)
        s = np.empty((x.shape[1], x.shape[1]))
        if threaded(x.shape[0]):
            with numba_threads(self.threads):
                e = energy_forces_threaded(x, box.h, vl.record(), pm, forces, s)
        else:
            e = energy_forces_half(x, box.h, vl.record(), pm, forces, s)
        self.evaluations += 1
        return e, forces, s / box.volume

    def pairs(self, x: np.ndarray, sizes: np.ndarray, box: Box):
        """Interacting pairs: (i, j, x_j − x_i, λ_ij), from a fresh half list."""
        vl = VerletList(self.model, skin=self.vlist.skin, per_pair=True, full=False)
        vl.build(x, sizes, box)
        return pair_table(x, sizes, box.h, vl.start, vl.nbr, self.model.xc, self.model.na)


def pair_data(conf, ff: ForceField | None = None, order: int = 4):
    """Interacting pairs and the radial derivatives φ^(k)(r), k = 0..order.

    Returns (ii, jj, rv, lam, r, derivs) with derivs of shape (order+1, M).
    """
    ff = ff or ForceField(conf.model)
    ii, jj, rv, lam = ff.pairs(conf.x, conf.sizes, conf.box)
    r = np.sqrt(np.einsum("ij,ij->i", rv, rv))
    derivs = conf.model.radial_derivatives(r, lam, order=order)
    return ii, jj, rv, lam, r, derivs
