"""The AQS stage's task functions: one per job, called by the rule script and the CLI alike.

:func:`shear_task` runs the AQS protocol (Sec. II A, App. C; :mod:`glass2epm.aqs.engine`)
on one configuration file and writes the series, events, snapshots and a summary.
:func:`statistics_task` pools the series of one T_p (Sec. V, Fig. 5);
:func:`activity_task` turns the snapshots of a run into the D²min activity (Sec. V B,
:mod:`glass2epm.aqs.activity`) and its band-growth series. Inputs are paths plus
exactly the parameters each job reads. Units: strain dimensionless, stress ε/λ^d,
length λ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from glass2epm.aqs import activity
from glass2epm.bands import growth
from glass2epm.core import io, schemas
from glass2epm.yieldstress.cavity import mean_spacing
from glass2epm.aqs.engine import (
    AQSParams,
    AQSResult,
    RunControl,
    iter_snapshots,
    pooled_statistics,
    read_series,
    run_protocol,
    summarize,
)


def read_input_configuration(path) -> io.Configuration:
    """The input configuration of an AQS run; unusable files raise ValueError naming the path."""
    try:
        return io.read_configuration(path)
    except io.SchemaError as exc:
        raise ValueError(f"{path}: not a usable input configuration for aqs: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"{path}: configuration from an unsupported model or with broken metadata: {exc}"
        ) from None


def shear_task(
    config: str | Path,
    series: str | Path,
    protocol: AQSParams,
    *,
    steady_from: float = 0.2,
    summary: str | Path | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 1000,
    checkpoint_seconds: float = 600.0,
    threads: int = 1,
    progress: Callable | None = None,
    progress_every: float = 30.0,
) -> tuple[AQSResult, dict]:
    """AQS ``protocol`` (:class:`AQSParams`: step, strain, direction, geometry,
    thresholds, snapshots) of the configuration at ``config``; writes ``series``
    (events and snapshots beside it) and, if given, the ``summary`` JSON (overshoot
    and steady state from loading strain ``steady_from``, plus run stats).

    Returns (result, summary). Resumes from ``checkpoint`` when it exists.
    """
    control = RunControl(output=series, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                         checkpoint_seconds=checkpoint_seconds, threads=threads, progress=progress,
                         progress_every=progress_every)
    res = run_protocol(read_input_configuration(config), protocol, control)
    summ = summarize(res, window=(steady_from, None))
    if summary is not None:
        io.write_json(summary, {**summ, "stats": res.stats})
    return res, summ


def activity_task(
    snapshots: str | Path,
    activity_out: str | Path,
    series_out: str | Path,
    *,
    rcut: float,
    threshold: float,
    map_strain,
    strains: Sequence[float],
    log=None,
):
    """D²min activity of the AQS snapshots in ``snapshots`` (cutoff ``rcut`` × mean spacing,
    activity ``threshold`` in λ²; Sec. V B), written to ``activity_out``; its band-growth
    series at ``strains`` to ``series_out``. Returns the ActivityResult."""
    snaps = list(iter_snapshots(snapshots))
    first = snaps[0]
    d = mean_spacing(first)
    res = activity.accumulate_activity(snaps, rcut=rcut * d, threshold=threshold)
    if log is not None:
        log.info("%d windows, %d particles ever active, rcut = %.3f", len(res.strains) - 1,
                 int((res.n_active > 0).sum()), rcut * d)
    activity.write_activity(activity_out, res, model=first.model, seed=first.seed,
                            provenance={"rule": "activity"},
                            extra={"Tp": first.Tp, "map_strain": map_strain})
    cols = growth.from_d2min(res, strains)
    io.write_table(series_out, schemas.ACTIVITY_SERIES, cols, model=first.model, box=first.box,
                   seed=first.seed, extra={"Tp": first.Tp, "box_side": float(first.box.h[0, 0]),
                                           "length_unit": "lambda", "scale": d, "source": "particles"})
    return res


def statistics_task(
    series: Sequence[str | Path],
    out: str | Path,
    *,
    Tp: float | str,
    steady_from: float,
    peak_window: float,
    log=None,
) -> tuple[dict, dict]:
    """Pooled AQS statistics of the T_p = ``Tp`` samples in ``series`` (peak stress, σ_s,
    P(σ_s), Fig. 5; steady state from loading strain ``steady_from``, mean-curve peak
    smoothed over ``peak_window``), written to ``out`` (``aqs_statistics``)."""
    window = (steady_from, None)
    cols, pooled = pooled_statistics([read_series(p) for p in series], window=window,
                                     peak_window=peak_window)
    if log is not None:
        log.info("T_p %s: per-sample peaks %s, peak of the mean curve %.4f +- %.4f, sigma_s = %.4f +- %.4f",
                 Tp, cols["peak_stress"], pooled["mean_curve_peak"]["value"],
                 pooled["mean_curve_peak"]["stderr"], pooled["mean"], pooled["std"])
    io.write_table(out, schemas.AQS_STATISTICS, cols,
                   extra={"Tp": float(Tp), "steady_window": list(window), "pooled": pooled})
    return cols, pooled
