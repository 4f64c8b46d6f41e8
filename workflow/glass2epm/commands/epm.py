"""``glass2epm epm``: run the scalar FFT elasto-plastic model (paper Sec. V A, Eq. 24).

Reads thresholds (any glass2epm Parquet file with a ``sigma_y`` column, e.g. a
'thresholds' table or a yield map; optional ``sigma_y_renewal`` for P_renewal),
loads an L×L lattice quasistatically up to the requested strain and writes

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
import math
from pathlib import Path


def register(subparsers):
    p = subparsers.add_parser(
        "epm",
        help="run the scalar FFT elasto-plastic model (Sec. V A, Eq. 24)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--thresholds", required=True, type=Path,
                   help="Parquet file with column sigma_y (P_init) and optional sigma_y_renewal")
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


def _sibling(path: Path, tag: str) -> Path:
    if path.suffix == ".parquet":
        return path.with_suffix(f".{tag}.parquet")
    return path.with_name(path.name + f".{tag}.parquet")


def handler(args) -> int:
    import numpy as np

    from glass2epm.core import schemas
    from glass2epm.epm import lattice
    from glass2epm.core.io import write_table

    L = int(args.size)
    if L < 2:
        raise ValueError(f"--size must be >= 2, got {L}")
    if not (args.strain > 0 and math.isfinite(args.strain)):
        raise ValueError(f"--strain must be a positive number, got {args.strain}")
    sigma_y, sigma_y_ren, cols = lattice.read_thresholds(args.thresholds)
    renewal_source = "sigma_y_renewal" if sigma_y_ren is not None else "sigma_y"
    if args.renewal_table is not None:
        sigma_y_ren, _, _ = lattice.read_thresholds(args.renewal_table)
        renewal_source = f"{args.renewal_table}:sigma_y"
    renewal = sigma_y if sigma_y_ren is None else sigma_y_ren
    if args.one_to_one:
        thr = lattice.threshold_map(sigma_y, L, cols.get("x"), cols.get("y"))
    else:
        thr = lattice.sample_thresholds(sigma_y, L, args.seed)
    snaps = [float(s) for s in args.snapshots.split(",") if s.strip()] if args.snapshots else []
    kw = {}
    if args.nswitch is not None:
        kw["nswitch"] = args.nswitch
    model = lattice.EPM(thr, renewal, eps_pl=args.eps_pl, modulus=args.modulus,
                    renewal_modulus=args.renewal_modulus, seed=args.seed, onsite=args.onsite,
                    renewal_mode=args.renewal_mode, fft_workers=args.fft_workers, **kw)
    res = model.run(args.strain, snapshots=snaps)
    series = res.series

    g_from = args.steady_from if args.steady_from is not None else 0.5 * args.strain
    try:
        ss = lattice.steady_state(series, g_from, args.strain)
        ss_mean, ss_std = ss.mean, ss.std
    except ValueError:
        ss_mean = ss_std = None

    extra = {
        "L": L, "eps_pl": args.eps_pl, "modulus": args.modulus,
        "renewal_modulus": model.renewal_modulus, "onsite": args.onsite,
        "onsite_value": float(model.kernel[0, 0]), "renewal_mode": args.renewal_mode,
        "control": "strain", "thresholds": str(args.thresholds), "renewal_source": renewal_source,
        "one_to_one": bool(args.one_to_one), "nswitch": model.nswitch, "strain_max": args.strain,
        "failures": res.failures, "steady_from": g_from, "steady_state_stress": ss_mean,
        "steady_state_std": ss_std, "equation": "Sec. V A, Eq. (24)",
    }
    meta = dict(seed=args.seed, strain={"gamma": args.strain, "geometry": "simple_shear"},
                provenance={"command": "epm"}, extra=extra)
    out = Path(args.output)
    write_table(out, schemas.EPM_SERIES, series, **meta)
    act_path = _sibling(out, "activity")
    acols = lattice.activity_columns(model.act, model.epsp)
    acols["sigma"] = model.sigma.ravel()
    acols["threshold"] = model.thr.ravel()
    write_table(act_path, schemas.EPM_ACTIVITY, acols, **meta)
    snap_path = None
    if res.snapshots:
        parts = []
        for g, snap in sorted(res.snapshots.items()):
            c = lattice.activity_columns(snap["activity"], snap["plastic_strain"])
            c["strain"] = np.full(c["x"].size, g)
            parts.append(c)
        scols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        snap_path = _sibling(out, "snapshots")
        write_table(snap_path, schemas.EPM_SNAPSHOTS, scols, **meta)

    summary = {
        "failures": res.failures,
        "failures_per_second": res.failures_per_second,
        "steady_state_stress": ss_mean,
        "steady_state_std": ss_std,
        "steps": int(series["strain"].size),
        "L": L,
        "strain": args.strain,
        "wall_s": res.wall_s,
        "series": str(out),
        "activity": str(act_path),
        "snapshots": str(snap_path) if snap_path else None,
    }
    print(json.dumps(summary, sort_keys=True))
    return 0
