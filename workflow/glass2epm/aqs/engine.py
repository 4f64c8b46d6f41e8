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

Linear-response start (Eqs. 2, 5). The minimisation of a step starts from

    x_pred = D(Δγ)·x + Δγ ẋ,     H·ẋ = −H·(A x)        (d₁ = A·x + ẋ)

(ẋ on pair separation vectors, Lees–Edwards aware, ERRATA) instead of the affine
guess D(Δγ)·x. The error of x_pred is O(Δγ²): on the stable N = 1024 reference glass
at Δγ = 10⁻⁴ its max force is ~10⁻² of the affine guess's. One CHOLMOD factorisation
of H serves twice: for ẋ and as the (chord) Newton matrix H·Δx = F that polishes
x_pred to max|F| < ftol; and it is reused over following steps (``hessian_reuse``)
while the chord iteration converges in at most ``refresh_iterations`` iterations,
since a factorisation costs ~50–100 force evaluations (:class:`Stepper`). Near
instabilities the step falls back to the standard AQS step,
:func:`glass2epm.mechanics.minimize.minimize` (FIRE + Newton) from the *affine* guess: when the
Hessian is not positive definite, when the prediction's max force is not below the
affine guess's, or when the chord iteration stops contracting even with a fresh
Hessian (the elastic branch ends: a plastic event). Plastic events are therefore
resolved exactly as in plain AQS.

Observables per step (one row of the ``aqs_series`` table): total strain γ, the
virial stress σ (Eq. 15; negative in compression, pressure p = −Tr σ/d), U/N, the
force evaluations the step used, and a plastic-event flag. The *loaded* stress is
σ_L = σ:A / (A:A): σ_xy for simple shear, (σ_xx − σ_yy)/2 for pure shear, Tr σ/d
for dilation. A step is an event when the loaded stress falls, against the loading
direction, by more than ``event_threshold``: −sign(Δγ)·Δσ_L > threshold. Each event
records Δσ_L, ΔU (total, ε) and the number of particles whose non-affine
displacement over the step, |minimg(x_{n+1} − D(Δγ)x_n)|, exceeds
``displacement_threshold`` (λ).

A stress drop alone is not proof of plasticity: approaching a saddle-node
instability the elastic branch softens as σ ≈ σ_c − c√(γ_c − γ), so the last steps
before an event can lower σ_L *reversibly* (seen at Δγ = 10⁻³ in quenched glasses).
With ``confirm_events`` (default) every stress-drop step is therefore checked for
irreversibility: the step is undone (x → D(−Δγ)·x, minimised in the previous cell)
and it counts as a plastic event only if the state does not return to the previous
one, max_i |Δx_i| > ``reversal_tolerance`` (λ). The raw criterion stays in the
series column ``stress_drop``; the check's force evaluations are counted in the step.

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
``.npz`` checkpoint, together with the positions and cell at which the reused Hessian
was factorised (it is refactorised from them on restart, deterministically). A step is
a pure function of that state (fresh neighbour lists and minimiser at every step; there
is no RNG), so a run killed and restarted from its checkpoint produces bitwise the same
series as an uninterrupted run (tests/test_aqs.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numba
import numpy as np

from glass2epm.core.box import Box, deformation, deformation_generator, reduce_tilt
from glass2epm.mechanics.hessian import NotPositiveDefinite
from glass2epm.core.io import Configuration, atomic_path, read_configuration, read_table, write_configuration, write_table
from glass2epm.mechanics.minimize import MinimizationError, default_ftol, minimize
from glass2epm.core.potential import ForceField, effective_threads
from glass2epm.mechanics.linear_response import nonaffine_velocity
from glass2epm.analysis.stats import curve_peak, uniform_grid
from glass2epm.core.schemas import AQS_SERIES, AQS_EVENTS, AQS_STATISTICS

log = logging.getLogger(__name__)


GEOMETRIES = ("simple_shear", "pure_shear", "dilation")
DIRECTIONS = {"forward": 1.0, "backward": -1.0}
DEFAULT_EVENT_THRESHOLD = 1e-6  # ε/λ^d
DEFAULT_DISPLACEMENT_THRESHOLD = 0.1  # λ
CHECKPOINT_VERSION = 1


class AQSInterrupted(RuntimeError):
    """Raised by an ``on_step`` hook to stop a run (used to simulate a kill)."""


# ---------------------------------------------------------------------------
# paths


def events_path(series_path) -> Path:
    """``out/run.parquet`` → ``out/run.events.parquet``."""
    p = Path(series_path)
    return p.with_name(p.stem + ".events" + (p.suffix or ".parquet"))


def snapshots_path(series_path) -> Path:
    """``out/run.parquet`` → ``out/run.snapshots`` (a directory)."""
    p = Path(series_path)
    return p.with_name(p.stem + ".snapshots")


def list_snapshots(directory) -> list[Path]:
    """Snapshot files of a run, in loading order."""
    return sorted(Path(directory).glob("step-*.parquet"))


def iter_snapshots(directory):
    """Yield the snapshot :class:`Configuration` s of a run in loading order (lazy)."""
    for p in list_snapshots(directory):
        yield read_configuration(p)


# ---------------------------------------------------------------------------
# parameters and results


@dataclass
class AQSParams:
    """Parameters of an AQS run (strains dimensionless, stresses ε/λ^d, lengths λ).

    step : |Δγ| per step (> 0); the sign comes from ``direction``.
    strain_max : target strain *along the loading direction*, s = sign·γ: the run
        goes from γ₀ to γ = sign·strain_max (so forward from γ₀ = 0 to +strain_max,
        backward from γ₀ = 0 to −strain_max). Must not be below sign·γ₀.
    generator : optional deformation generator A (upper-triangular d×d) overriding
        ``geometry``; D(γ) = exp(γA).
    predictor : ``"linear"`` (linear-response start, the default) or ``"affine"``.
    polish : with the linear predictor, ``"chord"`` (Newton with the step's Hessian,
        default) or ``"minimize"`` (FIRE + Newton from the prediction).
    """

    step: float
    strain_max: float
    direction: str = "forward"
    geometry: str = "simple_shear"
    generator: list | None = None
    ftol: float | None = None
    predictor: str = "linear"
    polish: str = "chord"
    event_threshold: float = DEFAULT_EVENT_THRESHOLD
    displacement_threshold: float = DEFAULT_DISPLACEMENT_THRESHOLD
    snapshot_every: float = 0.01
    confirm_events: bool = True
    reversal_tolerance: float = 1e-3
    max_chord: int = 25
    hessian_reuse: int = 50
    refresh_iterations: int = 6

    def validate(self):
        if not math.isfinite(self.step) or self.step <= 0:
            raise ValueError(
                f"--step (strain increment Δγ) must be positive, got {self.step!r}; "
                "use --direction backward to load in the negative direction"
            )
        if self.direction not in DIRECTIONS:
            raise ValueError(f"--direction must be 'forward' or 'backward', got {self.direction!r}")
        if self.generator is None and self.geometry not in GEOMETRIES:
            raise ValueError(f"--geometry must be one of {GEOMETRIES}, got {self.geometry!r}")
        if self.predictor not in ("linear", "affine"):
            raise ValueError(f"predictor must be 'linear' or 'affine', got {self.predictor!r}")
        if self.polish not in ("chord", "minimize"):
            raise ValueError(f"polish must be 'chord' or 'minimize', got {self.polish!r}")
        if not math.isfinite(self.strain_max):
            raise ValueError(f"--strain must be finite, got {self.strain_max!r}")
        if self.event_threshold < 0 or self.displacement_threshold < 0:
            raise ValueError("event_threshold and displacement_threshold must be >= 0")
        if int(self.hessian_reuse) < 1 or int(self.max_chord) < 1:
            raise ValueError("hessian_reuse and max_chord must be >= 1")
        if self.snapshot_every < 0:
            raise ValueError(
                f"--snapshot-every must be >= 0 (0: no snapshots), got {self.snapshot_every}"
            )

    @property
    def sign(self) -> float:
        return DIRECTIONS[self.direction]

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        if d["generator"] is not None:
            d["generator"] = np.asarray(d["generator"], dtype=float).tolist()
        return d


@dataclass
class AQSResult:
    """The outcome of :func:`run_aqs`.

    series, events : dicts of 1-D arrays (the ``aqs_series`` / ``aqs_events`` columns).
    final : the configuration at the last completed step.
    complete : False when the run stopped early (``max_steps``) or was interrupted.
    snapshots : paths (with an output) or in-memory Configurations (without).
    stats : run statistics (wall time, evaluations, fallbacks): not deterministic.
    """

    series: dict
    events: dict
    final: Configuration
    complete: bool
    snapshots: list = field(default_factory=list)
    paths: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------
# deformation helpers


def _generator(params: AQSParams, dim: int) -> np.ndarray:
    if params.generator is not None:
        A = np.asarray(params.generator, dtype=float)
        if A.shape != (dim, dim):
            raise ValueError(f"generator must be {dim}x{dim}, got shape {A.shape}")
        if np.any(np.tril(A, -1) != 0):
            raise ValueError("generator must be upper triangular (the cell stays upper triangular)")
        return A
    return deformation_generator(params.geometry, dim)


def _deformation(params: AQSParams, A: np.ndarray, gamma: float) -> np.ndarray:
    d = A.shape[0]
    if params.generator is None:
        return deformation(params.geometry, gamma, d)
    from scipy.linalg import expm

    return expm(gamma * A)


def loaded_stress(stress: np.ndarray, A: np.ndarray) -> float:
    """σ_L = σ:A / (A:A) in ε/λ^d: σ_xy (simple shear), (σ_xx−σ_yy)/2 (pure shear), Tr σ/d (dilation)."""
    return float(np.sum(stress * A) / np.sum(A * A))


def _wrap_lattice(x: np.ndarray, box: Box, far: bool = False) -> np.ndarray:
    """Shift particles outside the primary cell by integer lattice vectors (others untouched).

    ``far``: only those more than one cell away (fractional coordinate outside [−1, 2)),
    so that the persistent Verlet list (which a re-wrap invalidates) is rarely rebuilt.
    """
    s = np.linalg.solve(box.h, x.T).T
    n = np.floor(s)
    out = x.copy()
    rows = np.any((s < -1.0) | (s >= 2.0), axis=1) if far else np.any(n != 0, axis=1)
    if rows.any():
        out[rows] -= n[rows] @ box.h.T
    return out


def _fingerprint(conf: Configuration) -> str:
    hsh = hashlib.sha256()
    for a in (conf.x, conf.sizes, conf.box.h):
        hsh.update(np.ascontiguousarray(a, dtype=float).tobytes())
    hsh.update(json.dumps(conf.model.to_dict(), sort_keys=True).encode())
    return hsh.hexdigest()


# ---------------------------------------------------------------------------
# one step


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

    def __init__(
        self,
        model,
        sizes,
        A,
        D,
        dgamma,
        *,
        ftol,
        predictor="linear",
        polish="chord",
        max_chord=25,
        hessian_reuse=50,
        refresh_iterations=6,
        threads=1,
    ):
        self.model = model
        self.sizes = sizes
        self.A = A
        self.D = D
        self.dgamma = dgamma
        self.ftol = ftol
        self.predictor = predictor
        self.polish = polish
        self.max_chord = max_chord
        self.hessian_reuse = max(1, int(hessian_reuse))
        self.refresh_iterations = refresh_iterations
        self.threads = effective_threads(threads, len(sizes))
        self.ref = None  # (x_k, h_k)
        self.age = 0
        self.solver = None
        self.xdot = None
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
        nfact = 0
        if self.predictor == "linear":
            if self.polish == "minimize":
                ok = self._refresh(x, box, ForceField(self.model))
                nfact += 1
                if ok:
                    x_pred = x_aff + self.dgamma * self.xdot
                    _, f_p, _ = ff.compute(x_pred)
                    _, f_a, _ = ff.compute(x_aff)
                    if np.abs(f_p).max() < np.abs(f_a).max():
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
                            1,
                        )
            else:
                for attempt in range(2):
                    fresh = False
                    if self.solver is None or self.age >= self.hessian_reuse:
                        if not self._refresh(x, box, ForceField(self.model)):
                            nfact += 1
                            break
                        nfact += 1
                        fresh = True
                    elif attempt == 1:
                        break
                    got = self._chord(x_aff, box_next, ff)
                    if got is not None:
                        xn, e, s, fm, it = got
                        self.age += 1
                        if it > self.refresh_iterations:
                            self.age = self.hessian_reuse  # refresh before the next step
                        return _StepOut(xn, e, s, fm, ff.evaluations, nfact, 1)
                    if fresh:
                        break
                    self.solver = None  # stale: retry once with a fresh Hessian
        # standard AQS step: minimise from the affine guess
        self.solver, self.xdot, self.ref, self.age = None, None, None, 0
        c0 = Configuration(x_aff, self.sizes, box_next, self.model)
        out, res = minimize(c0, ftol=self.ftol, threads=self.threads)
        e, _, s = ff.compute(out.x)
        return _StepOut(
            out.x,
            e,
            s,
            res.fmax,
            ff.evaluations + res.force_evaluations,
            nfact + res.newton_steps,
            0,
        )


def _reversal_distance(x_new, x_old, box_old, model, sizes, D_back, ftol, threads):
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


def _stress_columns(d: int) -> list[tuple[str, int, int]]:
    if d == 2:
        return [("sxx", 0, 0), ("syy", 1, 1), ("sxy", 0, 1)]
    return [
        ("sxx", 0, 0),
        ("syy", 1, 1),
        ("szz", 2, 2),
        ("sxy", 0, 1),
        ("sxz", 0, 2),
        ("syz", 1, 2),
    ]


def _series_columns(d: int) -> list[str]:
    return (
        ["step", "strain"]
        + [c for c, _, _ in _stress_columns(d)]
        + [
            "pressure",
            "energy_per_particle",
            "loaded_stress",
            "force_evaluations",
            "factorizations",
            "predictor",
            "max_force",
            "stress_drop",
            "event",
        ]
    )


EVENT_COLUMNS = [
    "step",
    "strain",
    "dsigma",
    "denergy",
    "n_displaced",
    "max_displacement",
    "stress_before",
    "reversal_distance",
]
_BOOL_COLUMNS = {"event", "stress_drop"}
_INT_COLUMNS = {"step", "force_evaluations", "factorizations", "predictor", "n_displaced"}


def _row(step, gamma, energy, stress, A, n, evals, nfact, pred, fmax, event) -> dict:
    d = stress.shape[0]
    row = {"step": step, "strain": gamma}
    for c, a, b in _stress_columns(d):
        row[c] = float(stress[a, b])
    row.update(
        pressure=float(-np.trace(stress) / d),
        energy_per_particle=float(energy / n),
        loaded_stress=loaded_stress(stress, A),
        force_evaluations=int(evals),
        factorizations=int(nfact),
        predictor=int(pred),
        max_force=float(fmax),
        event=bool(event),
    )
    return row


def _to_arrays(rows: list[dict], columns: list[str]) -> dict:
    out = {}
    for c in columns:
        vals = [r[c] for r in rows]
        if c in _BOOL_COLUMNS:
            out[c] = np.array(vals, dtype=bool)
        elif c in _INT_COLUMNS:
            out[c] = np.array(vals, dtype=np.int64)
        else:
            out[c] = np.array(vals, dtype=float)
    return out


def _from_arrays(cols: dict, columns: list[str]) -> list[dict]:
    n = len(cols[columns[0]]) if columns[0] in cols else 0
    rows = []
    for k in range(n):
        r = {}
        for c in columns:
            v = cols[c][k]
            r[c] = bool(v) if c in _BOOL_COLUMNS else (int(v) if c in _INT_COLUMNS else float(v))
        rows.append(r)
    return rows


# ---------------------------------------------------------------------------
# checkpoints


def _write_checkpoint(path: Path, state: dict) -> None:
    tmp = atomic_path(path)
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, **state)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _read_checkpoint(path: Path) -> dict:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as exc:
        raise ValueError(f"{path}: not a readable AQS checkpoint ({exc})") from None


# ---------------------------------------------------------------------------
# the run


def _snapshot_due(n: int, step: float, every: float) -> bool:
    """Step n (≥ 1) crosses a multiple of ``every`` in |γ − γ₀| (stateless in n)."""
    if every <= 0:
        return False
    k = lambda m: math.floor(m * step / every + 1e-9)  # noqa: E731
    return k(n) > k(n - 1)


def run_aqs(
    conf: Configuration,
    step: float,
    strain_max: float,
    *,
    direction: str = "forward",
    geometry: str = "simple_shear",
    generator=None,
    ftol: float | None = None,
    predictor: str = "linear",
    polish: str = "chord",
    event_threshold: float = DEFAULT_EVENT_THRESHOLD,
    displacement_threshold: float = DEFAULT_DISPLACEMENT_THRESHOLD,
    confirm_events: bool = True,
    reversal_tolerance: float = 1e-3,
    snapshot_every: float = 0.01,
    hessian_reuse: int = 50,
    output=None,
    checkpoint=None,
    checkpoint_every: int = 1000,
    checkpoint_seconds: float = 600.0,
    keep_checkpoint: bool = False,
    threads: int = 1,
    max_steps: int | None = None,
    progress=None,
    progress_every: float = 30.0,
    on_step=None,
) -> AQSResult:
    """Athermal quasistatic deformation of ``conf`` from its strain γ₀ to sign·``strain_max``.

    Parameters (units: strain dimensionless, stress ε/λ^d, length λ, force ε/λ)
    ----------
    step : |Δγ| (> 0). direction : ``forward`` (Δγ > 0) or ``backward`` (Δγ < 0).
    strain_max : target along the loading direction (see :class:`AQSParams`).
    geometry : ``simple_shear`` | ``pure_shear`` | ``dilation``; or ``generator`` = A.
    ftol : max|F| tolerance of each inherent state (default :func:`default_ftol`).
    predictor, polish : see the module docstring and :class:`AQSParams`.
    event_threshold : loaded-stress drop (ε/λ^d) that flags a plastic event.
    displacement_threshold : non-affine displacement (λ) counted in ``n_displaced``.
    confirm_events : count a stress drop as an event only if the step is irreversible
        (undoing it does not return within ``reversal_tolerance`` λ); see module docstring.
    snapshot_every : strain between snapshots (0: none); step 0 is always one.
    hessian_reuse : steps one Hessian factorisation may serve (1: refactorise every step).
    output : series path; events and snapshots go beside it (:func:`events_path`,
        :func:`snapshots_path`). Without it nothing is written except the checkpoint,
        and snapshots are kept in memory.
    checkpoint : path of the ``.npz`` checkpoint; resumed from when it exists.
    checkpoint_every, checkpoint_seconds : write it every K steps or T seconds.
    keep_checkpoint : keep the checkpoint after a complete run (default: removed).
    threads : numba threads for forces (full neighbour list when > 1; the series is
        bitwise reproducible for a given choice of threads == 1 or > 1, and equal to
        round-off between the two). On a busy 2-core machine threads=1 is faster.
    max_steps : stop after this many steps *in this call* (checkpoint written); the
        result has ``complete=False`` and no final output is written.
    progress : callable(dict) called every ``progress_every`` seconds (also logged).
    on_step : callable(step, row) after every step (tests use it to simulate a kill).
    """
    try:
        step = float(step)
    except (TypeError, ValueError):
        raise ValueError(f"--step must be a number, got {step!r}") from None
    params = AQSParams(
        step=step,
        strain_max=float(strain_max),
        direction=direction,
        geometry=geometry,
        generator=None if generator is None else np.asarray(generator, float).tolist(),
        ftol=ftol,
        predictor=predictor,
        polish=polish,
        event_threshold=float(event_threshold),
        displacement_threshold=float(displacement_threshold),
        confirm_events=bool(confirm_events),
        reversal_tolerance=float(reversal_tolerance),
        snapshot_every=float(snapshot_every),
        hessian_reuse=int(hessian_reuse),
    )
    params.validate()
    n_part, d = conf.N, conf.dim
    model = conf.model
    A = _generator(params, d)
    geom_name = params.geometry if params.generator is None else "custom"
    sign = params.sign
    ftol_v = default_ftol(n_part) if params.ftol is None else float(params.ftol)
    if ftol_v <= 0:
        raise ValueError(f"ftol must be positive, got {ftol_v}")
    prior = dict(conf.strain or {})
    gamma0 = float(prior.get("gamma", 0.0) or 0.0)
    if prior.get("geometry", geom_name) != geom_name and gamma0 != 0.0:
        log.warning(
            "configuration carries %s strain %g; the %s strain counter starts at 0",
            prior.get("geometry"),
            gamma0,
            geom_name,
        )
        gamma0 = 0.0
    if params.strain_max < sign * gamma0 - 1e-12:
        raise ValueError(
            f"--strain target {params.strain_max:g} is below the current strain: the configuration "
            f"is at γ = {gamma0:g} ({sign * gamma0:g} along the {direction} direction); the target "
            f"is measured along the loading direction and must be >= {sign * gamma0:g}"
        )
    n_total = int(math.ceil((params.strain_max - sign * gamma0) / params.step - 1e-9))
    n_total = max(n_total, 0)
    dg = sign * params.step
    D_step = _deformation(params, A, dg)
    D_back = _deformation(params, A, -dg)
    series_cols = _series_columns(d)

    out_series = Path(output) if output is not None else None
    snap_final = snapshots_path(out_series) if out_series else None
    snap_stage = snap_final.with_name(snap_final.name + ".part") if out_series else None
    mem_snaps: list = []
    ckpt = Path(checkpoint) if checkpoint is not None else None
    fp = _fingerprint(conf)

    def gamma_at(n):
        return gamma0 + n * dg

    def box_at(n, h0):
        return Box(reduce_tilt(_deformation(params, A, n * dg) @ h0))

    def strain_dict(n):
        return {
            "gamma": gamma_at(n),
            "geometry": geom_name,
            "step": int(n),
            "direction": direction,
            "gamma0": gamma0,
            "step_size": params.step,
            **({"prior": prior} if prior.get("geometry", geom_name) != geom_name else {}),
        }

    def state_conf(n, x, box):
        """The configuration at step n (positions wrapped into the cell)."""
        return Configuration(_wrap_lattice(x, box), conf.sizes, box, model, conf.Tp, conf.seed,
                             strain_dict(n), dict(conf.provenance), dict(conf.extra))

    def snapshot(n, x, box):
        c = state_conf(n, x, box)
        if snap_stage is not None:
            write_configuration(
                snap_stage / f"step-{n:08d}.parquet", c, provenance={"producer": "glass2epm.aqs.engine"}
            )
        else:
            mem_snaps.append(c)

    stepper = Stepper(
        model,
        conf.sizes,
        A,
        D_step,
        dg,
        ftol=ftol_v,
        predictor=params.predictor,
        polish=params.polish,
        max_chord=params.max_chord,
        hessian_reuse=params.hessian_reuse,
        refresh_iterations=params.refresh_iterations,
        threads=threads,
    )
    stats = {"fallbacks": 0, "steps": 0, "evaluations": 0, "factorizations": 0}
    t_start = time.perf_counter()
    resumed = False
    if ckpt is not None and ckpt.exists():
        st = _read_checkpoint(ckpt)
        meta = json.loads(str(st["meta"]))
        if meta.get("version") != CHECKPOINT_VERSION:
            raise ValueError(f"{ckpt}: checkpoint version {meta.get('version')} not supported")
        if meta["fingerprint"] != fp:
            raise ValueError(f"{ckpt}: checkpoint belongs to a different input configuration")
        want = params.to_dict()
        if meta["params"] != json.loads(json.dumps(want)):
            raise ValueError(
                f"{ckpt}: checkpoint was written with other parameters "
                f"({meta['params']}), not {want}"
            )
        if (meta.get("output") or None) != (str(out_series) if out_series else None):
            raise ValueError(f"{ckpt}: checkpoint was written for output {meta.get('output')!r}")
        if bool(meta.get("full_list", False)) != (threads > 1):
            log.warning("%s: resumed with threads=%d; the force sums run over a %s list now, so "
                        "the series is reproducible only to round-off, not bitwise", ckpt, threads,
                        "full" if threads > 1 else "half")
        n = int(meta["step"])
        x = st["x"].copy()
        h0 = st["h0"].copy()
        box = Box(st["h"].copy())
        ftol_v = float(meta["ftol"])
        stepper.ftol = ftol_v
        stepper.restore(st)
        rows = _from_arrays({c: st["series_" + c] for c in series_cols}, series_cols)
        events = _from_arrays({c: st["events_" + c] for c in EVENT_COLUMNS}, EVENT_COLUMNS)
        if snap_stage is not None and params.snapshot_every > 0:
            want_snaps = [0] + [
                k for k in range(1, n + 1) if _snapshot_due(k, params.step, params.snapshot_every)
            ]
            missing = [k for k in want_snaps if not (snap_stage / f"step-{k:08d}.parquet").exists()]
            if missing:
                raise ValueError(
                    f"{ckpt}: staged snapshots {missing[:5]} missing from {snap_stage}; "
                    "delete the checkpoint to restart from scratch"
                )
        resumed = True
        log.info("AQS: resumed from %s at step %d (γ = %g)", ckpt, n, gamma_at(n))
    else:
        n = 0
        h0 = conf.box.h.copy()
        box = Box(h0)
        x = np.array(conf.x, dtype=float)
        ff = ForceField(model, threads=threads)
        e, f, s = ff.compute(x, conf.sizes, box)
        evals = ff.evaluations
        fmax = float(np.abs(f).max())
        if not fmax < ftol_v:
            c1, res = minimize(
                Configuration(x, conf.sizes, box, model), ftol=ftol_v, threads=threads
            )
            x = c1.x
            e, f, s = ff.compute(x, conf.sizes, box)
            evals = ff.evaluations + res.force_evaluations
            fmax = float(np.abs(f).max())
        x = _wrap_lattice(x, box)
        rows = [
            {
                **_row(0, gamma_at(0), e, s, A, n_part, evals, 0, 0, fmax, False),
                "stress_drop": False,
            }
        ]
        events = []
        if snap_stage is not None and snap_stage.exists():
            shutil.rmtree(snap_stage)
        if params.snapshot_every > 0:
            snapshot(0, x, box)

    def write_ckpt():
        meta = {
            "version": CHECKPOINT_VERSION,
            "step": n,
            "fingerprint": fp,
            "params": params.to_dict(),
            "ftol": ftol_v,
            "output": str(out_series) if out_series else None,
            "full_list": threads > 1,
        }
        state = {
            "meta": np.array(json.dumps(meta, sort_keys=True)),
            "x": x,
            "h": box.h,
            "h0": h0,
            **stepper.state(),
        }
        ser = _to_arrays(rows, series_cols)
        ev = _to_arrays(events, EVENT_COLUMNS)
        state.update({"series_" + k: v for k, v in ser.items()})
        state.update({"events_" + k: v for k, v in ev.items()})
        _write_checkpoint(ckpt, state)

    last_ckpt_step, last_ckpt_t = n, time.perf_counter()
    last_log = time.perf_counter()
    steps_this_call = 0
    sizes = conf.sizes
    complete = n >= n_total
    prev_threads = numba.get_num_threads()
    if threads > 1:
        numba.set_num_threads(min(int(threads), numba.config.NUMBA_NUM_THREADS))
    try:
        while n < n_total:
            if max_steps is not None and steps_this_call >= max_steps:
                break
            box_next = box_at(n + 1, h0)
            try:
                so = stepper.step(x, box, box_next)
            except MinimizationError as exc:
                raise RuntimeError(
                    f"AQS step {n + 1} (γ = {gamma_at(n + 1):g}) failed: {exc}"
                ) from None
            # plastic-event bookkeeping
            prev = rows[-1]
            sl = loaded_stress(so.stress, A)
            dsig = sl - prev["loaded_stress"]
            drop = bool(-sign * dsig > params.event_threshold)
            event = drop
            evals = so.evaluations
            rev = float("nan")
            if drop and params.confirm_events:
                rev, ev_back = _reversal_distance(
                    so.x, x, box, model, conf.sizes, D_back, ftol_v, threads
                )
                evals += ev_back
                event = rev > params.reversal_tolerance
            u = box_next.minimum_image(so.x - x @ D_step.T)
            umag = np.sqrt(np.einsum("ij,ij->i", u, u))
            row = _row(
                n + 1,
                gamma_at(n + 1),
                so.energy,
                so.stress,
                A,
                n_part,
                evals,
                so.factorizations,
                so.predictor,
                so.fmax,
                event,
            )
            row["stress_drop"] = drop
            if event:
                events.append(
                    {
                        "step": n + 1,
                        "strain": gamma_at(n + 1),
                        "dsigma": dsig,
                        "denergy": so.energy - prev["energy_per_particle"] * n_part,
                        "n_displaced": int(np.count_nonzero(umag > params.displacement_threshold)),
                        "max_displacement": float(umag.max()),
                        "stress_before": prev["loaded_stress"],
                        "reversal_distance": rev,
                    }
                )
            rows.append(row)
            x = _wrap_lattice(so.x, box_next, far=True)
            box = box_next
            n += 1
            steps_this_call += 1
            stats["steps"] += 1
            stats["evaluations"] += evals
            stats["factorizations"] += so.factorizations
            stats["fallbacks"] += 1 - so.predictor
            if params.snapshot_every > 0 and _snapshot_due(n, params.step, params.snapshot_every):
                snapshot(n, x, box)
            now = time.perf_counter()
            if (
                ckpt is not None
                and n < n_total
                and (
                    n - last_ckpt_step >= checkpoint_every
                    or now - last_ckpt_t >= checkpoint_seconds
                )
            ):
                write_ckpt()
                last_ckpt_step, last_ckpt_t = n, now
            if now - last_log >= progress_every or n == n_total:
                rate = steps_this_call / max(now - t_start, 1e-12)
                info = {
                    "step": n,
                    "n_steps": n_total,
                    "strain": row["strain"],
                    "loaded_stress": row["loaded_stress"],
                    "events": len(events),
                    "steps_per_s": rate,
                }
                log.info(
                    "AQS step %d/%d  γ = %+.5f  σ_L = %+.5f  events = %d  %.1f steps/s",
                    n,
                    n_total,
                    row["strain"],
                    row["loaded_stress"],
                    len(events),
                    rate,
                )
                if progress is not None:
                    progress(info)
                last_log = now
            if on_step is not None:
                on_step(n, row)
    finally:
        numba.set_num_threads(prev_threads)
    complete = n >= n_total
    if not complete and ckpt is not None and n != last_ckpt_step:
        write_ckpt()

    final = state_conf(n, x, box)
    series = _to_arrays(rows, series_cols)
    ev = _to_arrays(events, EVENT_COLUMNS)
    stats["wall_s"] = time.perf_counter() - t_start
    stats["resumed"] = resumed
    result = AQSResult(series, ev, final, complete, mem_snaps, {}, stats)
    if complete and out_series is not None:
        result.paths = _finish_outputs(
            out_series, snap_stage, snap_final, series, ev, final, params, ftol_v, gamma0, conf
        )
        result.snapshots = list_snapshots(snap_final)
    if complete and ckpt is not None and ckpt.exists() and not keep_checkpoint:
        ckpt.unlink()
    return result


def _finish_outputs(
    out_series, snap_stage, snap_final, series, ev, final, params, ftol, gamma0, conf
) -> dict:
    extra = {
        "aqs": {
            **params.to_dict(),
            "ftol": ftol,
            "gamma0": gamma0,
            "n_steps": int(len(series["strain"]) - 1),
        }
    }
    meta = dict(model=final.model, box=final.box, strain=final.strain, seed=conf.seed,
                provenance={"producer": "glass2epm.aqs.engine", "input": conf.provenance}, extra=extra)
    ev_path = events_path(out_series)
    write_table(ev_path, AQS_EVENTS, ev, **meta)
    if params.snapshot_every > 0:
        snap_stage.mkdir(parents=True, exist_ok=True)
        if snap_final.exists():
            trash = snap_final.with_name(snap_final.name + f".old-{os.getpid()}")
            os.replace(snap_final, trash)
            os.replace(snap_stage, snap_final)
            shutil.rmtree(trash)
        else:
            os.replace(snap_stage, snap_final)
    elif snap_final.exists():  # snapshots of an earlier run with the same name
        shutil.rmtree(snap_final)
    write_table(out_series, AQS_SERIES, series, **meta)
    return {
        "series": out_series,
        "events": ev_path,
        "snapshots": snap_final if params.snapshot_every > 0 else None,
    }


# ---------------------------------------------------------------------------
# reading and summaries


def read_series(path):
    """Read an ``aqs_series`` file (io.Table: columns and metadata)."""
    return read_table(path, AQS_SERIES)


def read_events(path):
    """Read an ``aqs_events`` file."""
    return read_table(path, AQS_EVENTS)


def _series_arrays(series) -> tuple[dict, dict]:
    if isinstance(series, (str, Path)):
        series = read_series(series)
    if hasattr(series, "columns") and hasattr(series, "meta"):
        return series.columns, series.meta
    if isinstance(series, AQSResult):
        return series.series, {}
    return dict(series), {}


def _loading(cols: dict, meta: dict, component: str | None, direction: str | None):
    strain = np.asarray(cols["strain"], dtype=float)
    if component is None:
        component = "loaded_stress" if "loaded_stress" in cols else "sxy"
    sig = np.asarray(cols[component], dtype=float)
    if direction is None:
        direction = ((meta.get("extra") or {}).get("aqs") or {}).get("direction")
    if direction is None:
        direction = "backward" if strain.size > 1 and strain[-1] < strain[0] else "forward"
    sign = DIRECTIONS[direction]
    s = sign * (strain - strain[0])  # loading strain from the start
    return s, sig, sign, component


def summarize(
    series, window=(0.2, None), component: str | None = None, direction: str | None = None
) -> dict:
    """Stress overshoot and steady state of one AQS series (stresses in ε/λ^d).

    ``series``: path, io.Table, AQSResult or dict of columns. ``component``: column
    (default ``loaded_stress``, else ``sxy``). ``window`` = (a, b): the steady state
    is the loading strain s = sign·(γ − γ_start) in [a, b] (b None: to the end).
    Returns peak stress (largest sign·σ) and its strain, σ_s (mean over the window),
    its standard deviation, the overshoot sign·(σ_peak − σ_s) (None where the window
    holds no step), and event counts.
    """
    cols, meta = _series_arrays(series)
    s, sig, sign, component = _loading(cols, meta, component, direction)
    strain = np.asarray(cols["strain"], dtype=float)
    k = int(np.argmax(sign * sig))
    a, b = window
    sel = (s >= a) & (s <= (np.inf if b is None else b))
    ev = np.asarray(cols.get("event", np.zeros(len(s), bool)), dtype=bool)
    out = {
        "component": component,
        "direction": "forward" if sign > 0 else "backward",
        "peak_stress": float(sig[k]),
        "peak_strain": float(strain[k]),
        "steady_window": [float(a), None if b is None else float(b)],
        "n_steady": int(sel.sum()),
        "steady_stress": float(np.mean(sig[sel])) if sel.any() else None,
        "steady_std": float(np.std(sig[sel])) if sel.any() else None,
        "n_events": int(ev.sum()),
        "strain_range": float(s.max() if s.size else 0.0),
    }
    out["overshoot"] = (
        None
        if out["steady_stress"] is None
        else float(sign * (out["peak_stress"] - out["steady_stress"]))
    )
    out["events_per_strain"] = out["n_events"] / out["strain_range"] if out["strain_range"] else 0.0
    return out


def steady_state_distribution(
    series_list, window=(0.2, None), bins=40, component=None, direction=None, range=None
) -> dict:
    """P(σ_s): steady-state stresses pooled over several series (samples), Fig. 5(b).

    Every step in the window of every series is one sample of σ (ε/λ^d). Returns
    the pooled values, a normalised histogram (density, edges), mean, std and the
    per-series means.
    """
    vals, means = [], []
    for ser in series_list:
        cols, meta = _series_arrays(ser)
        s, sig, _, _ = _loading(cols, meta, component, direction)
        a, b = window
        sel = (s >= a) & (s <= (np.inf if b is None else b))
        vals.append(sig[sel])
        means.append(float(sig[sel].mean()) if sel.any() else float("nan"))
    v = np.concatenate(vals) if vals else np.empty(0)
    if v.size == 0:
        raise ValueError(f"no steady-state samples in window {window}")
    dens, edges = np.histogram(v, bins=bins, range=range, density=True)
    return {
        "values": v,
        "density": dens,
        "edges": edges,
        "mean": float(v.mean()),
        "std": float(v.std()),
        "n_samples": int(v.size),
        "sample_means": means,
    }


def loading_curves(series_list, dx: float = 1e-3, component=None, direction=None):
    """σ(γ) of several series on one uniform loading-strain grid s = 0, dx, … up to the
    shortest series (linear interpolation between AQS steps).

    Returns (grid, curves (n_series, n_grid)); curves hold sign·σ (the stress along the
    loading direction, ε/λ^d), so that a peak is a maximum for either direction."""
    loaded = []
    for ser in series_list:
        cols, meta = _series_arrays(ser)
        s, sig, sign, _ = _loading(cols, meta, component, direction)
        loaded.append((s, sign * sig))
    if not loaded:
        raise ValueError("no AQS series given")
    end = min(float(s.max()) for s, _ in loaded)
    if not end > dx:
        raise ValueError(f"AQS series reach only strain {end}: too short for a curve on a {dx} grid")
    grid = uniform_grid(end, dx)
    return grid, np.array([np.interp(grid, s, y) for s, y in loaded])


def pooled_statistics(series_list, window=(0.2, None), peak_window: float = 0.0) -> tuple[dict, dict]:
    """Per-sample peak and steady-state stresses, and P(σ_s) pooled over the samples (Fig. 5b).

    Returns (columns of the ``aqs_statistics`` schema, pooled dict with mean, std,
    density, edges and ``mean_curve_peak``: the peak of the sample-averaged curve
    smoothed over ``peak_window`` strain, :func:`glass2epm.analysis.stats.curve_peak`, the
    yield stress compared with the EPM). Stresses in ε/λ^d.
    """
    rows = {k: [] for k in AQS_STATISTICS.columns}
    for t in series_list:
        s = summarize(t, window=window)
        _, meta = _series_arrays(t)
        rows["seed"].append(int((meta or {}).get("seed") or 0))
        for k in ("peak_stress", "peak_strain", "steady_stress", "steady_std"):
            rows[k].append(np.nan if s[k] is None else s[k])
    dist = steady_state_distribution(series_list, window=window)
    pooled = {k: dist[k] for k in ("mean", "density", "edges")}
    pooled["std"] = float(np.std(dist["values"]))
    grid, curves = loading_curves(series_list)
    pooled["mean_curve_peak"] = curve_peak(curves, grid, peak_window).as_dict()
    return {k: np.asarray(v) for k, v in rows.items()}, pooled
