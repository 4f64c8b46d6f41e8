"""Calibrating the EPM from particle data and comparing both (Sec. V A, Fig. 5).

Inputs, per parent temperature T_p and yield-map method (bond micromechanics or
frozen matrix):

* P_init = P(σ_Y, T_p): the block-coarse-grained yield stresses (blocks of
  ξ = 5d) pooled over the samples of T_p;
* P_renewal = P(σ_Y, T_p = 0.7) (``renewal_Tp``): a failed block draws its new
  threshold from the poorly annealed glass, and its modulus becomes μ(0.7);
* μ(T_p): the shear modulus of the bulk glasses (mean over samples).

Thresholds: blocks start unstressed (σ_i = 0) and fail when σ_i reaches their
threshold, the paper's "loaded by μγ until σ_i reaches σ_Y^i". The workflow's
default (``threshold: residual``) takes the threshold from the block's residual
strength σ_Y − σ₀ (its distance to forward yield from the cavity's own prestress;
σ_i then measures the stress added since the quench); ``threshold: yield`` takes
σ_Y itself. Renewal draws from the same kind of table at T_p = 0.7. Measured at
N = 2000 (README, "EPM against particles"): with residual strengths the peak
stress of the T_p = 0.4 glasses is reproduced within 10 % by both yield-map
methods, as in the paper's Fig. 5c; with σ_Y the bond-micromechanics EPM is 15 %
low.

The single fit parameter ε_pl is calibrated once, at T_p = 0.7, so that the EPM
steady-state stress equals the particle AQS σ_s (a seeded brentq over EPM runs,
:func:`glass2epm.epm.steady.calibrate_eps_pl`), then kept for every T_p.
Stresses in ε/λ^d, strains dimensionless.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glass2epm.epm import lattice as E
from glass2epm.core.io import read_table
from glass2epm.analysis.stats import curve_peak, uniform_grid
from glass2epm.core.schemas import EPM_SUMMARY


def pooled_block_thresholds(paths, column: str = "sigma_y", residual: bool = False) -> np.ndarray:
    """Block σ_Y (or, with ``residual``, the block residual strength σ_Y − σ₀: column
    ``residual``) pooled over yield-block files; finite, > 0."""
    if residual:
        column = "residual"
    vals = []
    for p in paths:
        t = read_table(p)
        if column not in t.columns:
            hint = (" (written before residual strengths were mapped: rebuild the yield maps)"
                    if column == "residual" else "")
            raise ValueError(f"{p}: no column {column!r} (expected a yield_blocks file){hint}")
        v = np.asarray(t[column], float)
        vals.append(v[np.isfinite(v) & (v > 0)])
    v = np.concatenate(vals) if vals else np.empty(0)
    if v.size == 0:
        raise ValueError(f"no finite positive {column} values in {list(paths)}")
    return v


def stress_on_grid(series, grid: np.ndarray) -> np.ndarray:
    """σ(γ) of one EPM run on a strain grid: the exact saw-tooth (elastic rise, then drop).

    Before the first recorded step the blocks load elastically from the unstressed
    start (σ = 0 at γ = 0); beyond the last step the value is NaN."""
    g = np.asarray(series["strain"], float)
    sa = np.asarray(series["stress"], float)
    sb = np.asarray(series["stress_before"], float)
    k = np.clip(np.searchsorted(g, grid, side="right") - 1, 0, len(g) - 2)
    g0, g1 = g[k], g[k + 1]
    frac = np.where(g1 > g0, (grid - g0) / np.where(g1 > g0, g1 - g0, 1.0), 0.0)
    out = sa[k] + np.clip(frac, 0.0, 1.0) * (sb[k + 1] - sa[k])
    early = grid < g[0]
    out[early] = sb[0] * grid[early] / g[0] if g[0] > 0 else np.nan
    out[grid > g[-1]] = np.nan
    return out


@dataclass(frozen=True)
class RealisationConfig:
    """What :func:`run_realisations` needs: the lattice and moduli, the loading, the seeds and the
    statistics (strain grid step, steady window start, peak smoothing and search range)."""

    L: int
    eps_pl: float
    modulus: float
    renewal_modulus: float
    strain_max: float
    seeds: tuple = (0,)
    onsite: str = "paper"
    snapshots: tuple = ()
    steady_from: float = 0.5
    peak_window: float = 0.0
    grid_step: float = 1e-3
    peak_strain_max: float | None = None


def run_realisations(init, renewal, cfg: RealisationConfig, grid=None):
    """EPM runs for the seeds of ``cfg`` (P_init values ``init``, P_renewal values ``renewal``).

    Returns a dict: ``curve`` (``epm_curves`` columns, the mean on a strain grid of step
    ``cfg.grid_step`` up to the last step every run reached, unless ``grid`` is given),
    ``summary`` (``epm_summary`` columns: per-realisation maxima up to ``peak_strain_max``),
    ``peak`` (the peak of the realisation-averaged curve smoothed over ``peak_window``,
    :func:`glass2epm.analysis.stats.curve_peak`: the yield stress compared with the particles'
    same statistic, searched up to ``peak_strain_max``: the strain range of the particle runs,
    so that both maxima are taken over the same range), ``steady`` (σ sampled uniformly in
    strain over every run's steady window), ``steady_seed`` (the realisation of each of those
    values), ``series0`` and ``snapshots0`` (the first realisation's series and activity
    snapshots).
    """
    seeds, steady_from, peak_strain_max = cfg.seeds, cfg.steady_from, cfg.peak_strain_max
    runs = []
    for k, seed in enumerate(seeds):
        model = E.EPM.from_tables(cfg.L, init, renewal, seed=int(seed), eps_pl=cfg.eps_pl, modulus=cfg.modulus,
                                  renewal_modulus=cfg.renewal_modulus, onsite=cfg.onsite)
        runs.append(model.run(cfg.strain_max, snapshots=cfg.snapshots if k == 0 else ()))
    if grid is None:  # up to the last loading step every realisation reached
        end = min(float(r.series["strain"][-1]) for r in runs)
        grid = uniform_grid(end, cfg.grid_step)
    grid = np.asarray(grid)
    in_range = grid <= (np.inf if peak_strain_max is None else peak_strain_max + 1e-12)
    curves = []
    steady, steady_seed = [], []
    summ = {k: [] for k in EPM_SUMMARY.columns}
    for seed, run in zip(seeds, runs):
        ser = run.series
        c = stress_on_grid(ser, grid)
        curves.append(c)
        j = int(np.nanargmax(np.where(in_range, c, np.nan)))
        ss = E.steady_state(ser, steady_from) if ser["strain"][-1] > steady_from else None
        if ss is not None:
            steady.append(steady_samples(ser, steady_from))
            steady_seed.append(np.full(steady[-1].size, int(seed)))
        summ["realisation"].append(int(seed))
        summ["peak_stress"].append(float(c[j]))
        summ["peak_strain"].append(float(grid[j]))
        summ["steady_stress"].append(ss.mean if ss else np.nan)
        summ["steady_std"].append(ss.std if ss else np.nan)
        summ["failures"].append(int(run.failures))
    C = np.array(curves)
    curve = {"strain": grid, "stress_mean": np.nanmean(C, axis=0), "stress_std": np.nanstd(C, axis=0),
             "n": np.sum(np.isfinite(C), axis=0)}
    use = np.all(np.isfinite(C), axis=0) & in_range
    peak = curve_peak(C[:, use], grid[use], cfg.peak_window)
    return {"curve": curve, "summary": {k: np.asarray(v) for k, v in summ.items()}, "peak": peak,
            "steady": np.concatenate(steady) if steady else np.empty(0),
            "steady_seed": np.concatenate(steady_seed) if steady else np.empty(0, dtype=np.int64),
            "series0": runs[0].series, "snapshots0": runs[0].snapshots}


def steady_samples(series, gamma_from: float, n: int = 200) -> np.ndarray:
    """σ sampled uniformly in strain over the steady window (for P(σ_s), Fig. 5b)."""
    g = np.asarray(series["strain"], float)
    if g[-1] <= gamma_from:
        raise ValueError(f"run ends at strain {g[-1]} before the steady window starts ({gamma_from})")
    return stress_on_grid(series, np.linspace(gamma_from, g[-1], n))


def calibrate(init, renewal, *, L: int, modulus: float, target: float, strain_max: float,
              steady_from: float, seeds=(0, 1, 2, 3), bracket=(0.005, 0.5), onsite: str = "paper"):
    """ε_pl with EPM σ_s(T_p = 0.7) = particle σ_s (ε/λ^d): a reproducible brentq."""

    def run_fn(eps, seed):
        m = E.EPM.from_tables(L, init, renewal, seed=int(seed), eps_pl=eps, modulus=modulus,
                              renewal_modulus=modulus, onsite=onsite)
        return m.run(strain_max).series

    return E.calibrate_eps_pl(run_fn, target, bracket, seeds=seeds, gamma_from=steady_from)
