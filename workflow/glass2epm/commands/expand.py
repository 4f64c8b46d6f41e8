"""``expand``: strain-expansion coefficients of an observable along the AQS path (Sec. II).

Prints one JSON object {c0, c1, …}: the value and the first, second, third total
strain derivatives. Units: energy per particle in ε, stresses and pressure in
ε/λ^d; the dilation strain is the true strain η (L → L e^η).
"""

from __future__ import annotations

import json
import sys

from glass2epm.core.io import with_units


def register(sub):
    p = sub.add_parser(
        "expand",
        help="strain-expansion coefficients (c0..c3) of an observable along the AQS path, as JSON",
        description="Non-linear strain expansion (Richard, Sec. II): value and total strain "
        "derivatives of an observable along the athermal quasistatic path. Energy is per particle "
        "(ε); pressure P = −tr σ/d and stress components σ_ab in ε/λ^d; dilation strain is the "
        "true strain η.",
    )
    p.add_argument("config", help="configuration Parquet (an inherent state)")
    p.add_argument("--deformation", default="simple_shear",
                   choices=["simple_shear", "pure_shear", "dilation"])
    p.add_argument("--observable", default="sxy",
                   help="energy, pressure, or a stress component sxx, syy, sxy (3D: also szz, sxz, syz)")
    p.add_argument("--order", type=int, default=3, choices=[1, 2, 3])
    p.add_argument("--bonds", default=None, metavar="OUT.parquet",
                   help="also write the bond coefficients φ_γ, φ_γγ, φ_γγγ (schema 'bonds'; needs order 3)")
    p.add_argument("--field", default=None, metavar="OUT.parquet",
                   help="also write the per-particle Σ φ_γ·φ_γγ field (schema 'bond_field'; order ≥ 2)")
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(func=_expand)


def _expand(args):
    from glass2epm.mechanics.expansion import OBSERVABLES, Expansion, stress_selector, write_bond_field, write_bonds
    from glass2epm.core.io import read_configuration

    conf = read_configuration(args.config)
    if args.observable not in ("energy", "pressure"):
        stress_selector(args.observable, conf.dim)  # raises ValueError naming the problem
    if args.observable not in OBSERVABLES:
        raise ValueError(f"unknown observable {args.observable!r}; use one of {OBSERVABLES}")
    order = args.order
    if args.bonds and order < 3:
        raise ValueError("--bonds writes φ_γ, φ_γγ, φ_γγγ: it needs --order 3")
    if args.field and order < 2:
        raise ValueError("--field writes φ_γ·φ_γγ: it needs --order ≥ 2")
    ex = Expansion(conf, args.deformation, order=order, threads=args.threads)
    out = ex.coefficients(args.observable, order)
    prov = {"command": "expand", "config": str(args.config)}
    if args.bonds:
        write_bonds(args.bonds, ex, provenance=prov)
    if args.field:
        write_bond_field(args.field, ex, provenance=prov)
    json.dump(with_units(out), sys.stdout)
    sys.stdout.write("\n")
    return 0
