"""γ_min: the strain from an inherent state to its next plastic instability (App. F).

Protocol (Ji et al., App. F; simple shear in the xy plane, Lees–Edwards cell, Eq. 1
of the Richard paper for the deformation): from the last state known to be on the
starting branch, at strain γ_lo, take a trial step δγ — affine map D(δγ), the
linear-response prediction of Eq. (5) for the non-affine part, then the package's
minimiser (FIRE + Newton). The step is an instability when

    Q = max_i |δr'_i| / (L δγ) > Q_c,

δr' the non-affine displacement of the step (minimum image, λ) and L = V^(1/d), or
when the shear stress σ_xy falls over the step (small events move particles by far
less than Q_c L δγ: in 2D at N = 1024, L ≈ 40, an event of the shared snapshot moves
no particle by more than 2·10⁻³ λ), *and* the new state does not relax back to the state at γ_lo when the step is undone (the
reversal check of the AQS engine, :func:`glass2epm.aqs.stepper.reversal_distance`:
the paper's extra condition that Q be discontinuous). An elastic step is accepted
(γ_lo advances); at an instability the run is rewound to γ_lo and δγ divided by 10.
It stops when δγ ≤ ``precision`` × (γ_lo + δγ − γ₀) (a stated relative precision, not
the AQS step's resolution) or δγ ≤ ``floor``. γ_min is the midpoint of the last
bracket [γ_lo, γ_hi], with the half-width as its error. Strains are relative to the
starting state, dimensionless.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glass2epm.aqs.stepper import reversal_distance
from glass2epm.core.box import deformation, deformation_generator
from glass2epm.core.io import Configuration
from glass2epm.core.potential import ForceField
from glass2epm.mechanics.hessian import NotPositiveDefinite
from glass2epm.mechanics.linear_response import nonaffine_velocity
from glass2epm.mechanics.minimize import MinimizationError, default_ftol, minimize


@dataclass(frozen=True)
class GammaMinParams:
    """Parameters of the App. F search (strains dimensionless, lengths λ).

    step : the initial trial step δγ (paper: 10⁻⁴).
    q_c : the threshold Q_c on Q = max|δr'|/(L δγ) (paper: 100).
    precision : stop when the bracket [γ_lo, γ_hi] is narrower than this fraction of γ_hi.
    floor : ... or narrower than this absolute strain.
    max_strain : give up (γ_min = NaN) when no instability is found below this strain.
    reversal_tolerance : a step undone that lands farther than this (λ) from the state at
        γ_lo was irreversible: a plastic instability.
    ftol : force tolerance of the minimiser (ε/λ; None: the package default for N).
    """

    step: float = 1e-4
    q_c: float = 100.0
    precision: float = 1e-3
    floor: float = 1e-9
    max_strain: float = 0.5
    reversal_tolerance: float = 1e-3
    ftol: float | None = None

    def validate(self):
        for name in ("step", "q_c", "precision", "floor", "max_strain", "reversal_tolerance"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"gamma_min {name} must be positive and finite, got {v!r}")
        if self.precision >= 1:
            raise ValueError(f"gamma_min precision must be < 1 (relative), got {self.precision}")
        if self.step >= self.max_strain:
            raise ValueError(f"gamma_min step {self.step} must be below max_strain {self.max_strain}")


@dataclass
class GammaMin:
    """The result: ``gamma_min`` ± ``error`` (NaN when none below ``max_strain``),
    the bracket ``gamma_lo`` < ``gamma_hi``, the trial steps and rewinds taken, the Q of
    the step that crossed the instability, and the largest Q of an accepted step."""

    gamma_min: float
    error: float
    gamma_lo: float
    gamma_hi: float
    trials: int
    rewinds: int
    q_event: float
    q_elastic_max: float


def gamma_min(conf: Configuration, params: GammaMinParams | None = None, threads: int = 1) -> GammaMin:
    """The strain γ_min to the next plastic instability of the inherent state ``conf``
    under forward simple shear (module docstring)."""
    p = params or GammaMinParams()
    p.validate()
    n, d = conf.N, conf.dim
    ftol = default_ftol(n) if p.ftol is None else float(p.ftol)
    model, sizes = conf.model, conf.sizes
    ff = ForceField(model)
    _, f0, _ = ff.compute(conf.x, sizes, conf.box)
    if np.abs(f0).max() >= ftol:
        conf, _ = minimize(conf, ftol=ftol, threads=threads)
    A = deformation_generator("simple_shear", d)
    L = conf.box.volume ** (1.0 / d)
    x_lo, box_lo, g_lo = conf.x.copy(), conf.box, 0.0
    s_lo = ff.compute(x_lo, sizes, box_lo)[2][0, 1]
    xdot = None
    delta = p.step
    trials = rewinds = 0
    q_elastic = 0.0
    while True:
        if g_lo + delta > p.max_strain:
            return GammaMin(np.nan, np.nan, g_lo, np.nan, trials, rewinds, np.nan, q_elastic)
        D = deformation("simple_shear", delta, d)
        box_t = box_lo.deformed(D)
        x_aff = x_lo @ D.T
        if xdot is None:
            try:
                xdot, _ = nonaffine_velocity(Configuration(x_lo, sizes, box_lo, model), A, ff)
            except NotPositiveDefinite:
                xdot = np.zeros_like(x_lo)  # marginal state: start from the affine guess
        trials += 1
        try:
            out, _ = minimize(Configuration(x_aff, sizes, box_t, model), ftol=ftol, threads=threads,
                              x0=x_aff + delta * xdot)
            u = box_t.minimum_image(out.x - x_aff)
            q = float(np.sqrt(np.einsum("ij,ij->i", u, u).max())) / (L * delta)
            s_t = ff.compute(out.x, sizes, box_t)[2][0, 1]
        except MinimizationError:
            out, q, s_t = None, np.inf, -np.inf
        event = q > p.q_c or s_t < s_lo
        if event and out is not None:
            rev, _ = reversal_distance(out.x, x_lo, box_lo, model, sizes, np.linalg.inv(D), ftol, threads)
            event = rev > p.reversal_tolerance
        if not event:
            x_lo, box_lo, g_lo, s_lo, xdot = out.x, box_t, g_lo + delta, s_t, None
            q_elastic = max(q_elastic, q)
            continue
        g_hi = g_lo + delta
        if delta <= max(p.precision * g_hi, p.floor):
            return GammaMin(0.5 * (g_lo + g_hi), 0.5 * delta, g_lo, g_hi, trials, rewinds, q, q_elastic)
        rewinds += 1
        delta /= 10.0
