"""``glass2epm prepare``: SWAP MC at T_p, then minimisation to the inherent state."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from glass2epm.core.model import PRESETS


def register(sub):
    p = sub.add_parser("prepare", help="SWAP MC liquid at T_p, minimised to an inherent state")
    p.add_argument("--preset", default="lerner-poly2d", choices=sorted(PRESETS))
    p.add_argument("--dim", type=int, default=2, choices=(2, 3))
    p.add_argument("--N", type=int, required=True, help="number of particles")
    p.add_argument("--Tp", type=float, required=True, help="parent temperature (ε/k_B)")
    p.add_argument("--seed", type=int, default=1)
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
    from glass2epm.core import io
    from glass2epm.prepare import swapmc
    from glass2epm.mechanics.minimize import minimize
    from glass2epm.core.model import Model
    from glass2epm.core.runtime import set_threads, setup_logging

    log = setup_logging(None)
    set_threads(args.threads)
    if args.N < 16:
        raise ValueError(f"--N must be at least 16, got {args.N}")
    if args.Tp <= 0:
        raise ValueError(f"--Tp must be positive, got {args.Tp}")
    model = Model.from_preset(args.preset, dim=args.dim)
    liquid = swapmc.random_liquid(model, args.N, seed=args.seed, sizes=args.sizes)
    conf, res = swapmc.run_swap_mc(
        liquid, T=args.Tp, sweeps=args.sweeps + args.tune_sweeps, tune_sweeps=args.tune_sweeps,
        seed=args.seed, p_swap=args.p_swap, check_equilibration=not args.no_check,
        progress=lambda s, info: log.info("sweep %d: e=%.6f msd=%.3g fs=%.3g", s,
                                          info["energy_per_particle"], info["msd"], info["fs"]),
    )
    log.info("%s", res.message)
    if args.liquid:
        io.write_configuration(args.liquid, conf, provenance={"command": "prepare"})
    glass, mres = minimize(conf, threads=args.threads)
    io.write_configuration(args.output, glass, provenance={"command": "prepare"})
    json.dump({"swap_mc": res.summary(), "minimize": mres.__dict__}, sys.stdout)
    sys.stdout.write("\n")
    return 0
