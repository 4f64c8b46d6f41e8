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

_LENGTH = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(d|lambda|λ)?\s*$")


def parse_length(text: str, d: float, what: str) -> float:
    """A length in λ from '5', '5d' (units of d) or '6.2lambda' / '6.2λ' (λ)."""
    m = _LENGTH.match(str(text))
    if not m:
        raise ValueError(f"--{what} {text!r}: expected a number in units of d (e.g. 5 or 5d) or in λ "
                         "with the suffix 'lambda' (e.g. 6.2lambda)")
    v = float(m.group(1))
    return v if m.group(2) in ("lambda", "λ") else v * d


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
    from glass2epm.yieldstress.cavity import mean_spacing
    from glass2epm.mechanics.expansion import numba_threads
    from glass2epm.core.io import read_configuration
    from glass2epm.yieldstress import yieldmap as Y

    conf = read_configuration(args.config)
    d = mean_spacing(conf)
    radius = parse_length(args.radius, d, "radius")
    spacing = parse_length(args.spacing, d, "spacing")
    block = parse_length(args.block, d, "block")
    if spacing <= 0 or block <= 0:
        raise ValueError("--spacing and --block must be positive")
    Y.component_matrix(args.component, conf.dim)  # fail early, naming the problem
    if args.threads < 1:
        raise ValueError(f"--threads must be ≥ 1, got {args.threads}")
    if args.sites_chunk and args.merge:
        raise ValueError("--sites-chunk and --merge are exclusive (compute a chunk, or merge chunks)")
    prov = {"command": "yieldmap", "config": str(args.config)}
    with numba_threads(args.threads):
        if args.sites_chunk:
            if args.method != "frozen":
                raise ValueError("--sites-chunk is for --method frozen (the bond map takes seconds)")
            k, K = parse_chunk(args.sites_chunk)
            table = Y.frozen_chunk(conf, k, K, radius, spacing, args.geometry, args.component,
                                   step=args.step, max_strain=args.max_strain)
            Y.write_sites(args.output, conf, table, provenance=prov)
            summary = {"chunk": f"{k}/{K}", "n_sites": len(table),
                       "n_discarded_forward": int((table["discarded"] & Y.DISCARD_FORWARD).astype(bool).sum())}
        else:
            if args.merge:
                tables = [Y.read_sites(f) for f in args.merge]
                for f, t in zip(args.merge, tables):
                    if t.params.get("method") != args.method:
                        raise ValueError(f"{f}: a '{t.params.get('method')}' site table, but --method "
                                         f"{args.method}")
                ymap = Y.merge(conf, tables, block)
            elif args.method == "bond":
                ymap = Y.bond_map(conf, radius, spacing, args.geometry, args.component, block)
            else:
                ymap = Y.frozen_map(conf, radius, spacing, args.geometry, args.component, block,
                                    step=args.step, max_strain=args.max_strain)
            Y.write_map(args.output, conf, ymap, provenance=prov)
            import numpy as np

            summary = {k: ymap.info[k] for k in ("method", "n_sites", "n_discarded_forward",
                                                  "n_discarded_backward", "n_failed",
                                                  "fraction_without_value",
                                                  "fraction_without_value_backward")}
            summary["mean_sigma_y"] = float(np.nanmean(ymap.sigma_y)) if np.isfinite(ymap.sigma_y).any() else None
            summary["mean_sigma_y_blocks"] = (float(np.nanmean(ymap.blocks["sigma_y"]))
                                              if np.isfinite(ymap.blocks["sigma_y"]).any() else None)
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")
    return 0
