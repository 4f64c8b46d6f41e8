"""AQS records on disk: series/events rows, output paths, snapshots and checkpoints.

One row of the ``aqs_series`` table per step (strain, the virial stress σ of Eq. 15,
pressure, U/N, loaded stress, work counters, event flags); one row of ``aqs_events``
per plastic event. Outputs are written at the end by atomic rename
(:func:`finish_outputs`); partial progress lives only in the checkpoint.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from glass2epm.core.io import read_checkpoint as io_read_checkpoint
from glass2epm.core.io import read_configuration, write_table
from glass2epm.core.io import write_checkpoint as io_write_checkpoint
from glass2epm.core.schemas import AQS_EVENTS, AQS_SERIES
from glass2epm.aqs.protocol import loaded_stress

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


def series_columns(d: int) -> list[str]:
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
            "max_nonaffine",
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
    "stress_drop",
]
_BOOL_COLUMNS = {"event", "stress_drop"}
_INT_COLUMNS = {"step", "force_evaluations", "factorizations", "predictor", "n_displaced"}


def series_row(step, gamma, energy, stress, A, n, evals, nfact, pred, fmax, event) -> dict:
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


def to_arrays(rows: list[dict], columns: list[str]) -> dict:
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


def from_arrays(cols: dict, columns: list[str]) -> list[dict]:
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


def write_checkpoint(path: Path, state: dict) -> None:
    """Atomic ``.npz`` checkpoint (:func:`glass2epm.core.io.write_checkpoint`)."""
    io_write_checkpoint(path, state)


def read_checkpoint(path: Path) -> dict:
    return io_read_checkpoint(path, "AQS")


# ---------------------------------------------------------------------------
# the run


def finish_outputs(
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
