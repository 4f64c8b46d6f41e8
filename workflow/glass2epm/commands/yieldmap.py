"""``yieldmap``: local yield-stress maps (Sec. IV, Figs. 3–4), bond micromechanics or frozen matrix.

Writes MAP.parquet (schema ``yield_map``: one row per particle, x, y, sigma_y,
sigma_y_backward), and beside it MAP.sites.parquet (``yield_sites``) and
MAP.blocks.parquet (``yield_blocks``); prints a JSON summary (counts, fractions of
particles without a value, mean σ_Y). Stresses in ε/λ^d.

Lengths (--radius, --spacing, --block) are in units of the mean interparticle
distance d = (N/V)^{−1/dim} by default: ``--radius 5`` or ``--radius 5d`` means 5d;
a value in λ needs the suffix ``lambda`` (``--radius 6.2lambda``).

Chunked frozen-matrix maps: ``--sites-chunk k/K`` (k = 0..K−1) computes every K-th
site from k and writes only that chunk's site table to -o; ``--merge A.parquet
B.parquet …`` gathers the K chunk tables into the map (same configuration and
parameters; all chunks needed).
"""

from __future__ import annotations

import json
import re
import sys

from glass2epm.core.io import with_units

def parse_chunk(text: str) -> tuple[int, int]:
    m = re.match(r"^\s*(\d+)\s*/\s*(\d+)\s*$", str(text))
    if not m:
        raise ValueError(f"--sites-chunk {text!r}: expected k/K with 0 ≤ k < K (e.g. 0/8)")
    k, K = int(m.group(1)), int(m.group(2))
    if K < 1 or not 0 <= k < K:
        raise ValueError(f"--sites-chunk {text!r}: need K ≥ 1 and 0 ≤ k < K (chunks are 0-based)")
    return k, K


def register(sub):
    p = sub.add_parser(
        "yieldmap",
        help="local yield-stress map (bond micromechanics or frozen matrix), per particle, site and block",
        description="Local yield stresses of cavities (Richard, Sec. IV): sites on a grid (spacing "
        "3d), free region R = 5d, all other particles frozen on the affine deformation. "
        "--method bond: third-order expansion of the cavity stress, yield at the extrema of the "
        "cubic; --method frozen: explicit AQS of the cavity until the first stress drop. Each "
        "particle gets the lowest σ_Y (and lowest |σ_Y^B|) of the cavities containing it; blocks "
        "of ξ = 5d average them. Lengths in units of d unless suffixed 'lambda'.",
    )
    p.add_argument("config", help="configuration Parquet (an inherent state)")
    p.add_argument("--method", choices=["bond", "frozen"], default="bond")
    p.add_argument("--radius", default="5", help="cavity radius R (default 5, i.e. 5d; '6.2lambda' in λ)")
    p.add_argument("--spacing", default="3", help="site grid spacing (default 3, i.e. 3d)")
    p.add_argument("--block", default="5", help="block size ξ of the coarse-grained map (default 5d)")
    p.add_argument("--geometry", default="simple_shear", choices=["simple_shear", "pure_shear", "dilation"])
    p.add_argument("--component", default="xy", help="stress component ab (xx, yy, xy; 3D also zz, xz, yz)")
    p.add_argument("--step", type=float, default=1e-3, help="frozen matrix: strain step Δγ (default 1e-3)")
    p.add_argument("--max-strain", type=float, default=0.3,
                   help="frozen matrix: give up (discard the site) beyond this strain (default 0.3)")
    p.add_argument("--sites-chunk", default=None, metavar="k/K",
                   help="frozen matrix: compute chunk k (0-based) of K and write its site table to -o")
    p.add_argument("--merge", nargs="+", default=None, metavar="SITES.parquet",
                   help="gather chunk site tables (from --sites-chunk) into the map")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("-o", "--output", required=True, metavar="MAP.parquet")
    p.set_defaults(func=_yieldmap)


def _yieldmap(args):
    from glass2epm.yieldstress.task import yield_map

    chunk = parse_chunk(args.sites_chunk) if args.sites_chunk else None
    summary = yield_map(args.config, args.output, args.method, args.radius, args.spacing, args.block,
                        args.geometry, args.component, step=args.step, max_strain=args.max_strain,
                        threads=args.threads, chunk=chunk, merge=args.merge,
                        provenance={"command": "yieldmap", "config": str(args.config)})
    json.dump(with_units(summary), sys.stdout)
    sys.stdout.write("\n")
    return 0
