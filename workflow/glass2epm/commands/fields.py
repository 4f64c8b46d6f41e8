"""``glass2epm fields``: Gaussian-coarse-grained density and Irving–Kirkwood/Hardy stress on a grid
(Hernández-García's fields; :mod:`glass2epm.fields.coarse`)."""

from __future__ import annotations

import json
from pathlib import Path

from glass2epm.core.io import with_units


def register(subparsers):
    p = subparsers.add_parser(
        "fields",
        help="coarse-grained density ρ_ℓ and stress σ_ℓ on a periodic grid (exact bond integrals)",
        description="ρ_ℓ(x) = Σ G_ℓ(x − x_i) and σ_ℓ(x) = Σ_pairs φ'/r r⊗r ∫₀¹ G_ℓ(x − x_i − s r) ds with a "
                    "Gaussian G_ℓ (λ units; stress ε/λ^d, same sign as `glass2epm properties`). Writes a 'fields' "
                    "table (columns x, y[, z], rho, sxx, syy, sxy[, szz, sxz, syz]); prints the box means as JSON.",
    )
    p.add_argument("config", type=Path, help="configuration (glass2epm Parquet)")
    p.add_argument("--ell", type=float, required=True, help="kernel width ℓ (λ)")
    p.add_argument("--grid", type=int, default=128, help="grid points per axis n")
    p.add_argument("-o", "--output", required=True, type=Path, help="fields Parquet file to write")
    p.set_defaults(func=handler)
    return p


def handler(args) -> int:
    from glass2epm.fields.task import fields_stage

    summary = fields_stage(args.config, args.output, ell=args.ell, grid=args.grid)
    print(json.dumps(with_units(summary), sort_keys=True))
    return 0
