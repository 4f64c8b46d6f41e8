"""The AQS protocol record: what is deformed, how, and when a step counts as an event.

The deformation of every geometry is D(γ) = exp(γA) with generator A = ∂D/∂γ
(paper Eq. 2; Eq. 1 for simple shear, where the cell tilt is the Lees–Edwards strain,
Sec. II A); :func:`glass2epm.core.box.deformation` holds the closed forms. The loaded
stress σ_L = σ:A/(A:A) (:func:`loaded_stress`) is the stress conjugate to that strain.
:class:`AQSParams` is the physics protocol (step, strain, direction, geometry,
tolerances, event thresholds, snapshots, Hessian reuse); :class:`RunControl` says where
and how a run executes (output, checkpoint, threads, progress), which does not change
the series. Units: energy ε, length λ, stress ε/λ^d, strain dimensionless.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from glass2epm.core.box import Box, deformation, deformation_generator
from glass2epm.core.io import Configuration

GEOMETRIES = ("simple_shear", "pure_shear", "dilation")
DIRECTIONS = {"forward": 1.0, "backward": -1.0}
#: the largest strain step accepted (a larger one is a typo or a misunderstanding of AQS)
MAX_STEP = 0.05
DEFAULT_EVENT_THRESHOLD = 1e-6  # ε/λ^d
DEFAULT_DISPLACEMENT_THRESHOLD = 0.1  # λ
DEFAULT_EVENT_DISPLACEMENT = 0.1  # λ
CHECKPOINT_VERSION = 2


class AQSInterrupted(RuntimeError):
    """Raised by an ``on_step`` hook to stop a run (used to simulate a kill)."""


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
    polish : with the linear predictor, ``"chord"`` (continuation: extrapolated or
        linear-response prediction, Anderson chord Newton, Newton; the default) or
        ``"minimize"`` (FIRE + Newton from the linear-response prediction).
    event_threshold : a step is an event candidate when the loaded stress falls by more
        than this (ε/λ^d) ...
    event_displacement : ... or when some particle's non-affine displacement over the
        step, max_i |x_i(n) − D(Δγ)·x_i(n−1)|, exceeds this (λ; 0 switches it off). Small
        events with hardly any stress drop are found this way. Candidates are confirmed
        by the reversal check (``confirm_events``).
    hessian_reuse : steps one factorisation serves the chord corrector.
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
    event_displacement: float = DEFAULT_EVENT_DISPLACEMENT
    snapshot_every: float = 0.01
    confirm_events: bool = True
    reversal_tolerance: float = 1e-3
    max_chord: int = 25
    hessian_reuse: int = 200
    refresh_iterations: int = 12

    def validate(self):
        if not math.isfinite(self.step) or self.step <= 0:
            raise ValueError(
                f"--step (strain increment Δγ) must be positive, got {self.step!r}; "
                "use --direction backward to load in the negative direction"
            )
        if self.step > MAX_STEP:
            raise ValueError(
                f"--step (strain increment Δγ) = {self.step!r} is too large for quasistatic loading: "
                f"at most {MAX_STEP} (typical: 1e-5 to 1e-3)"
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
        if self.event_threshold < 0 or self.displacement_threshold < 0 or self.event_displacement < 0:
            raise ValueError("event_threshold, displacement_threshold and event_displacement must be >= 0")
        if int(self.hessian_reuse) < 1 or int(self.max_chord) < 1:
            raise ValueError("hessian_reuse and max_chord must be >= 1")
        if self.snapshot_every < 0:
            raise ValueError(
                f"--snapshot-every must be >= 0 (0: no snapshots), got {self.snapshot_every}"
            )

    @classmethod
    def build(cls, step, strain_max, **options) -> "AQSParams":
        """The protocol from loosely typed values (CLI, config YAML): numbers made float/int,
        the generator a nested list, so that checkpoints and output metadata do not
        depend on how a value was spelled. ``options``: the other fields."""
        try:
            step = float(step)
        except (TypeError, ValueError):
            raise ValueError(f"--step must be a number, got {step!r}") from None
        casts = {"event_threshold": float, "displacement_threshold": float, "confirm_events": bool,
                 "event_displacement": float,
                 "reversal_tolerance": float, "snapshot_every": float, "hessian_reuse": int,
                 "max_chord": int, "refresh_iterations": int}
        unknown = set(options) - set(cls.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown AQS protocol option(s): {sorted(unknown)}")
        opts = {k: casts[k](v) if k in casts else v for k, v in options.items()}
        if opts.get("generator") is not None:
            opts["generator"] = np.asarray(opts["generator"], float).tolist()
        return cls(step=step, strain_max=float(strain_max), **opts)

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
    snapshots: list
    paths: dict
    stats: dict



@dataclass
class RunControl:
    """How and where one AQS run executes; none of it changes the series.

    output : series path (events and snapshots beside it); None keeps all in memory.
    checkpoint : ``.npz`` checkpoint path, resumed from when it exists; written every
        ``checkpoint_every`` steps or ``checkpoint_seconds`` seconds, removed after a
        complete run unless ``keep_checkpoint``.
    threads : numba threads for forces (threads == 1 and > 1 differ by round-off).
    max_steps : stop after this many steps in this call (result ``complete=False``).
    progress : callable(dict) every ``progress_every`` seconds; on_step :
        callable(step, row) after every step (tests raise :class:`AQSInterrupted` there).
    """

    output: object = None
    checkpoint: object = None
    checkpoint_every: int = 1000
    checkpoint_seconds: float = 600.0
    keep_checkpoint: bool = False
    threads: int = 1
    max_steps: int | None = None
    progress: Callable | None = None
    progress_every: float = 30.0
    on_step: Callable | None = None


def generator_matrix(params: AQSParams, dim: int) -> np.ndarray:
    """The generator A = ∂D/∂γ of the protocol (Eq. 2): ``params.generator`` or the geometry's."""
    if params.generator is not None:
        A = np.asarray(params.generator, dtype=float)
        if A.shape != (dim, dim):
            raise ValueError(f"generator must be {dim}x{dim}, got shape {A.shape}")
        if np.any(np.tril(A, -1) != 0):
            raise ValueError("generator must be upper triangular (the cell stays upper triangular)")
        return A
    return deformation_generator(params.geometry, dim)


def deformation_at(params: AQSParams, A: np.ndarray, gamma: float) -> np.ndarray:
    """D(γ) = exp(γA) (Eq. 2; Eq. 1 for simple shear): closed form per geometry, else expm."""
    d = A.shape[0]
    if params.generator is None:
        return deformation(params.geometry, gamma, d)
    from scipy.linalg import expm

    return expm(gamma * A)


def loaded_stress(stress: np.ndarray, A: np.ndarray) -> float:
    """σ_L = σ:A / (A:A) in ε/λ^d: σ_xy (simple shear), (σ_xx−σ_yy)/2 (pure shear), Tr σ/d (dilation)."""
    return float(np.sum(stress * A) / np.sum(A * A))


def wrap_lattice(x: np.ndarray, box: Box, far: bool = False) -> np.ndarray:
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


def fingerprint(conf: Configuration) -> str:
    """SHA-256 of positions, sizes, cell and model: ties a checkpoint to its input."""
    hsh = hashlib.sha256()
    for a in (conf.x, conf.sizes, conf.box.h):
        hsh.update(np.ascontiguousarray(a, dtype=float).tobytes())
    hsh.update(json.dumps(conf.model.to_dict(), sort_keys=True).encode())
    return hsh.hexdigest()


def snapshot_due(n: int, step: float, every: float) -> bool:
    """Step n (≥ 1) crosses a multiple of ``every`` in |γ − γ₀| (stateless in n)."""
    if every <= 0:
        return False
    k = lambda m: math.floor(m * step / every + 1e-9)  # noqa: E731
    return k(n) > k(n - 1)
