"""``glass2epm epm``: run the scalar FFT elasto-plastic model (paper Sec. V A, Eq. 24).

Reads thresholds (any table with a ``sigma_y`` column in ε/λ^d: a glass2epm
'thresholds' table or yield map, or a plain Parquet, CSV or TSV file; optional ``sigma_y_renewal`` for P_renewal),
loads an L×L lattice quasistatically (:func:`glass2epm.epm.task.run_epm`) up to the requested strain and writes

* ``SERIES`` ('epm_series'): one row per loading step (strain, stress after the
  avalanche, stress_before, avalanche_size, rounds);
* ``SERIES.activity.parquet`` ('epm_activity'): per-block activity, plastic
  strain, final stress and threshold;
* ``SERIES.snapshots.parquet`` ('epm_snapshots', with ``--snapshots``):
  per-block activity at the requested strains.

Prints a one-line JSON summary (failures, failures_per_second,
steady_state_stress, steady_state_std, ...). Stresses in ε/λ².
"""

from __future__ import annotations

import json
from pathlib import Path

from glass2epm.core.io import with_units


def register(subparsers):
    p = subparsers.add_parser(
        "epm",
        help="run the scalar FFT elasto-plastic model (Sec. V A, Eq. 24)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--thresholds", required=True, type=Path,
                   help="table with column sigma_y (ε/λ^d; P_init) and optional sigma_y_renewal: glass2epm "
                        "Parquet, or plain Parquet/CSV/TSV with a header row")
    p.add_argument("--renewal-table", type=Path, default=None,
                   help="separate file whose sigma_y column is P_renewal (e.g. the T_p = 0.7 yield map); "
                        "default: column sigma_y_renewal of --thresholds, else its sigma_y")
    p.add_argument("--size", "-L", required=True, type=int, help="lattice side L (blocks)")
    p.add_argument("--eps-pl", required=True, type=float, help="plastic eigenstrain ε_pl of a failure")
    p.add_argument("--modulus", required=True, type=float, help="initial block modulus μ(T_p), ε/λ²")
    p.add_argument("--renewal-modulus", type=float, default=None,
                   help="modulus after a failure, μ(T_p = 0.7) (default: --modulus)")
    p.add_argument("--strain", required=True, type=float, help="final strain γ_max")
    p.add_argument("--seed", required=True, type=int, help="seed of the initial thresholds and renewal stream")
    p.add_argument("-o", "--output", required=True, type=Path, help="series Parquet file to write")
    p.add_argument("--onsite", choices=("paper", "normalised"), default="paper",
                   help="propagator convention: the paper's kernel (on-site ≈ 1 − π/2) or on-site −1")
    p.add_argument("--renewal-mode", choices=("absolute", "relative"), default="absolute",
                   help="renewal draws are absolute thresholds (paper) or residual strengths")
    p.add_argument("--one-to-one", action="store_true",
                   help="use the L² sigma_y values as the initial map (by x, y columns if present) "
                        "instead of sampling with replacement")
    p.add_argument("--steady-from", type=float, default=None,
                   help="start of the steady-state window in γ (default: γ_max / 2)")
    p.add_argument("--snapshots", type=str, default="",
                   help="comma-separated strains at which to save per-block activity, e.g. 0.2,0.6,1,2,6")
    p.add_argument("--nswitch", type=int, default=None,
                   help="rounds with more failures use the FFT (default: built-in measured value)")
    p.add_argument("--fft-workers", type=int, default=1, help="threads for scipy.fft")
    p.set_defaults(func=handler)
    return p


def handler(args) -> int:
    from glass2epm.epm.task import run_epm

    snaps = [float(s) for s in args.snapshots.split(",") if s.strip()] if args.snapshots else []
    summary = run_epm(args.thresholds, args.output, L=args.size, eps_pl=args.eps_pl, modulus=args.modulus,
                      strain=args.strain, seed=args.seed, renewal_table=args.renewal_table,
                      renewal_modulus=args.renewal_modulus, onsite=args.onsite, renewal_mode=args.renewal_mode,
                      one_to_one=args.one_to_one, steady_from=args.steady_from, snapshots=snaps,
                      nswitch=args.nswitch, fft_workers=args.fft_workers)
    print(json.dumps(with_units(summary), sort_keys=True))
    return 0
