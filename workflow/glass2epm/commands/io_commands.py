"""``import-lerner``, ``properties`` and ``export``: configuration files in and out."""

from __future__ import annotations

import json
import sys

from glass2epm.core.io import export, read_configuration, read_lerner, with_units, write_configuration
from glass2epm.core.model import PRESETS


def register(sub):
    p = sub.add_parser("import-lerner", help="read a Lerner-group text configuration into Parquet")
    p.add_argument("input", help="text file: 'L strain pressure', then 'x/L y/L λ' per particle")
    p.add_argument("output", help="configuration Parquet to write")
    p.add_argument("--preset", default="lerner-poly2d", choices=sorted(PRESETS),
                   help="model preset of the file (default: lerner-poly2d)")
    p.add_argument("--density", type=float, default=None, metavar="RHO",
                   help="number density N/L^d of the file, λ^-d, when it is not the preset's (default: "
                        "the preset's; a file whose N/L^d differs by more than 1e-3 relative is refused)")
    p.set_defaults(func=_import)

    p = sub.add_parser("properties", help="print energy, stress, pressure and elastic moduli as JSON")
    p.add_argument("config", help="configuration Parquet")
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(func=_properties)

    p = sub.add_parser(
        "export",
        help="write a configuration, or a folder of AQS snapshots as one trajectory, as .gsd "
             "(HOOMD/OVITO) or .extxyz (ASE/OVITO)",
        description="Cells carry the continuous Lees–Edwards tilt (xy = γ·L_y, never folded at γ = ½). "
                    "GSD: HOOMD box (2D: Lz = 0), diameter = λ_i, step and strain (log/glass2epm/strain), "
                    "per-particle columns as log/particles/<name>. extxyz: pbc 'T T F' in 2D, columns "
                    "size (λ_i) and radius (λ_i/2), step and strain in the comment line. Lengths in λ.")
    p.add_argument("config", help="configuration Parquet, or a snapshots folder (step-*.parquet: one frame each)")
    p.add_argument("output", help="OUT.gsd or OUT.extxyz")
    p.add_argument("--with", dest="tables", action="append", default=[], metavar="TABLE.parquet",
                   help="attach the numeric columns of a per-particle table (N rows, or a 'particle' "
                        "column of 0-based indices; glass2epm or plain Parquet), e.g. D²min activity or σ_Y "
                        "(repeatable; the same columns on every frame)")
    p.set_defaults(func=_export)


def _import(args):
    conf = read_lerner(args.input, preset=args.preset, density=args.density)
    write_configuration(args.output, conf, provenance={"command": "import-lerner"})
    return 0


def _properties(args):
    from glass2epm.mechanics.properties import compute_properties

    conf = read_configuration(args.config)
    json.dump(with_units(compute_properties(conf, threads=args.threads)), sys.stdout)
    sys.stdout.write("\n")
    return 0


def _export(args):
    from pathlib import Path

    from glass2epm.core.io import particle_table
    from glass2epm.core.validate import InputError

    src = Path(args.config)
    if src.is_dir():
        files = sorted(src.glob("step-*.parquet"))
        if not files:
            raise InputError(f"{src}: a folder without step-*.parquet snapshots")
    else:
        files = [src]
    confs = [read_configuration(f) for f in files]
    n = confs[0].N
    if any(c.N != n for c in confs):
        raise InputError(f"{src}: snapshots with different particle numbers")
    extra = {}
    for t in args.tables:
        for name, values in particle_table(t, n).items():
            if name in extra:
                raise InputError(f"{t}: column {name!r} also comes from another --with table")
            extra[name] = values
    export(confs if src.is_dir() else confs[0], args.output, particles=extra or None)
    return 0
