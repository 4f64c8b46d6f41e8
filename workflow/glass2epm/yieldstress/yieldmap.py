"""Local yield-stress maps (Sec. IV, Figs. 3–4): bond micromechanics in a cavity.

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
    and :func:`bond_sites` (all sites, batched). The batched path builds once the pair
    table of the whole configuration (:meth:`PairSet.from_configuration`), one row per
    pair with x_ι, A·x_ι, H·(A x)_ι (Eq. B7; site-independent) and the prefactors, and
    in 2D each particle's diagonal Hessian block (a free particle's block of H_FF is its
    full block). Then one ``prange`` over blocks of sites, with per-block work arrays:
    each site gathers its bonds (pairs with a free end; free particles ordered along x
    relative to the site, which keeps the envelope of H_FF narrow) and
      * in 2D, factorises H_FF in envelope storage of 4×4 blocks (two particles,
        :func:`glass2epm.yieldstress.cavity.block_envelope_factor`) and solves three times, each
        solve followed by one pass over the bonds, vectorised over bonds, that forms
        d_n and the next right-hand side (the per-pair arithmetic of
        :func:`glass2epm.core.contractions.path_rhs`) or, after the last, the weighted
        observable series (the pair helpers ``_h2``, ``_t3``, ``_m4`` of
        :func:`glass2epm.core.contractions.bond_obs_series`; sums over bonds reassociated);
      * in 3D, uses a scalar envelope Cholesky and serial compilations of the
        :mod:`glass2epm.core.contractions` kernels ``path_rhs`` and ``bond_obs_series``
        (the same source code).

Yield from the expansion (:func:`yield_roots`)
    σ(γ) = σ₀ + c1 γ + c2 γ²/2 + c3 γ³/6. Forward: γ_Y = smallest positive root of
    dσ/dγ = c1 + c2 γ + c3 γ²/2, σ_Y = σ(γ_Y). Backward: γ_Y^B = largest negative
    root, σ_Y^B = σ(γ_Y^B) (usually negative for simple shear). A site without such
    a root is discarded in that direction and counted.

Maps (:func:`build_map`)
    Sites on a grid of spacing 3d (:func:`glass2epm.yieldstress.cavity.site_particles`). Each
    particle receives the lowest σ_Y of all cavities whose free region contains it
    (forward), and separately the lowest |σ_Y^B| (backward); particles covered by no
    valid cavity get NaN and are counted (``fraction_without_value``). The residual
    strength Δσ_Y = σ_Y − σ₀ of each cavity (distance to its forward yield point from
    its own prestress) is mapped the same way, independently (the lowest Δσ_Y over the
    covering cavities), as column ``residual``: the EPM's ``threshold: residual``. Block map:
    L_blocks = round(L_a/ξ) blocks along each cell vector (ξ = 5d, the EPM block
    size), a particle belongs to the block of its fractional coordinates (squares for
    an unsheared cell), and the block value is the **mean of the values of its
    particles that have one** (``n_particles`` counts them; NaN if none).

Site tables (schema ``yield_sites``) have the same columns for both methods; the
``discarded`` column is a bit mask: 1 = no forward yield, 2 = no backward yield,
4 = the free–free Hessian is not positive definite (no expansion; 1|2 set too).
The frozen-matrix method (:mod:`glass2epm.yieldstress.frozen`) has no c2, c3 (NaN).

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
from glass2epm.yieldstress.cavity import (
    block_envelope_factor,
    block_envelope_layout_into,
    block_envelope_solve,
    cavity_volume,
    envelope_backsolve,
    envelope_factor,
    envelope_layout,
    free_sets,
    make_cavity,
    mean_spacing,
    site_particles,
)
from glass2epm.core.contractions import PairSet, _d3, _h2, _m4, _mv, _t3
from glass2epm.mechanics.expansion import Expansion, generator, numba_threads
from glass2epm.mechanics.hessian import SPDSolver, HessianSolver, assemble
from glass2epm.core.io import Configuration, read_table, write_table
from glass2epm.core.schemas import YIELD_MAP, YIELD_SITES, YIELD_BLOCKS


DISCARD_FORWARD = 1
DISCARD_BACKWARD = 2
DISCARD_FAILED = 4


def component_matrix(component, dim: int) -> np.ndarray:
    """B = âb̂ for a component name 'ab' (or 'sab'), or a d×d matrix given directly."""
    if isinstance(component, str):
        name = component[1:] if component.startswith("s") and len(component) == 3 else component
        if len(name) != 2 or any(c not in "xyz"[:dim] for c in name):
            raise ValueError(f"unknown stress component {component!r} in {dim}D; use ab with a, b in "
                             f"{'xyz'[:dim]} (e.g. xy)")
        B = np.zeros((dim, dim))
        B["xyz".index(name[0]), "xyz".index(name[1])] = 1.0
        return B
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

# the per-bond passes of the 2D path: vectorised over bonds (sums reassociated)
_FV = {"reassoc", "contract", "nsz"}

# rows of the per-bond work array of a site (2D): d₁, d₂, the affine part of the next
# step (A d₁, then A d₂) and the right-hand side vectors
_D10, _D11, _D20, _D21, _A0, _A1, _R0, _R1 = range(8)


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
            s = 0.0
            for c in range(d):
                s += A[a, c] * rv[p, c]
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
def _site_bonds(x, h, site, free, istart, ipair, iother, jstart, jpair, jother, pdata, mark,
                key, order, count, zslot, glob, firstp, li, lj, gi, gj, w, bd, pid):
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
    A·x_ι, H·(A x)_ι, (first)..(fourth))."""
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
    first = np.empty(nd, dtype=np.int64)
    for l in range(nf):
        for a in range(dim):
            first[dim * l + a] = dim * firstp[l]
    ptr = envelope_layout(first, nd)
    env = np.zeros(ptr[nd])
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
def _times(A, v):
    """Rows of v multiplied by A: A·v_ι for every bond."""
    m, d = v.shape
    out = np.empty((m, d))
    for p in range(m):
        for a in range(d):
            s = 0.0
            for c in range(d):
                s += A[a, c] * v[p, c]
            out[p, a] = s
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


# --- 2D: block-envelope Cholesky, fused and vectorised bond passes


@njit(cache=True)
def _assemble_free_block2(li, lj, bd, m, nf, glob, hdiag, istart, jstart, pin, env, fb, bptr,
                          touched):
    """2D: H_FF of one cavity into block-envelope storage
    (:func:`glass2epm.yieldstress.cavity.block_envelope_layout`), lower triangle: the diagonal blocks
    of the free particles (``glob``: their particle indices; ``hdiag`` from
    :func:`_diagonal_blocks`) and −[(second) x xᵀ + (first) 1] (Eq. B7) for every
    free–free bond (columns of ``bd``: rows 0, 1 x_ι; 6, 7 (first), (second)). ``pin``
    (or −1), particles without a pair (``istart``, ``jstart`` of :func:`_incidence`)
    and padding get identity rows; ``touched`` (≥ 2·nb) marks the others."""
    nb = fb.shape[0]
    for k in range(bptr[nb]):
        env[k] = 0.0
    for l in range(2 * nb):
        I = l >> 1
        o = 2 * (l & 1)
        q = bptr[I] - 16 * fb[I] + 16 * I + 5 * o  # entry (o, o) of the diagonal block
        i = glob[l] if l < nf else -1
        if (i >= 0 and l != pin
                and istart[i + 1] - istart[i] + jstart[i + 1] - jstart[i] > 0):
            env[q] = hdiag[i, 0]
            env[q + 1] = hdiag[i, 1]
            env[q + 5] = hdiag[i, 2]
            touched[l] = True
        else:
            env[q] = 1.0
            env[q + 5] = 1.0
            touched[l] = False
    for p in range(m):
        i = li[p]
        j = lj[p]
        if i < 0 or j < 0 or i == pin or j == pin:
            continue
        x0 = bd[0, p]
        x1 = bd[1, p]
        f1 = bd[6, p]
        f2 = bd[7, p]
        hi_ = i if i > j else j
        lw = i if i < j else j
        H = hi_ >> 1
        q = bptr[H] - 16 * fb[H] + 8 * lw + 2 * (hi_ & 1)  # entry (2 hi, 2 lw)
        k10 = f2 * x1 * x0
        env[q] = -(f2 * x0 * x0 + f1)
        env[q + 1] = -k10
        env[q + 4] = -k10
        env[q + 5] = -(f2 * x1 * x1 + f1)


@njit(cache=True)
def _scatter_solve2(gi, gj, g, r0, r1, m, env, fb, fd, bptr, dinv, active, nf, u):
    """u_F = H_FF⁻¹ b_F (2D, block-envelope factor) with b = −(particle field of the pair
    vectors (g[r0, p], g[r1, p])): +g on the i end, −g on the j end (frozen ends write
    to the zero slot, cleared after); rattlers, the pinned particle and padding get 0."""
    nb = fb.shape[0]
    for k in range(4 * nb):
        u[k] = 0.0
    for p in range(m):
        i = gi[p]
        j = gj[p]
        g0 = g[r0, p]
        g1 = g[r1, p]
        u[2 * j] -= g0
        u[2 * j + 1] -= g1
        u[2 * i] += g0
        u[2 * i + 1] += g1
    z = u.shape[0] - 2
    u[z] = 0.0
    u[z + 1] = 0.0
    for l in range(2 * nb):
        if l >= nf or not active[l]:
            u[2 * l] = 0.0
            u[2 * l + 1] = 0.0
    block_envelope_solve(env, fb, fd, bptr, dinv, u[:4 * nb])


@njit(cache=True, inline="always")
def _bond_row(gi, gj, bd, p):
    """Bond p of the site's bond table: its particles (i, j), pair vector x_ij (2D) and
    the first three scalar prefactors (Appendix B) of :func:`_pass_d1`/:func:`_pass_d2`."""
    return gi[p], gj[p], bd[0, p], bd[1, p], bd[6, p], bd[7, p], bd[8, p]


@njit(cache=True, fastmath=_FV)
def _pass_d1(gi, gj, bd, u, A, wk, m):
    """d₁ = A x + Δẋ on every bond (Eq. 9), A d₁, and the pair vectors of the right-hand
    side of Eq. (11), T:d₁d₁ + H·(A d₁) (the arithmetic of
    :func:`glass2epm.core.contractions.path_rhs`, order 2, for d = 2)."""
    a00, a01, a10, a11 = A[0, 0], A[0, 1], A[1, 0], A[1, 1]
    for p in range(m):
        i, j, x0, x1, f1, f2, f3 = _bond_row(gi, gj, bd, p)
        e0 = bd[2, p] + u[2 * j] - u[2 * i]
        e1 = bd[3, p] + u[2 * j + 1] - u[2 * i + 1]
        ad0 = a00 * e0 + a01 * e1
        ad1 = a10 * e0 + a11 * e1
        xe = x0 * e0 + x1 * e1
        s11 = e0 * e0 + e1 * e1
        cx = f3 * xe * xe + f2 * s11 + f2 * (x0 * ad0 + x1 * ad1)
        c1 = 2.0 * f2 * xe
        wk[_D10, p] = e0
        wk[_D11, p] = e1
        wk[_A0, p] = ad0
        wk[_A1, p] = ad1
        wk[_R0, p] = cx * x0 + c1 * e0 + f1 * ad0
        wk[_R1, p] = cx * x1 + c1 * e1 + f1 * ad1


@njit(cache=True, fastmath=_FV)
def _pass_d2(gi, gj, bd, u, A, wk, m):
    """d₂ = A d₁ + Δẍ on every bond (Eq. 10), A d₂, and the pair vectors of the
    right-hand side of Eq. (12), M⋮d₁d₁d₁ + 3T:d₁d₂ + H·(A d₂) (the arithmetic of
    :func:`glass2epm.core.contractions.path_rhs`, order 3, for d = 2)."""
    a00, a01, a10, a11 = A[0, 0], A[0, 1], A[1, 0], A[1, 1]
    for p in range(m):
        i, j, x0, x1, f1, f2, f3 = _bond_row(gi, gj, bd, p)
        f4 = bd[9, p]
        v0 = wk[_D10, p]
        v1 = wk[_D11, p]
        e0 = wk[_A0, p] + u[2 * j] - u[2 * i]
        e1 = wk[_A1, p] + u[2 * j + 1] - u[2 * i + 1]
        ad0 = a00 * e0 + a01 * e1
        ad1 = a10 * e0 + a11 * e1
        x1v = x0 * v0 + x1 * v1
        s11 = v0 * v0 + v1 * v1
        x2v = x0 * e0 + x1 * e1
        s12 = v0 * e0 + v1 * e1
        cx = (f4 * x1v * x1v * x1v + 3.0 * f3 * x1v * s11 + 3.0 * (f3 * x1v * x2v + f2 * s12)
              + f2 * (x0 * ad0 + x1 * ad1))
        c1 = 3.0 * f3 * x1v * x1v + 3.0 * f2 * s11 + 3.0 * f2 * x2v
        c2 = 3.0 * f2 * x1v
        wk[_D20, p] = e0
        wk[_D21, p] = e1
        wk[_A0, p] = ad0
        wk[_A1, p] = ad1
        wk[_R0, p] = cx * x0 + c1 * v0 + f1 * ad0 + c2 * e0
        wk[_R1, p] = cx * x1 + c1 * v1 + f1 * ad1 + c2 * e1


@njit(cache=True, fastmath=_FV)
def _pass_obs(gi, gj, bd, w, u, B, wk, m, out):
    """d₃ = A d₂ + Δx⃛ on every bond (Eq. 10) and O_B^w = Σ_b w_b O_b with its first three
    strain derivatives (Eqs. 16–18 per bond, B13–B15, with the pair helpers of
    :func:`glass2epm.core.contractions.bond_obs_series`) into ``out`` (4,)."""
    o0 = 0.0
    o1 = 0.0
    o2 = 0.0
    o3 = 0.0
    for p in range(m):
        i = gi[p]
        j = gj[p]
        f1 = bd[6, p]
        f2 = bd[7, p]
        f3 = bd[8, p]
        f4 = bd[9, p]
        x = (bd[0, p], bd[1, p], 0.0)
        u1 = (wk[_D10, p], wk[_D11, p], 0.0)
        u2 = (wk[_D20, p], wk[_D21, p], 0.0)
        u3 = (wk[_A0, p] + u[2 * j] - u[2 * i], wk[_A1, p] + u[2 * j + 1] - u[2 * i + 1], 0.0)
        b = _mv(B, x, 2)
        b1 = _mv(B, u1, 2)
        b2 = _mv(B, u2, 2)
        b3 = _mv(B, u3, 2)
        xb = _d3(x, b)
        x1 = _d3(x, u1)
        xb1 = _d3(x, b1)
        bd1 = _d3(b, u1)
        x2 = _d3(x, u2)
        xb2 = _d3(x, b2)
        s11 = _d3(u1, u1)
        b1d1 = _d3(b1, u1)
        bd2 = _d3(b, u2)
        x3 = _d3(x, u3)
        xb3 = _d3(x, b3)
        s12 = _d3(u1, u2)
        b1d2 = _d3(b1, u2)
        b2d1 = _d3(b2, u1)
        bd3 = _d3(b, u3)
        r1 = _h2(f1, f2, xb, x1, bd1) + f1 * xb1
        r2 = (_t3(f2, f3, xb, x1, x1, bd1, bd1, s11) + 2.0 * _h2(f1, f2, xb1, x1, b1d1)
              + _h2(f1, f2, xb, x2, bd2) + f1 * xb2)
        m4 = _m4(f2, f3, f4, xb, x1, x1, x1, bd1, bd1, bd1, s11, s11, s11)
        t = (_t3(f2, f3, xb1, x1, x1, b1d1, b1d1, s11) + _t3(f2, f3, xb, x1, x2, bd1, bd2, s12)
             + _h2(f1, f2, xb1, x2, b1d2) + _h2(f1, f2, xb2, x1, b2d1))
        r3 = m4 + 3.0 * t + _h2(f1, f2, xb, x3, bd3) + f1 * xb3
        o0 += w[p] * (f1 * xb)
        o1 += w[p] * r1
        o2 += w[p] * r2
        o3 += w[p] * r3
    out[0] = o0
    out[1] = o1
    out[2] = o2
    out[3] = o3


@njit(cache=True)
def _site_expansion2(li, lj, gi, gj, w, bd, m, floating, A, B, nf, relax, glob, hdiag, istart,
                     jstart, firstp, fbw, fdw, bptrw, touched, env, dinv, u, wk, out):
    """2D cavity: O_B^w and its strain derivatives into ``out`` (4,). H_FF in 4×4 blocks
    (:func:`glass2epm.yieldstress.cavity.block_envelope_factor`); then three solves, each followed by
    one vectorised pass over the bonds: Eq. (5) H_FF ẋ = −[H·(A x)]_F → d₁ and the
    right-hand side of Eq. (11) H_FF ẍ = −[T:d₁d₁ + H·(A d₁)]_F → d₂ and that of
    Eq. (12) H_FF x⃛ = −[M⋮d₁d₁d₁ + 3T:d₁d₂ + H·(A d₂)]_F → d₃ and the weighted stress
    observable. Returns (ok, env) (env possibly grown); ok False if H_FF is not
    positive definite."""
    if not (relax and nf > 0):
        for p in range(m):  # no free particle: d_n = Aⁿ x, no solve
            wk[_D10, p] = bd[2, p]
            wk[_D11, p] = bd[3, p]
            wk[_D20, p] = A[0, 0] * bd[2, p] + A[0, 1] * bd[3, p]
            wk[_D21, p] = A[1, 0] * bd[2, p] + A[1, 1] * bd[3, p]
            wk[_A0, p] = A[0, 0] * wk[_D20, p] + A[0, 1] * wk[_D21, p]
            wk[_A1, p] = A[1, 0] * wk[_D20, p] + A[1, 1] * wk[_D21, p]
        u[:] = 0.0
        _pass_obs(gi, gj, bd, w, u, B, wk, m, out)
        return True, env
    nb = block_envelope_layout_into(firstp, nf, fbw, fdw, bptrw)
    fb = fbw[:nb]
    fd = fdw[:nb]
    bptr = bptrw[:nb + 1]
    if bptr[nb] > env.shape[0]:
        env = np.empty(2 * bptr[nb])
    _assemble_free_block2(li, lj, bd, m, nf, glob, hdiag, istart, jstart, 0 if floating else -1,
                          env, fb, bptr, touched)
    if not block_envelope_factor(env, fb, fd, bptr, dinv):
        return False, env
    # Eq. (5): the right-hand side −[H·(A x)]_F is a property of the pairs (rows 4, 5)
    _scatter_solve2(gi, gj, bd, 4, 5, m, env, fb, fd, bptr, dinv, touched, nf, u)
    _pass_d1(gi, gj, bd, u, A, wk, m)
    _scatter_solve2(gi, gj, wk, _R0, _R1, m, env, fb, fd, bptr, dinv, touched, nf, u)
    _pass_d2(gi, gj, bd, u, A, wk, m)
    _scatter_solve2(gi, gj, wk, _R0, _R1, m, env, fb, fd, bptr, dinv, touched, nf, u)
    _pass_obs(gi, gj, bd, w, u, B, wk, m, out)
    return True, env


@njit(cache=True, parallel=True)
def _bond_sites(x, h, sites, fstart, fidx, istart, ipair, iother, jstart, jpair, jother, pdata,
                hdiag, A, B, relax, nblocks, generic):
    """O_B^w and its first three strain derivatives for every cavity (one ``prange`` over
    blocks of sites, each with its own work arrays): the 2D path
    (:func:`_site_expansion2`) or, in 3D or with ``generic``, :func:`_site_expansion`.
    Returns (O (nsites, 4), ok (nsites,))."""
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
        for t in range(t0, t1):
            free = fidx[fstart[t]:fstart[t + 1]]
            nf = free.shape[0]
            m, floating = _site_bonds(x, h, sites[t], free, istart, ipair, iother, jstart, jpair,
                                      jother, pdata, mark, key, order, count, zslot, glob,
                                      firstp, li, lj, gi, gj, w, bd, pid)
            if dim == 2 and not generic:
                good, env = _site_expansion2(li, lj, gi, gj, w, bd, m, floating, A, B, nf, relax,
                                             glob, hdiag, istart, jstart, firstp, fbw, fdw, bptrw,
                                             touched, env, dinv, u, wk, out)
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
    return _bond_sites(conf.x, conf.box.h, sites, fstart, fidx, *inc, pdata, hdiag, A,
                       np.ascontiguousarray(B, dtype=float), bool(relax), nblocks,
                       bool(generic))


def bond_sites(conf: Configuration, sites, radius: float, deformation="simple_shear",
               component="xy", volume: float | None = None, relax: bool = True,
               threads: int | None = None, pairs: PairSet | None = None,
               free: tuple | None = None) -> BondSites:
    """Cavity-stress expansions (to γ³) of every site, batched in numba.

    ``sites``: particle indices; ``radius`` R (λ); ``volume`` overrides V_R;
    ``relax=False`` gives the affine (empty free region) response. ``pairs``: the
    configuration's :class:`~glass2epm.core.contractions.PairSet` if already built;
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


# ----------------------------------------------------------------------------
# yield from the cubic


def yield_roots(c1, c2, c3):
    """Forward and backward yield strains of σ(γ) = σ₀ + c1γ + c2γ²/2 + c3γ³/6.

    Roots of dσ/dγ = c1 + c2γ + (c3/2)γ² (numerically stable quadratic formula;
    linear when c3 = 0). Returns (gamma_forward, gamma_backward): the smallest
    positive root and the largest negative root, NaN where there is none (a root at
    exactly 0 counts as neither). Arrays broadcast.
    """
    c1, c2, c3 = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (c1, c2, c3)))
    a = 0.5 * c3
    b = c2
    c = c1
    r1 = np.full(c1.shape, np.nan)
    r2 = np.full(c1.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        quad = a != 0
        disc = b * b - 4.0 * a * c
        real = quad & (disc >= 0)
        sq = np.sqrt(np.where(real, disc, 0.0))
        q = -0.5 * (b + np.where(b >= 0, sq, -sq))
        r1 = np.where(real, q / a, r1)
        r2 = np.where(real & (q != 0), c / q, np.where(real, q / a, r2))
        lin = (~quad) & (b != 0)
        r1 = np.where(lin, -c / b, r1)
    roots = np.stack([r1, r2])
    pos = np.where(roots > 0, roots, np.inf).min(axis=0)
    neg = np.where(roots < 0, roots, -np.inf).max(axis=0)
    return np.where(np.isfinite(pos), pos, np.nan), np.where(np.isfinite(neg), neg, np.nan)


def cubic(coefficients, gamma):
    """σ(γ) = c0 + c1γ + c2γ²/2 + c3γ³/6 (coefficients broadcast along the last axis)."""
    c = np.asarray(coefficients, dtype=float)
    g = np.asarray(gamma, dtype=float)
    return c[..., 0] + c[..., 1] * g + c[..., 2] * g**2 / 2 + c[..., 3] * g**3 / 6


# ----------------------------------------------------------------------------
# site tables


SITE_COLUMNS = ("site", "x", "y", "sigma0", "mu0", "c2", "c3", "sigma_y", "gamma_y",
                "sigma_y_backward", "gamma_y_backward", "discarded")


@dataclass
class SiteTable:
    """One row per cavity (schema ``yield_sites``) and the parameters that made it.

    ``columns``: dict of equal-length arrays (``SITE_COLUMNS``, plus ``z`` in 3D and
    ``n_free``, and ``steps``/``steps_backward`` for the frozen method); ``params``:
    method, radius, spacing, geometry, component, d (and step, max_strain for frozen).
    """

    columns: dict
    params: dict

    def __len__(self):
        return int(len(self.columns["site"]))

    def __getitem__(self, k):
        return self.columns[k]

    @classmethod
    def concatenate(cls, tables) -> "SiteTable":
        """Chunk tables of the same map (same parameters) into one, sorted by site order
        of the grid (``order`` column if present, else site index)."""
        tables = list(tables)
        if not tables:
            raise ValueError("no site tables to merge")
        ref = tables[0].params
        for t in tables[1:]:
            diff = {k for k in set(ref) | set(t.params) if k not in ("chunk",)
                    and not _same(ref.get(k), t.params.get(k))}
            if diff:
                raise ValueError(f"site tables were made with different parameters: {sorted(diff)}")
        cols = {k: np.concatenate([np.asarray(t.columns[k]) for t in tables]) for k in tables[0].columns}
        site = cols["site"]
        if np.unique(site).size != site.size:
            raise ValueError("site tables overlap: a site appears in more than one chunk")
        key = cols["order"] if "order" in cols else site
        o = np.argsort(key, kind="stable")
        params = {k: v for k, v in ref.items() if k != "chunk"}
        return cls({k: v[o] for k, v in cols.items()}, params)


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (np.isnan(a) and np.isnan(b))
    return a == b


def _site_positions(conf, sites):
    names = "xyz"[: conf.dim]
    x = conf.box.wrap(conf.x[sites])
    return {names[a]: x[:, a] for a in range(conf.dim)}


def bond_table(conf: Configuration, sites, radius: float, geometry: str = "simple_shear",
               component="xy", spacing: float | None = None, threads: int | None = None,
               pairs: PairSet | None = None, free=None, order=None) -> SiteTable:
    """Site table of the bond-micromechanics method (see :func:`bond_sites`, :func:`yield_roots`)."""
    sites = np.ascontiguousarray(sites, dtype=np.int64)
    res = bond_sites(conf, sites, radius, geometry, component, threads=threads, pairs=pairs,
                     free=free)
    c = res.coefficients
    gf, gb = yield_roots(c[:, 1], c[:, 2], c[:, 3])
    sf = cubic(c, np.nan_to_num(gf))
    sb = cubic(c, np.nan_to_num(gb))
    disc = (np.isnan(gf) * DISCARD_FORWARD + np.isnan(gb) * DISCARD_BACKWARD
            + (~res.ok) * DISCARD_FAILED).astype(np.int8)
    cols = {"site": sites, **_site_positions(conf, sites),
            "sigma0": c[:, 0], "mu0": c[:, 1], "c2": c[:, 2], "c3": c[:, 3],
            "sigma_y": np.where(np.isnan(gf), np.nan, sf), "gamma_y": gf,
            "sigma_y_backward": np.where(np.isnan(gb), np.nan, sb), "gamma_y_backward": gb,
            "discarded": disc, "n_free": res.n_free.astype(np.int64),
            "order": np.arange(sites.size) if order is None else np.asarray(order, dtype=np.int64)}
    params = _params(conf, "bond", radius, spacing, geometry, component)
    return SiteTable(cols, params)


def frozen_table(conf: Configuration, sites, radius: float, geometry: str = "simple_shear",
                 component="xy", spacing: float | None = None, step: float = 1e-3,
                 max_strain: float = 0.3, drop_tol: float = 1e-6, ftol: float = 1e-10,
                 threads: int | None = None, order=None, chunk: str | None = None) -> SiteTable:
    """Site table of the frozen-matrix method (:func:`glass2epm.yieldstress.frozen.frozen_sites`); c2, c3 NaN."""
    from glass2epm.yieldstress.frozen import frozen_sites

    sites = np.ascontiguousarray(sites, dtype=np.int64)
    r = frozen_sites(conf, sites, radius, geometry, component, step=step, max_strain=max_strain,
                     drop_tol=drop_tol, ftol=ftol, threads=threads)
    failed = (r.status == 2).any(axis=1)
    disc = ((r.status[:, 0] != 0) * DISCARD_FORWARD + (r.status[:, 1] != 0) * DISCARD_BACKWARD
            + failed * DISCARD_FAILED).astype(np.int8)
    nan = np.full(sites.size, np.nan)
    cols = {"site": sites, **_site_positions(conf, sites),
            "sigma0": r.sigma0, "mu0": r.mu0, "c2": nan, "c3": nan.copy(),
            "sigma_y": r.sigma_y, "gamma_y": r.gamma_y,
            "sigma_y_backward": r.sigma_y_backward, "gamma_y_backward": r.gamma_y_backward,
            "discarded": disc, "n_free": r.n_free.astype(np.int64),
            "steps": r.steps[:, 0].copy(), "steps_backward": r.steps[:, 1].copy(),
            "order": np.arange(sites.size) if order is None else np.asarray(order, dtype=np.int64)}
    params = _params(conf, "frozen", radius, spacing, geometry, component)
    params.update(step=float(step), max_strain=float(max_strain), drop_tol=float(drop_tol),
                  ftol=float(ftol))
    if chunk is not None:
        params["chunk"] = chunk
    return SiteTable(cols, params)


def _params(conf, method, radius, spacing, geometry, component):
    d = mean_spacing(conf)
    comp = component if isinstance(component, str) else np.asarray(component).tolist()
    if isinstance(comp, str) and comp.startswith("s") and len(comp) == 3:
        comp = comp[1:]
    return {"method": method, "radius": float(radius), "radius_d": float(radius) / d,
            "spacing": None if spacing is None else float(spacing),
            "spacing_d": None if spacing is None else float(spacing) / d,
            "geometry": geometry if isinstance(geometry, str) else "custom",
            "component": comp, "d": d, "dim": conf.dim}


# ----------------------------------------------------------------------------
# maps


@njit(cache=True)
def _assign_min(fstart, fidx, values, n):
    """Per particle: the lowest finite value over the sites whose free list holds it."""
    out = np.full(n, np.inf)
    for s in range(values.shape[0]):
        v = values[s]
        if not np.isfinite(v):
            continue
        for q in range(fstart[s], fstart[s + 1]):
            p = fidx[q]
            if v < out[p]:
                out[p] = v
    for p in range(n):
        if out[p] == np.inf:
            out[p] = np.nan
    return out


def assign_particles(conf: Configuration, sites, radius: float, values, free=None) -> np.ndarray:
    """Each particle's lowest value over the cavities (``sites``, free regions of
    ``radius``) that contain it; NaN for particles in no cavity with a finite value."""
    sites = np.ascontiguousarray(sites, dtype=np.int64)
    fstart, fidx = free if free is not None else free_sets(conf, sites, radius)
    values = np.ascontiguousarray(values, dtype=float)
    if values.shape != sites.shape:
        raise ValueError(f"need one value per site: {values.shape} values for {sites.size} sites")
    return _assign_min(fstart, fidx, values, conf.N)


def block_counts(conf: Configuration, block: float) -> np.ndarray:
    """Blocks per cell vector: L_blocks = max(1, round(L_a/ξ))."""
    if not block > 0:
        raise ValueError(f"block size must be positive, got {block}")
    return np.maximum(1, np.round(np.diag(conf.box.h) / block).astype(np.int64))


def _block_index(conf: Configuration, nb) -> np.ndarray:
    """Flat index (bx slowest) of the block of each particle's fractional coordinates."""
    s = np.linalg.solve(conf.box.h, conf.x.T).T
    s -= np.floor(s)
    k = np.minimum((s * nb).astype(np.int64), nb - 1)
    return np.ravel_multi_index(tuple(k.T), tuple(nb))


def coarse_grain(conf: Configuration, values, block: float, flat=None) -> dict:
    """Block map of a per-particle field: blocks of the fractional coordinates
    (round(L_a/ξ) per cell vector), value = mean over the block's particles with a
    finite value, ``n_particles`` their number (NaN value if none). ``flat``: the
    particles' block indices if already known (:func:`_block_index`).

    Returns columns bx, by[, bz] (block indices), x, y[, z] (block centres, λ), value,
    n_particles — one row per block, bx slowest.
    """
    values = np.asarray(values, dtype=float)
    if values.shape != (conf.N,):
        raise ValueError(f"need one value per particle ({conf.N}), got shape {values.shape}")
    nb = block_counts(conf, block)
    dim = conf.dim
    if flat is None:
        flat = _block_index(conf, nb)
    ok = np.isfinite(values)
    tot = int(np.prod(nb))
    cnt = np.bincount(flat[ok], minlength=tot)
    sm = np.bincount(flat[ok], weights=values[ok], minlength=tot)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, sm / np.maximum(cnt, 1), np.nan)
    idx = np.stack(np.unravel_index(np.arange(tot), tuple(nb)), axis=1)
    centres = ((idx + 0.5) / nb) @ conf.box.h.T
    out = {f"b{'xyz'[a]}": idx[:, a] for a in range(dim)}
    out.update({"xyz"[a]: centres[:, a] for a in range(dim)})
    out["value"] = mean
    out["n_particles"] = cnt
    return out


@dataclass
class YieldMap:
    """A local yield-stress map: per particle, per block, and the site table.

    ``sigma_y`` (N,): lowest forward σ_Y over the covering cavities; ``sigma_y_backward``
    (N,): lowest |σ_Y^B|; ``residual`` (N,): lowest σ_Y − σ₀; ``blocks``: columns of schema ``yield_blocks``; ``sites``:
    the :class:`SiteTable`; ``info``: parameters and counts (fractions without value,
    discarded sites, block size ξ, …).
    """

    sigma_y: np.ndarray
    sigma_y_backward: np.ndarray
    blocks: dict
    sites: SiteTable
    info: dict
    residual: np.ndarray | None = None


def build_map(conf: Configuration, table: SiteTable, block: float | None = None,
              free=None) -> YieldMap:
    """Per-particle and block maps from a site table (either method).

    ``block``: ξ in λ (default 5d). The free regions are recomputed from the
    configuration and the table's radius (the definitions of :mod:`glass2epm.yieldstress.cavity`).
    """
    radius = float(table.params["radius"])
    sites = np.asarray(table["site"], dtype=np.int64)
    d = mean_spacing(conf)
    xi = 5.0 * d if block is None else float(block)
    free = free if free is not None else free_sets(conf, sites, radius)
    fwd = assign_particles(conf, sites, radius, table["sigma_y"], free)
    bwd = assign_particles(conf, sites, radius, np.abs(table["sigma_y_backward"]), free)
    res = assign_particles(conf, sites, radius,
                           np.asarray(table["sigma_y"], float) - np.asarray(table["sigma0"], float), free)
    flat = _block_index(conf, block_counts(conf, xi))
    bf = coarse_grain(conf, fwd, xi, flat)
    bb = coarse_grain(conf, bwd, xi, flat)
    blocks = {k: v for k, v in bf.items() if k not in ("value", "n_particles")}
    blocks.update(sigma_y=bf["value"], sigma_y_backward=bb["value"], n_particles=bf["n_particles"],
                  n_particles_backward=bb["n_particles"],
                  residual=coarse_grain(conf, res, xi, flat)["value"])
    disc = np.asarray(table["discarded"])
    info = dict(table.params)
    info.update(
        block=xi, block_d=xi / d, blocks_per_side=block_counts(conf, xi).tolist(),
        n_sites=int(sites.size), n_discarded_forward=int(np.count_nonzero(disc & DISCARD_FORWARD)),
        n_discarded_backward=int(np.count_nonzero(disc & DISCARD_BACKWARD)),
        n_failed=int(np.count_nonzero(disc & DISCARD_FAILED)),
        fraction_without_value=float(np.mean(np.isnan(fwd))),
        fraction_without_value_backward=float(np.mean(np.isnan(bwd))),
        N=int(conf.N),
    )
    return YieldMap(fwd, bwd, blocks, table, info, res)


def site_list(conf: Configuration, spacing: float) -> np.ndarray:
    """The site particles of a map (grid of ``spacing`` λ; :func:`glass2epm.yieldstress.cavity.site_particles`)."""
    return site_particles(conf, spacing)


def bond_map(conf: Configuration, radius: float | None = None, spacing: float | None = None,
             geometry: str = "simple_shear", component="xy", block: float | None = None,
             threads: int | None = None) -> YieldMap:
    """The complete bond-micromechanics map: sites on a grid (default spacing 3d), cavities
    of radius R (default 5d), forward and backward yield from one cubic per site."""
    d = mean_spacing(conf)
    radius = 5.0 * d if radius is None else float(radius)
    spacing = 3.0 * d if spacing is None else float(spacing)
    with numba_threads(threads):
        sites = site_particles(conf, spacing)
        free = free_sets(conf, sites, radius)
        table = bond_table(conf, sites, radius, geometry, component, spacing, threads=None,
                           free=free)
        return build_map(conf, table, block, free)


def frozen_map(conf: Configuration, radius: float | None = None, spacing: float | None = None,
               geometry: str = "simple_shear", component="xy", block: float | None = None,
               step: float = 1e-3, max_strain: float = 0.3, threads: int | None = None,
               **kw) -> YieldMap:
    """The complete frozen-matrix map (every site in this process; see :func:`merge` for
    chunked runs)."""
    d = mean_spacing(conf)
    radius = 5.0 * d if radius is None else float(radius)
    spacing = 3.0 * d if spacing is None else float(spacing)
    with numba_threads(threads):
        sites = site_particles(conf, spacing)
        table = frozen_table(conf, sites, radius, geometry, component, spacing, step=step,
                             max_strain=max_strain, **kw)
        return build_map(conf, table, block)


def frozen_chunk(conf: Configuration, k: int, K: int, radius: float | None = None,
                 spacing: float | None = None, geometry: str = "simple_shear", component="xy",
                 step: float = 1e-3, max_strain: float = 0.3, threads: int | None = None,
                 **kw) -> SiteTable:
    """Frozen-matrix site table of chunk k (0-based) of K of the map's sites."""
    from glass2epm.yieldstress.frozen import chunk_sites

    d = mean_spacing(conf)
    radius = 5.0 * d if radius is None else float(radius)
    spacing = 3.0 * d if spacing is None else float(spacing)
    with numba_threads(threads):
        sites = site_particles(conf, spacing)
        order = chunk_sites(np.arange(sites.size), k, K)
        return frozen_table(conf, sites[order], radius, geometry, component, spacing, step=step,
                            max_strain=max_strain, order=order, chunk=f"{k}/{K}", **kw)


def merge(conf: Configuration, tables, block: float | None = None) -> YieldMap:
    """Gather chunk site tables (from :func:`frozen_chunk` or files read with
    :func:`read_sites`) into the map; checks that they share their parameters, do not
    overlap and cover the map's sites (when their spacing is known)."""
    table = SiteTable.concatenate(tables)
    sp = table.params.get("spacing")
    if sp is not None:
        want = site_particles(conf, sp)
        got = np.asarray(table["site"])
        if got.size != want.size or not np.array_equal(np.sort(got), np.sort(want)):
            missing = np.setdiff1d(want, got).size
            raise ValueError(f"site tables do not cover the map: {missing} of {want.size} sites "
                             "missing (all K chunks are needed)")
    return build_map(conf, table, block)


# ----------------------------------------------------------------------------
# files


def _paths(path):
    from pathlib import Path

    path = Path(path)
    stem = path.name[: -len(".parquet")] if path.name.endswith(".parquet") else path.name
    return path, path.with_name(stem + ".sites.parquet"), path.with_name(stem + ".blocks.parquet")


def write_sites(path, conf: Configuration, table: SiteTable, provenance: dict | None = None):
    """Write a site table (schema ``yield_sites``)."""
    cols = {k: np.asarray(v) for k, v in table.columns.items()}
    return write_table(path, YIELD_SITES, cols, model=conf.model, box=conf.box, strain=conf.strain,
                       seed=conf.seed, provenance={"module": "yieldmap", **(provenance or {})},
                       extra={**table.params, "Tp": conf.Tp})


def read_sites(path) -> SiteTable:
    """Read a ``yield_sites`` file back as a :class:`SiteTable`."""
    t = read_table(path, YIELD_SITES)
    params = {k: v for k, v in (t.meta.get("extra") or {}).items() if k != "Tp"}
    return SiteTable(dict(t.columns), params)


def write_map(path, conf: Configuration, ymap: YieldMap, provenance: dict | None = None):
    """Write MAP.parquet (``yield_map``), MAP.sites.parquet and MAP.blocks.parquet.
    Returns the three paths."""
    p_map, p_sites, p_blocks = _paths(path)
    names = "xyz"[: conf.dim]
    x = conf.box.wrap(conf.x)
    cols = {names[a]: x[:, a] for a in range(conf.dim)}
    cols.update(sigma_y=ymap.sigma_y, sigma_y_backward=ymap.sigma_y_backward)
    if ymap.residual is not None:
        cols["residual"] = ymap.residual
    meta = dict(model=conf.model, box=conf.box, strain=conf.strain, seed=conf.seed,
                provenance={"module": "yieldmap", **(provenance or {})})
    extra = {**ymap.info, "Tp": conf.Tp}
    write_table(p_map, YIELD_MAP, cols, extra=extra, **meta)
    write_table(p_sites, YIELD_SITES, {k: np.asarray(v) for k, v in ymap.sites.columns.items()},
                extra=extra, **meta)
    write_table(p_blocks, YIELD_BLOCKS, ymap.blocks, extra=extra, **meta)
    return p_map, p_sites, p_blocks


def read_map(path):
    """(map table, site table, block table) of a map written by :func:`write_map`."""
    p_map, p_sites, p_blocks = _paths(path)
    return read_table(p_map, YIELD_MAP), read_table(p_sites, YIELD_SITES), read_table(p_blocks, YIELD_BLOCKS)


# ----------------------------------------------------------------------------
# comparison helpers (Figs. 3-4)


def site_comparison(conf: Configuration, site: int, radius: float | None = None,
                    geometry: str = "simple_shear", component="xy", step: float = 1e-3,
                    max_strain: float = 0.3, n_points: int = 201) -> dict:
    """Fig. 3(c): one cavity's cubic σ(γ) against its frozen-matrix curves.

    Returns a dict: ``frozen_forward``/``frozen_backward`` ({strain, stress, sigma_y,
    gamma_y, yielded}), ``expansion`` ({strain, stress} on a grid spanning both curves,
    coefficients c0..c3, forward/backward yield strain and stress), and
    ``sigma0``/``mu0`` of both methods.
    """
    from glass2epm.yieldstress.frozen import frozen_site_curve

    d = mean_spacing(conf)
    radius = 5.0 * d if radius is None else float(radius)
    ex = CavityExpansion(conf, site, radius, geometry, component)
    c = ex.coefficients
    gf, gb = yield_roots(c[1], c[2], c[3])
    curves = {}
    for name, direction in (("frozen_forward", 1), ("frozen_backward", -1)):
        fc = frozen_site_curve(conf, site, radius, geometry, component, direction, step, max_strain)
        curves[name] = {"strain": fc.strain, "stress": fc.stress, "sigma_y": fc.sigma_y,
                        "gamma_y": fc.gamma_y, "yielded": fc.yielded, "mu0": fc.extra["mu0"]}
    lo = min(curves["frozen_backward"]["strain"].min(), np.nan_to_num(gb, nan=0.0))
    hi = max(curves["frozen_forward"]["strain"].max(), np.nan_to_num(gf, nan=0.0))
    g = np.linspace(lo, hi, n_points)
    return {
        "site": int(site), "radius": radius,
        "expansion": {"strain": g, "stress": ex.stress(g), "coefficients": c,
                      "gamma_y": float(gf), "sigma_y": float(ex.stress(gf)) if np.isfinite(gf) else np.nan,
                      "gamma_y_backward": float(gb),
                      "sigma_y_backward": float(ex.stress(gb)) if np.isfinite(gb) else np.nan},
        **curves,
        "sigma0": {"bond": float(c[0]), "frozen": float(curves["frozen_forward"]["stress"][0])},
        "mu0": {"bond": float(c[1]), "frozen": curves["frozen_forward"]["mu0"]},
    }


def yield_distribution(values, bins=40, log: bool = False, range_=None) -> dict:
    """P(σ_Y) of finite values: linear bins (``np.histogram`` density) or log bins
    (:func:`glass2epm.analysis.stats.log_histogram`, ``bins`` per decade)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise ValueError("no finite yield stresses to histogram")
    if log:
        from glass2epm.analysis.stats import log_histogram

        h = log_histogram(v, per_decade=float(bins), absolute=False)
        return {"centers": h.centers, "density": h.density, "error": h.density_err,
                "edges": h.edges, "counts": h.counts, "n": int(h.n_total),
                "n_nonpositive": int(h.n_nonpositive)}
    dens, edges = np.histogram(v, bins=bins, range=range_, density=True)
    counts, _ = np.histogram(v, bins=edges)
    width = np.diff(edges)
    return {"centers": 0.5 * (edges[1:] + edges[:-1]), "density": dens,
            "error": np.sqrt(counts) / (v.size * width), "edges": edges, "counts": counts,
            "n": int(v.size)}


def yield_statistics(values, conf: float = 0.95, n_boot: int = 2000, seed: int = 0) -> dict:
    """Mean and variance of the finite values with bootstrap CIs (stats.mean_ci /
    variance_ci). ``values``: an array, or a list of arrays (one per sample: whole
    samples are resampled)."""
    from glass2epm.analysis.stats import mean_ci, variance_ci

    if isinstance(values, (list, tuple)):
        vals = [np.asarray(v, dtype=float)[np.isfinite(v)] for v in values]
    else:
        v = np.asarray(values, dtype=float)
        vals = v[np.isfinite(v)]
    m = mean_ci(vals, conf=conf, n_boot=n_boot, seed=seed)
    s = variance_ci(vals, conf=conf, n_boot=n_boot, seed=seed)
    return {"mean": m.to_dict(), "variance": s.to_dict()}


def compare_maps(bond: YieldMap, frozen: YieldMap, level: str = "blocks", seed: int = 0) -> dict:
    """Fig. 4(b–d) numbers for one configuration: statistics of σ_Y of both methods
    (``level``: "blocks" — the paper's coarse-grained maps —, "particles" or "sites"),
    the variance ratio bond/frozen, and the site-by-site scatter table (sites common
    to both tables)."""
    def pick(m: YieldMap):
        if level == "blocks":
            return m.blocks["sigma_y"]
        if level == "particles":
            return m.sigma_y
        if level == "sites":
            return np.asarray(m.sites["sigma_y"])
        raise ValueError(f"level must be 'blocks', 'particles' or 'sites', got {level!r}")

    sb = yield_statistics(pick(bond), seed=seed)
    sf = yield_statistics(pick(frozen), seed=seed)
    return {"level": level, "bond": sb, "frozen": sf,
            "variance_ratio": sb["variance"]["value"] / sf["variance"]["value"],
            "mean_ratio": sb["mean"]["value"] / sf["mean"]["value"],
            "scatter": scatter_table(bond.sites, frozen.sites)}


def scatter_table(bond: SiteTable, frozen: SiteTable) -> dict:
    """Site-by-site table over the sites of both tables: σ₀, μ₀, σ_Y, γ_Y, σ_Y^B, γ_Y^B
    of each method (columns suffixed _bond / _frozen)."""
    sb = np.asarray(bond["site"])
    sf = np.asarray(frozen["site"])
    common, ib, jf = np.intersect1d(sb, sf, return_indices=True)
    out = {"site": common}
    for k in ("sigma0", "mu0", "sigma_y", "gamma_y", "sigma_y_backward", "gamma_y_backward"):
        out[k + "_bond"] = np.asarray(bond[k])[ib]
        out[k + "_frozen"] = np.asarray(frozen[k])[jf]
    return out
