"""The AQRD driver: quasistatic driving by a fixed displacement field (random local forcing).

Paper: ``agoritsas-global-shear-vs-random-forcing.txt`` Eq. 3 and its ERRATA. Units:
energy ε, length λ, stress ε/λ^d, strain dimensionless.

Protocol. Positions are x = x₀ + γc + u with the box fixed; each state is relaxed at
fixed γ with the projection of u on c held fixed, ⟨c|u⟩ = 0, i.e. c·x = c·x₀ + γ|c|²
(without it the relaxation undoes the imposed displacement: ERRATA). A step
γ_n → γ_{n+1} = γ_n + Δγ moves every particle by Δγ c (the "affine" guess) and
relaxes it:

1. **Predictor** (``predictor="linear"``): the constrained linear response
   x_pred = x_n + Δγ ẋ, [[H, c, T], [cᵀ, 0, 0], [Tᵀ, 0, 0]]·[ẋ; −α; t] = [0; |c|²; 0]
   (T the translations), i.e. ẋ = α H⁺c, α = |c|²/(cᵀH⁺c) (ERRATA; the bordered solver
   :class:`~glass2epm.mechanics.hessian.ConstrainedSolver` stays valid where H itself is
   singular at a smooth maximum of Σ while the constrained problem is stable).
2. **Corrector**: constrained chord Newton (:func:`glass2epm.mechanics.minimize.newton`
   with ``constraint`` and the predictor's bordered factor at x_n: no new factorisation;
   full Newton if the chord does not converge in ``CHORD_STEPS``), accepted when it
   converges within ``BRANCH_TOLERANCE`` of the prediction without a stress drop. Every
   factor is built within its step, so a step stays a pure function of the checkpoint.
3. **Plastic events**: otherwise the step is :func:`~glass2epm.mechanics.minimize.minimize`
   with ``constraint`` (FIRE on the projected force + bordered Newton) from x_n + Δγc.

The generalised stress is Σ = (1/V) ∂U/∂γ = −(1/V) c·F (the constraint's multiplier,
F the full force at the constrained minimum, where F ∥ c), the series' ``loaded_stress``;
its initial slope is μ_c = |c|⁴/(V cᵀH⁺c)
(:func:`glass2epm.mechanics.linear_response.constrained_modulus`). The virial stress,
pressure and energy columns are those of AQS.

AQS as the special case c_i = (y_i, 0) (``forcing.kind == "shear"``): this field is not
periodic, so in a periodic box it must be carried by the boundary: the cell is sheared,
h_n = D(γ_n)·h₀ (Lees–Edwards), positions move by x → D(Δγ)·x = x + Δγ(y, 0), and u is
relaxed *without* a constraint: the box fixes the strain, so ⟨c|u⟩ = 0 would be a
second, spurious condition (its multiplier is zero at a minimum of the sheared cell,
and the non-affine field of AQS has no projection to hold). Σ is then σ_xy, the
derivative of U/V along the path. Predictor: Eq. 5 (:func:`nonaffine_velocity`),
corrector: Newton, events: FIRE from D(Δγ)·x — so the AQS series of a glass (energy,
stress, events) is reproduced by a code path independent of the AQS continuation
engine (tests/test_aqrd.py).

Events, snapshots and checkpoints work as in :mod:`glass2epm.aqs.engine`: a step is an
event candidate when Σ drops by more than ``event_threshold`` against the loading
direction or max_i |x_{n+1} − (x_n + Δγc)| exceeds ``event_displacement``, confirmed by
the reversal check (undo the step, relax, max distance > ``reversal_tolerance``).
Snapshots every ``snapshot_every`` of strain; a checkpoint (.npz) holds the state, and a
step is a pure function of it (each step builds its own neighbour list), so a restarted
run reproduces the series bitwise. The tables are ``aqs_series``/``aqs_events`` with
metadata ``aqrd`` (the forcing) and ``aqs`` (the protocol).
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from glass2epm.aqrd.forcing import Forcing
from glass2epm.aqs.protocol import AQSParams, AQSResult, RunControl, fingerprint, snapshot_due, wrap_lattice
from glass2epm.aqs.records import (EVENT_COLUMNS, events_path, from_arrays, list_snapshots, read_checkpoint,
                                   series_columns, series_row, snapshots_path, to_arrays, write_checkpoint)
from glass2epm.core.box import Box, deformation, reduce_tilt
from glass2epm.core.io import Configuration, write_configuration, write_table
from glass2epm.core.potential import ForceField, effective_threads
from glass2epm.core.runtime import numba_threads
from glass2epm.core.schemas import AQS_EVENTS, AQS_SERIES
from glass2epm.mechanics.hessian import NotPositiveDefinite
from glass2epm.mechanics.linear_response import nonaffine_velocity
from glass2epm.mechanics.minimize import (MinimizationError, constrained_factor, default_ftol, minimize,
                                          newton, orthonormal_constraints)

log = logging.getLogger(__name__)

BRANCH_TOLERANCE = 0.05  # λ, as in aqs.stepper
NEWTON_STEPS = 10
CHORD_STEPS = 30  # chord iterations contract the residual ~10× each from a linear prediction
CHECKPOINT_VERSION = 1


@dataclass
class _Solved:
    x: np.ndarray
    energy: float
    sigma: float
    stress: np.ndarray
    fmax: float
    evaluations: int
    factorizations: int
    predictor: int


class AQRDRun:
    """One AQRD run of ``conf`` under ``forcing`` with protocol ``params`` (AQSParams:
    step, strain_max, direction, ftol, predictor, event thresholds, snapshots)."""

    def __init__(self, conf: Configuration, forcing: Forcing, params: AQSParams, control: RunControl):
        params.validate()
        self.conf, self.forcing, self.params, self.control = conf, forcing, params, control
        n, d = conf.N, conf.dim
        self.n_part, self.d = n, d
        self.A = np.zeros((d, d))  # simple shear ∂x/∂y: the AQS special case and the virial columns
        self.A[0, 1] = 1.0
        self.threads = effective_threads(control.threads, n)
        self.ftol = default_ftol(n) if params.ftol is None else float(params.ftol)
        self.sign = params.sign
        self.dg = self.sign * params.step
        self.n_total = max(int(math.ceil(params.strain_max / params.step - 1e-9)), 0)
        self.c = None if forcing.c is None else np.asarray(forcing.c, dtype=float)
        if self.c is not None:
            if self.c.shape != (n, d):
                raise ValueError(f"forcing field has shape {self.c.shape}, expected ({n}, {d})")
            self.Q = orthonormal_constraints(self.c)
            self.cnorm = float(np.sqrt(np.sum(self.c * self.c)))
        self.V = conf.box.volume
        self.h0 = conf.box.h.copy()
        self.out = Path(control.output) if control.output is not None else None
        self.snap_final = snapshots_path(self.out) if self.out else None
        self.snap_stage = self.snap_final.with_name(self.snap_final.name + ".part") if self.out else None
        self.ckpt = Path(control.checkpoint) if control.checkpoint is not None else None
        self.mem_snaps = []
        self.fp = fingerprint(conf) + forcing.digest()

    # -- geometry --------------------------------------------------------------
    def gamma_at(self, n: int) -> float:
        return n * self.dg

    def box_at(self, n: int) -> Box:
        if self.forcing.constrained:
            return Box(self.h0.copy())
        return Box(reduce_tilt(deformation("simple_shear", self.gamma_at(n), self.d) @ self.h0))

    def affine(self, x, dg):
        if self.forcing.constrained:
            return x + dg * self.c
        return x @ deformation("simple_shear", dg, self.d).T

    def forces(self):
        return ForceField(self.conf.model, threads=self.threads)

    def sigma(self, f, stress) -> float:
        """Σ = −(1/V) c·F (constrained), σ_xy (shear), ε/λ^d."""
        if self.forcing.constrained:
            return float(-np.sum(self.c * f) / self.V)
        return float(stress[0, 1])

    def fmax(self, f) -> float:
        if self.forcing.constrained:
            s = np.einsum("kia,ia->k", self.Q, f)
            f = f - np.einsum("k,kia->ia", s, self.Q)
        return float(np.abs(f).max())

    # -- relaxation ---------------------------------------------------------------
    def relax(self, x_start, box, x_ref=None, x_pred=None):
        """Constrained (or, for shear, plain) FIRE + Newton from ``x_start``; Q·x held at Q·x_ref."""
        x_ref = x_start if x_ref is None else x_ref
        kw = {}
        if self.forcing.constrained:
            kw["constraint"] = self.Q
            # minimize holds Q·x at its start value: start on the constraint surface
            if x_pred is not None:
                x_pred = x_pred + np.einsum("k,kia->ia", np.einsum("kia,ia->k", self.Q, x_ref - x_pred), self.Q)
        c0 = Configuration(x_start if x_pred is None else x_pred, self.conf.sizes, box, self.conf.model)
        out, res = minimize(c0, ftol=self.ftol, threads=self.threads, **kw)
        return out.x, res

    def newton_from(self, ff, x0, box, x_ref, chord=None):
        """Constrained Newton (shear: plain Newton) from x0; with ``chord`` (a bordered factor
        at the previous equilibrium) its iterations reuse that factor instead of refactorising."""
        if self.forcing.constrained:
            return newton(ff, x0, self.conf.sizes, box, self.ftol, NEWTON_STEPS if chord is None else CHORD_STEPS,
                          max_move=BRANCH_TOLERANCE, constraint=self.Q, constraint_ref=x_ref,
                          factorize=None if chord is None else (lambda _x: chord))
        return newton(ff, x0, self.conf.sizes, box, self.ftol, NEWTON_STEPS, max_move=BRANCH_TOLERANCE)

    def tangent(self, ff, x, box):
        """dx/dγ at the equilibrium x: α H⁺c (bordered) or D-frame Eq. 5 for shear; and, when
        constrained, the bordered factor at x (reused by the corrector as a chord)."""
        if self.forcing.constrained:
            fac = constrained_factor(ff, x, self.conf.sizes, box, self.Q)
            # c·ẋ = |c|²: the constraint value is Q·c (QR may return Q = −c/|c|, so not +|c|)
            xdot, _ = fac.solve(np.zeros_like(x), np.einsum("kia,ia->k", self.Q, self.c))
            return xdot, fac
        xdot, _ = nonaffine_velocity(Configuration(x, self.conf.sizes, box, self.conf.model), self.A, ff)
        return x @ self.A.T + xdot, None

    def solve_step(self, x, box, box_next, sigma_prev) -> _Solved:
        ff = self.forces()
        x_aff = self.affine(x, self.dg)
        nfact = 0
        if self.params.predictor == "linear":
            try:
                nfact += 1
                xdot, fac = self.tangent(ff, x, box)
                x_pred = x + self.dg * xdot
                nr = self.newton_from(ff, x_pred, box_next, x_aff, chord=fac)  # chord: no new factor
                if fac is not None and not nr.converged:
                    nr = self.newton_from(ff, x_pred, box_next, x_aff)  # full Newton
                    nfact += nr.steps
                elif fac is None:
                    nfact += nr.steps
                if nr.converged:
                    sig = self.sigma(nr.forces, nr.stress)
                    drop = -self.sign * (sig - sigma_prev) > self.params.event_threshold
                    u = nr.x - x_pred
                    if not drop and float(np.sqrt(np.einsum("ij,ij->i", u, u).max())) < BRANCH_TOLERANCE:
                        return _Solved(nr.x, nr.energy, sig, nr.stress, self.fmax(nr.forces),
                                       ff.evaluations, nfact, 1)
            except NotPositiveDefinite:
                pass
        xr, res = self.relax(x_aff, box_next)
        e, f, s = ff.compute(xr, self.conf.sizes, box_next)
        return _Solved(xr, e, self.sigma(f, s), s, self.fmax(f), ff.evaluations + res.force_evaluations,
                       nfact + res.newton_steps, 0)

    def reversal(self, x_new, x_old, box_old) -> tuple[float, int]:
        """Undo the step: relax x_new − Δγc (or D(−Δγ)x_new in the old cell); max distance to x_old."""
        y0 = self.affine(x_new, -self.dg)
        ff = self.forces()
        nr = self.newton_from(ff, y0, box_old, y0)
        if nr.converged:
            xr, ev = nr.x, nr.evaluations
        else:
            try:
                xr, res = self.relax(y0, box_old)
                ev = res.force_evaluations + nr.evaluations
            except MinimizationError:
                return float("inf"), nr.evaluations
        u = box_old.minimum_image(xr - x_old)
        return float(np.sqrt(np.einsum("ij,ij->i", u, u).max())), ev

    # -- records ------------------------------------------------------------------
    def row(self, n, so: _Solved, event) -> dict:
        r = series_row(n, self.gamma_at(n), so.energy, so.stress, self.A, self.n_part, so.evaluations,
                       so.factorizations, so.predictor, so.fmax, event)
        r["loaded_stress"] = so.sigma
        return r

    def strain_dict(self, n):
        return {"gamma": self.gamma_at(n), "geometry": "aqrd" if self.forcing.constrained else "simple_shear",
                "forcing": self.forcing.kind, "step": int(n), "direction": self.params.direction,
                "step_size": self.params.step}

    def state_conf(self, n, x, box):
        c = self.conf
        return Configuration(wrap_lattice(x, box), c.sizes, box, c.model, c.Tp, c.seed, self.strain_dict(n),
                             dict(c.provenance), dict(c.extra))

    def snapshot(self, n, x, box):
        conf = self.state_conf(n, x, box)
        if self.snap_stage is not None:
            write_configuration(self.snap_stage / f"step-{n:08d}.parquet", conf,
                                provenance={"producer": "glass2epm.aqrd.engine"})
        else:
            self.mem_snaps.append(conf)

    # -- the run ------------------------------------------------------------------
    def start(self):
        conf = self.conf
        box = self.box_at(0)
        x = np.array(conf.x, dtype=float)
        ff = self.forces()
        e, f, s = ff.compute(x, conf.sizes, box)
        evals = ff.evaluations
        if not float(np.abs(f).max()) < self.ftol:  # the start must be an inherent state
            c1, res = minimize(Configuration(x, conf.sizes, box, conf.model), ftol=self.ftol, threads=self.threads)
            x = c1.x
            e, f, s = ff.compute(x, conf.sizes, box)
            evals += res.force_evaluations
        x = wrap_lattice(x, box)
        so = _Solved(x, e, self.sigma(f, s), s, self.fmax(f), evals, 0, 0)
        row = {**self.row(0, so, False), "stress_drop": False, "max_nonaffine": 0.0}
        if self.snap_stage is not None and self.snap_stage.exists():
            shutil.rmtree(self.snap_stage)
        if self.params.snapshot_every > 0:
            self.snapshot(0, x, box)
        return 0, x, [row], []

    def resume(self):
        st = read_checkpoint(self.ckpt)
        meta = json.loads(str(st["meta"]))
        if meta.get("version") != CHECKPOINT_VERSION or meta.get("fingerprint") != self.fp:
            raise ValueError(f"{self.ckpt}: checkpoint belongs to another input, forcing or version")
        if meta["params"] != json.loads(json.dumps(self.params.to_dict())):
            raise ValueError(f"{self.ckpt}: checkpoint was written with other parameters ({meta['params']})")
        cols = series_columns(self.d)
        rows = from_arrays({k: st["series_" + k] for k in cols}, cols)
        events = from_arrays({k: st["events_" + k] for k in EVENT_COLUMNS}, EVENT_COLUMNS)
        return int(meta["step"]), st["x"].copy(), rows, events

    def write_ckpt(self, n, x, rows, events):
        meta = {"version": CHECKPOINT_VERSION, "step": n, "fingerprint": self.fp,
                "params": self.params.to_dict()}
        data = {"meta": np.array(json.dumps(meta, sort_keys=True)), "x": x}
        data.update({"series_" + k: v for k, v in to_arrays(rows, series_columns(self.d)).items()})
        data.update({"events_" + k: v for k, v in to_arrays(events, EVENT_COLUMNS).items()})
        write_checkpoint(self.ckpt, data)

    def advance(self, n, x, rows, events):
        p = self.params
        box, box_next = self.box_at(n), self.box_at(n + 1)
        prev = rows[-1]
        try:
            so = self.solve_step(x, box, box_next, prev["loaded_stress"])
        except MinimizationError as exc:
            raise RuntimeError(f"AQRD step {n + 1} (γ = {self.gamma_at(n + 1):g}) failed: {exc}") from None
        dsig = so.sigma - prev["loaded_stress"]
        drop = bool(-self.sign * dsig > p.event_threshold)
        u = so.x - self.affine(x, self.dg)
        umax = float(np.sqrt(np.einsum("ij,ij->i", u, u).max()))
        event = drop or (p.event_displacement > 0 and umax > p.event_displacement)
        rev = float("nan")
        if event and p.confirm_events:
            rev, ev = self.reversal(so.x, x, box)
            so.evaluations += ev
            event = rev > p.reversal_tolerance
        row = self.row(n + 1, so, event)
        row["stress_drop"], row["max_nonaffine"] = drop, umax
        if event:
            um = box_next.minimum_image(u)
            umag = np.sqrt(np.einsum("ij,ij->i", um, um))
            events.append({"step": n + 1, "strain": self.gamma_at(n + 1), "dsigma": dsig,
                           "denergy": so.energy - prev["energy_per_particle"] * self.n_part,
                           "n_displaced": int(np.count_nonzero(umag > p.displacement_threshold)),
                           "max_displacement": float(umag.max()), "stress_before": prev["loaded_stress"],
                           "reversal_distance": rev, "stress_drop": drop})
        rows.append(row)
        # constrained: positions stay unwrapped (c·x must not jump by a lattice vector)
        x_new = so.x if self.forcing.constrained else wrap_lattice(so.x, box_next, far=True)
        return n + 1, x_new

    def finish(self, x, rows, events, stats):
        n = len(rows) - 1
        box = self.box_at(n)
        final = self.state_conf(n, x, box)
        series = to_arrays(rows, series_columns(self.d))
        ev = to_arrays(events, EVENT_COLUMNS)
        paths = {}
        if self.out is not None:
            extra = {"aqs": {**self.params.to_dict(), "ftol": self.ftol, "n_steps": n},
                     "aqrd": {"forcing": self.forcing.kind, **self.forcing.params,
                              "constrained": self.forcing.constrained,
                              "c_norm2": None if self.c is None else self.cnorm ** 2, "volume": self.V}}
            meta = dict(model=final.model, box=final.box, strain=final.strain, seed=self.conf.seed,
                        provenance={"producer": "glass2epm.aqrd.engine", "input": self.conf.provenance},
                        extra=extra)
            write_table(events_path(self.out), AQS_EVENTS, ev, **meta)
            if self.params.snapshot_every > 0:
                self.snap_stage.mkdir(parents=True, exist_ok=True)
                if self.snap_final.exists():
                    trash = self.snap_final.with_name(self.snap_final.name + f".old-{os.getpid()}")
                    os.replace(self.snap_final, trash)
                    shutil.rmtree(trash)
                os.replace(self.snap_stage, self.snap_final)
            write_table(self.out, AQS_SERIES, series, **meta)
            paths = {"series": self.out, "events": events_path(self.out),
                     "snapshots": self.snap_final if self.params.snapshot_every > 0 else None}
        snaps = list_snapshots(self.snap_final) if self.out is not None and self.params.snapshot_every > 0 \
            else self.mem_snaps
        return AQRDResult(series, ev, final, True, snaps, paths, stats)


class AQRDResult(AQSResult):
    """The outcome of :func:`run_aqrd` (fields of :class:`~glass2epm.aqs.protocol.AQSResult`)."""


def run_aqrd(conf: Configuration, forcing: Forcing, params: AQSParams,
             control: RunControl | None = None) -> AQRDResult:
    """Drive ``conf`` quasistatically by ``forcing`` (module docstring) from γ = 0 to
    sign·``params.strain_max``; resumes from ``control.checkpoint`` when it exists."""
    control = RunControl() if control is None else control
    run = AQRDRun(conf, forcing, params, control)
    if run.ckpt is not None and run.ckpt.exists():
        n, x, rows, events = run.resume()
    else:
        n, x, rows, events = run.start()
    t0 = last_ck = last_log = time.perf_counter()
    steps = 0
    with numba_threads(run.threads):
        while n < run.n_total:
            if control.max_steps is not None and steps >= control.max_steps:
                break
            n, x = run.advance(n, x, rows, events)
            steps += 1
            if params.snapshot_every > 0 and snapshot_due(n, params.step, params.snapshot_every):
                run.snapshot(n, x, run.box_at(n))
            now = time.perf_counter()
            if run.ckpt is not None and n < run.n_total and (
                    steps % control.checkpoint_every == 0 or now - last_ck >= control.checkpoint_seconds):
                run.write_ckpt(n, x, rows, events)
                last_ck = now
            if now - last_log >= control.progress_every or n == run.n_total:
                log.info("AQRD step %d/%d  γ = %+.5f  Σ = %+.6g  events = %d", n, run.n_total,
                         rows[-1]["strain"], rows[-1]["loaded_stress"], len(events))
                last_log = now
            if control.on_step is not None:
                control.on_step(n, rows[-1])
    stats = {"wall_s": time.perf_counter() - t0, "steps": steps}
    if n < run.n_total:
        if run.ckpt is not None:
            run.write_ckpt(n, x, rows, events)
        series = to_arrays(rows, series_columns(run.d))
        return AQRDResult(series, to_arrays(events, EVENT_COLUMNS), run.state_conf(n, x, run.box_at(n)),
                          False, run.mem_snaps, {}, stats)
    res = run.finish(x, rows, events, stats)
    if run.ckpt is not None and run.ckpt.exists() and not control.keep_checkpoint:
        run.ckpt.unlink()
    return res
