"""``glass2epm paper-scale``: issue 17's comparisons in a results tree of the workflow's layout.

(a) σ_s, the width of P(σ_s) and the peak stress of the N-particle glasses against the calibrated
EPM on the matched lattice L = N^(1/d)/ξ; (b) the band growth w ~ γ^b of particles and EPM
(:mod:`glass2epm.analysis.paper_scale`). The same numbers as the workflow's ``paper_scale`` rule.
"""

from __future__ import annotations

import json
from pathlib import Path


def register(subparsers):
    p = subparsers.add_parser(
        "paper-scale",
        help="(a) P(σ_s) and peak stress, (b) band growth: particles of each N against the calibrated EPM",
        description=__doc__,
    )
    p.add_argument("root", type=Path, help="results tree <results>/<preset>/d<dim> (e.g. results-paper-a/"
                                           "lerner-poly2d/d2)")
    p.add_argument("--sizes", type=int, nargs="+", required=True, help="particle numbers N compared")
    p.add_argument("--calibration-N", type=int, required=True,
                   help="N of the glasses whose thresholds and ε_pl the EPM runs used (config figures.N)")
    p.add_argument("--renewal-Tp", required=True,
                   help="the renewal T_p as in the paths (ε/k_B, two decimals, e.g. 1.95)")
    p.add_argument("--block", type=float, default=5.0,
                   help="EPM block side ξ in d = (N/V)^(-1/dim) (config yield.block): L = N^(1/dim)/ξ")
    p.add_argument("--steady-from", type=float, default=0.2,
                   help="start of the particles' steady window (loading strain; config aqs.steady_from)")
    p.add_argument("--methods", nargs="+", default=["bond", "frozen"], choices=("bond", "frozen"),
                   help="EPM threshold methods compared")
    p.add_argument("-o", "--output", type=Path, required=True, help="TSV table to write")
    p.add_argument("--numbers", type=Path, default=None, help="JSON of all numbers (default: OUTPUT.json)")
    p.set_defaults(func=handler)
    return p


def handler(args) -> int:
    from glass2epm.analysis.paper_scale import layout_inputs, paper_scale
    from glass2epm.epm import matched_lattice

    name = Path(args.root).name
    if not (name.startswith("d") and name[1:] in ("2", "3")):
        raise ValueError(f"{args.root}: expected a directory <results>/<preset>/d2 or d3")
    dim = int(name[1:])
    tp = f"{float(args.renewal_Tp):.2f}"
    sizes = [layout_inputs(args.root, N, calibration_N=args.calibration_N, L=matched_lattice(N, dim, args.block),
                           renewal_Tp=tp, methods=args.methods) for N in sorted(set(args.sizes))]
    numbers = args.numbers or args.output.with_suffix(".json")
    res = paper_scale(sizes, args.output, numbers, renewal_Tp=float(tp), steady_from=args.steady_from)
    print(json.dumps({"table": str(args.output), "numbers": str(numbers), "sizes": [r["N"] for r in res]}))
    return 0
