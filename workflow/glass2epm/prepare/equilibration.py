"""Equilibration checks of SWAP MC: τ from F_s(k, t) and the ageing test (paper App. A).

τ is the number of sweeps until the self-intermediate scattering function F_s(k, t)
drops below 1/e; a run is accepted when τ is a small fraction of the production run
and τ measured from the middle of production is not much longer (no ageing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

class EquilibrationError(RuntimeError):
    """The run was too short to equilibrate at this temperature.

    ``result`` and ``conf`` hold what was computed, so a caller can still write them.
    """

    def __init__(self, message, result=None, conf=None):
        super().__init__(message)
        self.result = result
        self.conf = conf


@dataclass
class SwapMCResult:
    """Time series and equilibration diagnostics of :func:`run_swap_mc`.

    ``series``: dict of equal-length arrays with the ``swapmc_series`` columns. ``tau``:
    sweeps until F_s(k) < 1/e in production (NaN if never); ``tau_lower_bound``: a lower
    bound on τ when it was not reached (assuming a stretched exponential, exponent ≤ 1);
    ``tau_mid``: the same from the middle of production (≈ τ in equilibrium, longer while
    the system ages); ``tau_msd``: sweeps until MSD > 1 λ² (NaN if never).
    """

    series: dict
    T: float
    N: int
    sweeps: int
    tune_sweeps: int
    production_sweeps: int
    p_swap: float
    step: float
    k: float
    seed: int
    tau: float
    tau_lower_bound: float
    tau_msd: float
    tau_mid: float
    equilibrated: bool
    message: str
    rebuilds: int
    energy_tracked: float
    energy_recomputed: float
    elapsed_s: float
    extra: dict = field(default_factory=dict)

    def summary(self) -> dict:
        prod = self.series["phase"] == 1
        e = self.series["energy_per_particle"][prod]
        half = len(e) // 2
        out = {
            k: getattr(self, k)
            for k in ("T", "N", "sweeps", "tune_sweeps", "production_sweeps", "p_swap", "step", "k",
                      "seed", "tau", "tau_lower_bound", "tau_msd", "tau_mid", "equilibrated", "message",
                      "rebuilds", "energy_tracked", "energy_recomputed", "elapsed_s")
        }
        out["acc_disp"] = self.extra.get("acc_disp")
        out["acc_swap"] = self.extra.get("acc_swap")
        out["energy_per_particle_mean"] = float(e[half:].mean()) if len(e) else float("nan")
        out["energy_per_particle_drift"] = (
            float(e[half:].mean() - e[:half].mean()) if half > 0 else float("nan")
        )
        out["trials_per_second"] = self.extra.get("trials_per_second")
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}


def _first_crossing(t, y, level, below: bool):
    """First t where y crosses ``level`` (linear interpolation), NaN if never."""
    for n in range(len(y)):
        hit = y[n] < level if below else y[n] > level
        if hit:
            if n == 0:
                return float(t[0])
            t0, t1, y0, y1 = t[n - 1], t[n], y[n - 1], y[n]
            return float(t0 + (level - y0) * (t1 - t0) / (y1 - y0))
    return float("nan")


def assess_equilibration(t, fs, fs_mid, mid, prod, tau_fraction=0.1, aging_factor=3.0,
                         resolution=1.0) -> dict:
    """The equilibration verdict from F_s(k, t) series of a production run.

    ``t``: sweeps since the start of production (increasing, from 0); ``fs``: F_s from
    that origin; ``fs_mid``: F_s from the origin at sweep ``mid`` (NaN before it).
    τ = first time F_s < 1/e (linear interpolation; NaN if never). Not reached:
    ``tau_lower_bound`` = max(prod, prod / −ln F_s(end)) (exact for a stretched
    exponential with exponent ≤ 1). ``ok`` ⇔ τ ≤ tau_fraction · prod and no ageing;
    ``ageing`` ⇔ τ_mid > aging_factor · max(τ, resolution) or τ_mid not reached.
    """
    t = np.asarray(t, dtype=float)
    fs = np.asarray(fs, dtype=float)
    fs_mid = np.asarray(fs_mid, dtype=float)
    e1 = math.exp(-1.0)
    tau = _first_crossing(t, fs, e1, below=True)
    m2 = t >= mid
    tau_mid = _first_crossing(t[m2] - mid, fs_mid[m2], e1, below=True)
    if math.isfinite(tau):
        tau_lb = tau
    else:
        f_end = float(fs[-1])
        tau_lb = float(prod) / max(-math.log(f_end), 1e-12) if 0.0 < f_end < 1.0 else float("inf")
        tau_lb = max(tau_lb, float(prod))
    fast = math.isfinite(tau) and tau <= tau_fraction * prod
    ageing = fast and (not math.isfinite(tau_mid) or tau_mid > aging_factor * max(tau, resolution))
    if ageing:
        tau_lb = max(tau_lb, tau_mid if math.isfinite(tau_mid) else float(prod - mid))
    return {"tau": tau, "tau_mid": tau_mid, "tau_lower_bound": tau_lb, "ok": fast and not ageing,
            "ageing": ageing}

