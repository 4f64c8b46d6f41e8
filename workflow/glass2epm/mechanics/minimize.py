"""Energy minimisation to an inherent state: FIRE for the descent, Newton polish.

FIRE (Bitzek et al. 2006, with the FIRE 2.0 corrections of Guénolé et al. 2020:
semi-implicit Euler and a half-step back-off on uphill motion) runs inside numba
in chunks that end when the Verlet list may be invalid. Once max|F| is below
``newton_from`` the sparse Hessian takes over: Newton steps H·Δx = F with
translations removed (:class:`~glass2epm.mechanics.hessian.HessianSolver`) converge
quadratically to the round-off floor.

Convergence is judged on max_i |F_i| (ε/λ). The default tolerance
:func:`default_ftol` sits above the double-precision floor at every N (that
floor grows with N: ~1e-11 at N = 1e3, 1e-10 at 1e5, 5e-10 at 1e6 with absolute
coordinates). Failure to converge raises :class:`MinimizationError`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from glass2epm.core.box import Box
from glass2epm.mechanics.hessian import (ConstrainedSolver, HessianSolver, NotPositiveDefinite, SPDSolver,
                                         hessian)
from glass2epm.core.io import Configuration
from glass2epm.core.model import Model
from glass2epm.core.runtime import blas_threads, numba_threads
from glass2epm.core.potential import (FORCE_BLOCKS, PARALLEL_MIN_N, ForceField, effective_threads,
                                      energy_forces_half, energy_forces_threaded, pair_model)

log = logging.getLogger(__name__)


class MinimizationError(RuntimeError):
    pass


def default_ftol(n: int) -> float:
    """Default max|F| tolerance (ε/λ): 1e-10·max(1, √(N/10⁴)); ≥ 2× the round-off floor."""
    return 1e-10 * max(1.0, np.sqrt(n / 1e4))


@dataclass
class MinimizeResult:
    energy: float
    fmax: float
    force_evaluations: int
    fire_steps: int
    newton_steps: int
    converged: bool


class FireRun(NamedTuple):
    """What one FIRE chunk may do: stop at max|F| < ``ftarget`` or after ``max_steps``;
    the list (built at ``x_ref``) is stale once a particle moved ``max_disp``; ``mobile``
    (N,) is 1 for particles that move, 0 for frozen ones; ``maxmove`` caps the largest move
    per step. (The caller sets numba's threads; the kernels are chosen by N alone,
    :func:`~glass2epm.core.potential.threaded`.)"""

    x_ref: np.ndarray
    max_disp: float
    ftarget: float
    max_steps: int
    mobile: np.ndarray
    maxmove: float


@njit(cache=True, error_model="numpy")
def fire_power(forces, v, n):
    """(max_i |F_i|², P = F·v, |F|²) over the rows 0..n−1: what a FIRE step decides on."""
    return _power_rows(forces, v, 0, n)


@njit(cache=True, error_model="numpy")
def _power_rows(forces, v, i0, i1):
    """(max_i |F_i|², F·v, |F|²) over the rows i0..i1−1, summed in row order."""
    d = forces.shape[1]
    fmax2 = 0.0
    P = 0.0
    fn2 = 0.0
    for i in range(i0, i1):
        f2 = 0.0
        for a in range(d):
            f2 += forces[i, a] * forces[i, a]
            P += forces[i, a] * v[i, a]
        fn2 += f2
        if f2 > fmax2:
            fmax2 = f2
    return fmax2, P, fn2


@njit(cache=True, error_model="numpy")
def _fire_schedule(state, P):
    """FIRE's time step and mixing after a step of power P (Bitzek et al. 2006; FIRE 2.0
    back-off of Guénolé et al. 2020): (dt, α, n_pos, uphill)."""
    dt = state[0]
    alpha = state[1]
    npos = state[2]
    dtmax = state[3]
    if P > 0.0:
        npos += 1
        if npos > 5:
            dt = min(dt * 1.1, dtmax)
            alpha *= 0.99
        return dt, alpha, npos, False
    return max(dt * 0.5, 1e-4 * dtmax), 0.1, 0.0, True


@njit(cache=True, error_model="numpy")
def _kick_rows(x, v, forces, i0, i1, dt, uphill):
    """Rows i0..i1−1: on an uphill step x −= dt v/2 and v = 0; then v += dt F. Returns Σ|v|²."""
    d = x.shape[1]
    if uphill:
        for i in range(i0, i1):
            for a in range(d):
                x[i, a] -= 0.5 * dt * v[i, a]
                v[i, a] = 0.0
    vn2 = 0.0
    for i in range(i0, i1):
        for a in range(d):
            v[i, a] += dt * forces[i, a]
            vn2 += v[i, a] * v[i, a]
    return vn2


@njit(cache=True, error_model="numpy")
def _mix_rows(v, forces, i0, i1, alpha, mix):
    """Rows i0..i1−1: v ← (1 − α) v + mix F. Returns max_i |v_i|²."""
    d = v.shape[1]
    vmax2 = 0.0
    for i in range(i0, i1):
        w2 = 0.0
        for a in range(d):
            v[i, a] = (1.0 - alpha) * v[i, a] + mix * forces[i, a]
            w2 += v[i, a] * v[i, a]
        if w2 > vmax2:
            vmax2 = w2
    return vmax2


@njit(cache=True, error_model="numpy")
def _move_rows(x, v, i0, i1, dt, scale, x_ref, md2):
    """Rows i0..i1−1: v *= scale, x += dt v. Returns True when a row moved more than
    √md2 from ``x_ref``."""
    d = x.shape[1]
    stale = False
    for i in range(i0, i1):
        dd = 0.0
        for a in range(d):
            v[i, a] *= scale
            x[i, a] += dt * v[i, a]
            dx = x[i, a] - x_ref[i, a]
            dd += dx * dx
        if dd > md2:
            stale = True
    return stale


@njit(cache=True, error_model="numpy")
def _mixing(alpha, vn2, fn2):
    """α|v|/|F|: the weight of F in FIRE's velocity mixing."""
    return alpha * np.sqrt(vn2 / fn2) if fn2 > 0 else 0.0


@njit(cache=True, error_model="numpy")
def _move_cap(dt, vmax2, maxmove):
    """Factor that limits the largest move dt |v_i| to ``maxmove`` (λ)."""
    if dt * np.sqrt(vmax2) > maxmove:
        return maxmove / (dt * np.sqrt(vmax2))
    return 1.0


@njit(cache=True, error_model="numpy")
def fire_step(x, v, forces, n, P, fn2, state, maxmove, x_ref, md2):
    """One FIRE move of the rows 0..n−1 of x, v, in place (the one FIRE of the package).

    FIRE (Bitzek et al. 2006) with the FIRE 2.0 corrections (Guénolé et al. 2020):
    after N_min = 5 downhill steps (P = F·v > 0) dt grows ×1.1 up to dt_max and α
    shrinks ×0.99; an uphill step (P ≤ 0) halves dt (down to 1e-4 dt_max), resets
    α = α₀ = 0.1, moves x back by dt v/2 and zeroes v; then the semi-implicit Euler
    update v += dt F, the mixing v ← (1 − α) v + α |v|/|F| F, a cap of the largest move
    dt |v_i| at ``maxmove`` (λ) and x += dt v. ``P``, ``fn2`` from :func:`fire_power`;
    ``state`` = [dt, α, n_pos, dt_max, …] is updated in place. Returns True when a
    row moved more than √``md2`` from ``x_ref`` (the neighbour list may be stale).
    :func:`fire_step_blocks` is the same step over row blocks on threads.
    """
    dt, alpha, npos, uphill = _fire_schedule(state, P)
    vn2 = _kick_rows(x, v, forces, 0, n, dt, uphill)
    mix = _mixing(alpha, vn2, fn2)
    vmax2 = _mix_rows(v, forces, 0, n, alpha, mix)
    stale = _move_rows(x, v, 0, n, dt, _move_cap(dt, vmax2, maxmove), x_ref, md2)
    state[0] = dt
    state[1] = alpha
    state[2] = npos
    return stale


@njit(cache=True, error_model="numpy", parallel=True)
def fire_power_blocks(forces, v, lo):
    """:func:`fire_power` over the row blocks lo[b]..lo[b+1]−1 on threads; the block sums
    are added in block order (results depend on the block count at round-off)."""
    nb = lo.shape[0] - 1
    part = np.zeros((nb, 3))
    for b in prange(nb):
        f, P, g = _power_rows(forces, v, lo[b], lo[b + 1])
        part[b, 0] = f
        part[b, 1] = P
        part[b, 2] = g
    fmax2 = 0.0
    P = 0.0
    fn2 = 0.0
    for b in range(nb):
        fmax2 = max(fmax2, part[b, 0])
        P += part[b, 1]
        fn2 += part[b, 2]
    return fmax2, P, fn2


@njit(cache=True, error_model="numpy", parallel=True)
def fire_step_blocks(x, v, forces, P, fn2, state, maxmove, x_ref, md2, lo):
    """:func:`fire_step` over the row blocks lo[b]..lo[b+1]−1 on threads (the same
    per-row arithmetic; the sums |v|² and max |v_i|² combined in block order)."""
    nb = lo.shape[0] - 1
    dt, alpha, npos, uphill = _fire_schedule(state, P)
    part = np.zeros(nb)
    for b in prange(nb):
        part[b] = _kick_rows(x, v, forces, lo[b], lo[b + 1], dt, uphill)
    vn2 = 0.0
    for b in range(nb):
        vn2 += part[b]
    mix = _mixing(alpha, vn2, fn2)
    for b in prange(nb):
        part[b] = _mix_rows(v, forces, lo[b], lo[b + 1], alpha, mix)
    vmax2 = part.max()
    scale = _move_cap(dt, vmax2, maxmove)
    flags = np.zeros(nb, dtype=np.bool_)
    for b in prange(nb):
        flags[b] = _move_rows(x, v, lo[b], lo[b + 1], dt, scale, x_ref, md2)
    state[0] = dt
    state[1] = alpha
    state[2] = npos
    return flags.any()


@njit(cache=True, error_model="numpy")
def project_out(forces, proj):
    """Remove from ``forces`` (N, d), in place, its components along the orthonormal
    vectors ``proj`` (k, N, d): the force of a minimisation with Q·x held fixed."""
    k, n, d = proj.shape
    for c in range(k):
        s = 0.0
        for i in range(n):
            for a in range(d):
                s += forces[i, a] * proj[c, i, a]
        for i in range(n):
            for a in range(d):
                forces[i, a] -= s * proj[c, i, a]


@njit(cache=True, error_model="numpy")
def _fire_chunk(x, v, h, nl, pm, run, state, forces, stress, proj):
    """Run FIRE until max|F| < ftarget (0), the list may be stale (1) or max_steps (2).

    ``nl`` a :class:`~glass2epm.core.neighbors.NeighbourList`, ``pm`` a
    :class:`~glass2epm.core.potential.PairModel`, ``run`` a :class:`FireRun`;
    state = [dt, alpha, npos, dtmax, steps_done], updated in place (:func:`fire_step`).
    ``proj`` (k, N, d) orthonormal constraint vectors projected out of the forces
    (k = 0: none), so that Q·x stays at its start value (AQRD).
    From N = :data:`~glass2epm.core.potential.PARALLEL_MIN_N` the forces come from the
    threaded kernel and the FIRE update runs over
    :data:`~glass2epm.core.potential.FORCE_BLOCKS` row blocks on numba's threads
    (:func:`fire_power_blocks`, :func:`fire_step_blocks`; at N = 4·10⁴ the serial update
    took 0.31 ms of a 1.7 ms iteration); the blocks, hence every sum's order, are fixed, so
    the thread count never changes the path.
    """
    n, d = x.shape
    md2 = run.max_disp * run.max_disp
    steps = 0
    status = 2
    threaded = n >= PARALLEL_MIN_N
    nb = FORCE_BLOCKS if threaded else 1
    lo = np.empty(nb + 1, dtype=np.int64)
    for b in range(nb + 1):
        lo[b] = (n * b) // nb
    frozen = False
    for i in range(n):
        if run.mobile[i] == 0.0:
            frozen = True
    while steps < run.max_steps:
        if threaded:
            energy_forces_threaded(x, h, nl, pm, forces, stress)
        else:
            energy_forces_half(x, h, nl, pm, forces, stress)
        steps += 1
        if frozen:
            for i in range(n):
                if run.mobile[i] == 0.0:
                    for a in range(d):
                        forces[i, a] = 0.0
        if proj.shape[0] > 0:
            project_out(forces, proj)
        if threaded:
            fmax2, P, fn2 = fire_power_blocks(forces, v, lo)
        else:
            fmax2, P, fn2 = fire_power(forces, v, n)
        if np.sqrt(fmax2) < run.ftarget:
            status = 0
            break
        if threaded:
            moved = fire_step_blocks(x, v, forces, P, fn2, state, run.maxmove, run.x_ref, md2, lo)
        else:
            moved = fire_step(x, v, forces, n, P, fn2, state, run.maxmove, run.x_ref, md2)
        if moved:
            status = 1
            break
    state[4] += steps
    return status


@dataclass
class NewtonResult:
    """The end of a Newton polish: positions, energy (ε), forces (ε/λ), stress (ε/λ^d),
    max|F|, Newton steps taken, force evaluations, and whether max|F| < ftol was reached."""

    x: np.ndarray
    energy: float
    forces: np.ndarray
    stress: np.ndarray
    fmax: float
    steps: int
    evaluations: int
    converged: bool


def hessian_factor(ff: ForceField, x, sizes, box, ordering=None) -> HessianSolver:
    """The factorised Hessian at x (translations removed) from the pairs of a fresh list;
    raises :class:`~glass2epm.mechanics.hessian.NotPositiveDefinite` off a minimum."""
    n, d = x.shape
    return HessianSolver(hessian(Configuration(x, sizes, box, ff.model), ff), n, d, ordering=ordering)


def orthonormal_constraints(constraint) -> np.ndarray:
    """Orthonormal (k, N, d) basis of constraint vectors ((N, d) or (k, N, d)); zero-norm
    or dependent vectors raise ValueError. Oriented like the input (Gram–Schmidt): the
    j-th basis vector has a positive overlap with the j-th input, so Q·c = +|c| for one c."""
    Q = np.asarray(constraint, dtype=float)
    if Q.ndim == 2:
        Q = Q[None]
    k = Q.shape[0]
    flat = Q.reshape(k, -1).T
    q, r = np.linalg.qr(flat)
    if np.any(np.abs(np.diag(r)) <= 1e-12 * max(np.abs(r).max(), 1e-300)):
        raise ValueError("constraint vectors are zero or linearly dependent")
    q = q * np.sign(np.diag(r))  # QR's signs are arbitrary (LAPACK): orient as the input
    return np.ascontiguousarray(q.T.reshape(Q.shape))


def constrained_factor(ff: ForceField, x, sizes, box, constraint):
    """The bordered Hessian at x with the constraint vectors (k, N, d) and translations
    (:class:`~glass2epm.mechanics.hessian.ConstrainedSolver`), pairs of a fresh list."""
    n, d = x.shape
    return ConstrainedSolver(hessian(Configuration(x, sizes, box, ff.model), ff), n, d, constraint)


#: factor by which a chord step of :func:`newton` (``reuse``) must lower max|F| to be kept
CHORD_GAIN = 0.1


def _moved(x, x_start) -> float:
    """max_i |x_i − x_start,i| (λ)."""
    u = x - x_start
    return float(np.sqrt(np.einsum("ij,ij->i", u, u).max()))


def newton(ff: ForceField, x, sizes, box, ftol: float, max_steps: int = 20, *, mobile=None,
           free_dofs=None, factorize=None, progress=None, first_step: int = 0,
           max_move: float | None = None, constraint=None, constraint_ref=None,
           reuse: bool = False) -> NewtonResult:
    """Newton's method H·Δx = F to max|F| < ``ftol`` (ε/λ): the one Newton of the package.

    Each step factorises the Hessian at the current positions (``factorize(x)`` →
    a solver with ``.solve(F)``; default :func:`hessian_factor`); a Hessian that is not
    positive definite ends the polish unconverged (not near a stable minimum). The step
    is halved up to 7 times until max|F| drops and the energy does not rise (while it is
    resolvable, max|F| ≥ 10⁻⁷); a step that cannot be made to descend ends it unconverged.
    ``mobile`` (N,) 0/1 and ``free_dofs`` restrict it to the free particles (frozen matrix
    of Sec. IV: the free–free Hessian block). Stops unconverged after ``max_steps`` steps,
    or once a particle moved more than ``max_move`` (λ) from the start (it left the basin
    the caller meant).

    ``reuse`` (unconstrained, all particles free): after the first factorisation, each
    step first tries the full step with the last factor (a chord step); it is kept when
    max|F| drops by at least ``CHORD_GAIN`` and the energy does not rise, otherwise the
    Hessian is factorised again. Near a minimum, where the polish starts (max|F| ~ 10⁻⁵),
    one factorisation then converges in 2–3 chord steps instead of 2–3 factorisations;
    ``steps`` counts factorisations, the chord steps count as evaluations only.

    ``constraint`` (orthonormal (k, N, d), :func:`orthonormal_constraints`): minimise
    with Q·x held at Q·``constraint_ref`` (default: the start; AQRD, ERRATA of
    agoritsas-global-shear-vs-random-forcing): each step solves the bordered system
    [[H, Q], [Qᵀ, 0]] (:func:`constrained_factor`, or ``factorize``), which also removes a
    round-off drift of Q·x; convergence and descent are judged on the projected force
    F − Q(Qᵀ F), whose removed part is the constraint force (−multiplier).
    The returned ``forces`` are the full forces.
    """
    n, d = x.shape
    x_start = x
    e, f, s = ff.compute(x, sizes, box)
    evals = 1
    if mobile is not None:
        f *= mobile[:, None]
    if constraint is not None:
        Q = np.asarray(constraint, dtype=float)
        g_ref = np.einsum("kia,ia->k", Q, x if constraint_ref is None else constraint_ref)

        def free(ff_):
            fp = ff_.copy()
            project_out(fp, Q)
            return fp
    else:
        free = None
    fmax = float(np.abs(f if free is None else free(f)).max())
    steps = 0
    ok = True
    reuse = reuse and constraint is None and free_dofs is None and mobile is None
    kept = None  # the factor chord steps reuse
    while fmax >= ftol:
        if kept is not None:  # a chord step with the last factor (reuse)
            xt = x + kept.solve(f)
            et, ft, st = ff.compute(xt, sizes, box)
            evals += 1
            fmt = float(np.abs(ft).max())
            if fmt < CHORD_GAIN * fmax and (et <= e + 1e-13 * abs(e) or fmax < 1e-7):
                x, e, f, s, fmax = xt, et, ft, st, fmt
                if max_move is not None and fmax >= ftol and _moved(x, x_start) > max_move:
                    ok = False
                    break
                continue
        if steps >= max_steps:
            ok = False
            break
        try:
            if constraint is not None:
                fac = constrained_factor(ff, x, sizes, box, Q) if factorize is None else factorize(x)
                dx, _ = fac.solve(f, g_ref - np.einsum("kia,ia->k", Q, x))
            elif free_dofs is not None:
                H = hessian(Configuration(x, sizes, box, ff.model), ff)
                dx = np.zeros_like(f)
                dx.reshape(-1)[free_dofs] = SPDSolver(H[free_dofs][:, free_dofs])(f.reshape(-1)[free_dofs])
            else:
                fac_k = hessian_factor(ff, x, sizes, box) if factorize is None else factorize(x)
                dx = fac_k.solve(f)
                if reuse:
                    kept = fac_k
        except NotPositiveDefinite:
            ok = False
            break
        step = 1.0
        accepted = False
        for _ in range(8):
            xt = x + step * dx
            et, ft, st = ff.compute(xt, sizes, box)
            if mobile is not None:
                ft *= mobile[:, None]
            evals += 1
            fmt = float(np.abs(ft if free is None else free(ft)).max())
            # descent: max|F| must drop, and the energy too while it is resolvable
            downhill = et <= e + 1e-13 * abs(e) or fmax < 1e-7
            if (fmt < fmax and downhill) or fmt < ftol:
                accepted = True
                break
            step *= 0.5
        steps += 1
        if progress is not None:
            progress("newton", first_step + steps, fmt)
        if not accepted:
            ok = False
            break
        x, e, f, s, fmax = xt, et, ft, st, fmt
        if max_move is not None and fmax >= ftol and _moved(x, x_start) > max_move:
            ok = False
            break
    return NewtonResult(x, float(e), f, s, fmax, steps, evals, ok)


def minimize(
    conf: Configuration,
    ftol: float | None = None,
    max_steps: int = 2_000_000,
    newton_from: float = 1e-5,
    max_newton: int = 20,
    threads: int = 1,
    skin: float = 0.3,
    dtmax: float = 0.05,
    progress=None,
    x0: np.ndarray | None = None,
    frozen: np.ndarray | None = None,
    factorize=None,
    constraint: np.ndarray | None = None,
    reuse: bool = False,
) -> tuple[Configuration, MinimizeResult]:
    """Minimise the energy at fixed box; returns the inherent state and a summary.

    Parameters
    ----------
    ftol : max|F| tolerance in ε/λ (default :func:`default_ftol`).
    newton_from : max|F| below which Newton steps replace FIRE.
    threads : numba threads for the force kernel and the FIRE update (from N = 4000 the threaded
        kernel over fixed blocks, on any number of threads: the result does not depend on them).
    x0 : optional starting positions (e.g. a linear-response prediction).
    frozen : optional boolean mask of particles held fixed (the frozen matrix of
        Sec. IV); forces and convergence then concern the other particles only, and
        Newton steps use the free–free block of the Hessian.
    factorize : optional ``factorize(x)`` → Hessian solver for the Newton polish
        (:func:`newton`; e.g. one that keeps a CHOLMOD ordering).
    reuse : Newton polish with chord steps on its last factorisation (:func:`newton`).
    constraint : optional (N, d) or (k, N, d) vectors q whose projections q·x are held
        at their start values (AQRD: x = x₀ + γc + u with ⟨c|u⟩ = 0; ERRATA of
        agoritsas-global-shear-vs-random-forcing): FIRE moves along the projected force
        (:func:`project_out`), the Newton polish solves the bordered system; max|F| is
        then that of the projected force. Not combined with ``frozen``.
    """
    model: Model = conf.model
    n, d = conf.N, conf.dim
    ftol = default_ftol(n) if ftol is None else float(ftol)
    if ftol <= 0:
        raise ValueError(f"ftol must be positive, got {ftol}")
    box: Box = conf.box
    x = np.array(conf.x if x0 is None else x0, dtype=float, copy=True)
    sizes = conf.sizes
    ff = ForceField(model, skin=skin, threads=effective_threads(threads, n))
    pm = pair_model(model)
    if frozen is not None:
        frozen = np.asarray(frozen, dtype=bool)
        if frozen.shape != (n,):
            raise ValueError(f"frozen mask has shape {frozen.shape}, expected ({n},)")
        if frozen.all():
            raise ValueError("every particle is frozen: nothing to minimise")
    if constraint is not None and frozen is not None:
        raise ValueError("minimize: constraint and frozen cannot be combined")
    Q = (np.zeros((0, n, d)) if constraint is None
         else orthonormal_constraints(np.asarray(constraint, dtype=float).reshape(-1, n, d)))
    x_ref = x.copy()
    mobile = np.ones(n) if frozen is None else (~frozen).astype(float)
    free_dofs = None if frozen is None else np.flatnonzero(np.repeat(~frozen, d))
    v = np.zeros_like(x)
    forces = np.empty_like(x)
    stress = np.empty((d, d))
    state = np.array([0.1 * dtmax, 0.1, 0.0, dtmax, 0.0])
    fire_target = max(ftol, newton_from)
    evals = 0
    newton_steps = 0
    # numba's threads also when 1 (from N = 4000 the threaded kernel runs on them); the Newton
    # polish's CHOLMOD factor on one BLAS thread: its round-off then does not depend on the BLAS
    # thread count either (Snakemake sets it from a job's threads)
    with numba_threads(ff.threads), blas_threads(1):
        for attempt in range(12):
            # ---------------- FIRE ----------------
            while True:
                ff.vlist.build(x, sizes, box)
                steps_before = state[4]
                run = FireRun(ff.vlist.x_ref, 0.5 * skin, float(fire_target),
                              max_steps - int(state[4]), mobile, 0.1)
                status = _fire_chunk(x, v, box.h, ff.vlist.record(), pm, run, state, forces, stress, Q)
                evals += int(state[4] - steps_before)
                if progress is not None:
                    progress("fire", int(state[4]), float(np.abs(forces).max()))
                if status == 0:
                    break
                if status == 2 or state[4] >= max_steps:
                    raise MinimizationError(
                        f"FIRE did not reach max|F| < {fire_target:g} in {max_steps} steps "
                        f"(max|F| = {np.abs(forces).max():.3g})"
                    )
            # ---------------- Newton polish ----------------
            nr = newton(ff, x, sizes, box, ftol, max_newton - newton_steps,
                        mobile=None if frozen is None else mobile,
                        free_dofs=free_dofs, progress=progress, first_step=newton_steps,
                        factorize=factorize, constraint=Q if Q.shape[0] else None, constraint_ref=x_ref,
                        reuse=reuse)
            x, e, fmax, ok = nr.x, nr.energy, nr.fmax, nr.converged
            evals += nr.evaluations
            newton_steps += nr.steps
            if ok:
                break
            # Newton could not finish: descend further with FIRE, then retry
            fire_target = max(ftol, fire_target * 1e-2)
            newton_from = fire_target
            v[:] = 0.0
        else:
            raise MinimizationError(
                f"minimisation did not converge to max|F| < {ftol:g} (reached {fmax:.3g}); "
                "the configuration may sit at an instability"
            )
    out = conf.copy()
    out.x = x
    res = MinimizeResult(float(e), float(fmax), evals, int(state[4]), newton_steps, True)
    return out, res
