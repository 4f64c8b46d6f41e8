"""Energy, forces and virial stress of the pair model (Eq. A2) over a Verlet list.

Kernels work in u = (r/λ_ij)², so neither a square root nor a ``pow`` is needed:
φ'(r)/r = (2/λ_ij²) dφ/du. All quantities are in ε, λ units; the stress is
σ_ab = (1/V) Σ_pairs φ'(r) r_a r_b / r in ε/λ^d (negative for a repulsive
system: the pressure is p = −tr σ / d).

``ForceField`` wraps a model, a cell and a list, and counts force evaluations.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from .box import Box, min_image_2d, min_image_3d
from .model import Model, pair_size, phi_and_dphi_u
from .neighbors import VerletList


@njit(cache=True, fastmath=False)
def energy_forces_half(x, sizes, h, start, nbr, xc, na, half_beta, coeffs, forces, stress):
    """Total energy; fills forces (N, d) and stress sum Σ φ'/r r_a r_b (d, d) (not / V).

    Serial kernel over a half list.
    """
    n, d = x.shape
    forces[:] = 0.0
    stress[:] = 0.0
    e = 0.0
    xc2 = xc * xc
    if d == 2:
        sxx = 0.0
        sxy = 0.0
        syy = 0.0
        for i in range(n):
            xi = x[i, 0]
            yi = x[i, 1]
            li = sizes[i]
            fxi = 0.0
            fyi = 0.0
            for p in range(start[i], start[i + 1]):
                j = nbr[p]
                dx, dy = min_image_2d(x[j, 0] - xi, x[j, 1] - yi, h)
                r2 = dx * dx + dy * dy
                lij = pair_size(li, sizes[j], na)
                l2 = lij * lij
                if r2 >= xc2 * l2:
                    continue
                u = r2 / l2
                phi, dphi = phi_and_dphi_u(u, half_beta, coeffs)
                e += phi
                g = 2.0 * dphi / l2  # φ'(r)/r
                fx = g * dx
                fy = g * dy
                # force on j is −∂φ/∂x_j = −g r; on i it is +g r
                fxi += fx
                fyi += fy
                forces[j, 0] -= fx
                forces[j, 1] -= fy
                sxx += fx * dx
                sxy += fx * dy
                syy += fy * dy
            forces[i, 0] += fxi
            forces[i, 1] += fyi
        stress[0, 0] = sxx
        stress[0, 1] = sxy
        stress[1, 0] = sxy
        stress[1, 1] = syy
    else:
        for i in range(n):
            li = sizes[i]
            for p in range(start[i], start[i + 1]):
                j = nbr[p]
                dx, dy, dz = min_image_3d(x[j, 0] - x[i, 0], x[j, 1] - x[i, 1], x[j, 2] - x[i, 2], h)
                r2 = dx * dx + dy * dy + dz * dz
                lij = pair_size(li, sizes[j], na)
                l2 = lij * lij
                if r2 >= xc2 * l2:
                    continue
                u = r2 / l2
                phi, dphi = phi_and_dphi_u(u, half_beta, coeffs)
                e += phi
                g = 2.0 * dphi / l2
                r = (dx, dy, dz)
                for a in range(3):
                    forces[i, a] += g * r[a]
                    forces[j, a] -= g * r[a]
                    for b in range(3):
                        stress[a, b] += g * r[a] * r[b]
    return e


@njit(cache=True, parallel=True)
def energy_forces_full(x, sizes, h, start, nbr, xc, na, half_beta, coeffs, forces, stress):
    """As :func:`energy_forces_half` over a full list, threaded over particles."""
    n, d = x.shape
    xc2 = xc * xc
    epart = np.zeros(n)
    spart = np.zeros((n, d, d))
    for i in prange(n):
        li = sizes[i]
        f = np.zeros(3)
        for p in range(start[i], start[i + 1]):
            j = nbr[p]
            if d == 2:
                dx, dy = min_image_2d(x[j, 0] - x[i, 0], x[j, 1] - x[i, 1], h)
                dz = 0.0
            else:
                dx, dy, dz = min_image_3d(x[j, 0] - x[i, 0], x[j, 1] - x[i, 1], x[j, 2] - x[i, 2], h)
            r2 = dx * dx + dy * dy + dz * dz
            lij = pair_size(li, sizes[j], na)
            l2 = lij * lij
            if r2 >= xc2 * l2:
                continue
            phi, dphi = phi_and_dphi_u(r2 / l2, half_beta, coeffs)
            epart[i] += 0.5 * phi
            g = 2.0 * dphi / l2
            f[0] += g * dx
            f[1] += g * dy
            f[2] += g * dz
            r = (dx, dy, dz)
            for a in range(d):
                for b in range(d):
                    spart[i, a, b] += 0.5 * g * r[a] * r[b]
        for a in range(d):
            forces[i, a] = f[a]
    e = 0.0
    stress[:] = 0.0
    for i in range(n):
        e += epart[i]
        for a in range(d):
            for b in range(d):
                stress[a, b] += spart[i, a, b]
    return e


@njit(cache=True)
def pair_table(x, sizes, h, start, nbr, xc, na):
    """Interacting pairs (r < x_c λ_ij): i, j, separation vectors x_j − x_i, λ_ij."""
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
                    jj[m] = j
                    rv[m, 0] = dx
                    rv[m, 1] = dy
                    if d == 3:
                        rv[m, 2] = dz
                    lam[m] = lij
                m += 1
    return ii, jj, rv, lam


class ForceField:
    """Energy, forces and stress of a configuration, with its own Verlet list.

    ``threads`` > 1 uses a full list and the threaded kernel (pays from N ≈ 5·10³).
    ``evaluations`` counts force evaluations.
    """

    def __init__(self, model: Model, skin: float = 0.3, threads: int = 1):
        self.model = model
        self.threads = max(1, int(threads))
        self.vlist = VerletList(model, skin=skin, per_pair=True, full=self.threads > 1)
        self.evaluations = 0

    def ensure_list(self, x: np.ndarray, sizes: np.ndarray, box: Box) -> None:
        self.vlist.update(x, sizes, box)

    def compute(self, x: np.ndarray, sizes: np.ndarray, box: Box):
        """(energy, forces (N, d), stress tensor σ (d, d) in ε/λ^d)."""
        self.ensure_list(x, sizes, box)
        m = self.model
        forces = np.empty_like(x)
        s = np.empty((x.shape[1], x.shape[1]))
        if self.threads > 1:
            prev = numba.get_num_threads()
            numba.set_num_threads(min(self.threads, numba.config.NUMBA_NUM_THREADS))
            try:
                e = energy_forces_full(
                    x, sizes, box.h, self.vlist.start, self.vlist.nbr, m.xc, m.na, m.half_beta,
                    m.coeffs, forces, s,
                )
            finally:
                numba.set_num_threads(prev)
        else:
            e = energy_forces_half(
                x, sizes, box.h, self.vlist.start, self.vlist.nbr, m.xc, m.na, m.half_beta,
                m.coeffs, forces, s,
            )
        self.evaluations += 1
        return e, forces, s / box.volume

    def pairs(self, x: np.ndarray, sizes: np.ndarray, box: Box):
        """Interacting pairs: (i, j, x_j − x_i, λ_ij), from a fresh half list."""
        vl = VerletList(self.model, skin=self.vlist.skin, per_pair=True, full=False)
        vl.build(x, sizes, box)
        return pair_table(x, sizes, box.h, vl.start, vl.nbr, self.model.xc, self.model.na)
