"""Steady-state stress of an EPM series and the ε_pl calibration (Sec. V A).

σ_s: the strain-weighted mean of the macroscopic stress over the steady window
(:func:`steady_state`); ε_pl: the value for which the seed-averaged σ_s equals a
target (:func:`calibrate_eps_pl`). Stresses in ε/λ², strains dimensionless.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class SteadyState:
    mean: float
    std: float
    n_steps: int
    strain_window: tuple


def steady_state(series, gamma_from: float, gamma_to: float | None = None) -> SteadyState:
    """Strain-weighted mean and standard deviation of the stress over γ ∈ [gamma_from, gamma_to].

    With ``stress_before`` in the series the stress signal σ(γ) is the exact
    piecewise-linear saw-tooth (elastic rise from ``stress`` of step i to
    ``stress_before`` of step i+1), integrated exactly over the window
    (partial segments clipped; the signal is known between the first and the
    last recorded step). Without it, the plain mean/std of the
    post-avalanche stresses of the steps inside the window is returned.
    """
    g = np.asarray(series["strain"], dtype=float)
    sa = np.asarray(series["stress"], dtype=float)
    if gamma_to is None:
        gamma_to = g[-1] if g.size else gamma_from
    inside = (g >= gamma_from) & (g <= gamma_to)
    nsteps = int(inside.sum())
    sb = series.get("stress_before") if hasattr(series, "get") else None
    if sb is None or g.size < 2:
        if nsteps == 0:
            raise ValueError(f"no loading step with strain in [{gamma_from}, {gamma_to}]")
        v = sa[inside]
        return SteadyState(float(v.mean()), float(v.std()), nsteps, (gamma_from, gamma_to))
    sb = np.asarray(sb, dtype=float)
    g0, g1 = g[:-1], g[1:]
    y0, y1 = sa[:-1], sb[1:]
    a = np.clip(g0, gamma_from, gamma_to)
    b = np.clip(g1, gamma_from, gamma_to)
    dg = g1 - g0
    ok = (b > a) & (dg > 0)
    if not ok.any():
        raise ValueError(f"no strain interval inside [{gamma_from}, {gamma_to}]")
    g0, y0, y1, a, b, dg = g0[ok], y0[ok], y1[ok], a[ok], b[ok], dg[ok]
    slope = (y1 - y0) / dg
    ya = y0 + slope * (a - g0)
    yb = y0 + slope * (b - g0)
    length = b - a
    m1 = (ya + yb) / 2 * length
    m2 = (ya * ya + ya * yb + yb * yb) / 3 * length
    T = length.sum()
    mean = m1.sum() / T
    var = max(m2.sum() / T - mean * mean, 0.0)
    return SteadyState(float(mean), float(math.sqrt(var)), nsteps, (gamma_from, float(gamma_to)))


@dataclass
class Calibration:
    eps_pl: float
    eps_pl_low: float
    eps_pl_high: float
    stress: float
    stress_se: float
    target: float
    evaluations: list  # (eps_pl, mean, se) in evaluation order


def calibrate_eps_pl(run_fn, target: float, bracket, *, seeds=(0, 1, 2, 3), gamma_from: float,
                     gamma_to: float | None = None, xtol: float = 1e-4, maxiter: int = 60) -> Calibration:
    """Find ε_pl such that the seed-averaged steady-state stress equals ``target``.

    ``run_fn(eps_pl, seed)`` returns a series mapping (``strain``, ``stress``,
    optionally ``stress_before``). For each ε_pl the steady-state stress
    (:func:`steady_state` over [gamma_from, gamma_to]) is averaged over the
    fixed ``seeds``, so the objective is a deterministic function of ε_pl and
    the root find (scipy ``brentq`` on ``bracket``, tolerance ``xtol``) is
    reproducible. Standard error ``se``: std over seeds / √n_seeds (one seed:
    the std of 8 strain blocks / √8). The uncertainty interval solves the same
    problem for target ± se at the root (``eps_pl_low``, ``eps_pl_high``); if one
    of those has no sign change inside the bracket, it falls back to the local
    slope (secant through the evaluations nearest to the root).
    """
    from scipy.optimize import brentq

    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("calibrate_eps_pl needs at least one seed")
    lo, hi = float(bracket[0]), float(bracket[1])
    cache: dict = {}
    history: list = []

    def evaluate(e):
        e = float(e)
        if e not in cache:
            means = []
            blocks = []
            for sd in seeds:
                ser = run_fn(e, sd)
                ss = steady_state(ser, gamma_from, gamma_to)
                means.append(ss.mean)
                if len(seeds) == 1:
                    g_end = gamma_to if gamma_to is not None else float(np.asarray(ser["strain"])[-1])
                    edges = np.linspace(gamma_from, g_end, 9)
                    for u, v in zip(edges[:-1], edges[1:]):
                        try:
                            blocks.append(steady_state(ser, u, v).mean)
                        except ValueError:
                            pass
            m = float(np.mean(means))
            if len(seeds) > 1:
                se = float(np.std(means, ddof=1) / math.sqrt(len(seeds)))
            else:
                se = float(np.std(blocks, ddof=1) / math.sqrt(len(blocks))) if len(blocks) > 1 else 0.0
            cache[e] = (m, se)
            history.append((e, m, se))
        return cache[e]

    flo = evaluate(lo)[0] - target
    fhi = evaluate(hi)[0] - target
    if flo * fhi > 0:
        raise ValueError(
            f"calibrate_eps_pl: target stress {target} not bracketed: steady-state stress is "
            f"{flo + target:.6g} at eps_pl={lo} and {fhi + target:.6g} at eps_pl={hi}")
    root = brentq(lambda e: evaluate(e)[0] - target, lo, hi, xtol=xtol, maxiter=maxiter)
    m, se = evaluate(root)

    def side(t):
        fa = evaluate(lo)[0] - t
        fb = evaluate(hi)[0] - t
        if fa * fb <= 0:
            return brentq(lambda e: evaluate(e)[0] - t, lo, hi, xtol=xtol, maxiter=maxiter)
        pts = sorted(history, key=lambda h: abs(h[0] - root))
        e1, m1, _ = pts[0]
        for e2, m2, _ in pts[1:]:
            if e2 != e1 and m2 != m1:
                slope = (m2 - m1) / (e2 - e1)
                return root + (t - m) / slope
        return float("nan")

    e_a = side(target + se)
    e_b = side(target - se)
    return Calibration(float(root), float(min(e_a, e_b)), float(max(e_a, e_b)), m, se, float(target),
                       list(history))

