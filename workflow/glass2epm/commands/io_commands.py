"""``import-lerner``, ``properties`` and ``export``: configuration files in and out."""

from __future__ import annotations

import json
import sys

from glass2epm.core.io import export, read_configuration, read_lerner, write_configuration
from glass2epm.core.model import PRESETS


def register(sub):
    p = sub.add_parser("import-lerner", help="read a Lerner-group text configuration into Parquet")
    p.add_argument("input", help="text file: 'L strain pressure', then 'x/L y/L λ' per particle")
    p.add_argument("output", help="configuration Parquet to write")
    p.add_argument("--preset", default="lerner-poly2d", choices=sorted(PRESETS),
                   help="model preset of the file (default: lerner-poly2d)")
    p.set_defaults(func=_import)

    p = sub.add_parser("properties", help="print energy, stress, pressure and elastic moduli as JSON")
    p.add_argument("config", help="configuration Parquet")
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(func=_properties)

    p = sub.add_parser("export", help="write a configuration as .gsd (OVITO/HOOMD) or .extxyz (ASE)")
    p.add_argument("config")
    p.add_argument("output", help="OUT.gsd or OUT.extxyz")
    p.set_defaults(func=_export)


def _import(args):
    conf = read_lerner(args.input, preset=args.preset)
    write_configuration(args.output, conf, provenance={"command": "import-lerner"})
    return 0


def _properties(args):
    from glass2epm.mechanics.properties import compute_properties

    conf = read_configuration(args.config)
    json.dump(compute_properties(conf, threads=args.threads), sys.stdout)
    sys.stdout.write("\n")
    return 0


def _export(args):
    export(read_configuration(args.config), args.output)
    return 0
