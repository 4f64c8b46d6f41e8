"""``glass2epm bands ACTIVITY.parquet``: detect a shear band in an activity map.

Prints ONE JSON object on stdout: ``orientation`` ("x": band along x, i.e.
horizontal, position is a y coordinate; "y": band along y, position is an x
coordinate; "none"), ``position``, ``width`` (FWHM above background, input
length units), ``n_bands``, plus ``width_std``, ``width_scaled``, ``background``,
``peak``, ``contrast``, ``bands`` (all bands found), ``bin_width``, ``box`` and
``test`` (permutation-test ratios and p-values per profile axis). See
``glass2epm.bands.detect`` for the definitions.
"""

from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "bands",
        help="detect a shear band (orientation, position, width) in an activity map",
        description=(
            "Detect a shear band in a glass2epm Parquet file with columns x, y, activity "
            "(schema 'activity'; x, y in λ or blocks). Prints one JSON object with "
            "orientation ('x' = band along x, 'y' = band along y, 'none'), position, "
            "width (FWHM above background, input units) and n_bands."
        ),
    )
    p.add_argument("activity", metavar="ACTIVITY.parquet", help="activity map (columns x, y, activity)")
    p.add_argument("--box", type=float, default=None, metavar="L",
                   help="box side in input units; overrides the metadata (box.h diagonal or "
                        "extra.box_side), needed when the file has neither")
    p.add_argument("--bin", type=float, default=None, metavar="W", dest="bin_width",
                   help="grid bin width in input units (default: one lattice cell for EPM blocks, "
                        "else 2.5 × mean interparticle spacing)")
    p.add_argument("--orientation", choices=["x", "y"], default=None,
                   help="impose the band orientation instead of testing for it")
    p.add_argument("--scale", type=float, default=1.0,
                   help="length unit for width_scaled (e.g. λ per particle diameter); default 1")
    p.add_argument("--binary", action="store_true",
                   help="use min(activity, 1): fraction of particles that yielded at least once")
    p.add_argument("--seed", type=int, default=0, help="seed of the permutation test (default 0)")
    p.add_argument("--n-perm", type=int, default=199, help="permutations in the orientation test")
    p.add_argument("--profiles", action="store_true", help="include both profiles P(x), P(y) in the output")
    p.set_defaults(func=handler)


def handler(args) -> int:
    from glass2epm.bands import detect

    if args.box is not None and not args.box > 0:
        raise ValueError(f"--box must be positive, got {args.box}")
    if args.bin_width is not None and not args.bin_width > 0:
        raise ValueError(f"--bin must be positive, got {args.bin_width}")
    res = detect.detect_band_file(
        args.activity,
        box_side=args.box,
        bin_width=args.bin_width,
        orientation=args.orientation,
        scale=args.scale,
        binary=args.binary,
        seed=args.seed,
        n_perm=args.n_perm,
    )
    print(json.dumps(res.to_dict(profiles=args.profiles), sort_keys=True))
    return 0
