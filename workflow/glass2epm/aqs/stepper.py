"""One AQS step: an elastic predictor-corrector, Newton, and FIRE for plastic events (App. C).

From the inherent state x_n in cell h_n to the next one in h_{n+1} = D(Δγ)·h_n
(Eqs. 1, 2). On the elastic branch the inherent state x(γ) is a smooth function of
the strain, so the step is solved as a continuation:

1. **Predictor.** With ≥ 3 states of the current branch at equal spacing, the
   polynomial extrapolation of the last (up to) 6 of them (order ``EXTRAPOLATION_ORDER``
   = 5, weights (−1)^j C(6, j+1): error O(Δγ⁶), measured max|F| ~10⁻⁹ ε/λ at Δγ = 10⁻⁴
   on the reference glass against ~10⁻⁷ for the cubic); otherwise the linear
   response x_pred = D(Δγ)·x + Δγ ẋ with H·ẋ = −H·(A x) (Eq. 5,
   :func:`glass2epm.mechanics.linear_response.nonaffine_velocity`), error O(Δγ²).
   The affine part D(γ)·x is linear in γ for simple shear, so the extrapolation is
   exact for it; a Lees–Edwards image jump leaves positions unchanged, and a
   re-wrapped particle shifts its whole history by the same lattice vector.
2. **Corrector.** Chord Newton x ← x + H_k⁻¹·F(x) with the factorisation H_k of an
   earlier state, reused for up to ``hessian_reuse`` steps, accelerated by Anderson
   mixing (depth 5) whose secant pairs (Δx, Δ(H_k⁻¹F)) are carried from step to step
   (they describe the soft modes a stale H_k misses, which change slowly along the
   branch), so that a step converges in 1–3 iterations. A fresh factorisation at x_n is
   tried when the stale one does not converge; when that fails too, the branch has
   ended (a Newton attempt from the prediction before FIRE, tried earlier, never
   converged in 55 such steps at N = 1024, 10⁴ and 4·10⁴ and cost 2–3 factorisations
   each; it was removed).
3. **Plastic events.** When the elastic branch ends, the step is the standard AQS
   step: :func:`glass2epm.mechanics.minimize.minimize` (FIRE + Newton) from the
   *affine* guess D(Δγ)·x, exactly as in plain AQS, so an event ends in the same
   minimum as without the predictor. The Newton polish keeps its factorisation for
   chord steps (``reuse``): one factorisation per event instead of 2–3.

Guards keep the continuation on the branch: the prediction must have a lower max|F|
than the affine guess; the corrected state must lie within ``BRANCH_TOLERANCE`` (λ)
of the prediction and must not have a higher energy; a corrector that needed more
than ``refresh_iterations`` iterations is accepted only if the Hessian at the result
is positive definite (a minimum, not a saddle; that factorisation becomes H_k).

All factorisations share one :class:`~glass2epm.mechanics.hessian.Ordering` (CHOLMOD's
fill-reducing ordering, recomputed once 0.2 % of its pairs are new or after 100 uses).
The engine runs CHOLMOD on one BLAS thread (:func:`glass2epm.core.runtime.blas_threads`).
:func:`reversal` undoes a step to confirm an event: the chord corrector, then Newton,
then FIRE.
Units: energy ε, length λ, force ε/λ, stress ε/λ^d.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glass2epm.aqs.protocol import AQSParams
from glass2epm.core.box import Box
from glass2epm.core.io import Configuration
from glass2epm.core.potential import ForceField, effective_threads
from glass2epm.mechanics.hessian import HessianSolver, NotPositiveDefinite, Ordering
from glass2epm.mechanics.linear_response import nonaffine_velocity
from glass2epm.mechanics.minimize import MinimizationError, minimize, newton

#: largest max_i |x_i − x_pred,i| (λ) of a corrected elastic state: farther, it left the branch
BRANCH_TOLERANCE = 0.05
#: max|F| (ε/λ) of a prediction taken as good without comparing it with the affine guess
CLEARLY_GOOD = 1e-6
#: Anderson mixing depth of the chord corrector
ANDERSON_DEPTH = 5
#: Newton iterations of the reversal check when its chord corrector fails
NEWTON_STEPS = 10
#: polynomial order of the extrapolating predictor (cubic: 4 states)
EXTRAPOLATION_ORDER = 5


def _extrapolation(k: int) -> tuple:
    """Weights of x_n, x_{n−1}, …, x_{n−k} in the order-k polynomial extrapolation to
    x_{n+1} at equal spacing: (−1)^j C(k+1, j+1) (cubic: 4, −6, 4, −1)."""
    from math import comb

    return tuple(float((-1) ** j * comb(k + 1, j + 1)) for j in range(k + 1))


@dataclass
class _StepOut:
    x: np.ndarray
    energy: float
    stress: np.ndarray
    fmax: float
    evaluations: int
    factorizations: int
    predictor: int  # 1: elastic continuation (predictor + corrector), 0: FIRE from the affine guess


@dataclass
class _Factor:
    """A factorised Hessian at (x, h) with its ẋ (Eq. 5) and the dof order it used."""

    x: np.ndarray
    h: np.ndarray
    solver: HessianSolver
    xdot: np.ndarray
    order: np.ndarray


class _CellForces:
    """A ForceField bound to one cell, counting this step's evaluations (ε, ε/λ, ε/λ^d)."""

    def __init__(self, ff, sizes, box):
        self.ff, self.sizes, self.box = ff, sizes, box
        self.start = ff.evaluations

    @property
    def evaluations(self) -> int:
        return self.ff.evaluations - self.start

    def compute(self, x):
        return self.ff.compute(x, self.sizes, self.box)


def _maxdist(a, b) -> float:
    u = a - b
    return float(np.sqrt(np.einsum("ij,ij->i", u, u).max()))


class Stepper:
    """AQS steps by continuation of the elastic branch, FIRE for plastic events.

    State (saved in checkpoints; a step is a deterministic function of it and of
    (x_n, h_n)): the states of the current branch (``history``, up to 6), the secant
    pairs carried by the corrector, the reused factorisation (its state (x_k, h_k), age
    and dof order), the shared
    :class:`~glass2epm.mechanics.hessian.Ordering`, and the build positions and cell of
    the Verlet list (the order of the force sums depends on it).
    """

    def __init__(self, model, sizes, A, D, dgamma, params: AQSParams, *, ftol: float, threads: int = 1):
        """Steps of Δγ = ``dgamma`` with generator A and D = D(Δγ) (Eqs. 1, 2) for
        ``params`` (predictor, polish, max_chord, hessian_reuse, refresh_iterations)."""
        self.model, self.sizes, self.A, self.D, self.dgamma = model, sizes, A, D, dgamma
        self.dg_full = dgamma
        self.ftol, self.predictor, self.polish = ftol, params.predictor, params.polish
        self.max_chord, self.refresh_iterations = params.max_chord, params.refresh_iterations
        self.hessian_reuse = max(1, int(params.hessian_reuse))
        self.threads = effective_threads(threads, len(sizes))
        self.fac: _Factor | None = None
        self.age = 0
        self.history: list[np.ndarray] = []
        self.secants = ([], [])  # Anderson pairs (Δx, Δr) of the current factor, carried across steps
        self._pending = ([], [])
        self.ordering = Ordering()
        self.ff = ForceField(model, threads=self.threads)
        #: how steps were solved and why factorisations happened (diagnostics, not state)
        self.counts = dict.fromkeys(("chord_stale", "chord_fresh", "refresh_age", "refresh_failed_chord",
                                     "refresh_slow", "fire",
                                     "reversal_chord", "reversal_newton", "reversal_fire"), 0)

    # -- state -------------------------------------------------------------
    def state(self) -> dict:
        d = self.A.shape[0]
        vl = self.ff.vlist
        empty = np.zeros((0, d))
        out = {
            "list_x": empty if vl.start is None else vl.x_ref,
            "list_h": np.zeros((d, d)) if vl.start is None else vl.h_ref,
            "history": np.array(self.history) if self.history else np.zeros((0, 0, d)),
            "ordering_order": self.ordering.state()["order"],
            "ordering_uses": self.ordering.state()["uses"],
            "ordering_pairs": self.ordering.state()["pairs"],
            "secant_dx": np.array(self.secants[0]) if self.secants[0] else np.zeros((0, 0)),
            "secant_dr": np.array(self.secants[1]) if self.secants[1] else np.zeros((0, 0)),
        }
        f = self.fac
        out.update(hess_x=empty if f is None else f.x, hess_h=np.zeros((d, d)) if f is None else f.h,
                   hess_age=np.array(self.age), hess_order=np.zeros(0, np.int64) if f is None else f.order)
        return out

    def restore(self, st: dict) -> None:
        self.fac, self.age = None, 0
        self.ff = ForceField(self.model, threads=self.threads)
        if st["list_x"].shape[0] > 0:
            self.ff.vlist.build(st["list_x"].copy(), self.sizes, Box(st["list_h"].copy()))
        if st["hess_x"].shape[0] > 0:
            once = Ordering(drift=np.inf)  # exactly the stored order
            once.restore({"order": st["hess_order"], "uses": np.array(0)})
            self.fac = self._factor_at(st["hess_x"].copy(), Box(st["hess_h"].copy()), once, self.ff)
            self.age = int(st["hess_age"])
        self.ordering.restore({"order": st["ordering_order"], "uses": st["ordering_uses"],
                               "pairs": st.get("ordering_pairs", np.zeros(0, np.int64))})
        self.history = [h.copy() for h in st["history"]]
        self.secants = ([a.copy() for a in st["secant_dx"]], [a.copy() for a in st["secant_dr"]])

    def start(self, x) -> None:
        """A new branch at the inherent state x (run start)."""
        self.history = [x.copy()]

    def commit(self, x_state, x_solved, elastic: bool) -> None:
        """After step n+1: ``x_state`` is the stored state (``x_solved`` wrapped into the
        cell); ``elastic`` False (an event, or a FIRE step) starts a new branch."""
        if not elastic:
            self.history = [x_state.copy()]
            return
        shift = x_state - x_solved  # lattice vectors of re-wrapped particles (mostly zero)
        hist = self.history[-EXTRAPOLATION_ORDER:]
        if np.any(shift):
            hist = [h + shift for h in hist]
        self.history = hist + [x_state.copy()]

    # -- factorisations ----------------------------------------------------
    def _factor_at(self, x, box, ordering, ff) -> _Factor:
        """Hessian at (x, box), factorised with ``ordering``, and ẋ (Eq. 5);
        raises NotPositiveDefinite off a minimum."""
        xdot, solver = nonaffine_velocity(Configuration(x, self.sizes, box, self.model), self.A, ff,
                                          ordering=ordering)  # a fresh list: H depends on (x, h) only
        order = ordering.order if ordering.order is not None else np.zeros(0, np.int64)
        return _Factor(x.copy(), box.h.copy(), solver, xdot, order.copy())

    def _refresh(self, x, box) -> bool:
        self.secants = ([], [])
        try:
            self.fac = self._factor_at(x, box, self.ordering, self.ff)
        except NotPositiveDefinite:
            self.fac = None
            return False
        self.age = 0
        return True

    # -- the corrector -------------------------------------------------------
    def _chord(self, x0, e0, f0, s0, ff, solver=None, secants=None):
        """Anderson-accelerated chord Newton from x0 with ``solver`` (default: the current
        factor, with the secant pairs carried from earlier steps):
        (x, e, s, fmax, iterations) or None when it does not converge."""
        if solver is None:
            solver, secants = self.fac.solver, self.secants
        fm0 = float(np.abs(f0).max())
        x, e, f, s, fm = x0, e0, f0, s0, fm0
        if fm < self.ftol:
            return x, e, s, fm, 0
        shape = x.shape
        r = solver.solve(f).ravel()
        dX, dR = (list(secants[0]), list(secants[1])) if secants else ([], [])  # earlier steps' pairs
        xp = rp = None
        best = fm
        stall = 0
        for it in range(1, self.max_chord + 1):
            xf = x.ravel()
            if xp is not None:
                dX.append(xf - xp)
                dR.append(r - rp)
                if len(dX) > ANDERSON_DEPTH:
                    dX.pop(0)
                    dR.pop(0)
            step = r.copy()
            if dR:
                Rm = np.array(dR).T
                g = np.linalg.lstsq(Rm, r, rcond=None)[0]
                step -= (np.array(dX).T + Rm) @ g
            xp, rp = xf, r
            xn = (xf + step).reshape(shape)
            e, f, s = ff.compute(xn)
            fm = float(np.abs(f).max())
            x = xn
            if fm < self.ftol:
                self._pending = (dX[-ANDERSON_DEPTH:], dR[-ANDERSON_DEPTH:])
                return x, e, s, fm, it
            if not np.isfinite(fm) or fm > 2.0 * fm0:
                return None
            if fm < 0.5 * best:
                best, stall = fm, 0
            else:
                stall += 1
                if stall >= 3:
                    return None
            r = solver.solve(f).ravel()
        return None

    # -- one step ------------------------------------------------------------
    def step(self, x, box, box_next) -> _StepOut:
        """From the inherent state x in ``box`` to the next one in ``box_next``."""
        ff = _CellForces(self.ff, self.sizes, box_next)
        x_aff = x @ self.D.T
        out, nfact = None, 0
        if self.predictor == "linear":
            if self.polish == "minimize":
                out, nfact = self._predict_minimize(x, box, x_aff, box_next, ff)
            else:
                out, nfact = self._continue(x, box, x_aff, box_next, ff)
        if out is not None:
            return out
        # standard AQS step: minimise from the affine guess
        self.fac, self.age, self.secants = None, 0, ([], [])
        self.counts["fire"] += 1
        return self._minimized(ff, x_aff, box_next, nfact, None)

    def _minimized(self, ff, x_aff, box_next, nfact, x_pred) -> _StepOut:
        """FIRE + Newton in ``box_next`` from x_pred (linear start) or the affine guess (None);
        the last Newton factorisation becomes the reused one."""
        c0 = Configuration(x_aff, self.sizes, box_next, self.model)
        got = []

        def factorize(xx):
            got[:] = [self._factor_at(xx, box_next, self.ordering, self.ff)]
            return got[0].solver

        out, res = minimize(c0, ftol=self.ftol, threads=self.threads, x0=x_pred, factorize=factorize,
                            reuse=True)
        if got:
            self.fac, self.age, self.secants = got[0], 0, ([], [])
        e, _, s = ff.compute(out.x)
        return _StepOut(out.x, e, s, res.fmax, ff.evaluations + res.force_evaluations,
                        nfact + res.newton_steps, 0 if x_pred is None else 1)

    def _prediction(self, x, x_aff):
        """The extrapolated state of the branch, or None (too short a history, or an unequal step)."""
        hist = self.history
        if self.dgamma != self.dg_full or len(hist) < 3 or hist[-1] is not x and not np.array_equal(hist[-1], x):
            return None
        k = min(len(hist) - 1, EXTRAPOLATION_ORDER)
        coef = _extrapolation(k)
        xp = coef[0] * hist[-1]
        for c, h in zip(coef[1:], hist[-2::-1]):
            xp = xp + c * h
        return xp

    def _accept(self, got, x_pred, e_pred, box_next, ff, nfact):
        """Guards on a corrected state; (step or None, factorisations)."""
        xn, e, s, fm, it = got
        if _maxdist(xn, x_pred) > BRANCH_TOLERANCE or e > e_pred + 1e-12 * abs(e_pred):
            return None, nfact
        self.age += 1
        self.secants = self._pending
        if it > self.refresh_iterations:  # slow: make sure it is a minimum; refactorise there
            nfact += 1
            self.counts["refresh_slow"] += 1
            if not self._refresh(xn, box_next):
                return None, nfact
        return _StepOut(xn, e, s, fm, ff.evaluations, nfact, 1), nfact

    def _continue(self, x, box, x_aff, box_next, ff):
        """Predictor + Anderson chord with the reused, then a fresh factor
        (step or None, factorisations)."""
        nfact = 0
        aff = []

        def usable(cands):
            """Predictions better than the affine guess (evaluated only when one is not
            clearly good); the affine guess itself when none is (near a critical point ẋ
            diverges and the predictions overshoot)."""
            if cands and min(c[0] for c in cands) < CLEARLY_GOOD:
                return [c for c in cands if c[0] < CLEARLY_GOOD]
            if not aff:
                e_a, f_a, s_a = ff.compute(x_aff)
                aff.append((float(np.abs(f_a).max()), x_aff, e_a, f_a, s_a))
            return [c for c in cands if c[0] < aff[0][0]] or aff

        cands = []  # (fmax, x, e, f, s) of the predictions tried
        xp = self._prediction(x, x_aff)
        if xp is None and (self.fac is None or self.age >= self.hessian_reuse):
            nfact += 1
            self.counts["refresh_age"] += 1
            self._refresh(x, box)
        if xp is None and self.fac is not None:
            xp = x_aff + self.dgamma * self.fac.xdot
        if xp is not None:
            e_p, f_p, s_p = ff.compute(xp)
            cands.append((float(np.abs(f_p).max()), xp, e_p, f_p, s_p))
        fresh_at_x = self.fac is not None and self.age == 0 and np.array_equal(self.fac.x, x)
        for attempt in range(2):
            if self.fac is None or self.age >= self.hessian_reuse or attempt == 1:
                if attempt == 1 and fresh_at_x:
                    break
                nfact += 1
                self.counts["refresh_failed_chord" if attempt == 1 else "refresh_age"] += 1
                if not self._refresh(x, box):
                    break
                fresh_at_x = True
                xl = x_aff + self.dgamma * self.fac.xdot
                e_l, f_l, s_l = ff.compute(xl)
                cands.append((float(np.abs(f_l).max()), xl, e_l, f_l, s_l))
            good = usable(cands)
            if not good:
                break
            fm_p, xp, e_p, f_p, s_p = min(good, key=lambda c: c[0])
            got = self._chord(xp, e_p, f_p, s_p, ff)
            if got is not None:
                out, nfact = self._accept(got, xp, e_p, box_next, ff, nfact)
                if out is not None:
                    self.counts["chord_fresh" if fresh_at_x else "chord_stale"] += 1
                    return out, nfact
        return None, nfact  # the branch ended (or cannot be followed): FIRE decides

    def _predict_minimize(self, x, box, x_aff, box_next, ff):
        """Fresh Eq. 5 prediction polished by :func:`minimize`; (step or None, factorisations)."""
        if not self._refresh(x, box):
            return None, 1
        x_pred = x_aff + self.dgamma * self.fac.xdot
        _, f_p, _ = ff.compute(x_pred)
        _, f_a, _ = ff.compute(x_aff)
        if np.abs(f_p).max() < np.abs(f_a).max():
            return self._minimized(ff, x_aff, box_next, 1, x_pred), 1
        return None, 1

    # -- undoing a step ------------------------------------------------------
    def reversal(self, x_new, x_old, box_old, D_back):
        """Undo a step: relax D(−Δγ)·x_new in the previous cell. First by the chord corrector
        with the factorisation of the step (at or near x_new: it serves the branch of
        x_new, and that of x_old when they are one), then by Newton, then by FIRE + Newton.
        The first that converges decides; all three reach the minimum whose basin holds
        D(−Δγ)·x_new (a stable one: the chord and Newton steps stay within
        ``BRANCH_TOLERANCE`` of it and Newton's Hessians are positive definite).

        Returns (max_i |x_i − x_old,i| in λ, force evaluations, factorisations)."""
        y0 = x_new @ D_back.T
        ff = ForceField(self.model, threads=self.threads)
        cf = _CellForces(ff, self.sizes, box_old)

        def distance(xr):
            u = box_old.minimum_image(xr - x_old)
            return float(np.sqrt(np.einsum("ij,ij->i", u, u).max()))

        if self.fac is not None:
            e0, f0, s0 = cf.compute(y0)
            got = self._chord(y0, e0, f0, s0, cf, self.fac.solver, None)
            if got is not None and _maxdist(got[0], y0) < BRANCH_TOLERANCE:
                self.counts["reversal_chord"] += 1
                return distance(got[0]), cf.evaluations, 0
        nr = newton(ff, y0, self.sizes, box_old, self.ftol, NEWTON_STEPS, max_move=BRANCH_TOLERANCE,
                    factorize=lambda xx: self._factor_at(xx, box_old, self.ordering, ff).solver, reuse=True)
        if nr.converged and _maxdist(nr.x, y0) < BRANCH_TOLERANCE:
            self.counts["reversal_newton"] += 1
            return distance(nr.x), cf.evaluations, nr.steps
        self.counts["reversal_fire"] += 1
        rev, ev = reversal_distance(x_new, x_old, box_old, self.model, self.sizes, D_back, self.ftol,
                                    self.threads)
        return rev, ev + cf.evaluations, nr.steps


def reversal_distance(x_new, x_old, box_old, model, sizes, D_back, ftol, threads):
    """Undo a step with FIRE + Newton: minimise D(−Δγ)·x_new in the previous cell.

    Returns (max_i |x_i − x_old,i| in λ, force evaluations).
    """
    c0 = Configuration(x_new @ D_back.T, sizes, box_old, model)
    try:
        out, res = minimize(c0, ftol=ftol, threads=threads)
    except MinimizationError:  # could not even come back to a minimum: not reversible
        return float("inf"), 0
    u = box_old.minimum_image(out.x - x_old)
    return float(np.sqrt(np.einsum("ij,ij->i", u, u).max())), res.force_evaluations
