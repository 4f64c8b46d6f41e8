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


def read_configuration(path) -> Configuration:
    t = read_table(path, CONFIGURATION)
    model = t.model
    box = t.box
    d = model.dim
    if d == 3 and "z" not in t.columns:
        raise SchemaError(f"{path}: 3D configuration without a 'z' column")
    x = np.stack([t[c] for c in "xyz"[:d]], axis=1)
    extra = dict(t.meta.get("extra") or {})
    Tp = extra.pop("Tp", None)
    return Configuration(x, t["size"], box, model, Tp=Tp, seed=t.meta.get("seed"),
                         strain=t.meta.get("strain") or {"gamma": 0.0, "geometry": "simple_shear"},
                         provenance=t.meta.get("provenance") or {}, extra=extra)


def read_lerner(path, preset: str = "lerner-poly2d") -> Configuration:
    """Read the Lerner-group text format (``L strain pressure``, then ``x/L y/L λ``).

    The strain on line 1 is the Lees–Edwards shear strain (tilt = strain · L).
    """
    path = Path(path)
    try:
        with open(path) as fh:
            head = fh.readline().split()
            rows = np.loadtxt(fh, ndmin=2)
    except (OSError, ValueError) as exc:
        raise SchemaError(f"{path}: cannot read Lerner format ({exc})") from None
    if len(head) < 2:
        raise SchemaError(f"{path}: first line must be 'L strain pressure', got {head!r}")
    L, gamma = float(head[0]), float(head[1])
    if rows.shape[1] not in (3, 4):
        raise SchemaError(f"{path}: expected 3 (2D) or 4 (3D) columns per particle, got {rows.shape[1]}")
    d = rows.shape[1] - 1
    model = Model.from_preset(preset, dim=d)
    n = rows.shape[0]
    density = n / L**d
    if abs(density - model.density) > 1e-3 * model.density:
        model = Model.from_preset(preset, dim=d, density=density)
    box = Box.square(L, d, gamma)
    s = rows[:, :d]
    x = s @ box.h.T
    return Configuration(x, rows[:, d], box, model, strain={"gamma": gamma, "geometry": "simple_shear"},
                         provenance={"source": str(path.name), "format": "lerner"})


def export(conf: Configuration, path) -> Path:
    """Write a configuration for visualisation: ``.gsd`` (HOOMD/OVITO) or ``.extxyz`` (ASE/OVITO)."""
    path = Path(path)
    tmp = atomic_path(path)
    try:
        if path.suffix == ".gsd":
            import gsd.hoomd

            frame = gsd.hoomd.Frame()
            frame.particles.N = conf.N
            d = conf.dim
            h = conf.box.h
            pos = np.zeros((conf.N, 3))
            # GSD boxes are centred at the origin; tilt factors relative to sides
            s = np.linalg.solve(h, conf.x.T).T
            s -= np.floor(s) + 0.5
            pos[:, :d] = s @ h.T
            frame.particles.position = pos.astype(np.float32)
            frame.particles.diameter = conf.sizes.astype(np.float32)
            frame.particles.types = ["A"]
            Lz = h[2, 2] if d == 3 else 1.0
            xz = h[0, 2] / Lz if d == 3 else 0.0
            yz = h[1, 2] / Lz if d == 3 else 0.0
            frame.configuration.box = [h[0, 0], h[1, 1], Lz, h[0, 1] / h[1, 1], xz, yz]
            frame.configuration.dimensions = d
            with gsd.hoomd.open(tmp, mode="w") as f:
                f.append(frame)
        elif path.suffix in (".extxyz", ".xyz"):
            from ase import Atoms
            from ase.io import write

            d = conf.dim
            cell = np.zeros((3, 3))
            cell[:d, :d] = conf.box.h.T  # ASE: cell vectors as rows
            pos = np.zeros((conf.N, 3))
            pos[:, :d] = conf.box.wrap(conf.x)
            if d == 2:
                cell[2, 2] = 1.0
            atoms = Atoms(["H"] * conf.N, positions=pos, cell=cell, pbc=[True] * d + [False] * (3 - d))
            atoms.new_array("size", conf.sizes)
            write(tmp, atoms, format="extxyz")
        else:
            raise ValueError(f"{path}: unknown export format; use .gsd or .extxyz")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_json(path, obj) -> Path:
    path = Path(path)
    tmp = atomic_path(path)
    try:
        tmp.write_text(json.dumps(_to_jsonable(obj), indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
