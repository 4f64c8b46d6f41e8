"""The one place that reads and writes project files (Parquet, JSON, exports).

Every Parquet file carries one metadata key, ``glass2epm``, holding JSON::

    {"schema": NAME, "schema_version": V, "units": {...}, "columns": {col: unit},
     "model": {...} | null, "box": {"h": [[...]]} | null, "strain": {...} | null,
     "seed": int | null, "provenance": {...}, "extra": {...}}

No timestamps are written, so identical inputs give byte-identical files.
Reading checks the key, the schema name and version, and the columns, and fails
with a message naming the file and the expected schema.

Writes are atomic: data go to a temporary file beside the target, which is
renamed into place only when complete, so a crash never leaves a file that
looks complete.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from glass2epm import __version__
from glass2epm.core.box import Box
from glass2epm.core.model import Model
from glass2epm.core.schemas import CONFIGURATION, SCHEMAS, Schema, SchemaError, register  # noqa: F401 (re-exported)

META_KEY = b"glass2epm"
UNITS = {"energy": "epsilon", "length": "lambda", "mass": "m", "temperature": "epsilon/k_B",
         "stress": "epsilon/lambda^d"}


def _meta_for(schema: Schema, table_columns, *, model=None, box=None, strain=None, seed=None,
              provenance=None, extra=None) -> dict:
    cols = {c: schema.columns.get(c, schema.optional.get(c, "")) for c in table_columns}
    return {
        "schema": schema.name,
        "schema_version": schema.version,
        "units": UNITS,
        "columns": cols,
        "model": model.to_dict() if isinstance(model, Model) else model,
        "box": box.to_dict() if isinstance(box, Box) else box,
        "strain": strain,
        "seed": seed,
        "provenance": {"package": "glass2epm", "version": __version__, **(provenance or {})},
        "extra": extra or {},
    }


def _to_jsonable(o):
    if isinstance(o, dict):
        return {str(k): _to_jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_to_jsonable(v) for v in o]
    if isinstance(o, np.ndarray):
        return _to_jsonable(o.tolist())
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    return o


def atomic_path(path: Path):
    """A temporary path beside ``path`` (same filesystem, hidden, removed on failure)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs are ordinary files
    return Path(tmp)


def write_checkpoint(path, state: dict) -> None:
    """Write the arrays of ``state`` as an ``.npz`` checkpoint, atomically (a killed write
    leaves the previous checkpoint intact). Checkpoints of long runs (AQS, SWAP MC) hold
    what is needed to continue bitwise; they are not outputs and carry no metadata key."""
    path = Path(path)
    tmp = atomic_path(path)
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, **state)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def read_checkpoint(path, what: str = "") -> dict:
    """The arrays of an ``.npz`` checkpoint; an unreadable file raises ValueError naming it."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as exc:
        raise ValueError(f"{path}: not a readable {what + ' ' if what else ''}checkpoint ({exc})") from None


def write_table(path, schema: Schema | str, columns: dict, **meta) -> Path:
    """Write a dict of equal-length 1-D arrays as Parquet with glass2epm metadata."""
    if isinstance(schema, str):
        schema = SCHEMAS[schema]
    missing = [c for c in schema.columns if c not in columns]
    if missing:
        raise SchemaError(f"cannot write {path}: schema {schema.name!r} needs columns {missing}")
    arrays = {k: pa.array(np.asarray(v)) for k, v in columns.items()}
    table = pa.table(arrays)
    md = _to_jsonable(_meta_for(schema, list(arrays), **meta))
    table = table.replace_schema_metadata({META_KEY: json.dumps(md, sort_keys=True).encode()})
    path = Path(path)
    tmp = atomic_path(path)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


@dataclass
class Table:
    """A table read back: columns as numpy arrays, and the metadata dict."""

    columns: dict
    meta: dict
    path: Path

    def __getitem__(self, k):
        return self.columns[k]

    @property
    def model(self) -> Model | None:
        return Model.from_dict(self.meta["model"]) if self.meta.get("model") else None

    @property
    def box(self) -> Box | None:
        return Box.from_dict(self.meta["box"]) if self.meta.get("box") else None

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.columns)


def read_meta(path) -> dict:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        md = pq.read_schema(path).metadata or {}
    except Exception as exc:  # pyarrow raises several types for non-Parquet files
        raise SchemaError(f"{path}: not a Parquet file ({exc})") from None
    if META_KEY not in md:
        raise SchemaError(
            f"{path}: no '{META_KEY.decode()}' metadata key: not a glass2epm file "
            "(write it with glass2epm, or import a Lerner-format file with `glass2epm import-lerner`)"
        )
    try:
        return json.loads(md[META_KEY])
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{path}: broken glass2epm metadata ({exc})") from None


def read_table(path, schema: Schema | str | None = None) -> Table:
    """Read and validate a glass2epm Parquet file against ``schema``."""
    path = Path(path)
    meta = read_meta(path)
    if schema is not None:
        if isinstance(schema, str):
            schema = SCHEMAS[schema]
        got = meta.get("schema")
        if got != schema.name:
            raise SchemaError(
                f"{path}: expected a '{schema.name}' file (schema v{schema.version}), "
                f"found schema {got!r}"
            )
        if meta.get("schema_version") != schema.version:
            raise SchemaError(
                f"{path}: schema '{schema.name}' version {meta.get('schema_version')} is not "
                f"supported (expected {schema.version})"
            )
        if schema.needs_model and not meta.get("model"):
            raise SchemaError(f"{path}: '{schema.name}' file lacks model parameters in its metadata")
        if schema.needs_box and not meta.get("box"):
            raise SchemaError(f"{path}: '{schema.name}' file lacks the box in its metadata")
    table = pq.read_table(path)
    cols = {name: table.column(name).to_numpy() for name in table.column_names}
    if schema is not None:
        missing = [c for c in schema.columns if c not in cols]
        if missing:
            raise SchemaError(
                f"{path}: '{schema.name}' file is missing columns {missing} "
                f"(expected {sorted(schema.columns)})"
            )
    return Table(cols, meta, path)


def read_user_table(path, required, what: str) -> Table:
    """A table of user data: a glass2epm Parquet file, or a plain one (Parquet without
    glass2epm metadata, ``.csv`` or ``.tsv`` with a header row).

    ``required``: the column names it must have; ``what`` names the table in errors.
    Every required column must be numeric and finite. A plain table has empty metadata.
    """
    from glass2epm.core.validate import InputError

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file ({what})")
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        import pyarrow.csv as pcsv

        delim = "\t" if path.suffix.lower() in (".tsv", ".txt") else ","
        try:
            table = pcsv.read_csv(path, parse_options=pcsv.ParseOptions(delimiter=delim))
        except Exception as exc:
            raise InputError(f"{path}: cannot read as {'TSV' if delim != ',' else 'CSV'} with a header row ({exc})") from None
        meta = {}
    else:
        try:
            md = pq.read_schema(path).metadata or {}
        except Exception as exc:
            raise InputError(f"{path}: not a Parquet, CSV or TSV file ({exc})") from None
        if META_KEY in md:
            return _checked_columns(read_table(path), required, what)
        table = pq.read_table(path)
        meta = {}
    cols = {name: table.column(name).to_numpy() for name in table.column_names}
    return _checked_columns(Table(cols, meta, path), required, what)


def _checked_columns(t: Table, required, what: str) -> Table:
    from glass2epm.core.validate import InputError

    missing = [c for c in required if c not in t.columns]
    if missing:
        raise InputError(f"{t.path}: {what} needs columns {list(required)}; missing {missing} "
                         f"(found {sorted(t.columns)})")
    for c in required:
        v = t.columns[c]
        if not np.issubdtype(np.asarray(v).dtype, np.number):
            raise InputError(f"{t.path}: column {c!r} of the {what} must be numeric")
        bad = ~np.isfinite(np.asarray(v, dtype=float))
        if bad.any():
            raise InputError(f"{t.path}: row {int(np.argmax(bad))}: column {c!r} is not finite")
    return t


# ----------------------------------------------------------------------------
# configurations


@dataclass
class Configuration:
    """Particles in a cell: positions (N, d) in λ, sizes (N,) in λ, the model and box.

    ``strain`` records the accumulated deformation ({"gamma": total strain,
    "geometry": name}); ``Tp`` the parent temperature (None if unknown).
    """

    x: np.ndarray
    sizes: np.ndarray
    box: Box
    model: Model
    Tp: float | None = None
    seed: int | None = None
    strain: dict = field(default_factory=lambda: {"gamma": 0.0, "geometry": "simple_shear"})
    provenance: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.x = np.ascontiguousarray(self.x, dtype=float)
        self.sizes = np.ascontiguousarray(self.sizes, dtype=float)
        n, d = self.x.shape
        if self.sizes.shape != (n,):
            raise ValueError(f"sizes has shape {self.sizes.shape}, expected ({n},)")
        if d != self.box.dim or d != self.model.dim:
            raise ValueError(f"dimension mismatch: positions {d}D, box {self.box.dim}D, model {self.model.dim}D")

    @property
    def N(self) -> int:
        return self.x.shape[0]

    @property
    def dim(self) -> int:
        return self.x.shape[1]

    def copy(self) -> "Configuration":
        return Configuration(self.x.copy(), self.sizes.copy(), Box(self.box.h.copy()), self.model,
                             self.Tp, self.seed, dict(self.strain), dict(self.provenance), dict(self.extra))


def write_configuration(path, conf: Configuration, provenance: dict | None = None) -> Path:
    names = "xyz"[: conf.dim]
    cols = {names[a]: conf.x[:, a] for a in range(conf.dim)}
    cols["size"] = conf.sizes
    return write_table(
        path,
        CONFIGURATION,
        cols,
        model=conf.model,
        box=conf.box,
        strain=conf.strain,
        seed=conf.seed,
        provenance={**conf.provenance, **(provenance or {})},
        extra={"Tp": conf.Tp, **conf.extra},
    )


def read_configuration(path, check: bool = True) -> Configuration:
    """The configuration of a ``configuration`` table; with ``check`` (default) it must pass
    :func:`glass2epm.core.validate.check_configuration` (N > 0, finite positions,
    positive sizes, the model's density, no overlaps), else
    :class:`~glass2epm.core.validate.InputError` names the file and the row."""
    t = read_table(path, CONFIGURATION)
    model = t.model
    box = t.box
    d = model.dim
    if d == 3 and "z" not in t.columns:
        raise SchemaError(f"{path}: 3D configuration without a 'z' column")
    x = np.stack([t[c] for c in "xyz"[:d]], axis=1)
    extra = dict(t.meta.get("extra") or {})
    Tp = extra.pop("Tp", None)
    conf = Configuration(x, t["size"], box, model, Tp=Tp, seed=t.meta.get("seed"),
                         strain=t.meta.get("strain") or {"gamma": 0.0, "geometry": "simple_shear"},
                         provenance=t.meta.get("provenance") or {}, extra=extra)
    if check:
        from glass2epm.core.validate import check_configuration

        check_configuration(conf, str(path))
    return conf


def read_lerner(path, preset: str = "lerner-poly2d", density: float | None = None) -> Configuration:
    """Read the Lerner-group text format (``L strain pressure``, then ``x/L y/L λ``).

    The strain on line 1 is the Lees–Edwards shear strain (tilt = strain · L). The
    number density N/L^d must be the preset's (relative 1e-3: a file cut short changes
    it) unless ``density`` is given, and the configuration passes
    :func:`glass2epm.core.validate.check_configuration` (finite positions, positive
    sizes, no overlaps); otherwise :class:`~glass2epm.core.validate.InputError` names
    the file and the row (0-based particle row, after the header line).
    """
    from glass2epm.core.validate import InputError, check_configuration

    path = Path(path)
    try:
        with open(path) as fh:
            head = fh.readline().split()
            rows = np.loadtxt(fh, ndmin=2)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise InputError(f"{path}: not a Lerner-format file ({exc})") from None
    if len(head) < 2:
        raise InputError(f"{path}: first line must be 'L strain pressure', got {head!r}")
    try:
        L, gamma = float(head[0]), float(head[1])
    except ValueError:
        raise InputError(f"{path}: first line must be 'L strain pressure', got {head!r}") from None
    if not (np.isfinite(L) and L > 0) or not np.isfinite(gamma):
        raise InputError(f"{path}: line 1: box side L = {head[0]} and strain = {head[1]} must be finite, L > 0")
    if rows.size == 0:
        raise InputError(f"{path}: no particles (N = 0)")
    if rows.shape[1] not in (3, 4):
        raise InputError(f"{path}: expected 3 (2D) or 4 (3D) columns per particle, got {rows.shape[1]}")
    d = rows.shape[1] - 1
    n = rows.shape[0]
    if density is None:
        model = Model.from_preset(preset, dim=d)
    else:
        model = Model.from_preset(preset, dim=d, density=float(density))
    box = Box.square(L, d, gamma)
    s = rows[:, :d]
    x = s @ box.h.T
    conf = Configuration(x, rows[:, d], box, model, strain={"gamma": gamma, "geometry": "simple_shear"},
                         provenance={"source": str(path.name), "format": "lerner"})
    if density is None and abs(n / L**d - model.density) > 1e-3 * model.density:
        raise InputError(
            f"{path}: N = {n} particles in a box of side {L:g} give density {n / L**d:.6g}, but preset "
            f"{preset!r} has {model.density:g}: a file cut short or padded? (pass the density "
            f"explicitly, --density, if the file really is at another density)")
    check_configuration(conf, str(path))
    return conf


def continuous_cell(conf: Configuration) -> np.ndarray:
    """The cell h with the *continuous* Lees–Edwards tilt of the recorded strain.

    Internally the tilt is kept reduced to [−½, ½) of the side (:func:`reduce_tilt`),
    which jumps by one box side at γ = ½ + k. Analysis codes that compare frames by
    their cells (OVITO's atomic strain and D²min, ASE) need the continuous one: for a
    ``simple_shear`` strain record γ, the xy tilt is shifted by a whole number of box
    sides to the value closest to γ·L_y (the same lattice, so the same periodic system).
    Other geometries keep h.
    """
    h = np.array(conf.box.h, dtype=float)
    strain = conf.strain or {}
    gamma = strain.get("gamma")
    if strain.get("geometry", "simple_shear") == "simple_shear" and gamma is not None and np.isfinite(gamma):
        k = np.round((float(gamma) * h[1, 1] - h[0, 1]) / h[0, 0])
        h[0, 1] += k * h[0, 0]
    return h


def particle_table(path, n: int) -> dict:
    """Per-particle columns of a table to attach to an export (``--with``).

    Any Parquet table (glass2epm metadata or a plain one) with ``n`` rows, or with a
    ``particle`` column of 0-based indices (rows may then come in any order and some
    particles may be missing: NaN). Every numeric column except positions (x, y, z) and
    ``particle`` is returned as a float array of length ``n``.
    """
    from glass2epm.core.validate import InputError

    path = Path(path)
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise InputError(f"{path}: cannot read as Parquet ({exc})") from None
    cols = {c: table.column(c).to_numpy() for c in table.column_names}
    rows = table.num_rows
    if "particle" in cols:
        idx = np.asarray(cols.pop("particle"), dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise InputError(f"{path}: column 'particle' must hold indices 0..{n - 1}")
    elif rows == n:
        idx = np.arange(n)
    else:
        raise InputError(f"{path}: {rows} rows for {n} particles (add a 'particle' column of 0-based indices)")
    out = {}
    for c, v in cols.items():
        if c in ("x", "y", "z") or not np.issubdtype(np.asarray(v).dtype, np.number):
            continue
        full = np.full(n, np.nan)
        full[idx] = np.asarray(v, dtype=float)
        out[c] = full
    if not out:
        raise InputError(f"{path}: no numeric per-particle column to attach")
    return out


def _wrapped(conf: Configuration, h: np.ndarray) -> np.ndarray:
    """Positions wrapped into the cell h centred at the origin (fractions in [−½, ½))."""
    s = np.linalg.solve(h, conf.x.T).T
    s -= np.floor(s + 0.5)
    return s @ h.T


def _gsd_frame(conf: Configuration, particles: dict | None):
    import gsd.hoomd

    frame = gsd.hoomd.Frame()
    d = conf.dim
    h = continuous_cell(conf)
    frame.configuration.step = int((conf.strain or {}).get("step", 0) or 0)
    frame.configuration.dimensions = d
    # HOOMD: [Lx, Ly, Lz, xy, xz, yz] with tilt factors relative to the sides; 2D: Lz = 0
    if d == 2:
        frame.configuration.box = [h[0, 0], h[1, 1], 0.0, h[0, 1] / h[1, 1], 0.0, 0.0]
    else:
        frame.configuration.box = [h[0, 0], h[1, 1], h[2, 2], h[0, 1] / h[1, 1], h[0, 2] / h[2, 2],
                                   h[1, 2] / h[2, 2]]
    pos = np.zeros((conf.N, 3))
    pos[:, :d] = _wrapped(conf, h)
    frame.particles.N = conf.N
    frame.particles.position = pos.astype(np.float32)
    frame.particles.diameter = conf.sizes.astype(np.float32)  # λ_i is the particle diameter
    frame.particles.types = ["A"]
    frame.log["glass2epm/strain"] = np.array([float((conf.strain or {}).get("gamma", 0.0) or 0.0)])
    for name, values in (particles or {}).items():
        frame.log[f"particles/{name}"] = np.asarray(values, dtype=np.float64)
    return frame


def _atoms(conf: Configuration, particles: dict | None):
    from ase import Atoms

    d = conf.dim
    h = continuous_cell(conf)
    cell = np.zeros((3, 3))
    cell[:d, :d] = h.T  # ASE: cell vectors as rows
    if d == 2:
        cell[2, 2] = 1.0  # a non-periodic third direction (pbc "T T F")
    pos = np.zeros((conf.N, 3))
    pos[:, :d] = _wrapped(conf, h) + 0.5 * h.sum(axis=1)  # into the cell [0, 1)^d
    atoms = Atoms(["H"] * conf.N, positions=pos, cell=cell, pbc=[True] * d + [False] * (3 - d))
    atoms.new_array("size", conf.sizes.copy())
    atoms.new_array("radius", 0.5 * conf.sizes)  # OVITO's particle radius
    for name, values in (particles or {}).items():
        atoms.new_array(name, np.asarray(values, dtype=float))
    strain = conf.strain or {}
    atoms.info["step"] = int(strain.get("step", 0) or 0)
    atoms.info["strain"] = float(strain.get("gamma", 0.0) or 0.0)
    return atoms


def export(conf, path, particles: dict | None = None) -> Path:
    """Write configuration(s) for visualisation and analysis codes, atomically.

    ``conf``: a :class:`Configuration` or a sequence of them (a trajectory: one frame
    each). ``path``: ``.gsd`` (HOOMD, OVITO) or ``.extxyz`` (ASE, OVITO).
    ``particles``: per-particle columns {name: (N,)} (or one dict per frame) to attach.

    Conventions: the cell has the continuous Lees–Edwards tilt (:func:`continuous_cell`);
    GSD: HOOMD's box (2D: Lz = 0, ``dimensions`` 2), positions centred, ``diameter`` =
    λ_i, ``configuration/step`` the AQS step, ``log/glass2epm/strain`` γ, per-particle
    columns as ``log/particles/<name>``. extxyz: pbc "T T F" in 2D, columns ``size`` (λ_i)
    and ``radius`` (λ_i/2, OVITO's radius), ``step`` and ``strain`` in the comment line.
    """
    path = Path(path)
    frames = [conf] if isinstance(conf, Configuration) else list(conf)
    if not frames:
        raise ValueError(f"{path}: nothing to export")
    extra = particles if isinstance(particles, (list, tuple)) else [particles] * len(frames)
    if path.suffix not in (".gsd", ".extxyz", ".xyz"):
        raise ValueError(f"{path}: unknown export format; use .gsd or .extxyz")
    tmp = atomic_path(path)
    try:
        if path.suffix == ".gsd":
            import gsd.hoomd

            with gsd.hoomd.open(tmp, mode="w") as f:
                for c, p in zip(frames, extra):
                    f.append(_gsd_frame(c, p))
        else:
            from ase.io import write

            write(tmp, [_atoms(c, p) for c, p in zip(frames, extra)], format="extxyz")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_text(path, text: str) -> Path:
    """Write a text file (HTML, TSV, ...) atomically: a temporary name, then a rename."""
    path = Path(path)
    tmp = atomic_path(path)
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


#: the unit system, stated in every JSON output (key ``units``)
UNITS = {"energy": "epsilon", "length": "lambda", "mass": "m", "stress": "epsilon/lambda^d",
         "force": "epsilon/lambda", "temperature": "epsilon/k_B", "strain": "dimensionless",
         "wall_time": "s", "monte_carlo_time": "sweeps (N trial moves)"}


def with_units(obj):
    """``obj`` (a dict) with the key ``units`` (:data:`UNITS`) unless it has one."""
    if isinstance(obj, dict) and "units" not in obj:
        return {**obj, "units": UNITS}
    return obj


def write_json(path, obj) -> Path:
    """Write ``obj`` as JSON (sorted keys), atomically, with the unit system under ``units``."""
    path = Path(path)
    tmp = atomic_path(path)
    try:
        tmp.write_text(json.dumps(_to_jsonable(with_units(obj)), indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
