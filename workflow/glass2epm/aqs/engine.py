"""Athermal quasistatic (AQS) deformation, Lees–Edwards boundaries (paper Sec. II A, V, App. C).

Units: energy ε, length λ, stress and moduli ε/λ^d, strain dimensionless.

Protocol. Each step applies an affine strain increment Δγ (signed: ``forward``
Δγ > 0, ``backward`` Δγ < 0) to positions *and* cell, x → D(Δγ)·x, h → D(Δγ)·h
(Eq. 1 for simple shear; D(γ) = exp(γA) with generator A = ∂D/∂γ, Eq. 2, for every
geometry of :func:`glass2epm.core.box.deformation`), then relaxes to the inherent state
(max|F| < ftol). Under simple shear the cell tilt *is* the Lees–Edwards strain; tilt
reduction (:func:`glass2epm.core.box.reduce_tilt`, an image jump) keeps it within half a
side at any strain. The cell at step n is computed from the initial cell,
h_n = D(γ_n − γ_0)·h_0, and the strain counter from the step index,
γ_n = γ_0 + n Δγ, so neither accumulates round-off.

Continuation of the elastic branch (Eqs. 2, 5; :mod:`glass2epm.aqs.stepper`). Between
plastic events the inherent state x(γ) is a smooth function of γ, so a step is solved
by a predictor (the polynomial extrapolation of the last states of the branch, order
up to 5; or the linear response x_pred = D(Δγ)·x + Δγ ẋ, H·ẋ = −H·(A x), on pair
separations, Lees–Edwards aware, ERRATA) and a corrector (chord Newton with a reused
CHOLMOD factorisation of H, Anderson-accelerated with secant pairs carried across
steps; a fresh factorisation; Newton). A factorisation is reused for up to
``hessian_reuse`` steps, and CHOLMOD's fill-reducing ordering for 100 factorisations.
When the branch ends (the corrector does not converge, or converges to a state with a
stress drop or a non-affine jump), the step is the standard AQS step:
:func:`glass2epm.mechanics.minimize.minimize` (FIRE + Newton) from the *affine* guess
D(Δγ)·x, so plastic events are resolved exactly as in plain AQS. On the shared
N = 1024 reference glass to γ = 0.15 the events (steps and stress drops) and the
path are those of the engine before the continuation (tests/test_aqs_continuation.py).

Observables per step (one row of the ``aqs_series`` table): total strain γ, the
virial stress σ (Eq. 15; negative in compression, pressure p = −Tr σ/d), U/N, the
force evaluations the step used, and a plastic-event flag. The *loaded* stress is
σ_L = σ:A / (A:A): σ_xy for simple shear, (σ_xx − σ_yy)/2 for pure shear, Tr σ/d
for dilation. A step is an event when the loaded stress falls, against the loading
direction, by more than ``event_threshold``: −sign(Δγ)·Δσ_L > threshold, or when some
particle's non-affine displacement over the step, max_i |x_{n+1,i} − D(Δγ)x_{n,i}|
(series column ``max_nonaffine``), exceeds ``event_displacement`` (λ; small events
with hardly any stress drop, frequent at N ≥ 10⁴). Each event records Δσ_L, ΔU
(total, ε), whether the stress criterion fired (``stress_drop``) and the number of
particles whose non-affine displacement over the step, |minimg(x_{n+1} − D(Δγ)x_n)|,
exceeds ``displacement_threshold`` (λ).

A stress drop alone is not proof of plasticity: approaching a saddle-node
instability the elastic branch softens as σ ≈ σ_c − c√(γ_c − γ), so the last steps
before an event can lower σ_L *reversibly* (seen at Δγ = 10⁻³ in quenched glasses).
With ``confirm_events`` (default) every candidate step is therefore checked for
irreversibility: the step is undone (x → D(−Δγ)·x, relaxed in the previous cell by the
chord corrector with the step's factorisation, else Newton, else FIRE + Newton,
:meth:`~glass2epm.aqs.stepper.Stepper.reversal`) and it counts as a plastic event only
if the state does not return to the previous one, max_i |Δx_i| > ``reversal_tolerance``
(λ). The raw stress criterion stays in the series column ``stress_drop``; the check's
force evaluations and factorisations are counted in the step.

Outputs (written only at the end, each by atomic rename; partial progress lives only
in the checkpoint, so a crashed run never leaves output that looks complete):

``SERIES.parquet``            the ``aqs_series`` table (one row per step, row 0 = start)
``SERIES.events.parquet``     the ``aqs_events`` table (one row per plastic event)
``SERIES.snapshots/``         ``step-NNNNNNNN.parquet`` configurations (positions, cell,
                              ``strain`` = {"gamma", "geometry", "step", ...}) every
                              ``snapshot_every`` of strain, step 0 included, for D²min
                              (:func:`glass2epm.aqs.activity.accumulate_activity`)

Snapshots are staged in ``SERIES.snapshots.part/`` during the run and renamed at the
end; the series file is written last.

Checkpoint / restart. Every ``checkpoint_every`` steps or ``checkpoint_seconds``
seconds the full state (positions, cell, initial cell, step, the series and events
so far, parameters and a fingerprint of the input) is written atomically to a
``.npz`` checkpoint, together with the stepper's state (:meth:`Stepper.state`: the
branch history, the positions, cell and dof order at which the reused Hessian was
factorised, which is refactorised from them on restart, the carried secant pairs, the
CHOLMOD ordering and the Verlet list's build state). A step is a pure function of that
state (there is no RNG), so a run killed and restarted from its checkpoint produces bitwise the same
series as an uninterrupted run (tests/test_aqs.py).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from glass2epm.core.box import Box, reduce_tilt
from glass2epm.core.io import Configuration, write_configuration
from glass2epm.core.potential import FORCE_BLOCKS, PARALLEL_MIN_N, ForceField
from glass2epm.core.runtime import blas_threads, numba_threads
from glass2epm.mechanics.minimize import MinimizationError, default_ftol, minimize
from glass2epm.aqs.protocol import (  # noqa: F401  (re-exported: the AQS public names)
    CHECKPOINT_VERSION,
    DEFAULT_DISPLACEMENT_THRESHOLD,
    DEFAULT_EVENT_THRESHOLD,
    DIRECTIONS,
    GEOMETRIES,
    AQSInterrupted,
    AQSParams,
    AQSResult,
    RunControl,
    deformation_at,
    fingerprint,
    generator_matrix,
    loaded_stress,
    snapshot_due,
    wrap_lattice,
)
from glass2epm.aqs.records import (  # noqa: F401
    EVENT_COLUMNS,
    events_path,
    finish_outputs,
    from_arrays,
    iter_snapshots,
    list_snapshots,
    read_checkpoint,
    series_columns,
    series_row,
    snapshots_path,
    to_arrays,
    write_checkpoint,
)
from glass2epm.aqs.statistics import (  # noqa: F401
    loading_curves,
    pooled_statistics,
    read_events,
    read_series,
    steady_state_distribution,
    summarize,
)
from glass2epm.aqs.stepper import Stepper, reversal_distance

#: the order of the force sums, recorded in checkpoints: a checkpoint of another order
#: resumes to round-off only (N ≥ PARALLEL_MIN_N: fixed blocks, whatever the thread count)
FORCE_SUMS = f"half list: serial below N = {PARALLEL_MIN_N}, {FORCE_BLOCKS} fixed blocks from it"

log = logging.getLogger(__name__)


def run_aqs(conf: Configuration, step: float, strain_max: float, **options) -> AQSResult:
    """Athermal quasistatic deformation of ``conf`` from its strain γ₀ to sign·``strain_max``.

    Keyword form of :func:`run_protocol`. ``options`` named as :class:`AQSParams` fields
    build the protocol (:meth:`AQSParams.build`): ``direction`` forward/backward,
    ``geometry`` or ``generator`` A (Eq. 2), ``ftol`` (default :func:`default_ftol`),
    ``predictor``/``polish``, ``event_threshold`` (ε/λ^d), ``displacement_threshold`` (λ),
    ``confirm_events``/``reversal_tolerance``, ``snapshot_every`` (strain),
    ``hessian_reuse``; the others (``output``, ``checkpoint``, ``checkpoint_every``,
    ``checkpoint_seconds``, ``keep_checkpoint``, ``threads``, ``max_steps``, ``progress``,
    ``progress_every``, ``on_step``) build the :class:`RunControl`.
    Units: strain dimensionless, stress ε/λ^d, length λ, force ε/λ.
    """
    protocol = {k: options.pop(k) for k in list(options) if k in AQSParams.__dataclass_fields__}
    return run_protocol(conf, AQSParams.build(step, strain_max, **protocol), RunControl(**options))


def run_protocol(conf: Configuration, params: AQSParams, control: RunControl | None = None) -> AQSResult:
    """Run the AQS protocol ``params`` on ``conf`` (module docstring: Eqs. 1, 2, 5, Sec. II A, App. C).

    Starts from the checkpoint of ``control`` when it exists, else from ``conf``
    (minimised first if max|F| ≥ ftol); steps until the target strain or
    ``control.max_steps``; writes the outputs at the end of a complete run.
    """
    control = RunControl() if control is None else control
    params.validate()
    run = _Run(conf, params, control)
    # BLAS (CHOLMOD's supernodal kernels, numpy's least squares) on one thread beside numba's:
    # on 2 cores 2 BLAS threads made the whole run 1.3x slower (N = 1e4, measured)
    with blas_threads(1):
        if run.ckpt is not None and run.ckpt.exists():
            state, resumed = run.resume(), True
        else:
            state, resumed = run.start(), False
        t_start = time.perf_counter()
        stats = {"fallbacks": 0, "steps": 0, "evaluations": 0, "factorizations": 0}
        clock = _Clock(state.n)
        with numba_threads(control.threads):
            while state.n < run.n_total:
                if control.max_steps is not None and clock.steps >= control.max_steps:
                    break
                row = run.advance(state, stats)
                clock.steps += 1
                run.after_step(state, row, clock, t_start)
        return run.finish(state, stats, clock, t_start, resumed)


@dataclass
class _State:
    """The evolving run: step n, positions x in ``box``, initial cell h0, rows so far."""

    n: int
    x: np.ndarray
    box: Box
    h0: np.ndarray
    ftol: float
    rows: list
    events: list = field(default_factory=list)


class _Clock:
    """Checkpoint and progress-log bookkeeping of one call (wall-clock dependent only)."""

    def __init__(self, n: int):
        now = time.perf_counter()
        self.last_ckpt_step, self.last_ckpt_t, self.last_log, self.steps = n, now, now, 0


class _Run:
    """The fixed context of one run: protocol, deformations, strain counter, outputs."""

    def __init__(self, conf: Configuration, params: AQSParams, control: RunControl):
        self.conf, self.params, self.control = conf, params, control
        self.threads = control.threads
        self.n_part, d = conf.N, conf.dim
        self.A = generator_matrix(params, d)
        self.geom_name = params.geometry if params.generator is None else "custom"
        self.sign = params.sign
        self.ftol = default_ftol(self.n_part) if params.ftol is None else float(params.ftol)
        if self.ftol <= 0:
            raise ValueError(f"ftol must be positive, got {self.ftol}")
        self.prior = dict(conf.strain or {})
        self.gamma0 = self._start_strain()
        span = params.strain_max - self.sign * self.gamma0
        self.n_total = max(int(math.ceil(span / params.step - 1e-9)), 0)
        self.dg = self.sign * params.step
        self.D_step = deformation_at(params, self.A, self.dg)
        self.D_back = deformation_at(params, self.A, -self.dg)
        # the run ends exactly at the target: a last step shorter than Δγ when the span is
        # not a whole number of steps (all other steps, and their strains, as before)
        last = span - (self.n_total - 1) * params.step
        self.partial = self.n_total > 0 and last < params.step * (1.0 - 1e-9)
        self.dg_last = self.sign * last if self.partial else self.dg
        self.gamma_end = self.gamma0 + self.sign * span
        self.series_cols = series_columns(d)
        self.out_series = Path(control.output) if control.output is not None else None
        self.snap_final = snapshots_path(self.out_series) if self.out_series else None
        self.snap_stage = (
            self.snap_final.with_name(self.snap_final.name + ".part") if self.out_series else None
        )
        self.mem_snaps: list = []
        self.ckpt = Path(control.checkpoint) if control.checkpoint is not None else None
        self.fp = fingerprint(conf)
        self.stepper = Stepper(conf.model, conf.sizes, self.A, self.D_step, self.dg, params,
                               ftol=self.ftol, threads=self.threads)

    def _start_strain(self) -> float:
        """γ₀ from the configuration's strain record (0 for another geometry)."""
        prior, geom_name, sign = self.prior, self.geom_name, self.sign
        gamma0 = float(prior.get("gamma", 0.0) or 0.0)
        if prior.get("geometry", geom_name) != geom_name and gamma0 != 0.0:
            log.warning(
                "configuration carries %s strain %g; the %s strain counter starts at 0",
                prior.get("geometry"),
                gamma0,
                geom_name,
            )
            gamma0 = 0.0
        if self.params.strain_max < sign * gamma0 - 1e-12:
            raise ValueError(
                f"--strain target {self.params.strain_max:g} is below the current strain: the "
                f"configuration is at γ = {gamma0:g} ({sign * gamma0:g} along the "
                f"{self.params.direction} direction); the target is measured along the loading "
                f"direction and must be >= {sign * gamma0:g}"
            )
        return gamma0

    # -- strain counter and configurations ---------------------------------
    def gamma_at(self, n):
        """γ_n = γ₀ + n Δγ (from the step index: no accumulated round-off); the last step
        of a run whose span is not a whole number of steps ends at the target exactly."""
        if self.partial and n == self.n_total:
            return self.gamma_end
        return self.gamma0 + n * self.dg

    def box_at(self, n, h0):
        """h_n = D(γ_n − γ₀)·h₀, tilt reduced (Lees–Edwards image jump)."""
        g = self.gamma_end - self.gamma0 if self.partial and n == self.n_total else n * self.dg
        return Box(reduce_tilt(deformation_at(self.params, self.A, g) @ h0))

    def strain_dict(self, n):
        prior, geom_name = self.prior, self.geom_name
        return {
            "gamma": self.gamma_at(n),
            "geometry": geom_name,
            "step": int(n),
            "direction": self.params.direction,
            "gamma0": self.gamma0,
            "step_size": self.params.step,
            **({"prior": prior} if prior.get("geometry", geom_name) != geom_name else {}),
        }

    def state_conf(self, n, x, box):
        """The configuration at step n (positions wrapped into the cell)."""
        conf = self.conf
        return Configuration(wrap_lattice(x, box), conf.sizes, box, conf.model, conf.Tp, conf.seed,
                             self.strain_dict(n), dict(conf.provenance), dict(conf.extra))

    def snapshot(self, n, x, box):
        c = self.state_conf(n, x, box)
        if self.snap_stage is not None:
            write_configuration(
                self.snap_stage / f"step-{n:08d}.parquet", c, provenance={"producer": "glass2epm.aqs.engine"}
            )
        else:
            self.mem_snaps.append(c)

    # -- start, resume, checkpoint -----------------------------------------
    def start(self) -> _State:
        """Step 0: the input configuration, minimised if max|F| ≥ ftol."""
        conf, threads = self.conf, self.threads
        h0 = conf.box.h.copy()
        box = Box(h0)
        x = np.array(conf.x, dtype=float)
        ff = ForceField(conf.model, threads=threads)
        e, f, s = ff.compute(x, conf.sizes, box)
        evals = ff.evaluations
        fmax = float(np.abs(f).max())
        if not fmax < self.ftol:
            c1, res = minimize(Configuration(x, conf.sizes, box, conf.model), ftol=self.ftol, threads=threads)
            x = c1.x
            e, f, s = ff.compute(x, conf.sizes, box)
            evals = ff.evaluations + res.force_evaluations
            fmax = float(np.abs(f).max())
        x = wrap_lattice(x, box)
        rows = [
            {
                **series_row(0, self.gamma_at(0), e, s, self.A, self.n_part, evals, 0, 0, fmax, False),
                "stress_drop": False,
                "max_nonaffine": 0.0,
            }
        ]
        self.stepper.start(x)
        if self.snap_stage is not None and self.snap_stage.exists():
            shutil.rmtree(self.snap_stage)
        if self.params.snapshot_every > 0:
            self.snapshot(0, x, box)
        return _State(0, x, box, h0, self.ftol, rows)

    def resume(self) -> _State:
        """The state saved in the checkpoint, after checking it belongs to this run."""
        ckpt, params = self.ckpt, self.params
        st = read_checkpoint(ckpt)
        meta = json.loads(str(st["meta"]))
        if meta.get("version") != CHECKPOINT_VERSION:
            raise ValueError(f"{ckpt}: checkpoint version {meta.get('version')} not supported")
        if meta["fingerprint"] != self.fp:
            raise ValueError(f"{ckpt}: checkpoint belongs to a different input configuration")
        want = params.to_dict()
        if meta["params"] != json.loads(json.dumps(want)):
            raise ValueError(
                f"{ckpt}: checkpoint was written with other parameters "
                f"({meta['params']}), not {want}"
            )
        out_series = self.out_series
        if (meta.get("output") or None) != (str(out_series) if out_series else None):
            raise ValueError(f"{ckpt}: checkpoint was written for output {meta.get('output')!r}")
        if meta.get("force_sums") != FORCE_SUMS:
            log.warning("%s: written by a version whose force sums ran in another order; the "
                        "resumed series is reproducible only to round-off, not bitwise", ckpt)
        n = int(meta["step"])
        ftol = float(meta["ftol"])
        self.stepper.ftol = ftol
        self.stepper.restore(st)
        cols = self.series_cols
        rows = from_arrays({c: st["series_" + c] for c in cols}, cols)
        events = from_arrays({c: st["events_" + c] for c in EVENT_COLUMNS}, EVENT_COLUMNS)
        if self.snap_stage is not None and params.snapshot_every > 0:
            want_snaps = [0] + [
                k for k in range(1, n + 1) if snapshot_due(k, params.step, params.snapshot_every)
            ]
            missing = [k for k in want_snaps if not (self.snap_stage / f"step-{k:08d}.parquet").exists()]
            if missing:
                raise ValueError(
                    f"{ckpt}: staged snapshots {missing[:5]} missing from {self.snap_stage}; "
                    "delete the checkpoint to restart from scratch"
                )
        log.info("AQS: resumed from %s at step %d (γ = %g)", ckpt, n, self.gamma_at(n))
        return _State(n, st["x"].copy(), Box(st["h"].copy()), st["h0"].copy(), ftol, rows, events)

    def write_ckpt(self, state: _State) -> None:
        meta = {
            "version": CHECKPOINT_VERSION,
            "step": state.n,
            "fingerprint": self.fp,
            "params": self.params.to_dict(),
            "ftol": state.ftol,
            "output": str(self.out_series) if self.out_series else None,
            "force_sums": FORCE_SUMS,
        }
        data = {
            "meta": np.array(json.dumps(meta, sort_keys=True)),
            "x": state.x,
            "h": state.box.h,
            "h0": state.h0,
            **self.stepper.state(),
        }
        ser = to_arrays(state.rows, self.series_cols)
        ev = to_arrays(state.events, EVENT_COLUMNS)
        data.update({"series_" + k: v for k, v in ser.items()})
        data.update({"events_" + k: v for k, v in ev.items()})
        write_checkpoint(self.ckpt, data)

    # -- one step ------------------------------------------------------------
    def advance(self, state: _State, stats: dict) -> dict:
        """Step n → n+1: solve the step, flag and confirm a plastic event, append its rows."""
        n, x, box, params = state.n, state.x, state.box, self.params
        box_next = self.box_at(n + 1, state.h0)
        D_step, D_back = self.D_step, self.D_back
        if self.partial and n + 1 == self.n_total:  # the shorter last step
            D_step = deformation_at(params, self.A, self.dg_last)
            D_back = deformation_at(params, self.A, -self.dg_last)
            self.stepper.D, self.stepper.dgamma = D_step, self.dg_last
        try:
            so = self.stepper.step(x, box, box_next)
        except MinimizationError as exc:
            raise RuntimeError(f"AQS step {n + 1} (γ = {self.gamma_at(n + 1):g}) failed: {exc}") from None
        prev = state.rows[-1]
        dsig = loaded_stress(so.stress, self.A) - prev["loaded_stress"]
        drop = bool(-self.sign * dsig > params.event_threshold)
        u = so.x - x @ D_step.T  # non-affine displacement of the step (same frame: no images)
        umax = float(np.sqrt(np.einsum("ij,ij->i", u, u).max()))
        jump = params.event_displacement > 0 and umax > params.event_displacement
        event = drop or jump
        evals, nfact = so.evaluations, so.factorizations
        rev = float("nan")
        if event and params.confirm_events:
            rev, ev_back, nf_back = self.stepper.reversal(so.x, x, box, D_back)
            evals += ev_back
            nfact += nf_back
            event = rev > params.reversal_tolerance
        row = series_row(n + 1, self.gamma_at(n + 1), so.energy, so.stress, self.A, self.n_part, evals,
                         nfact, so.predictor, so.fmax, event)
        row["stress_drop"] = drop
        row["max_nonaffine"] = umax
        if event:
            state.events.append(self._event(n + 1, so, x, box_next, prev, dsig, rev, D_step, drop))
        state.rows.append(row)
        state.x = wrap_lattice(so.x, box_next, far=True)
        self.stepper.commit(state.x, so.x, elastic=bool(so.predictor) and not event)
        state.box = box_next
        state.n = n + 1
        stats["steps"] += 1
        stats["evaluations"] += evals
        stats["factorizations"] += nfact
        stats["fallbacks"] += 1 - so.predictor
        return row

    def _event(self, n, so, x_prev, box_next, prev, dsig, rev, D_step, drop) -> dict:
        """One ``aqs_events`` row: Δσ_L, ΔU and the non-affine displacements |minimg(x_{n} − D x_{n−1})|."""
        u = box_next.minimum_image(so.x - x_prev @ D_step.T)
        umag = np.sqrt(np.einsum("ij,ij->i", u, u))
        return {
            "step": n,
            "strain": self.gamma_at(n),
            "dsigma": dsig,
            "denergy": so.energy - prev["energy_per_particle"] * self.n_part,
            "n_displaced": int(np.count_nonzero(umag > self.params.displacement_threshold)),
            "max_displacement": float(umag.max()),
            "stress_before": prev["loaded_stress"],
            "reversal_distance": rev,
            "stress_drop": bool(drop),
        }

    def after_step(self, state: _State, row: dict, clock: _Clock, t_start: float) -> None:
        """Snapshot, checkpoint and progress report due after a step; the ``on_step`` hook."""
        n, control, n_total = state.n, self.control, self.n_total
        if self.params.snapshot_every > 0 and snapshot_due(n, self.params.step, self.params.snapshot_every):
            self.snapshot(n, state.x, state.box)
        now = time.perf_counter()
        if (
            self.ckpt is not None
            and n < n_total
            and (
                n - clock.last_ckpt_step >= control.checkpoint_every
                or now - clock.last_ckpt_t >= control.checkpoint_seconds
            )
        ):
            self.write_ckpt(state)
            clock.last_ckpt_step, clock.last_ckpt_t = n, now
        if now - clock.last_log >= control.progress_every or n == n_total:
            rate = clock.steps / max(now - t_start, 1e-12)
            info = {
                "step": n,
                "n_steps": n_total,
                "strain": row["strain"],
                "loaded_stress": row["loaded_stress"],
                "events": len(state.events),
                "steps_per_s": rate,
            }
            log.info(
                "AQS step %d/%d  γ = %+.5f  σ_L = %+.5f  events = %d  %.1f steps/s",
                n, n_total, row["strain"], row["loaded_stress"], len(state.events), rate,
            )
            if control.progress is not None:
                control.progress(info)
            clock.last_log = now
        if control.on_step is not None:
            control.on_step(n, row)

    # -- end -----------------------------------------------------------------
    def finish(self, state: _State, stats: dict, clock: _Clock, t_start: float, resumed: bool) -> AQSResult:
        """Checkpoint an incomplete run; write the outputs of a complete one."""
        complete = state.n >= self.n_total
        ckpt = self.ckpt
        if not complete and ckpt is not None and state.n != clock.last_ckpt_step:
            self.write_ckpt(state)
        final = self.state_conf(state.n, state.x, state.box)
        series = to_arrays(state.rows, self.series_cols)
        ev = to_arrays(state.events, EVENT_COLUMNS)
        stats["wall_s"] = time.perf_counter() - t_start
        stats["resumed"] = resumed
        stats["solver"] = dict(self.stepper.counts)
        result = AQSResult(series, ev, final, complete, self.mem_snaps, {}, stats)
        if complete and self.out_series is not None:
            result.paths = finish_outputs(
                self.out_series, self.snap_stage, self.snap_final, series, ev, final, self.params,
                state.ftol, self.gamma0, self.conf,
            )
            result.snapshots = list_snapshots(self.snap_final)
        if complete and ckpt is not None and ckpt.exists() and not self.control.keep_checkpoint:
            ckpt.unlink()
        return result
