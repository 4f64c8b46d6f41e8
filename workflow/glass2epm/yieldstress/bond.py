"""Local yield stresses by bond micromechanics (Sec. IV, Figs. 3–4): the cavity expansion.

Cavity expansion ("bond micromechanics")
    Around a site particle, the particles within R (default 5d, d = (N/V)^{−1/dim})
    are free; all others are frozen and follow the affine deformation exactly
    (definitions in :mod:`glass2epm.yieldstress.cavity`). The non-affine response of the free
    particles follows from Eqs. (5), (11), (12) restricted to the free rows, with the
    free–free block H_FF of the Hessian and the frozen particles' affine motion as
    the driving term (their non-affine parts are zero)::

        H_FF·ẋ_F = −[H·(A·x)]_F
        H_FF·ẍ_F = −[T:d₁d₁ + H·(A·d₁)]_F
        H_FF·x⃛_F = −[M⋮d₁d₁d₁ + 3T:d₁d₂ + H·(A·d₂)]_F

    with d₁ = A·x + ẋ, d₂ = A·d₁ + ẍ, d₃ = A·d₂ + x⃛ kept as pair fields (Eqs. 2, 9,
    10). The cavity stress σ_B = O_B^w / V_R(γ), O_B^w = Σ_b w_b (first)_b x_b·(B x_b)
    (bond weights w_b = 1, ½, 0; V_R(γ) = V_R e^{γ trA}) is expanded to γ³ with the
    stress-observable derivatives of Eqs. (16)–(18) (B13–B15) summed with the bond
    weights, and the volume terms of Appendix C:
    σ⁽ⁿ⁾ = (1/V_R) Σ_k C(n,k)(−trA)^{n−k} O⁽ᵏ⁾.

    Two implementations: :class:`CavityExpansion` (one site; a thin layer over
    :class:`glass2epm.mechanics.expansion.Expansion` with a free-block solver — the reference)
    and :func:`bond_sites` (all sites, batched; the 2D kernels in
    :mod:`glass2epm.yieldstress.bond2d`). The batched path builds once the pair
    table of the whole configuration (:meth:`PairSet.from_configuration`), one row per
    pair with x_ι, A·x_ι, H·(A x)_ι (Eq. B7; site-independent) and the prefactors, and
    in 2D each particle's diagonal Hessian block (a free particle's block of H_FF is its
    full block). Then one ``prange`` over blocks of sites, with per-block work arrays:
    each site gathers its bonds (pairs with a free end; free particles ordered along x
    relative to the site, which keeps the envelope of H_FF narrow) and
      * in 2D, factorises H_FF in envelope storage of 4×4 blocks (two particles,
        :func:`glass2epm.mechanics.envelope.block_envelope_factor`) and solves three times, each
        solve followed by one pass over the bonds, vectorised over bonds, that forms
        d_n and the next right-hand side (the per-pair arithmetic of
        :func:`glass2epm.core.contractions.path_rhs`) or, after the last, the weighted
        observable series (the pair helpers ``_h2``, ``_t3``, ``_m4`` of
        :func:`glass2epm.core.contractions.bond_obs_series`; sums over bonds reassociated);
      * in 3D, uses a scalar envelope Cholesky and serial compilations of the
        :mod:`glass2epm.core.contractions` kernels ``path_rhs`` and ``bond_obs_series``
        (the same source code).

The solves are the linear response of Eq. (5) and its higher orders, Eqs. (11), (12),
restricted to the free rows; the cavity-volume terms are those of Appendix C
(:func:`volume_factor`). Yield points and maps: :mod:`glass2epm.yieldstress.maps`.

Units: λ for lengths, ε/λ^d for stresses and moduli; strains dimensionless.
"""

from __future__ import annotations

from dataclasses import dataclass
import types
from math import comb

import numba
import numpy as np
from numba import njit, prange

from glass2epm.core import contractions as C
from glass2epm.core.box import min_image_2d, min_image_3d
from glass2epm.core.pairs import PairSet
from glass2epm.core.io import Configuration
from glass2epm.core.runtime import numba_threads
from glass2epm.mechanics.expansion import Expansion, generator, stress_selector
from glass2epm.mechanics.hessian import SPDSolver, HessianSolver, assemble
from glass2epm.yieldstress.bond2d import _site_expansion2
from glass2epm.yieldstress.cavity import cavity_volume, free_sets, make_cavity
from glass2epm.yieldstress.records import BondWork, Cavities, PairTable
from glass2epm.mechanics.envelope import envelope_backsolve, envelope_factor, particle_envelope


def component_matrix(component, dim: int) -> np.ndarray:
    """B = âb̂ for a component name 'ab' (or 'sab'; :func:`~glass2epm.mechanics.expansion.stress_selector`),
    or a d×d matrix given directly."""
    if isinstance(component, str):
        name = component if component.startswith("s") and len(component) == 3 else "s" + component
        try:
            return stress_selector(name, dim)
        except ValueError:
            raise ValueError(f"unknown stress component {component!r} in {dim}D; use ab with a, b in "
                             f"{'xyz'[:dim]} (e.g. xy)") from None
    B = np.asarray(component, dtype=float)
    if B.shape != (dim, dim):
        raise ValueError(f"stress selector must be {dim}x{dim}, got {B.shape}")
    return B


def volume_factor(values, V0: float, trA: float) -> np.ndarray:
    """dⁿ/dγⁿ [O(γ)/(V₀ e^{γ trA})] from dᵏO/dγᵏ (rows k of ``values``, Appendix C)."""
    values = np.asarray(values, dtype=float)
    out = np.empty_like(values)
    for n in range(values.shape[0]):
        out[n] = sum(comb(n, k) * (-trA) ** (n - k) * values[k] for k in range(n + 1)) / V0
    return out


# ----------------------------------------------------------------------------
# one cavity: the reference implementation


class FreeBlockSolver:
    """u with u_F = H_FF⁻¹ b_F and u = 0 on frozen particles (the reduced Hessian).

    With no frozen particle at all (a cavity covering the cell) it is the system
    solver (:class:`~glass2epm.mechanics.hessian.HessianSolver`, translations removed).
    Rattlers among the free particles (empty rows) get zero.
    """

    def __init__(self, H, n: int, dim: int, free: np.ndarray):
        self.n, self.dim = n, dim
        free = np.asarray(free, dtype=bool)
        diag = np.abs(H.diagonal().reshape(n, dim)).sum(axis=1)
        self.free = free & (diag > 0)
        if free.all():
            self._system = HessianSolver(H, n, dim)
            return
        self._system = None
        self.dofs = np.flatnonzero(np.repeat(self.free, dim))
        self._solver = SPDSolver(H[self.dofs][:, self.dofs]) if self.dofs.size else None

    def solve(self, b):
        if self._system is not None:
            return self._system.solve(b)
        b = np.asarray(b, dtype=float).reshape(self.n, self.dim)
        u = np.zeros_like(b)
        if self._solver is not None:
            u.reshape(-1)[self.dofs] = self._solver(b.reshape(-1)[self.dofs])
        return u


class _Frozen:
    """A solver that returns zero: no non-affine response (every particle frozen)."""

    def __init__(self, n, dim):
        self.n, self.dim = n, dim

    def solve(self, b):
        return np.zeros((self.n, self.dim))


class CavityExpansion:
    """Third-order expansion of the cavity stress of one site (reference implementation).

    Parameters
    ----------
    conf : the configuration (an inherent state).
    site : the site particle; ``radius`` R of the free region (λ).
    deformation : "simple_shear", "pure_shear", "dilation" or a d×d generator A.
    component : stress component ("xy", …) or a d×d selector B.
    volume : cavity volume to divide by (default V_R = πR²; e.g. the box volume V
        when the cavity covers the cell, to compare with the system stress).
    relax : False freezes every particle (no non-affine response; d_n = Aⁿx): the
        empty-free-region limit, with the stress still measured on the cavity's bonds.

    Attributes: ``cavity`` (:class:`~glass2epm.yieldstress.cavity.Cavity`), ``ex`` (the
    :class:`~glass2epm.mechanics.expansion.Expansion` of the subsystem with the free-block
    solver: ``ex.xdot`` etc. are zero on frozen particles), ``weights`` (per pair of
    ``ex.ps``), ``coefficients`` [σ₀, σ', σ'', σ'''] (ε/λ^d).
    """

    def __init__(self, conf: Configuration, site: int, radius: float, deformation="simple_shear",
                 component="xy", volume: float | None = None, relax: bool = True,
                 threads: int | None = 1):
        self.cavity = cav = make_cavity(conf, site, radius)
        self.volume = cav.volume if volume is None else float(volume)
        if not self.volume > 0:
            raise ValueError(f"cavity volume must be positive, got {self.volume} (radius {radius})")
        sub = cav.sub
        n, d = sub.N, sub.dim
        self.B = component_matrix(component, d)
        self.A = generator(deformation, d)
        with numba_threads(threads):
            ps = PairSet.from_configuration(sub)
            if relax and cav.n_free:
                H = assemble(ps.ii, ps.jj, ps.rv, ps.r, ps.derivs[1], ps.derivs[2], n)
                solver = FreeBlockSolver(H, n, d, cav.free)
            else:
                solver = _Frozen(n, d)
            self.ex = Expansion(sub, deformation, order=3, pairs=ps, solver=solver, threads=None)
            self.weights = 0.5 * (cav.free[ps.ii].astype(float) + cav.free[ps.jj].astype(float))
            rows = C.bond_obs_series(ps.rv, ps.pre, self.B, self.ex.d[1], self.ex.d[2],
                                     self.ex.d[3], 3)
        self.observable = rows @ self.weights
        self.coefficients = volume_factor(self.observable, self.volume, float(np.trace(self.A)))

    def stress(self, gamma) -> np.ndarray:
        """The cubic σ(γ) (ε/λ^d)."""
        c = self.coefficients
        g = np.asarray(gamma, dtype=float)
        return c[0] + c[1] * g + c[2] * g**2 / 2 + c[3] * g**3 / 6


# ----------------------------------------------------------------------------
# all sites, batched (numba)


def _serial(dispatcher, name: str):
    """A serial compilation of a :mod:`glass2epm.core.contractions` kernel (same source code),
    callable inside the per-site ``prange`` loop: numba cannot nest parallel regions.
    It gets its own name so that its on-disk cache entry does not collide with the
    parallel version's (numba's cache key does not include the ``parallel`` flag)."""
    f = dispatcher.py_func
    g = types.FunctionType(f.__code__, f.__globals__, name, f.__defaults__, f.__closure__)
    g.__qualname__ = name
    g.__module__ = f.__module__
    g.__doc__ = f.__doc__
    return njit(cache=True)(g)


_path_rhs = _serial(C.path_rhs, "path_rhs_serial")                 # Eqs. (11), (12)
_bond_obs_series = _serial(C.bond_obs_series, "bond_obs_series_serial")  # Eqs. (16)-(18)
_times = _serial(C.apply_matrix, "apply_matrix_serial")  # A·v_ι for every bond


@njit(cache=True)
def _incidence(ii, jj, n):
    """The pairs of each particle, split by end: CSR (istart, ipair, iother) of the pairs
    with i = ii[p] and (jstart, jpair, jother) of those with i = jj[p], each list in pair
    order, with the other particle of each pair."""
    m = ii.shape[0]
    istart = np.zeros(n + 1, dtype=np.int64)
    jstart = np.zeros(n + 1, dtype=np.int64)
    for p in range(m):
        istart[ii[p] + 1] += 1
        jstart[jj[p] + 1] += 1
    for i in range(n):
        istart[i + 1] += istart[i]
        jstart[i + 1] += jstart[i]
    ifill = istart[:-1].copy()
    jfill = jstart[:-1].copy()
    ipair = np.empty(m, dtype=np.int64)
    iother = np.empty(m, dtype=np.int64)
    jpair = np.empty(m, dtype=np.int64)
    jother = np.empty(m, dtype=np.int64)
    for p in range(m):
        i = ii[p]
        j = jj[p]
        ipair[ifill[i]] = p
        iother[ifill[i]] = j
        ifill[i] += 1
        jpair[jfill[j]] = p
        jother[jfill[j]] = i
        jfill[j] += 1
    return istart, ipair, iother, jstart, jpair, jother


@njit(cache=True, parallel=True)
def _pair_rows(rv, pre, A):
    """One row per pair: x_ι, A·x_ι, H·(A x)_ι (Eq. B7: (second)(x·Ax) x + (first) Ax,
    the arithmetic of :func:`glass2epm.core.contractions.apply_matrix` and ``bond_hv``),
    (first)..(fourth) — what a bond needs, in one place in memory for the gathers of
    :func:`_site_bonds`. The affine field and the right-hand side of Eq. (5) depend on
    the pair only."""
    m, d = rv.shape
    out = np.empty((m, 3 * d + 4))
    for p in prange(m):
        xv = 0.0
        for a in range(d):
            s = C.row_dot(A, a, rv, p)
            out[p, a] = rv[p, a]
            out[p, d + a] = s
            xv += rv[p, a] * s
        cc = pre[1, p] * xv
        for a in range(d):
            out[p, 2 * d + a] = cc * rv[p, a] + pre[0, p] * out[p, d + a]
        for c in range(4):
            out[p, 3 * d + c] = pre[c, p]
    return out


@njit(cache=True)
def _diagonal_blocks(rv, pre, istart, ipair, jstart, jpair):
    """2D: the diagonal 2×2 block of the Hessian of every particle, Σ over its pairs of
    (second) x xᵀ + (first) 1 (Eq. B7), as (H_xx, H_yx, H_yy) rows (N, 3). A free
    particle's block of H_FF is its full block: every pair of a free particle is a
    bond of the cavity (frozen neighbours included)."""
    n = istart.shape[0] - 1
    out = np.zeros((n, 3))
    for i in range(n):
        h00 = 0.0
        h10 = 0.0
        h11 = 0.0
        for side in range(2):
            k0 = jstart[i] if side == 0 else istart[i]
            k1 = jstart[i + 1] if side == 0 else istart[i + 1]
            for k in range(k0, k1):
                p = jpair[k] if side == 0 else ipair[k]
                x0 = rv[p, 0]
                x1 = rv[p, 1]
                f1 = pre[0, p]
                f2 = pre[1, p]
                h00 += f2 * x0 * x0 + f1
                h10 += f2 * x1 * x0
                h11 += f2 * x1 * x1 + f1
        out[i, 0] = h00
        out[i, 1] = h10
        out[i, 2] = h11
    return out


@njit(cache=True)
def _argsort_stable(key, n, order, count):
    """``order[:n]`` = the stable ascending order of ``key[:n]`` (the permutation of
    ``np.argsort(kind="mergesort")``): a counting pass into n buckets of equal width
    (monotone in the key), then insertion sort, linear for spread keys. ``count`` is
    work space (≥ n + 1)."""
    if n == 0:
        return
    lo = key[0]
    hi = key[0]
    for q in range(1, n):
        v = key[q]
        if v < lo:
            lo = v
        if v > hi:
            hi = v
    scale = n / (hi - lo) if hi > lo else 0.0
    if not (scale > 0.0 and scale < 1e300):  # all equal or a degenerate spread
        for q in range(n):  # insertion sort alone (below)
            order[q] = q
        scale = 0.0
    for b in range(n + 1):
        count[b] = 0
    if scale > 0.0:
        for q in range(n):
            b = min(n - 1, int((key[q] - lo) * scale))
            count[b + 1] += 1
        for b in range(n):
            count[b + 1] += count[b]
        for q in range(n):
            b = min(n - 1, int((key[q] - lo) * scale))
            order[count[b]] = q
            count[b] += 1
    for a in range(1, n):
        q = order[a]
        v = key[q]
        c = a
        while c > 0 and key[order[c - 1]] > v:
            order[c] = order[c - 1]
            c -= 1
        order[c] = q


@njit(cache=True)
def _site_bonds(pt, site, free, zslot, wb):
    """The bonds of one cavity: every pair with at least one free end, written to the
    first m columns of the work arrays. Returns (m, floating), floating when no bond
    reaches a frozen particle (the cavity covers the cell: translations must be pinned).

    ``free``: the site's free particles (global indices); ``mark`` (N,) is −1 outside
    and is left so. Free particles get local indices ordered along x (relative to the
    site), which keeps the envelope of H_FF narrow; ``glob[l]`` is the particle of local
    index l and ``firstp[l]`` the lowest free particle bonded to it (≤ l, as
    :func:`_free_envelope`). Per free particle: its pairs to frozen particles in which it
    is the j end, then every pair in which it is the i end (so each free–free bond
    once). Per bond: li, lj (local index of the i and j ends, −1 for frozen), gi, gj (the
    same with ``zslot`` for frozen: a slot of the solution vectors that stays 0), w
    (weight 1 or ½), pid (its pair) and the column bd[:, m] of its ``pdata`` row (x_ι,
    A·x_ι, H·(A x)_ι, (first)..(fourth)). ``pt``: the
    :class:`~glass2epm.yieldstress.records.PairTable`; ``wb``: the
    :class:`~glass2epm.yieldstress.records.BondWork` of the block."""
    x, h, pdata = pt.x, pt.h, pt.pdata
    istart, ipair, iother, jstart, jpair, jother = pt.istart, pt.ipair, pt.iother, pt.jstart, pt.jpair, pt.jother
    mark, key, order, count, glob, firstp = wb.mark, wb.key, wb.order, wb.count, wb.glob, wb.firstp
    li, lj, gi, gj, w, bd, pid = wb.li, wb.lj, wb.gi, wb.gj, wb.w, wb.bd, wb.pid
    d = x.shape[1]
    nf = free.shape[0]
    nr = pdata.shape[1]
    for q in range(nf):
        j = free[q]
        if d == 2:
            dx, dy = min_image_2d(x[j, 0] - x[site, 0], x[j, 1] - x[site, 1], h)
        else:
            dx, dy, dz = min_image_3d(x[j, 0] - x[site, 0], x[j, 1] - x[site, 1],
                                      x[j, 2] - x[site, 2], h)
        key[q] = dx
    _argsort_stable(key, nf, order, count)
    for l in range(nf):
        glob[l] = free[order[l]]
        mark[glob[l]] = l
        firstp[l] = l
    # branch-light: every candidate is written, the count advances only for kept bonds
    m = 0
    nfrozen = 0
    for q in range(nf):
        i = free[q]
        me = mark[i]
        for k in range(jstart[i], jstart[i + 1]):  # pairs (o, i): kept if o is frozen
            keep = mark[jother[k]] < 0  # a free–free bond is taken from its i end
            pid[m] = jpair[k]
            li[m] = -1
            lj[m] = me
            gi[m] = zslot
            gj[m] = me
            w[m] = 0.5
            m += 1 if keep else 0
            nfrozen += 1 if keep else 0
        for k in range(istart[i], istart[i + 1]):  # pairs (i, o): all kept
            lo = mark[iother[k]]
            fr = lo < 0
            pid[m] = ipair[k]
            li[m] = me
            lj[m] = lo
            gi[m] = me
            gj[m] = zslot if fr else lo
            w[m] = 0.5 if fr else 1.0
            nfrozen += 1 if fr else 0
            hi_ = me if fr or me > lo else lo  # firstp[hi] = min(firstp[hi], lower end)
            lw = me if fr or me < lo else lo
            fp = firstp[hi_]
            firstp[hi_] = lw if lw < fp else fp
            m += 1
    floating = nfrozen == 0
    for b in range(m):  # gather the pair rows
        p = pid[b]
        for c in range(nr):
            bd[c, b] = pdata[p, c]
    for q in range(nf):
        mark[free[q]] = -1
    return m, floating


@njit(cache=True)
def _free_envelope(li, lj, nf, firstp):
    """Per free particle l the lowest free particle it is bonded to (≤ l), into
    ``firstp``; returns True when no bond reaches a frozen particle (the cavity
    covers the cell and floats: translations must be pinned)."""
    for l in range(nf):
        firstp[l] = l
    floating = True
    for m in range(li.shape[0]):
        i = li[m]
        j = lj[m]
        if i < 0 or j < 0:
            floating = False
            continue
        hi_ = i if i > j else j
        lw = i if i < j else j
        if lw < firstp[hi_]:
            firstp[hi_] = lw
    return floating


# --- 3D (and the reference layout): scalar envelope Cholesky, contractions kernels


@njit(cache=True)
def _factor_free_block(li, lj, rv, f1, f2, nf, dim):
    """H_FF of one cavity in envelope storage (lower triangle), factorised.

    A site with no bond to a frozen particle (the cavity covers the cell) floats: its
    first free particle is pinned (translations). Pinned and isolated free particles
    get identity rows and ``active`` False. Returns (env, ptr, first, active, ok)."""
    firstp = np.empty(nf, dtype=np.int64)
    floating = _free_envelope(li, lj, nf, firstp)
    nd = dim * nf
    first, ptr, env = particle_envelope(firstp, nf, dim)
    pin = 0 if floating else -1
    touched = np.zeros(nf, dtype=np.bool_)
    for m in range(li.shape[0]):
        i = li[m]
        j = lj[m]
        if i == pin:
            i = -1
        if j == pin:
            j = -1
        for a in range(dim):
            for c in range(a + 1):
                k = f2[m] * rv[m, a] * rv[m, c]
                if a == c:
                    k += f1[m]
                if i >= 0:
                    r = dim * i + a
                    env[ptr[r] + dim * i + c - first[r]] += k
                if j >= 0:
                    r = dim * j + a
                    env[ptr[r] + dim * j + c - first[r]] += k
        if i >= 0 and j >= 0:
            hi_ = i if i > j else j
            lw = i if i < j else j
            for a in range(dim):
                r = dim * hi_ + a
                for c in range(dim):
                    k = f2[m] * rv[m, a] * rv[m, c]
                    if a == c:
                        k += f1[m]
                    env[ptr[r] + dim * lw + c - first[r]] -= k
        if i >= 0:
            touched[i] = True
        if j >= 0:
            touched[j] = True
    active = touched
    for l in range(nf):
        if not touched[l]:
            for a in range(dim):
                r = dim * l + a
                env[ptr[r] + r - first[r]] = 1.0
    ok = envelope_factor(env, ptr, first, nd, dim)
    return env, ptr, first, active, ok


@njit(cache=True)
def _solve_free(li, lj, g, env, ptr, first, active, base):
    """u_F = H_FF⁻¹ b_F with b = −(particle field of the pair vectors g) (+g on the j end,
    −g on the i end); returns base + (u_j − u_i) on every bond (u = 0 on frozen ends)."""
    m, dim = g.shape
    nf = active.shape[0]
    b = np.zeros(dim * nf)
    for p in range(m):
        i = li[p]
        j = lj[p]
        for a in range(dim):
            if j >= 0:
                b[dim * j + a] -= g[p, a]
            if i >= 0:
                b[dim * i + a] += g[p, a]
    for l in range(nf):
        if not active[l]:
            for a in range(dim):
                b[dim * l + a] = 0.0
    envelope_backsolve(env, ptr, first, dim * nf, b, dim)
    out = np.empty((m, dim))
    for p in range(m):
        i = li[p]
        j = lj[p]
        for a in range(dim):
            v = base[p, a]
            if j >= 0:
                v += b[dim * j + a]
            if i >= 0:
                v -= b[dim * i + a]
            out[p, a] = v
    return out


@njit(cache=True)
def _site_expansion(li, lj, brv, ax, g1, bpre, w, A, B, nf, relax, out):
    """O_B^w and its strain derivatives of one cavity into ``out`` (4,), any dimension:
    scalar envelope Cholesky of H_FF and the serial :mod:`glass2epm.core.contractions`
    kernels. Returns False if H_FF is not positive definite."""
    m, dim = brv.shape
    if relax and nf > 0:
        env, ptr, first, active, good = _factor_free_block(li, lj, brv, bpre[0], bpre[1], nf, dim)
        if not good:
            return False
        # Eq. (5): H_FF ẋ = −[H·(A x)]_F;  d₁ = A x + Δẋ
        d1 = _solve_free(li, lj, g1, env, ptr, first, active, ax)
        # Eq. (11): H_FF ẍ = −[T:d₁d₁ + H·(A d₁)]_F;  d₂ = A d₁ + Δẍ
        d2 = _solve_free(li, lj, _path_rhs(brv, bpre, A, d1, d1, 2), env, ptr, first, active,
                         _times(A, d1))
        # Eq. (12): H_FF x⃛ = −[M⋮d₁d₁d₁ + 3T:d₁d₂ + H·(A d₂)]_F;  d₃ = A d₂ + Δx⃛
        d3 = _solve_free(li, lj, _path_rhs(brv, bpre, A, d1, d2, 3), env, ptr, first, active,
                         _times(A, d2))
    else:
        d1 = ax.copy()
        d2 = _times(A, d1)
        d3 = _times(A, d2)
    # Eqs. (16)-(18) per bond (B13-B15), summed with the per-atom-virial weights
    rows = _bond_obs_series(brv, bpre, B, d1, d2, d3, 3)
    for k in range(4):
        acc = 0.0
        for p in range(m):
            acc += w[p] * rows[k, p]
        out[k] = acc
    return True


@njit(cache=True, parallel=True)
def _bond_sites(pt, cav, A, B, relax, nblocks, generic):
    """O_B^w and its first three strain derivatives for every cavity (one ``prange`` over
    blocks of sites, each with its own :class:`~glass2epm.yieldstress.records.BondWork`):
    the 2D path (:func:`glass2epm.yieldstress.bond2d._site_expansion2`) or, in 3D or with
    ``generic``, :func:`_site_expansion`. ``pt``: the
    :class:`~glass2epm.yieldstress.records.PairTable`; ``cav``: the
    :class:`~glass2epm.yieldstress.records.Cavities`. Returns (O (nsites, 4), ok (nsites,))."""
    x, sites, fstart, fidx = pt.x, cav.sites, cav.fstart, cav.fidx
    istart, jstart = pt.istart, pt.jstart
    n, dim = x.shape
    ns = sites.shape[0]
    O = np.full((ns, 4), np.nan)
    ok = np.zeros(ns, dtype=np.bool_)
    capf = 1
    for t in range(ns):
        capf = max(capf, fstart[t + 1] - fstart[t])
    capb = (capf + 1) // 2
    zslot = 2 * capb  # a particle slot past every block: stays 0 in the solution vectors
    nr = 3 * dim + 4
    per = (ns + nblocks - 1) // nblocks
    for blk in prange(nblocks):
        t0 = blk * per
        t1 = min(ns, (blk + 1) * per)
        capm = 1  # most bonds (pairs with a free end) of a cavity of this block
        for t in range(t0, t1):
            c = 0
            for q in range(fstart[t], fstart[t + 1]):
                i = fidx[q]
                c += istart[i + 1] - istart[i] + jstart[i + 1] - jstart[i]
            capm = max(capm, c)
        mark = np.full(n, -1, dtype=np.int64)
        key = np.empty(capf)
        order = np.empty(capf, dtype=np.int64)
        count = np.empty(capf + 1, dtype=np.int64)
        glob = np.empty(capf, dtype=np.int64)
        li = np.empty(capm, dtype=np.int64)
        lj = np.empty(capm, dtype=np.int64)
        gi = np.empty(capm, dtype=np.int64)
        gj = np.empty(capm, dtype=np.int64)
        w = np.empty(capm)
        pid = np.empty(capm, dtype=np.int64)
        bd = np.empty((nr, capm))
        wk = np.empty((8, capm))
        firstp = np.empty(2 * capb, dtype=np.int64)
        fbw = np.empty(capb, dtype=np.int64)
        fdw = np.empty((capb, 3), dtype=np.int64)
        bptrw = np.empty(capb + 1, dtype=np.int64)
        touched = np.zeros(2 * capb, dtype=np.bool_)
        dinv = np.empty(14 * capb)
        u = np.zeros(2 * zslot + 2)
        env = np.empty(16 * capb * 8)
        out = np.empty(4)
        wb = BondWork(mark, key, order, count, glob, firstp, li, lj, gi, gj, w, pid, bd, wk, fbw,
                      fdw, bptrw, touched, dinv, u, out)
        for t in range(t0, t1):
            free = fidx[fstart[t]:fstart[t + 1]]
            nf = free.shape[0]
            m, floating = _site_bonds(pt, sites[t], free, zslot, wb)
            if dim == 2 and not generic:
                good, env = _site_expansion2(pt, wb, m, floating, A, B, nf, relax, env)
            else:
                brv = np.ascontiguousarray(bd[0:dim, :m].T)
                bax = np.ascontiguousarray(bd[dim:2 * dim, :m].T)
                bg1 = np.ascontiguousarray(bd[2 * dim:3 * dim, :m].T)
                bpre = np.ascontiguousarray(bd[3 * dim:3 * dim + 4, :m])
                good = _site_expansion(li[:m], lj[:m], brv, bax, bg1, bpre, w[:m], A, B, nf,
                                       relax, out)
            if good:
                for k in range(4):
                    O[t, k] = out[k]
                ok[t] = True
    return O, ok


@dataclass
class BondSites:
    """Cavity expansions of many sites (output of :func:`bond_sites`).

    ``coefficients`` (n_sites, 4): σ₀, dσ/dγ, d²σ/dγ², d³σ/dγ³ (ε/λ^d; NaN where the
    free–free Hessian is not positive definite, ``ok`` False); ``n_free`` per site.
    """

    sites: np.ndarray
    coefficients: np.ndarray
    ok: np.ndarray
    n_free: np.ndarray
    radius: float
    volume: float


def _batched(conf, sites, free, ps, A, B, relax, generic=False):
    """(O, ok) of :func:`_bond_sites` for the sites with free lists ``free`` (start, idx)
    and the configuration's PairSet ``ps``; ``generic`` forces the any-dimension path."""
    fstart, fidx = free
    inc = _incidence(ps.ii, ps.jj, conf.N)
    A = np.ascontiguousarray(A, dtype=float)
    pdata = _pair_rows(ps.rv, ps.pre, A)
    hdiag = (_diagonal_blocks(ps.rv, ps.pre, inc[0], inc[1], inc[3], inc[4]) if conf.dim == 2
             else np.zeros((conf.N, 3)))
    nblocks = int(max(1, min(sites.size, 8 * numba.get_num_threads())))
    return _bond_sites(PairTable(conf.x, conf.box.h, *inc, pdata, hdiag), Cavities(sites, fstart, fidx),
                       A, np.ascontiguousarray(B, dtype=float), bool(relax), nblocks, bool(generic))


def bond_sites(conf: Configuration, sites, radius: float, deformation="simple_shear",
               component="xy", volume: float | None = None, relax: bool = True,
               threads: int | None = None, pairs: PairSet | None = None,
               free: tuple | None = None) -> BondSites:
    """Cavity-stress expansions (to γ³) of every site, batched in numba.

    ``sites``: particle indices; ``radius`` R (λ); ``volume`` overrides V_R;
    ``relax=False`` gives the affine (empty free region) response. ``pairs``: the
    configuration's :class:`~glass2epm.core.pairs.PairSet` if already built;
    ``free``: precomputed (start, idx) of :func:`glass2epm.yieldstress.cavity.free_sets` for
    these sites. One ``prange`` over blocks of sites: each site gathers its bonds
    (pairs with a free end, from the pair table of the whole configuration),
    factorises its H_FF (envelope Cholesky; 4×4 blocks in 2D), solves Eqs. (5), (11),
    (12) and contracts Eqs. (16)–(18) (see the module docstring). Deterministic: each
    site's numbers do not depend on the thread count.
    """
    sites = np.ascontiguousarray(sites, dtype=np.int64)
    d = conf.dim
    A = generator(deformation, d)
    B = component_matrix(component, d)
    trA = float(np.trace(A))
    V = cavity_volume(radius, d) if volume is None else float(volume)
    if not V > 0:
        raise ValueError(f"cavity volume must be positive, got {V} (radius {radius})")
    with numba_threads(threads):
        ps = pairs if pairs is not None else PairSet.from_configuration(conf)
        fstart, fidx = free if free is not None else free_sets(conf, sites, radius)
        if fstart.shape[0] != sites.size + 1:
            raise ValueError(f"free lists are for {fstart.shape[0] - 1} sites, not {sites.size}")
        O, ok = _batched(conf, sites, (fstart, fidx), ps, A, B, relax)
    coeffs = volume_factor(O.T, V, trA).T
    coeffs[~ok] = np.nan
    return BondSites(sites, coeffs, ok, np.diff(fstart), float(radius), V)
