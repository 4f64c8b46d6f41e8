"""``glass2epm prepare``: SWAP MC at T_p, then minimisation to the inherent state."""

from __future__ import annotations

import json
import sys

from glass2epm.core.io import with_units

from glass2epm.core.model import PRESETS


def register(sub):
    p = sub.add_parser("prepare", help="SWAP MC liquid at T_p, minimised to an inherent state")
    p.add_argument("--preset", default="lerner-poly2d", choices=sorted(PRESETS))
    p.add_argument("--dim", type=int, default=2, choices=(2, 3))
    p.add_argument("--N", type=int, required=True, help="number of particles")
    p.add_argument("--Tp", type=float, required=True, help="parent temperature (ε/k_B)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--seeds", type=int, nargs="+", default=None, metavar="S",
                   help="several independent samples, run as parallel chains on --threads threads; "
                   "-o (and --liquid) must then contain {seed}")
    p.add_argument("--checkpoint", default=None, metavar="PATH",
                   help="SWAP MC checkpoint (.npz; with --seeds it must contain {seed}): saved every "
                   "--checkpoint-seconds, resumed from bitwise when it exists, removed at the end")
    p.add_argument("--checkpoint-seconds", type=float, default=600.0, metavar="S")
    p.add_argument("--sweeps", type=int, default=20000, help="production sweeps (after tuning)")
    p.add_argument("--tune-sweeps", type=int, default=1000)
    p.add_argument("--p-swap", type=float, default=0.2)
    p.add_argument("--sizes", choices=("quantile", "random"), default="quantile")
    p.add_argument("--no-check", action="store_true", help="skip the equilibration check")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("-o", "--output", required=True, help="GLASS.parquet (inherent state)")
    p.add_argument("--liquid", help="also write the equilibrated liquid here")
    p.set_defaults(func=_prepare)


def _prepare(args):
    from glass2epm.core.runtime import set_threads, setup_logging
    from glass2epm.prepare.tasks import (equilibrate_liquid, equilibrate_liquids, minimise_liquid,
                                         progress_line)

    log = setup_logging(None)
    set_threads(args.threads)
    if args.N < 16:
        raise ValueError(f"--N must be at least 16, got {args.N}")
    if args.Tp <= 0:
        raise ValueError(f"--Tp must be positive, got {args.Tp}")
    prov = {"command": "prepare"}
    common = dict(preset=args.preset, dim=args.dim, N=args.N, Tp=args.Tp, sizes=args.sizes,
                  sweeps=args.sweeps, tune_sweeps=args.tune_sweeps, p_swap=args.p_swap,
                  check=not args.no_check, provenance=prov, checkpoint_seconds=args.checkpoint_seconds)
    if args.seeds:
        for name, val in (("-o", args.output), ("--liquid", args.liquid), ("--checkpoint", args.checkpoint)):
            if val is not None and "{seed}" not in val:
                raise ValueError(f"with --seeds, {name} must contain {{seed}} (one file per sample), got {val!r}")
        fill = (lambda pat: None if pat is None else [pat.format(seed=s) for s in args.seeds])
        runs = equilibrate_liquids(
            args.seeds, threads=args.threads, liquid_paths=fill(args.liquid), checkpoints=fill(args.checkpoint),
            progress=lambda seed, s, info: log.info("seed %d: %s", seed, progress_line(s, info)), **common)
        out = []
        for seed, (conf, res) in zip(args.seeds, runs):
            log.info("seed %d: %s", seed, res.message)
            glass, mres = minimise_liquid(conf, glass_path=args.output.format(seed=seed), threads=1,
                                          provenance=prov)
            out.append({"seed": seed, "swap_mc": res.summary(), "minimize": mres.__dict__})
        json.dump(with_units({"samples": out}), sys.stdout)
        sys.stdout.write("\n")
        return 0
    conf, res = equilibrate_liquid(
        seed=args.seed, liquid_path=args.liquid, checkpoint=args.checkpoint,
        progress=lambda s, info: log.info("%s", progress_line(s, info)), **common,
    )
    log.info("%s", res.message)
    glass, mres = minimise_liquid(conf, glass_path=args.output, threads=args.threads, provenance=prov)
    json.dump(with_units({"swap_mc": res.summary(), "minimize": mres.__dict__}), sys.stdout)
    sys.stdout.write("\n")
    return 0
