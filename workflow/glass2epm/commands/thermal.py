"""``glass2epm mean-field`` and ``glass2epm thermal-epm``: the thermal elasto-plastic model of
Baron & Biroli (seed paper ``baron-biroli-mean-field-epm``).

Units are the model's own: stress in units of σ_c, time in units of τ, temperature in units
of K σ_c^a (k_B = 1). Defaults: σ_c = σ₀ = K = τ = 1, α = 0.11, a = 1.5.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from glass2epm.thermal.meanfield import DEFAULTS, RATES

_UNITS = {"stress": "sigma_c", "time": "tau", "temperature": "K sigma_c^a"}


def register(subparsers):
    p = subparsers.add_parser(
        "mean-field",
        help="stationary mean-field solution of the thermal EPM (Baron & Biroli Eqs. 5-8), to high accuracy",
        description="Solve D P'' − ν(σ)P/τ + Γ y(σ) = 0 with D = αΓ and ∫P = 1 for the activity Γ "
                    "(finite volumes on an adapted grid, Richardson-extrapolated; not a simulation). Prints "
                    "JSON: activity, mean_abs_sigma, error_estimate, and with --regimes σ̄, Ē, T_c, T_onset "
                    "and the low-T law. Stress in σ_c, time in τ, T in K σ_c^a.",
    )
    p.add_argument("--T", dest="T", required=True, type=float, help="temperature (K σ_c^a)")
    p.add_argument("--alpha", type=float, default=DEFAULTS["alpha"], help="mean-field coupling α (D = αΓ)")
    p.add_argument("--a", dest="a_exp", type=float, default=DEFAULTS["a"], help="barrier exponent a, ΔE = K(σ_c − |σ|)^a")
    p.add_argument("--sigma-c", type=float, default=DEFAULTS["sigma_c"], help="threshold σ_c")
    p.add_argument("--sigma0", type=float, default=DEFAULTS["sigma0"], help="scale σ₀ of the renewal density y")
    p.add_argument("--K", dest="K", type=float, default=DEFAULTS["K"], help="barrier prefactor K")
    p.add_argument("--tau", type=float, default=DEFAULTS["tau"], help="microscopic time τ")
    p.add_argument("--rate", choices=RATES, default="full",
                   help="ν(σ): Eq. (3) (full), Eq. (10) (activation switched off), Eq. (7) (linearised, high T)")
    p.add_argument("--pdf", type=Path, default=None,
                   help="also write the stationary P(σ) (columns sigma, P) to this CSV file")
    p.add_argument("--pdf-points", type=int, default=801, help="points of --pdf on [−σ_max, σ_max]")
    p.add_argument("--regimes", action="store_true",
                   help="add σ̄, Ē, T_c, T_onset (exact and Eq. B6) and the activated law to the JSON")
    p.add_argument("--cells", type=int, default=4000, help="cells of the coarsest of three grids")
    p.set_defaults(func=mean_field)

    q = subparsers.add_parser(
        "thermal-epm",
        help="thermal EPM on the L×L lattice by continuous-time kinetic Monte Carlo (no applied strain)",
        description="Relaxations at rate ν(σ)/τ, stresses redrawn from y(σ) (or --renewal-table), kicks through "
                    "the Eshelby propagator (random or fixed orientation) or fully connected. Writes the run "
                    "summary (thermal_runs), the persistence curve and the block maps; prints JSON "
                    "(activity, tau_alpha, xi, chi4_max, relaxations_per_s, ...).",
    )
    q.add_argument("--size", "-L", required=True, type=int, help="lattice side L (blocks)")
    q.add_argument("--T", dest="T", required=True, type=float, help="temperature (K σ_c^a)")
    q.add_argument("--seed", type=int, default=0, help="random seed")
    q.add_argument("--kicks", choices=("random", "fixed", "mean-field"), default="random",
                   help="randomly oriented Eshelby kernels (App. A), the fixed Eq. 24 kernel, or fully connected "
                        "Gaussian kicks of variance 2α/N (the mean-field process of App. E)")
    q.add_argument("--alpha", type=float, default=DEFAULTS["alpha"], help="α of the fully connected kicks")
    q.add_argument("--a", dest="a_exp", type=float, default=DEFAULTS["a"], help="barrier exponent a")
    q.add_argument("--equil-events", type=float, default=20.0, help="equilibration relaxations per site")
    q.add_argument("--origins", type=int, default=16, help="time origins of the persistence measurement")
    q.add_argument("--max-events", type=float, default=2000.0, help="cap on relaxations per site")
    q.add_argument("--renewal-table", type=Path, default=None,
                   help="table (glass2epm or plain Parquet/CSV/TSV) whose column 'sigma' holds the renewal "
                        "stresses (σ_c units, signed); default: draws from y(σ) of Eq. (1)")
    q.add_argument("-o", "--output", required=True, type=Path,
                   help="runs table (Parquet); beside it OUTPUT.persistence.parquet, OUTPUT.blocks.parquet and "
                        "OUTPUT.series.parquet (Γ(t))")
    q.set_defaults(func=thermal_epm)
    return p


def mean_field(args) -> int:
    from glass2epm.core.validate import check_range
    from glass2epm.thermal import meanfield as mf

    check_range("--cells", args.cells, 100, None)
    check_range("--pdf-points", args.pdf_points, 3, None)
    m = mf.Model(T=args.T, alpha=args.alpha, a=args.a_exp, sigma_c=args.sigma_c, sigma0=args.sigma0, K=args.K,
                 tau=args.tau, rate=args.rate)
    sol = mf.solve(m, cells=args.cells)
    out = sol.to_dict()
    if args.regimes:
        sb, E = mf.frozen_barrier(m)
        out.update({"sigma_bar": sb, "E_bar": E,
                    "T_c": mf.critical_temperature(m.alpha, m.a, m.sigma_c, m.sigma0, m.K),
                    "T_onset": mf.onset_temperature(m),
                    "activity_activated_law": mf.activated_activity(m)})
        if (m.sigma_c, m.sigma0, m.K, m.tau) == (1.0, 1.0, 1.0, 1.0):
            out["T_onset_linearised"] = mf.onset_temperature_linearised(m.alpha, m.a)
    if args.pdf is not None:
        smax = m.sigma_c + 12.0 * (1.0 / sol.kappa if np.isfinite(sol.kappa) and sol.kappa > 0 else 0.1)
        s = np.linspace(-smax, smax, args.pdf_points)
        from glass2epm.core.io import atomic_path

        tmp = atomic_path(Path(args.pdf))  # written whole or not at all
        try:
            np.savetxt(tmp, np.column_stack([s, sol.pdf(s)]), delimiter=",", header="sigma,P", comments="")
            tmp.replace(args.pdf)
        finally:
            if tmp.exists():
                tmp.unlink()
        out["pdf"] = str(args.pdf)
    out["units"] = _UNITS
    print(json.dumps(out, sort_keys=True))
    return 0


def thermal_epm(args) -> int:
    from glass2epm.core import io
    from glass2epm.thermal.task import lattice_stage

    table = None
    if args.renewal_table is not None:
        table = np.asarray(io.read_user_table(args.renewal_table, ["sigma"], "renewal table")["sigma"], float)
        if table.size == 0 or not np.all(np.isfinite(table)):
            raise ValueError(f"{args.renewal_table}: column 'sigma' must hold finite stresses (got {table.size} rows)")
    out = Path(args.output)
    stem = str(out)[:-8] if str(out).endswith(".parquet") else str(out)
    params = {"kicks": args.kicks, "alpha": args.alpha, "a": args.a_exp, "equil_events_per_site": args.equil_events,
              "n_origins": args.origins, "max_events_per_site": args.max_events}
    res = lattice_stage(out, stem + ".persistence.parquet", stem + ".blocks.parquet", L=args.size, T=args.T,
                        seeds=[args.seed], params=params, table=table, series_out=stem + ".series.parquet")[0]
    keys = ("L", "T", "seed", "kicks", "activity", "mean_abs_sigma", "tau_alpha", "xi", "chi4_max",
            "alpha_lattice", "m_lattice", "events", "relaxations_per_s", "acceptance", "converged")
    print(json.dumps({**{k: res[k] for k in keys}, "units": _UNITS}, sort_keys=True, default=float))
    return 0
