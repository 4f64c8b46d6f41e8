"""Reading AQS series and their statistics: overshoot, steady state, P(σ_s) (Sec. V, Fig. 5).

Stresses in ε/λ^d; the loading strain s = sign·(γ − γ_start) is measured along the
loading direction, so a stress peak is a maximum for either direction.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from glass2epm.analysis.stats import curve_peak, uniform_grid
from glass2epm.core.io import read_table
from glass2epm.core.schemas import AQS_EVENTS, AQS_SERIES, AQS_STATISTICS
from glass2epm.aqs.protocol import DIRECTIONS, AQSResult

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


def steady_groups(series_list, window=(0.2, None), component=None, direction=None) -> list[np.ndarray]:
    """The steady-state stresses of each series (ε/λ^d; loading strain in ``window`` = (a, b),
    b None: to the end), one array per series: the samples whose values are correlated along
    the strain, which bootstrap intervals of P(σ_s) resample whole."""
    out = []
    for ser in series_list:
        cols, meta = _series_arrays(ser)
        s, sig, _, _ = _loading(cols, meta, component, direction)
        a, b = window
        out.append(sig[(s >= a) & (s <= (np.inf if b is None else b))])
    return out


def steady_state_distribution(
    series_list, window=(0.2, None), bins=40, component=None, direction=None, range=None
) -> dict:
    """P(σ_s): steady-state stresses pooled over several series (samples), Fig. 5(b).

    Every step in the window of every series is one sample of σ (ε/λ^d). Returns
    the pooled values, a normalised histogram (density, edges), mean, std and the
    per-series means.
    """
    vals = steady_groups(series_list, window, component=component, direction=direction)
    means = [float(x.mean()) if x.size else float("nan") for x in vals]
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
