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
    from glass2epm.prepare.tasks import equilibrate_liquid, minimise_liquid, progress_line

    log = setup_logging(None)
    set_threads(args.threads)
    if args.N < 16:
        raise ValueError(f"--N must be at least 16, got {args.N}")
    if args.Tp <= 0:
        raise ValueError(f"--Tp must be positive, got {args.Tp}")
    prov = {"command": "prepare"}
    conf, res = equilibrate_liquid(
        preset=args.preset, dim=args.dim, N=args.N, Tp=args.Tp, seed=args.seed, sizes=args.sizes,
        sweeps=args.sweeps, tune_sweeps=args.tune_sweeps, p_swap=args.p_swap, check=not args.no_check,
        liquid_path=args.liquid, provenance=prov,
        progress=lambda s, info: log.info("%s", progress_line(s, info)),
    )
    log.info("%s", res.message)
    glass, mres = minimise_liquid(conf, glass_path=args.output, threads=args.threads, provenance=prov)
    json.dump(with_units({"swap_mc": res.summary(), "minimize": mres.__dict__}), sys.stdout)
    sys.stdout.write("\n")
    return 0
