"""One AQS step: linear-response predictor (Eq. 5) and chord-Newton / FIRE polish (App. C).

From the inherent state x_n in cell h_n to the next one in h_{n+1} = D(Δγ)·h_n
(Eqs. 1, 2). The prediction x_pred = D(Δγ)·x + Δγ ẋ with H·ẋ = −H·(A x) (Eq. 5,
:func:`glass2epm.mechanics.linear_response.nonaffine_velocity`) is polished by chord
Newton with the same factorisation; near instabilities the step falls back to the
standard AQS step, :func:`glass2epm.mechanics.minimize.minimize` (FIRE + Newton) from
the affine guess. :func:`reversal_distance` undoes a step to confirm an event.
Units: energy ε, length λ, force ε/λ, stress ε/λ^d.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glass2epm.aqs.protocol import AQSParams
from glass2epm.core.box import Box
from glass2epm.core.io import Configuration
from glass2epm.core.potential import ForceField, effective_threads
from glass2epm.mechanics.hessian import NotPositiveDefinite
from glass2epm.mechanics.linear_response import nonaffine_velocity
from glass2epm.mechanics.minimize import minimize, MinimizationError

@dataclass
class _StepOut:
    x: np.ndarray
    energy: float
    stress: np.ndarray
    fmax: float
    evaluations: int
    factorizations: int
    predictor: int  # 1 linear-response start kept, 0 affine


def _linear_response(x, sizes, box, model, A, ff):
    """(solver, ẋ) at (x, box) by Eq. (5), or (None, None) when the Hessian is not positive definite."""
    try:
        xdot, solver = nonaffine_velocity(Configuration(x, sizes, box, model), A, ff)
    except NotPositiveDefinite:
        return None, None
    return solver, xdot


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


class Stepper:
    """AQS steps with a linear-response start and a reused Hessian factorisation.

    The factorisation of H at a reference state (x_k, h_k) serves (i) ẋ_k (Eq. 5)
    for the prediction x_pred = D(Δγ)·x_n + Δγ ẋ_k, and (ii) chord-Newton
    polishing, H_k·Δx = F(x), of that prediction. It is reused for up to
    ``hessian_reuse`` steps and refreshed at the current state when the chord
    iteration needs more than ``refresh_iterations`` iterations or fails; a stale
    failure is retried once with a fresh Hessian. A fresh failure (or a Hessian that
    is not positive definite, or a prediction no better than the affine guess) makes
    the step a standard AQS step: :func:`~glass2epm.mechanics.minimize.minimize` from D(Δγ)·x.

    Forces come from one ForceField kept across steps; its Verlet list is rebuilt only
    when :meth:`VerletList.needs_rebuild` says so (about every skin/(2 |non-affine
    velocity| Δγ) steps, or at a Lees–Edwards image jump).

    The whole state is (x_k, h_k, age) of the Hessian and the build positions and cell
    of the Verlet list (the order of the force sums depends on it), saved in
    checkpoints: a step is a deterministic function of it and of (x_n, h_n).
    """

    def __init__(self, model, sizes, A, D, dgamma, params: AQSParams, *, ftol: float, threads: int = 1):
        """Steps of Δγ = ``dgamma`` with generator A and D = D(Δγ) (Eqs. 1, 2) for
        ``params`` (predictor, polish, max_chord, hessian_reuse, refresh_iterations)."""
        # the step: cell generator A (Eq. 2), D(Δγ) and Δγ
        self.model, self.sizes, self.A, self.D, self.dgamma = model, sizes, A, D, dgamma
        self.ftol, self.predictor, self.polish = ftol, params.predictor, params.polish
        self.max_chord, self.refresh_iterations = params.max_chord, params.refresh_iterations
        self.hessian_reuse = max(1, int(params.hessian_reuse))
        self.threads = effective_threads(threads, len(sizes))
        # the reused factorisation: reference state (x_k, h_k), its age, solver and ẋ_k
        self.ref, self.age, self.solver, self.xdot = None, 0, None, None
        self.ff = ForceField(model, threads=self.threads)

    # -- state -----------------------------------------------------------
    def state(self) -> dict:
        d = self.A.shape[0]
        vl = self.ff.vlist
        out = {
            "list_x": np.zeros((0, d)) if vl.start is None else vl.x_ref,
            "list_h": np.zeros((d, d)) if vl.start is None else vl.h_ref,
        }
        if self.ref is None:
            out.update(hess_x=np.zeros((0, d)), hess_h=np.zeros((d, d)), hess_age=np.array(0))
        else:
            out.update(hess_x=self.ref[0], hess_h=self.ref[1], hess_age=np.array(self.age))
        return out

    def restore(self, st: dict) -> None:
        self.ref, self.solver, self.xdot, self.age = None, None, None, 0
        if st["hess_x"].shape[0] > 0:
            self._refresh(st["hess_x"].copy(), Box(st["hess_h"].copy()), ForceField(self.model))
            self.age = int(st["hess_age"])
        self.ff = ForceField(self.model, threads=self.threads)
        if st["list_x"].shape[0] > 0:
            self.ff.vlist.build(st["list_x"].copy(), self.sizes, Box(st["list_h"].copy()))

    def _refresh(self, x, box, ff) -> bool:
        self.solver, self.xdot = _linear_response(x, self.sizes, box, self.model, self.A, ff)
        self.age = 0
        if self.solver is None:
            self.ref = None
            return False
        self.ref = (x.copy(), box.h.copy())
        return True

    # -- one step ----------------------------------------------------------
    def _chord(self, x_aff, box_next, ff):
        """Linear-response start + chord Newton; (x, e, s, fmax, iterations) or None."""
        x_pred = x_aff + self.dgamma * self.xdot
        e_p, f_p, s_p = ff.compute(x_pred)
        e_a, f_a, s_a = ff.compute(x_aff)
        fm = float(np.abs(f_p).max())
        if not fm < float(np.abs(f_a).max()):
            return None
        xc, e, f, s = x_pred, e_p, f_p, s_p
        it = 0
        while not fm < self.ftol:
            if it >= self.max_chord:
                return None
            xt = xc + self.solver.solve(f)  # chord Newton: H_k·Δx = F
            et, ft, st = ff.compute(xt)
            fmt = float(np.abs(ft).max())
            it += 1
            if not fmt < 0.5 * fm:  # not contracting: the elastic branch ends here
                return None
            xc, e, f, s, fm = xt, et, ft, st, fmt
        return xc, e, s, fm, it

    def step(self, x, box, box_next) -> _StepOut:
        """From the inherent state x in ``box`` to the next one in ``box_next``."""
        ff = _CellForces(self.ff, self.sizes, box_next)
        x_aff = x @ self.D.T
        out, nfact = None, 0
        if self.predictor == "linear":
            if self.polish == "minimize":
                out, nfact = self._predict_minimize(x, box, x_aff, box_next, ff)
            else:
                out, nfact = self._predict_chord(x, box, x_aff, box_next, ff)
        if out is not None:
            return out
        # standard AQS step: minimise from the affine guess
        self.solver, self.xdot, self.ref, self.age = None, None, None, 0
        return self._minimized(ff, x_aff, box_next, nfact, None)

    def _minimized(self, ff, x_aff, box_next, nfact, x_pred) -> _StepOut:
        """FIRE + Newton in ``box_next`` from x_pred (linear start) or the affine guess (None)."""
        c0 = Configuration(x_aff, self.sizes, box_next, self.model)
        out, res = minimize(c0, ftol=self.ftol, threads=self.threads, x0=x_pred)
        e, _, s = ff.compute(out.x)
        return _StepOut(
            out.x,
            e,
            s,
            res.fmax,
            ff.evaluations + res.force_evaluations,
            nfact + res.newton_steps,
            0 if x_pred is None else 1,
        )

    def _predict_minimize(self, x, box, x_aff, box_next, ff):
        """Fresh Eq. 5 prediction polished by :func:`minimize`; (step or None, factorisations)."""
        if not self._refresh(x, box, ForceField(self.model)):
            return None, 1
        x_pred = x_aff + self.dgamma * self.xdot
        _, f_p, _ = ff.compute(x_pred)
        _, f_a, _ = ff.compute(x_aff)
        if np.abs(f_p).max() < np.abs(f_a).max():
            return self._minimized(ff, x_aff, box_next, 1, x_pred), 1
        return None, 1

    def _predict_chord(self, x, box, x_aff, box_next, ff):
        """Eq. 5 prediction + chord Newton with a reused (else fresh) factorisation;
        (step or None, factorisations)."""
        nfact = 0
        for attempt in range(2):
            fresh = False
            if self.solver is None or self.age >= self.hessian_reuse:
                nfact += 1
                if not self._refresh(x, box, ForceField(self.model)):
                    break
                fresh = True
            elif attempt == 1:
                break
            got = self._chord(x_aff, box_next, ff)
            if got is not None:
                xn, e, s, fm, it = got
                self.age += 1
                if it > self.refresh_iterations:
                    self.age = self.hessian_reuse  # refresh before the next step
                return _StepOut(xn, e, s, fm, ff.evaluations, nfact, 1), nfact
            if fresh:
                break
            self.solver = None  # stale: retry once with a fresh Hessian
        return None, nfact


def reversal_distance(x_new, x_old, box_old, model, sizes, D_back, ftol, threads):
    """Undo a step: minimise D(−Δγ)·x_new in the previous cell.

    Returns (max_i |x_i − x_old,i| in λ, force evaluations).
    """
    c0 = Configuration(x_new @ D_back.T, sizes, box_old, model)
    try:
        out, res = minimize(c0, ftol=ftol, threads=threads)
    except MinimizationError:  # could not even come back to a minimum: not reversible
        return float("inf"), 0
    u = box_old.minimum_image(out.x - x_old)
    return float(np.sqrt(np.einsum("ij,ij->i", u, u).max())), res.force_evaluations


# ---------------------------------------------------------------------------
# series bookkeeping
