"""``glass2epm aqs``: athermal quasistatic shear of an inherent state (see glass2epm.aqs.engine).

Writes, beside ``-o SERIES.parquet``:

* ``SERIES.parquet``          ``aqs_series`` (strain, sxx, syy, sxy, pressure,
                              energy_per_particle, force_evaluations, event, ...)
* ``SERIES.events.parquet``   ``aqs_events`` (step, strain, dsigma, denergy, n_displaced, ...)
* ``SERIES.snapshots/``       ``step-NNNNNNNN.parquet`` configurations every
                              ``--snapshot-every`` of strain (step 0 included)

all at the end of the run by atomic rename (the series last). With ``--checkpoint``
the run can be killed and restarted with the same command: it resumes from the
checkpoint and produces bitwise the same series. Units: stress ε/λ^d, energy ε.

Random local forcing (AQRD, glass2epm.aqrd): with --forcing the configuration is driven
as x = x₀ + γc + u in a fixed box, each state relaxed with ⟨c|u⟩ = 0; the series'
loaded_stress is Σ = (1/V) ∂U/∂γ = −c·F/V. FIELD is a table with columns cx, cy[, cz]
(one row per particle, file order; Parquet, CSV or TSV), or a generated field:
  --forcing gaussian --xi XI --seed S [--amplitude XI_AMP]   (Eqs. 4–5, mean removed)
  --forcing sine --mode n [--amplitude A]                    (c = (A sin(2πn y/L), 0))
  --forcing shear                                            (c = (y, 0): AQS, Lees–Edwards)
The field is written beside the series (SERIES.forcing.parquet); --summary adds μ_c,
the initial slope of Σ and 𝔉.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
import re
import sys



def register(subparsers) -> None:
    p = subparsers.add_parser(
        "aqs",
        help="athermal quasistatic shear (Lees–Edwards) of a configuration",
        description=__doc__.replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", metavar="CONFIG.parquet", help="input configuration (inherent state)")
    p.add_argument(
        "--step",
        type=float,
        required=True,
        metavar="DGAMMA",
        help="strain increment |Δγ| per step (> 0)",
    )
    p.add_argument(
        "--strain",
        type=float,
        required=True,
        metavar="GAMMA_MAX",
        help="target strain along the loading direction (forward: γ = +GAMMA_MAX, "
        "backward: γ = −GAMMA_MAX); must not be below the configuration's strain",
    )
    p.add_argument("--direction", choices=["forward", "backward"], default="forward")
    p.add_argument(
        "--geometry", choices=["simple_shear", "pure_shear", "dilation"], default="simple_shear"
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="SERIES.parquet",
        help="series output; events and snapshots are written beside it",
    )
    p.add_argument(
        "--snapshot-every",
        type=float,
        default=0.01,
        metavar="DGAMMA",
        help="strain between configuration snapshots (0: none; default 0.01)",
    )
    p.add_argument(
        "--checkpoint",
        metavar="PATH",
        default=None,
        help="checkpoint file (.npz); resumed from when it exists, removed at the end",
    )
    p.add_argument(
        "--checkpoint-every",
        type=int,
        default=1000,
        metavar="K",
        help="checkpoint every K steps (default 1000)",
    )
    p.add_argument(
        "--checkpoint-seconds",
        type=float,
        default=600.0,
        metavar="T",
        help="... or every T seconds of wall time (default 600)",
    )
    p.add_argument("--threads", type=int, default=1, help="numba threads for the force kernel")
    p.add_argument(
        "--ftol",
        type=float,
        default=None,
        help="max|F| tolerance of each inherent state (ε/λ; default: minimize.default_ftol)",
    )
    p.add_argument(
        "--event-threshold",
        type=float,
        default=None,
        metavar="DSIGMA",
        help="loaded-stress drop (ε/λ^d) flagging a plastic event (default 1e-6)",
    )
    p.add_argument(
        "--displacement-threshold",
        type=float,
        default=None,
        metavar="U",
        help="non-affine displacement (λ) counted per event (default 0.1)",
    )
    p.add_argument(
        "--event-displacement",
        type=float,
        default=None,
        metavar="U",
        help="a step whose largest non-affine displacement exceeds U (λ) is an event candidate even "
        "without a stress drop (confirmed by the reversal check; 0: off; default 0.1)",
    )
    p.add_argument(
        "--no-confirm-events",
        action="store_true",
        help="flag every loaded-stress drop as an event, without checking that the "
        "step is irreversible (undoing it does not return to the previous state)",
    )
    p.add_argument(
        "--predictor",
        choices=["linear", "affine"],
        default="linear",
        help="start of each minimisation: linear response (default) or affine",
    )
    p.add_argument(
        "--summary",
        metavar="JSON",
        default=None,
        help="also write the stress overshoot / steady-state summary as JSON",
    )
    p.add_argument(
        "--steady-from",
        type=float,
        default=0.2,
        metavar="GAMMA",
        help="steady-state window start (loading strain) for --summary (default 0.2)",
    )
    p.add_argument("--forcing", metavar="FIELD", default=None,
                   help="AQRD: a field table (cx, cy[, cz]) or gaussian / sine / shear (see above)")
    p.add_argument("--xi", type=float, default=None, metavar="XI",
                   help="correlation length ξ (λ) of --forcing gaussian")
    p.add_argument("--seed", type=int, default=None, help="seed of --forcing gaussian")
    p.add_argument("--mode", type=int, default=None, metavar="N", help="wave number n of --forcing sine")
    p.add_argument("--amplitude", type=float, default=1.0,
                   help="field amplitude: Ξ (λ) of gaussian, A (λ) of sine (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    # let "--step -1e-4" reach the handler (and its clear error) instead of being taken
    # for an option: argparse's negative-number pattern has no exponent form
    p._negative_number_matcher = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
    p.set_defaults(func=handler)

    s = subparsers.add_parser(
        "sine-scan",
        help="AQRD sine field: μ_c/(μ_AQS A²k²/2) on instantaneous quenches of several N (→ 1 as kλ → 0)",
        description="For each N and seed, an instantaneous quench (random positions, minimised); for each "
                    "mode n the AQRD modulus μ_c of c = (A sin(2πn y/L), 0) by constrained linear response, "
                    "over the continuum value μ_AQS A²k²/2, k = 2πn/L. Writes an 'aqrd_sine' table "
                    "(N, seed, L, mode, k, mu_c, mu_aqs, ratio) and prints the mean ratio per (N, n).",
    )
    s.add_argument("--preset", default="lerner-poly2d", help="model preset")
    s.add_argument("--dim", type=int, default=2, choices=(2, 3), help="spatial dimension")
    s.add_argument("--N", type=int, nargs="+", required=True, help="glass sizes (particles)")
    s.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4], help="quench seeds")
    s.add_argument("--modes", type=int, nargs="+", default=[1, 2], help="wave numbers n")
    s.add_argument("--amplitude", type=float, default=1.0, help="A (λ)")
    s.add_argument("--threads", type=int, default=1, help="threads (numba kernels and BLAS)")
    s.add_argument("-o", "--output", type=Path, required=True, help="table to write (Parquet)")
    s.set_defaults(func=sine_scan_handler)


def sine_scan_handler(args) -> int:
    import json

    from glass2epm.aqrd.sine import sine_scan_task
    from glass2epm.core.runtime import numba_threads

    with numba_threads(args.threads):
        res = sine_scan_task(args.output, preset=args.preset, dim=args.dim, sizes=args.N, seeds=args.seeds,
                             modes=args.modes, amplitude=args.amplitude)
    out = {f"N={N} n={m}": v for (N, m), v in res.items()}
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


def handler(args) -> int:
    from glass2epm.aqs.tasks import AQSParams, shear_task

    if args.step is not None and not args.step > 0:
        raise ValueError(
            f"--step must be a positive strain increment, got {args.step}; "
            "use --direction backward for negative loading"
        )
    if not args.quiet:
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    # CLI options named as the protocol's fields; unset (None) ones keep its defaults
    fields = ("direction", "geometry", "ftol", "predictor", "snapshot_every", "event_threshold",
              "displacement_threshold", "event_displacement")
    protocol = AQSParams.build(
        args.step, args.strain, confirm_events=not args.no_confirm_events,
        **{k: getattr(args, k) for k in fields if getattr(args, k) is not None},
    )
    if args.forcing is None and (args.xi is not None or args.mode is not None or args.seed is not None):
        raise ValueError("--xi, --seed and --mode need --forcing")
    if args.forcing is not None:
        from glass2epm.aqrd.tasks import drive_task

        if args.geometry != "simple_shear":
            raise ValueError("--forcing replaces --geometry: leave --geometry at simple_shear")
        res, summary = drive_task(
            args.config, args.output, protocol, forcing=args.forcing, xi=args.xi, seed=args.seed,
            mode=args.mode, amplitude=args.amplitude, summary=args.summary, checkpoint=args.checkpoint,
            checkpoint_every=args.checkpoint_every, checkpoint_seconds=args.checkpoint_seconds,
            threads=args.threads, steady_from=args.steady_from, progress_every=10.0,
        )
    else:
        res, summary = shear_task(
            args.config, args.output, protocol, steady_from=args.steady_from, summary=args.summary,
            checkpoint=args.checkpoint, checkpoint_every=args.checkpoint_every,
            checkpoint_seconds=args.checkpoint_seconds, threads=args.threads, progress_every=10.0,
        )
    if not args.quiet:
        report = {
            "output": str(args.output),
            "steps": int(len(res.series["strain"]) - 1),
            "events": int(res.series["event"].sum()),
            "peak_stress": summary["peak_stress"],
            "peak_strain": summary["peak_strain"],
            "wall_s": round(res.stats["wall_s"], 3),
        }
        print(json.dumps(report), file=sys.stderr)
    return 0
