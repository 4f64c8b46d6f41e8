"""``glass2epm bands ACTIVITY.parquet``: detect a shear band in an activity map.

Prints ONE JSON object on stdout: ``orientation`` ("x": band along x, i.e.
horizontal, position is a y coordinate; "y": band along y, position is an x
coordinate; "none"), ``position``, ``width`` (FWHM above background, input
length units), ``n_bands``, plus ``width_std``, ``width_scaled``, ``background``,
``peak``, ``contrast``, ``bands`` (all bands found), ``bin_width``, ``box`` and
``test`` (permutation-test ratios and p-values per profile axis). See
``glass2epm.bands.detect`` for the definitions.

Also the band stages of the workflow, each calling the task function its rule script calls
(:mod:`glass2epm.bands.tasks`): ``band-profiles``, ``band-growth``, ``band-size``,
``plasticity-maps``.
"""

from __future__ import annotations

import json

from glass2epm.core.io import with_units


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
    p.add_argument("activity", metavar="ACTIVITY.parquet", help="activity map: columns x, y (input length units) and activity "
                        "(count); glass2epm Parquet, or plain Parquet/CSV/TSV with a header row "
                        "(then --box is needed)")
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
    _register_stages(subparsers)


def handler(args) -> int:
    from glass2epm.bands import detect

    if args.box is not None and not args.box > 0:
        raise ValueError(f"--box must be positive, got {args.box}")
    if args.bin_width is not None and not args.bin_width > 0:
        raise ValueError(f"--bin must be positive, got {args.bin_width}")
    options = {k: getattr(args, k) for k in ("bin_width", "orientation", "scale", "binary", "seed", "n_perm")}
    res = detect.detect_band_file(args.activity, box_side=args.box, **options)
    print(json.dumps(with_units(res.to_dict(profiles=args.profiles)), sort_keys=True))
    return 0


# -----------------------------------------------------------------------------
# the band stages of the workflow (the same task functions as the rule scripts)


def _stage_parser(subparsers, name: str, task: str, help: str, what: str):
    """Subcommand ``name`` running ``glass2epm.bands.tasks.<task>`` (the rule of that name)."""
    return subparsers.add_parser(name, help=help,
                                 description=f"{what} (glass2epm.bands.tasks.{task}, the rule {task}).")


def _options(p, metavar: str, strain: str | None = None) -> None:
    """--tp, -o/--output (``metavar``) and, with a help text ``strain``, --strain."""
    if strain is not None:
        p.add_argument("--strain", type=float, required=True, help=strain)
    p.add_argument("--tp", type=float, required=True, help="parent temperature T_p (recorded)")
    p.add_argument("-o", "--output", required=True, metavar=metavar)


def _register_stages(subparsers) -> None:
    p = _stage_parser(subparsers, "band-profiles", "band_profiles",
                      "band widths and replica-averaged centred profiles of activity series (Fig. 7a, c)",
                      "Detect the band at every strain of activity_series tables (replicas of one system) "
                      "and write a band_widths and a band_profiles table")
    p.add_argument("series", nargs="+", metavar="SERIES.parquet", help="activity_series tables (replicas)")
    p.add_argument("--widths", required=True, metavar="OUT.parquet", help="band_widths table to write")
    p.add_argument("--profiles", required=True, metavar="OUT.parquet", help="band_profiles table to write")
    p.add_argument("--label", default="", help="label of the log lines")
    p.set_defaults(func=lambda a: _run_stage("band_profiles", [a.widths, a.profiles], a.series, a.widths,
                                             a.profiles, label=a.label))

    p = _stage_parser(subparsers, "band-growth", "band_growth", "w(gamma) and its growth exponent with CI (Fig. 7b, d)",
                      "Pool band_widths tables over replicas and fit w ∝ γ^b")
    p.add_argument("particles", metavar="PARTICLES.band_widths.parquet")
    p.add_argument("epm", nargs="*", metavar="EPM.band_widths.parquet", help="EPM band_widths tables (L in metadata)")
    _options(p, "OUT.json")
    p.set_defaults(func=lambda a: _run_stage("band_growth", [a.output], a.particles, a.epm, a.tp, a.output))

    p = _stage_parser(subparsers, "band-size", "band_size_scaling",
                      "band width against EPM lattice size at a fixed strain (Fig. 9)",
                      "Band width at the strain nearest --strain for each EPM band_widths table")
    p.add_argument("widths", nargs="+", metavar="EPM.band_widths.parquet")
    _options(p, "OUT.parquet", "strain at which widths are compared")
    p.set_defaults(func=lambda a: _run_stage("band_size_scaling", [a.output], a.widths, a.strain, a.tp, a.output))

    p = _stage_parser(subparsers, "plasticity-maps", "plasticity_maps",
                      "active fraction and band of activity series at one strain (Fig. 6)",
                      "Active fraction and band (binary activity) at the strain nearest --strain")
    p.add_argument("epm", metavar="EPM.activity.parquet", help="EPM activity_series table")
    p.add_argument("particles", nargs="*", metavar="PARTICLES.activity.parquet")
    _options(p, "OUT.json", "map strain")
    p.set_defaults(func=lambda a: _run_stage("plasticity_maps", [a.output], a.particles, a.epm, a.strain, a.tp,
                                             a.output))


def _run_stage(name: str, outputs: list, *args, **kw) -> int:
    """Run ``glass2epm.bands.tasks.<name>(*args, **kw)``; print the outputs written as JSON."""
    from glass2epm.bands import tasks

    getattr(tasks, name)(*args, **kw)
    print(json.dumps({"stage": name, "outputs": [str(o) for o in outputs]}))
    return 0
