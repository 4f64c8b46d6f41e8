"""The sine field's modulus against the continuum, as a function of system size.

For the transverse field c_i = (A sin(k y_i), 0), k = 2πn/L_y, an isotropic elastic
continuum of shear modulus μ stores ½μ(∂_y u_x)² = ½μA²k²cos²(ky) per unit volume, so
the AQRD modulus (:func:`glass2epm.mechanics.linear_response.constrained_modulus`,
μ_c = |c|⁴/(V cᵀH⁺c)) is μ_c = μA²k²/2: the field is then a transverse plane wave, an
eigenvector of H with ω² = μk²/ρ. A glass reaches that limit only for wavelengths much
longer than its heterogeneities, kλ → 0 — at fixed n, as N grows (kL = 2πn stays fixed).
This module measures

    r = μ_c / (μ_AQS A²k²/2)

on instantaneous quenches (T_p = ∞: uniformly random positions, overlaps pushed off,
then the project's minimiser; :func:`quenched_glass`) of several N, for several n;
μ_AQS is the Eq. 19 shear modulus of the same glass
(:func:`glass2epm.mechanics.properties.compute_properties`). r → 1 and its sample
scatter shrinks as N grows. Units: k in 1/λ, moduli ε/λ^d, A in λ.
"""

from __future__ import annotations

import logging

import numpy as np

from glass2epm.aqrd.forcing import sine_field
from glass2epm.core import io, schemas
from glass2epm.core.model import Model
from glass2epm.mechanics.hessian import NotPositiveDefinite
from glass2epm.mechanics.linear_response import constrained_modulus
from glass2epm.mechanics.minimize import default_ftol, minimize
from glass2epm.mechanics.properties import compute_properties
from glass2epm.prepare.swapmc import random_liquid

_log = logging.getLogger("glass2epm")


def quenched_glass(model: Model, N: int, seed: int):
    """An instantaneous quench: :func:`~glass2epm.prepare.swapmc.random_liquid` (random
    positions, overlaps removed at T = 5) minimised to max|F| < ``default_ftol(N)``."""
    conf = random_liquid(model, int(N), int(seed))
    out, _ = minimize(conf, ftol=default_ftol(int(N)))
    return out


def sine_ratios(conf, modes, amplitude: float = 1.0) -> list[dict]:
    """For each n of ``modes``: k = 2πn/L_y (1/λ), μ_c, μ_AQS and r = μ_c/(μ_AQS A²k²/2).
    A state whose Hessian is not positive definite gives NaN moduli (counted by the caller)."""
    mu_aqs = float(compute_properties(conf)["shear_modulus"])
    Ly = float(conf.box.h[1, 1])
    rows = []
    solver = None  # one CHOLMOD factor of H serves every mode
    for n in modes:
        k = 2 * np.pi * int(n) / Ly
        try:
            mu_c, _, solver = constrained_modulus(conf, sine_field(conf, int(n), amplitude).c, solver=solver)
        except NotPositiveDefinite:
            mu_c = float("nan")
        rows.append({"mode": int(n), "k": k, "mu_c": mu_c, "mu_aqs": mu_aqs,
                     "ratio": mu_c / (mu_aqs * amplitude ** 2 * k * k / 2)})
    return rows


def sine_scan_task(out, *, preset: str, dim: int, sizes, seeds, modes, amplitude: float = 1.0,
                   log=_log) -> dict:
    """r for instantaneous quenches of every N of ``sizes`` (one per seed of ``seeds``),
    one row per (N, seed, mode) in an ``aqrd_sine`` table; returns :func:`summarize`."""
    model = Model.from_preset(preset, int(dim))
    cols = {c: [] for c in schemas.AQRD_SINE.columns}
    for N in sizes:
        for s in seeds:
            conf = quenched_glass(model, N, s)
            for r in sine_ratios(conf, modes, amplitude):
                cols["N"].append(int(N))
                cols["seed"].append(int(s))
                cols["L"].append(float(conf.box.h[1, 1]))
                for key in ("mode", "k", "mu_c", "mu_aqs", "ratio"):
                    cols[key].append(r[key])
            log.info("N = %d seed %d: r = %s", N, s, [f"{v:.4f}" for v in cols["ratio"][-len(modes):]])
    arr = {k: np.asarray(v) for k, v in cols.items()}
    io.write_table(out, schemas.AQRD_SINE, arr, model=model.to_dict(),
                   extra={"amplitude": float(amplitude), "preparation": "instantaneous quench (T_p = inf)"})
    return summarize(arr)


def summarize(cols) -> dict:
    """{(N, mode): {"k": k, "mean": ⟨r⟩, "sem": s.e. of ⟨r⟩, "n": samples, "failed": NaN count}}."""
    out = {}
    N, m, r, k = (np.asarray(cols[c]) for c in ("N", "mode", "ratio", "k"))
    for key in sorted(set(zip(N.tolist(), m.tolist()))):
        sel = (N == key[0]) & (m == key[1])
        v = r[sel][np.isfinite(r[sel])]
        out[key] = {"k": float(k[sel][0]), "mean": float(v.mean()) if v.size else float("nan"),
                    "sem": float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("nan"),
                    "n": int(v.size), "failed": int(sel.sum() - v.size)}
    return out
