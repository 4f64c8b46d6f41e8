"""The explicit "frozen matrix" local yield stress (the paper's refs. [29, 46]; Sec. IV).

For a cavity (definitions in :mod:`glass2epm.yieldstress.cavity`): the whole configuration is
deformed affinely in steps Δγ (default 1e-3) along D(γ) = exp(γA); after each step
the free particles are relaxed to a minimum of the energy with every other
particle frozen on its affinely mapped position; the cavity stress component
σ_B = B:σ^cav (cavity volume V_R e^{γ trA}) is recorded. The yield stress is the
stress before the first *drop*: the first step at which σ_B moves against the
direction of loading by more than ``drop_tol`` (ε/λ^d), the direction of loading
being the sign of the local modulus μ₀ times the sign of the strain (for simple
shear and σ_xy, μ₀ > 0: forward, the first decrease; backward, the first
increase). σ_Y = σ before the drop, γ_Y its strain; backward loading runs to
negative strains. A site that does not drop before ``max_strain`` is discarded in
that direction. Stresses in ε/λ^d.

μ₀ is the slope dσ/dγ at γ = 0 on the frozen-matrix AQS path, measured with a
fourth-order central difference of the explicit cavity stress along the
linear-response tangent dx/dγ = A·x + ẋ (ẋ from the free–free Hessian; frozen
particles: A·x), step 1e-5. The frozen method has no c2, c3 (NaN in its site table).

Two implementations:

* :func:`glass2epm.yieldstress.frozen_reference.frozen_matrix_curve` — plain reference: one cavity as a
  :class:`~glass2epm.core.io.Configuration` relaxed with :func:`glass2epm.mechanics.minimize.minimize`
  (``frozen=`` mask) at every step. Slow (Python per step); for checks.
* :func:`frozen_sites` / :func:`frozen_site_curve` — the production path, all in
  numba, one ``prange`` over sites. Each site carries only its local subsystem
  (free particles + the shell within R + r_max + margin), unwrapped around the site
  (no periodic images needed: the reach must be below half the cell width). Per
  strain step: a linear-response predictor x(γ+δ) ≈ D(δ)·x + δ·ẋ (ẋ from the
  factorised free–free Hessian of the previous state), chord iterations with that
  factor, full Newton (envelope Cholesky, backtracking on max|F|) if they stall, and
  FIRE (+ Newton polish) when Newton cannot proceed (the minimum disappeared: a
  plastic event). Converged states have max|F| < ``ftol`` on the free particles and
  a positive-definite free–free Hessian.

Sites are independent: :func:`frozen_sites` takes any subset (the workflow
scatters sites over jobs, see :func:`chunk_sites`), and
:func:`glass2epm.yieldstress.maps.merge` gathers the chunk tables into the map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from glass2epm.core.box import deformation_generator, min_image_2d, min_image_3d
from glass2epm.core.contractions import pair_first
from glass2epm.core.neighbors import _query_capacity, cell_grid, query
from glass2epm.mechanics.envelope import envelope_backsolve
from glass2epm.core.runtime import numba_threads
from glass2epm.mechanics.local import (SKIN, local_eval, local_forces, local_hessian, local_newton,
                                       local_pairs, local_relax, max_disp2)
from glass2epm.mechanics.linear_response import restricted_velocity
from glass2epm.yieldstress.bond import component_matrix
from glass2epm.yieldstress.cavity import cavity_volume
from glass2epm.yieldstress.records import FrozenCurve, FrozenModel, FrozenProtocol


# ----------------------------------------------------------------------------
# numba production path (the local mechanics: glass2epm.mechanics.local)


@njit(cache=True)
def _stress_of(rv, r, der, ci, cj, nf, B, volume):
    """σ_B of the cavity: Σ w_b φ'/r x·(B x) / volume (w = 1 free–free, ½ free–frozen)."""
    d = rv.shape[1]
    s = 0.0
    for p in range(ci.shape[0]):
        w = 1.0 if cj[p] < nf else 0.5
        q = 0.0
        for a in range(d):
            for b in range(d):
                q += rv[p, a] * B[a, b] * rv[p, b]
        s += w * pair_first(r[p], der[1, p]) * q
    return s / volume


@njit(cache=True)
def expm_small(M):
    """exp(M) for a small matrix (scaling and squaring, Taylor to round-off)."""
    d = M.shape[0]
    nrm = 0.0
    for a in range(d):
        row = 0.0
        for b in range(d):
            row += abs(M[a, b])
        nrm = max(nrm, row)
    s = 0
    while nrm > 0.5:
        nrm *= 0.5
        s += 1
    X = M / (2.0**s)
    E = np.eye(d)
    term = np.eye(d)
    for k in range(1, 30):
        term = term @ X / k
        E = E + term
    for _ in range(s):
        E = E @ E
    return E


@njit(cache=True)
def _rows_times(D, X, i0, i1, out):
    """Rows i0..i1−1 of ``out`` set to D·X[i] (the affine map of those particles)."""
    d = X.shape[1]
    for i in range(i0, i1):
        for a in range(d):
            s = 0.0
            for b in range(d):
                s += D[a, b] * X[i, b]
            out[i, a] = s


@njit(cache=True)
def _affine(X0, D, nf, out):
    """Frozen particles (index ≥ nf) of ``out`` on D·X0."""
    _rows_times(D, X0, nf, X0.shape[0], out)


@njit(cache=True)
def _modulus(X0, sizes, nf, pm, pr):
    """μ₀ = dσ/dγ at 0: fourth-order central difference of σ along the linear-response
    tangent A·x + ẋ (frozen particles: A·x), step 1e-5. NaN if H_FF is not positive
    definite. ``pm``: :class:`~glass2epm.yieldstress.records.FrozenModel`; ``pr``:
    :class:`~glass2epm.yieldstress.records.FrozenProtocol`."""
    beta, coeffs, xc, na = pm.beta, pm.coeffs, pm.xc, pm.na
    A, B, VR, trA = pr.A, pr.B, pr.VR, pr.trA
    n, d = X0.shape
    ci, cj, lam = local_pairs(X0, sizes, nf, xc, na, SKIN)
    rv, r, der = local_eval(X0, ci, cj, lam, beta, coeffs, xc, 2)
    env, ptr, first, ok = local_hessian(rv, r, der, ci, cj, nf)
    if not ok:
        return np.nan
    xdot = restricted_velocity(rv, r, der, ci, cj, nf, A, env, ptr, first)
    T = np.empty((n, d))
    _rows_times(A, X0, 0, n, T)
    for i in range(nf):
        for a in range(d):
            T[i, a] += xdot[i, a]
    h = 1e-5
    vals = np.empty(4)
    ks = np.array([-2.0, -1.0, 1.0, 2.0])
    for q in range(4):
        Xh = X0 + ks[q] * h * T
        rv, r, der = local_eval(Xh, ci, cj, lam, beta, coeffs, xc, 1)
        vals[q] = _stress_of(rv, r, der, ci, cj, nf, B, VR * np.exp(ks[q] * h * trA))
    return (8.0 * (vals[2] - vals[1]) - (vals[3] - vals[0])) / (12.0 * h)


@njit(cache=True)
def _aqs(X0, sizes, nf, pm, pr, direction, sgn, seed, curve_g, curve_s):
    """Frozen-matrix AQS of one cavity in one direction until the first drop.

    Returns (status, sigma_y, gamma_y, steps): status 0 yielded, 1 no drop before
    nmax steps, 2 relaxation failed. curve_g / curve_s (length ≥ nmax+1, or 0) get the
    visited strains and stresses (NaN after the last). ``pm``:
    :class:`~glass2epm.yieldstress.records.FrozenModel`; ``pr``:
    :class:`~glass2epm.yieldstress.records.FrozenProtocol`."""
    beta, coeffs, xc, na = pm.beta, pm.coeffs, pm.xc, pm.na
    A, B, VR, trA, step, nmax = pr.A, pr.B, pr.VR, pr.trA, pr.step, pr.nmax
    drop_tol, ftol = pr.drop_tol, pr.ftol
    n, d = X0.shape
    skin2 = 0.25 * SKIN * SKIN
    rec = curve_g.shape[0] > 0
    X = X0.copy()
    ci, cj, lam = local_pairs(X, sizes, nf, xc, na, SKIN)
    Xref = X.copy()
    rv, r, der = local_eval(X, ci, cj, lam, beta, coeffs, xc, 2)
    s_prev = _stress_of(rv, r, der, ci, cj, nf, B, VR)
    g_prev = 0.0
    if rec:
        curve_g[0] = 0.0
        curve_s[0] = s_prev
    env, ptr, first, ok = local_hessian(rv, r, der, ci, cj, nf)
    if not ok:
        status, _ = local_relax(X, sizes, nf, beta, coeffs, xc, na, ftol, seed)
        if status != 0:
            return 2, np.nan, np.nan, 0
        ci, cj, lam = local_pairs(X, sizes, nf, xc, na, SKIN)
        Xref = X.copy()
        rv, r, der = local_eval(X, ci, cj, lam, beta, coeffs, xc, 2)
        env, ptr, first, ok = local_hessian(rv, r, der, ci, cj, nf)
    delta = direction * step
    Dst = expm_small(delta * A)
    for k in range(1, nmax + 1):
        g = direction * k * step
        Dn = expm_small(g * A)
        # predictor: D(δ)·x + δ·ẋ on the free particles, D(γ)·x₀ on the frozen ones
        xdot = restricted_velocity(rv, r, der, ci, cj, nf, A, env, ptr, first)
        Xp = np.empty((n, d))
        _rows_times(Dst, X, 0, nf, Xp)
        for i in range(nf):
            for a in range(d):
                Xp[i, a] += delta * xdot[i, a]
        _affine(X0, Dn, nf, Xp)
        Xpred = Xp.copy()
        if max_disp2(Xp, Xref, n) > skin2:
            ci, cj, lam = local_pairs(Xp, sizes, nf, xc, na, SKIN)
            Xref = Xp.copy()
        # corrector: chord iterations with the factor of the previous state
        rv, r, der = local_eval(Xp, ci, cj, lam, beta, coeffs, xc, 2)
        e, F, fmax = local_forces(rv, r, der, ci, cj, nf)
        conv = fmax < ftol
        for it in range(12):
            if conv:
                break
            dx = F.copy().reshape(d * nf)
            envelope_backsolve(env, ptr, first, d * nf, dx, d)
            for i in range(nf):
                for a in range(d):
                    Xp[i, a] += dx[d * i + a]
            if max_disp2(Xp, Xref, n) > skin2:
                ci, cj, lam = local_pairs(Xp, sizes, nf, xc, na, SKIN)
                Xref = Xp.copy()
            rv, r, der = local_eval(Xp, ci, cj, lam, beta, coeffs, xc, 2)
            e2, F2, fm2 = local_forces(rv, r, der, ci, cj, nf)
            slow = not fm2 < 0.5 * fmax
            F, fmax = F2, fm2
            conv = fmax < ftol
            if slow and not conv:
                break
        if not conv:
            ok_n, _ = local_newton(Xp, sizes, nf, beta, coeffs, xc, na, ftol, 30)
            if not ok_n:  # restart from the predictor: the minimum may have vanished
                Xp[:] = Xpred
                status, _ = local_relax(Xp, sizes, nf, beta, coeffs, xc, na, ftol, seed + k)
                if status != 0:  # last resort: the affine map of the previous state
                    _rows_times(Dst, X, 0, nf, Xp)
                    status, _ = local_relax(Xp, sizes, nf, beta, coeffs, xc, na, ftol, seed + 3 * k)
                    if status != 0:
                        return 2, np.nan, np.nan, k
            ci, cj, lam = local_pairs(Xp, sizes, nf, xc, na, SKIN)
            Xref = Xp.copy()
            rv, r, der = local_eval(Xp, ci, cj, lam, beta, coeffs, xc, 2)
        env, ptr, first, ok = local_hessian(rv, r, der, ci, cj, nf)
        if not ok:  # converged onto a saddle: leave it
            status, _ = local_relax(Xp, sizes, nf, beta, coeffs, xc, na, ftol, seed + 7919 * k)
            if status != 0:
                return 2, np.nan, np.nan, k
            ci, cj, lam = local_pairs(Xp, sizes, nf, xc, na, SKIN)
            Xref = Xp.copy()
            rv, r, der = local_eval(Xp, ci, cj, lam, beta, coeffs, xc, 2)
            env, ptr, first, ok = local_hessian(rv, r, der, ci, cj, nf)
        s = _stress_of(rv, r, der, ci, cj, nf, B, VR * np.exp(g * trA))
        if rec:
            curve_g[k] = g
            curve_s[k] = s
        if sgn * direction * (s - s_prev) < -drop_tol:
            return 0, s_prev, g_prev, k
        X = Xp
        s_prev = s
        g_prev = g
    return 1, np.nan, np.nan, nmax


@njit(cache=True)
def _local_subsystem(x, sizes, h, site, radius, reach, hinv, ncell, cstart, members, cap):
    """Positions relative to the site (unwrapped), sizes, number of free particles, and
    global indices; free particles first, ordered along x."""
    d = x.shape[1]
    buf = np.empty(cap, dtype=np.int64)
    r2 = np.empty(cap)
    cnt = query(x[site], x, h, hinv, ncell, cstart, members, reach, buf, r2)
    idx = buf[:cnt]
    rr = r2[:cnt]
    rel = np.empty((cnt, d))
    for q in range(cnt):
        j = idx[q]
        if d == 2:
            rel[q, 0], rel[q, 1] = min_image_2d(x[j, 0] - x[site, 0], x[j, 1] - x[site, 1], h)
        else:
            rel[q, 0], rel[q, 1], rel[q, 2] = min_image_3d(
                x[j, 0] - x[site, 0], x[j, 1] - x[site, 1], x[j, 2] - x[site, 2], h)
    R2 = radius * radius
    isfree = rr <= R2
    nf = 0
    for q in range(cnt):
        if isfree[q]:
            nf += 1
    key = np.empty(cnt)
    for q in range(cnt):
        # free first (by x), then frozen (by index)
        key[q] = rel[q, 0] if isfree[q] else 1e300
    order = np.argsort(key, kind="mergesort")
    # frozen ones: stable order by global index
    fro = order[nf:]
    fro = fro[np.argsort(idx[fro], kind="mergesort")]
    order = np.concatenate((order[:nf], fro))
    X = np.empty((cnt, d))
    sz = np.empty(cnt)
    gidx = np.empty(cnt, dtype=np.int64)
    for q in range(cnt):
        o = order[q]
        X[q] = rel[o]
        sz[q] = sizes[idx[o]]
        gidx[q] = idx[o]
    return X, sz, nf, gidx


@njit(cache=True, parallel=True)
def _frozen_batch(x, sizes, h, sites, radius, reach, pm, pr, seed):
    """All sites: res (m, 6) = σ₀, μ₀, σ_Y, γ_Y, σ_Y^B, γ_Y^B; info (m, 3) = n_free and the
    _aqs status forward / backward; steps (m, 2). ``pm``, ``pr``: as :func:`_aqs`."""
    xc, na, B, VR = pm.xc, pm.na, pr.B, pr.VR
    m = sites.shape[0]
    res = np.full((m, 6), np.nan)
    info = np.zeros((m, 3), dtype=np.int64)
    steps = np.zeros((m, 2), dtype=np.int64)
    ncell, cstart, members = cell_grid(x, h, reach)
    hinv = np.linalg.inv(h)
    cap = _query_capacity(ncell, cstart, x.shape[0])
    empty = np.empty(0)
    for t in prange(m):
        X0, sz, nf, _ = _local_subsystem(x, sizes, h, sites[t], radius, reach, hinv, ncell,
                                         cstart, members, cap)
        info[t, 0] = nf
        ci, cj, lam = local_pairs(X0, sz, nf, xc, na, SKIN)
        rv, r, der = local_eval(X0, ci, cj, lam, pm.beta, pm.coeffs, xc, 1)
        res[t, 0] = _stress_of(rv, r, der, ci, cj, nf, B, VR)
        mu = _modulus(X0, sz, nf, pm, pr)
        res[t, 1] = mu
        sgn = -1.0 if mu < 0 else 1.0
        for k in range(2):
            direction = 1 if k == 0 else -1
            st, sy, gy, ns = _aqs(X0, sz, nf, pm, pr, direction, sgn, seed + 2 * sites[t] + k,
                                  empty, empty)
            res[t, 2 + 2 * k] = sy
            res[t, 3 + 2 * k] = gy
            info[t, 1 + k] = st
            steps[t, k] = ns
    return res, info, steps


# ----------------------------------------------------------------------------
# public API


@dataclass
class FrozenSites:
    """Frozen-matrix results of many sites (output of :func:`frozen_sites`).

    Per site: ``sigma0`` (cavity stress at γ = 0), ``mu0`` (slope at 0),
    ``sigma_y``/``gamma_y`` (forward), ``sigma_y_backward``/``gamma_y_backward``
    (NaN where no drop), ``status`` (n, 2): 0 yielded, 1 no drop before max_strain,
    2 relaxation failed; ``steps`` (n, 2) strain steps taken; ``n_free``.
    """

    sites: np.ndarray
    sigma0: np.ndarray
    mu0: np.ndarray
    sigma_y: np.ndarray
    gamma_y: np.ndarray
    sigma_y_backward: np.ndarray
    gamma_y_backward: np.ndarray
    status: np.ndarray
    steps: np.ndarray
    n_free: np.ndarray


def _setup(conf, radius, geometry, component, margin):

    if radius < 0:
        raise ValueError(f"cavity radius must be non-negative, got {radius}")
    d = conf.dim
    A = deformation_generator(geometry, d)
    B = component_matrix(component, d)
    reach = radius + conf.model.max_cutoff + SKIN + margin
    if reach >= 0.5 * conf.box.perpendicular_widths().min():
        raise ValueError(
            f"cavity radius {radius:g} λ is too large for the frozen-matrix method in this cell: "
            f"the local subsystem (R + r_max + skin + margin = {reach:g} λ) must stay below half "
            f"the cell width ({0.5 * conf.box.perpendicular_widths().min():g} λ)"
        )
    return A, B, reach, cavity_volume(radius, d)


def _model(conf) -> FrozenModel:
    m = conf.model
    return FrozenModel(float(m.beta), m.coeffs, float(m.xc), float(m.na))


def _protocol(A, B, VR, step, nmax, drop_tol, ftol) -> FrozenProtocol:
    return FrozenProtocol(np.ascontiguousarray(A, dtype=float), np.ascontiguousarray(B, dtype=float),
                          float(VR), float(np.trace(A)), float(step), int(nmax), float(drop_tol),
                          float(ftol))


def _check_numbers(step, max_strain, ftol):
    if not step > 0:
        raise ValueError(f"frozen-matrix step must be positive, got {step}")
    if not max_strain >= step:
        raise ValueError(f"max_strain ({max_strain}) must be at least one step ({step})")
    if not ftol > 0:
        raise ValueError(f"ftol must be positive, got {ftol}")
    return int(np.ceil(max_strain / step - 1e-9))


def frozen_sites(conf, sites, radius: float, geometry: str = "simple_shear", component="xy",
                 step: float = 1e-3, max_strain: float = 0.3, drop_tol: float = 1e-6,
                 ftol: float = 1e-10, margin: float = 0.5, threads: int | None = None,
                 seed: int = 0) -> FrozenSites:
    """Frozen-matrix yield stresses of the cavities around ``sites`` (forward and backward).

    ``radius`` R (λ); ``step`` Δγ; ``max_strain``: give up (discard) beyond it;
    ``drop_tol`` (ε/λ^d); ``ftol``: max|F| on the free particles (ε/λ); ``seed``
    seeds the (rare) kicks that leave a saddle. Deterministic. Any subset of sites.
    """

    nmax = _check_numbers(step, max_strain, ftol)
    A, B, reach, VR = _setup(conf, radius, geometry, component, margin)
    sites = np.ascontiguousarray(sites, dtype=np.int64)
    with numba_threads(threads):
        res, info, steps = _frozen_batch(conf.x, conf.sizes, conf.box.h, sites, float(radius),
                                         float(reach), _model(conf),
                                         _protocol(A, B, VR, step, nmax, drop_tol, ftol), int(seed))
    return FrozenSites(sites, res[:, 0], res[:, 1], res[:, 2], res[:, 3], res[:, 4], res[:, 5],
                       info[:, 1:3].copy(), steps, info[:, 0].copy())


def frozen_site_curve(conf, site: int, radius: float, geometry: str = "simple_shear",
                      component="xy", direction: int = 1, step: float = 1e-3,
                      max_strain: float = 0.3, drop_tol: float = 1e-6, ftol: float = 1e-10,
                      margin: float = 0.5, seed: int = 0) -> FrozenCurve:
    """The frozen-matrix σ(γ) of one cavity and direction (numba path), up to the drop
    (the first point after the drop included)."""
    if direction not in (1, -1):
        raise ValueError("direction must be +1 (forward) or -1 (backward)")
    nmax = _check_numbers(step, max_strain, ftol)
    A, B, reach, VR = _setup(conf, radius, geometry, component, margin)
    ncell, cstart, members = cell_grid(conf.x, conf.box.h, reach)
    cap = _query_capacity(ncell, cstart, conf.N)
    X0, sz, nf, _ = _local_subsystem(conf.x, conf.sizes, conf.box.h, int(site), float(radius),
                                     float(reach), np.linalg.inv(conf.box.h), ncell, cstart,
                                     members, cap)
    pm, pr = _model(conf), _protocol(A, B, VR, step, nmax, drop_tol, ftol)
    mu = _modulus(X0, sz, nf, pm, pr)
    sgn = -1.0 if mu < 0 else 1.0
    cg = np.full(nmax + 1, np.nan)
    cs = np.full(nmax + 1, np.nan)
    st, sy, gy, ns = _aqs(X0, sz, nf, pm, pr, direction, sgn, int(seed) + 2 * int(site) + (0 if direction == 1 else 1), cg, cs)
    keep = np.isfinite(cg)
    return FrozenCurve(cg[keep], cs[keep], st == 0, float(sy), float(gy), int(ns),
                       extra={"status": int(st), "mu0": float(mu), "n_free": int(nf)})


def chunk_sites(sites, k: int, K: int) -> np.ndarray:
    """Chunk k (0-based) of K of a site list: every K-th site from k (interleaved, so
    chunks get sites from the whole cell and similar costs)."""
    if not (isinstance(K, (int, np.integer)) and K >= 1):
        raise ValueError(f"number of chunks must be a positive integer, got {K}")
    if not 0 <= k < K:
        raise ValueError(f"chunk index must be in 0..{K - 1} (0-based), got {k}")
    return np.asarray(sites)[k::K]
