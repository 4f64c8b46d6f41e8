"""Mechanics of a small local subsystem with a frozen shell, all in numba.

The frozen-matrix method (:mod:`glass2epm.yieldstress.frozen`) and the coming
constrained protocols relax a few hundred free particles inside a matrix of particles
held fixed. Here live the pieces they share, on a local subsystem:

positions X (n, d) relative to a centre (minimum image, unwrapped: no periodic images),
free particles first (0..nf−1, ordered along x so the free–free Hessian is a narrow
envelope), then the frozen shell. Pairs with at least one free end are listed within
x_c λ_ij + ``SKIN`` (:func:`local_pairs`).

* :func:`local_forces` — energy and forces on the free particles (the pair force
  −φ'/r x_ι of Eq. B1);
* :func:`local_hessian` — the free–free Hessian H_FF (pair blocks of Eq. B7) in envelope
  storage, factorised (:mod:`glass2epm.mechanics.envelope`);
* Eq. (5) restricted to the free rows, H_FF ẋ_F = −[H·(A x)]_F, is the one linear-response
  module's :func:`glass2epm.mechanics.linear_response.restricted_velocity`;
* :func:`local_fire` — FIRE on the free particles: the same step as the global
  minimiser (:func:`glass2epm.mechanics.minimize.fire_step`);
* :func:`local_newton` — full Newton with backtracking (the local analogue of the
  CHOLMOD polish of :func:`glass2epm.mechanics.minimize.minimize`);
* :func:`local_relax` — Newton, else FIRE + Newton, ending at a positive-definite H_FF.

The pair scalars come from :func:`glass2epm.core.model._radial_derivatives` and
:func:`glass2epm.core.contractions.first_second` (Eqs. B1, B2), as everywhere else.
Units: λ, ε, forces ε/λ.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from glass2epm.core.contractions import first_second, pair_first
from glass2epm.core.model import _radial_derivatives, pair_size
from glass2epm.mechanics.envelope import envelope_backsolve, envelope_factor, particle_envelope
from glass2epm.mechanics.minimize import fire_power, fire_step

SKIN = 0.4


@njit(cache=True)
def local_pairs(X, sizes, nf, xc, na, skin):
    n, d = X.shape
    cnt = 0
    for pas in range(2):
        if pas == 1:
            ci = np.empty(cnt, dtype=np.int64)
            cj = np.empty(cnt, dtype=np.int64)
            lam = np.empty(cnt)
            cnt = 0
        for i in range(nf):
            for j in range(i + 1, n):
                lij = pair_size(sizes[i], sizes[j], na)
                rc = xc * lij + skin
                r2 = 0.0
                for a in range(d):
                    t = X[j, a] - X[i, a]
                    r2 += t * t
                if r2 < rc * rc:
                    if pas == 1:
                        ci[cnt] = i
                        cj[cnt] = j
                        lam[cnt] = lij
                    cnt += 1
    return ci, cj, lam


@njit(cache=True)
def local_eval(X, ci, cj, lam, beta, coeffs, xc, order):
    """Separations x_ι = X_j − X_i, distances and φ..φ^(order) of the listed pairs."""
    m = ci.shape[0]
    d = X.shape[1]
    rv = np.empty((m, d))
    r = np.empty(m)
    for p in range(m):
        s = 0.0
        for a in range(d):
            t = X[cj[p], a] - X[ci[p], a]
            rv[p, a] = t
            s += t * t
        r[p] = np.sqrt(s)
    return rv, r, _radial_derivatives(r, lam, beta, coeffs, xc, order)


@njit(cache=True)
def local_forces(rv, r, der, ci, cj, nf):
    """(energy of the listed pairs, forces on the free particles (nf, d), max|F|)."""
    d = rv.shape[1]
    F = np.zeros((nf, d))
    e = 0.0
    for p in range(ci.shape[0]):
        e += der[0, p]
        g = pair_first(r[p], der[1, p])
        for a in range(d):
            f = g * rv[p, a]  # ∂φ/∂x_j = φ'/r x_ι ; F_j = −that, F_i = +that
            if cj[p] < nf:
                F[cj[p], a] -= f
            F[ci[p], a] += f
    fmax = 0.0
    for i in range(nf):
        s = 0.0
        for a in range(d):
            s += F[i, a] * F[i, a]
        fmax = max(fmax, np.sqrt(s))
    return e, F, fmax


@njit(cache=True)
def local_hessian(rv, r, der, ci, cj, nf):
    """Free–free Hessian block in envelope storage (interacting pairs only), factorised.
    Returns (env, ptr, first, ok)."""
    d = rv.shape[1]
    firstp = np.arange(nf)
    for p in range(ci.shape[0]):
        if cj[p] < nf and der[1, p] != 0.0:
            if ci[p] < firstp[cj[p]]:
                firstp[cj[p]] = ci[p]
    nd = d * nf
    first, ptr, env = particle_envelope(firstp, nf, d)
    touched = np.zeros(nf, dtype=np.bool_)
    for p in range(ci.shape[0]):
        if der[1, p] == 0.0 and der[2, p] == 0.0:
            continue
        f1, f2 = first_second(r[p], der[1, p], der[2, p])
        i = ci[p]
        j = cj[p]
        jf = j < nf
        touched[i] = True
        if jf:
            touched[j] = True
        for a in range(d):
            for c in range(a + 1):
                k = f2 * rv[p, a] * rv[p, c]
                if a == c:
                    k += f1
                r_ = d * i + a
                env[ptr[r_] + d * i + c - first[r_]] += k
                if jf:
                    r_ = d * j + a
                    env[ptr[r_] + d * j + c - first[r_]] += k
        if jf:  # j > i: block (j, i)
            for a in range(d):
                r_ = d * j + a
                for c in range(d):
                    k = f2 * rv[p, a] * rv[p, c]
                    if a == c:
                        k += f1
                    env[ptr[r_] + d * i + c - first[r_]] -= k
    for l in range(nf):
        if not touched[l]:  # a free particle without interactions (rattler)
            for a in range(d):
                r_ = d * l + a
                env[ptr[r_] + r_ - first[r_]] = 1.0
    ok = envelope_factor(env, ptr, first, nd, d)
    return env, ptr, first, ok


@njit(cache=True)
def max_disp2(X, Xref, n):
    """Largest squared displacement of particles 0..n−1 since Xref."""
    m = 0.0
    for i in range(n):
        s = 0.0
        for a in range(X.shape[1]):
            t = X[i, a] - Xref[i, a]
            s += t * t
        m = max(m, s)
    return m


@njit(cache=True)
def local_fire(X, sizes, nf, beta, coeffs, xc, na, ftarget, max_steps):
    """FIRE on the free particles, in place: :func:`~glass2epm.mechanics.minimize.fire_step`
    (dt_max = 0.05, largest move 0.1 λ per step), the pair list rebuilt once a free
    particle moved SKIN/2. Returns (converged, steps)."""
    d = X.shape[1]
    dtmax = 0.05
    state = np.array([0.1 * dtmax, 0.1, 0.0, dtmax, 0.0])
    md2 = 0.25 * SKIN * SKIN
    V = np.zeros((nf, d))
    Xref = X.copy()
    ci, cj, lam = local_pairs(X, sizes, nf, xc, na, SKIN)
    stale = False
    for step in range(max_steps):
        if stale:
            Xref = X.copy()
            ci, cj, lam = local_pairs(X, sizes, nf, xc, na, SKIN)
        rv, r, der = local_eval(X, ci, cj, lam, beta, coeffs, xc, 1)
        e, F, fmax = local_forces(rv, r, der, ci, cj, nf)
        if fmax < ftarget:
            return True, step
        _, P, fn2 = fire_power(F, V, nf)
        stale = fire_step(X, V, F, nf, P, fn2, state, 0.1, Xref, md2)
    return False, max_steps


@njit(cache=True)
def local_newton(X, sizes, nf, beta, coeffs, xc, na, ftol, max_iter):
    """Full Newton on the free particles (fresh factor each step, backtracking on
    max|F| and energy), in place. Returns (converged, iterations)."""
    d = X.shape[1]
    ci, cj, lam = local_pairs(X, sizes, nf, xc, na, SKIN)
    Xref = X.copy()
    rv, r, der = local_eval(X, ci, cj, lam, beta, coeffs, xc, 2)
    e, F, fmax = local_forces(rv, r, der, ci, cj, nf)
    for it in range(max_iter):
        if fmax < ftol:
            return True, it
        env, ptr, first, ok = local_hessian(rv, r, der, ci, cj, nf)
        if not ok:
            return False, it
        dx = F.copy().reshape(d * nf)
        envelope_backsolve(env, ptr, first, d * nf, dx, d)
        t = 1.0
        accepted = False
        Xt = X.copy()
        for _ in range(12):
            for i in range(nf):
                for a in range(d):
                    Xt[i, a] = X[i, a] + t * dx[d * i + a]
            if max_disp2(Xt, Xref, nf) > 0.25 * SKIN * SKIN:
                return False, it  # a large step: not in the basin of this Newton
            rv, r, der = local_eval(Xt, ci, cj, lam, beta, coeffs, xc, 2)
            et, Ft, fmt = local_forces(rv, r, der, ci, cj, nf)
            if (fmt < fmax and (et <= e + 1e-12 * abs(e) or fmax < 1e-6)) or fmt < ftol:
                accepted = True
                break
            t *= 0.5
        if not accepted:
            return False, it
        X[:nf] = Xt[:nf]
        e, F, fmax = et, Ft, fmt
    return fmax < ftol, max_iter


@njit(cache=True)
def local_relax(X, sizes, nf, beta, coeffs, xc, na, ftol, seed):
    """Robust relaxation of the free particles: Newton, else FIRE + Newton, else FIRE
    to ftol. Ends at a state with a positive-definite free–free Hessian when possible
    (a saddle is left along a small random kick). Returns status (0 converged,
    1 failed) and the number of FIRE steps used."""
    fire_steps = 0
    for attempt in range(4):
        ok, _ = local_newton(X, sizes, nf, beta, coeffs, xc, na, ftol, 30)
        if not ok:
            conv, st = local_fire(X, sizes, nf, beta, coeffs, xc, na, max(ftol, 1e-7), 200000)
            fire_steps += st
            if not conv:
                return 1, fire_steps
            ok, _ = local_newton(X, sizes, nf, beta, coeffs, xc, na, ftol, 30)
            if not ok:
                conv, st = local_fire(X, sizes, nf, beta, coeffs, xc, na, ftol, 500000)
                fire_steps += st
                if not conv:
                    return 1, fire_steps
        ci, cj, lam = local_pairs(X, sizes, nf, xc, na, SKIN)
        rv, r, der = local_eval(X, ci, cj, lam, beta, coeffs, xc, 2)
        env, ptr, first, pd = local_hessian(rv, r, der, ci, cj, nf)
        if pd:
            return 0, fire_steps
        np.random.seed(seed + attempt)
        for i in range(nf):
            for a in range(X.shape[1]):
                X[i, a] += 1e-4 * (np.random.random() - 0.5)
    return 1, fire_steps


