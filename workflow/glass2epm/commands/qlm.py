"""``glass2epm modes``, ``glass2epm gamma-min`` and ``glass2epm pseudogap``: quasi-localised
modes and the pseudogap (Ji et al., seed paper ``ji-popovic-degeus-lerner-wyart-qlm-density``).

Units: ω² in ε/(m λ²) (unit masses), strains dimensionless.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from glass2epm.qlm.gammamin import GammaMinParams


def register(subparsers):
    p = subparsers.add_parser(
        "modes",
        help="the K lowest non-zero vibrational modes (shift-invert Lanczos on the CHOLMOD factor of the Hessian)",
        description="Writes a 'modes' table: mode, omega2 (ε/(m λ²), unit masses) and participation "
                    "e = 1/(N Σ_j |Ψ_j|⁴) (N all particles). Translations are excluded; rattlers (particles "
                    "without interactions) are left out as in 'properties'. Prints a JSON summary.",
    )
    p.add_argument("config", help="configuration Parquet (or a Lerner-group .dat text file)")
    p.add_argument("--count", "-k", type=int, required=True, help="number of modes K")
    p.add_argument("-o", "--output", type=Path, required=True, help="MODES.parquet to write")
    p.add_argument("--vectors", type=Path, default=None,
                   help="also write the eigenvectors here (one row per particle, columns m<k>_x, m<k>_y[, m<k>_z])")
    p.add_argument("--shift", type=float, default=None,
                   help="shift s > 0 of the factorised H + sI, ε/(m λ²) (default: 1e-6 × mean diagonal)")
    p.add_argument("--threads", type=int, default=1, help="threads (numba kernels and BLAS)")
    p.set_defaults(func=_modes)

    g = subparsers.add_parser(
        "gamma-min",
        help="strain to the next plastic instability, refined by rewinding (Ji et al. App. F)",
        description="Forward simple shear from the inherent state in trial steps; at an instability "
                    "(Q = max|δr'|/(L δγ) > Q_c or a falling σ_xy, confirmed by reversal) rewind and divide "
                    "the step by 10, until the bracket is below --precision × γ_min. Prints JSON.",
    )
    d = GammaMinParams()
    g.add_argument("config", help="configuration Parquet (or a Lerner-group .dat text file)")
    g.add_argument("--step", type=float, default=d.step, help="initial trial step δγ")
    g.add_argument("--q-c", type=float, default=d.q_c, help="threshold Q_c")
    g.add_argument("--precision", type=float, default=d.precision, help="relative precision of γ_min")
    g.add_argument("--max-strain", type=float, default=d.max_strain, help="give up beyond this strain")
    g.add_argument("--ftol", type=float, default=None, help="force tolerance ε/λ (default: the package's for N)")
    g.add_argument("--threads", type=int, default=1)
    g.set_defaults(func=_gamma_min)

    q = subparsers.add_parser(
        "pseudogap",
        help="θ of P(x) ~ x^θ from extreme values: ⟨x_min⟩ ∝ N^(−1/(1+θ)), with a bootstrap CI",
        description="TABLE: one row per sample, columns N and x_min (glass2epm or plain Parquet, CSV or TSV); at "
                    "least two distinct N with two samples each. Prints JSON with theta, theta_ci (95 %% "
                    "percentile bootstrap, samples resampled within each N) and the fit.",
    )
    q.add_argument("table", type=Path, help="table with columns N and x_min")
    q.add_argument("--column", default="x_min", help="the extreme-value column")
    q.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples")
    q.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    q.set_defaults(func=_pseudogap)
    return p


def _print(obj):
    from glass2epm.core.io import with_units

    json.dump(with_units(obj), sys.stdout)
    sys.stdout.write("\n")


def _modes(args) -> int:
    from glass2epm.core.runtime import numba_threads
    from glass2epm.qlm.task import modes_task

    with numba_threads(args.threads):
        summary = modes_task(args.config, args.output, count=args.count, vectors=args.vectors, shift=args.shift)
    _print(summary)
    return 0


def _gamma_min(args) -> int:
    from glass2epm.qlm.gammamin import gamma_min
    from glass2epm.qlm.task import read_any_configuration

    params = GammaMinParams(step=args.step, q_c=args.q_c, precision=args.precision,
                            max_strain=args.max_strain, ftol=args.ftol)
    params.validate()
    conf = read_any_configuration(args.config)
    _print({**asdict(gamma_min(conf, params, threads=args.threads)), "params": asdict(params)})
    return 0


def _pseudogap(args) -> int:
    from glass2epm.core.validate import check_range
    from glass2epm.qlm.task import pseudogap_task

    check_range("--n-boot", args.n_boot, 1, None)
    _print(pseudogap_task(args.table, column=args.column, n_boot=args.n_boot, seed=args.seed))
    return 0
