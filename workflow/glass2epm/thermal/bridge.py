"""The bridge Baron & Biroli do not make: a thermal EPM built from the particle glass, against the
relaxation of the particle liquid at the same temperature.

EPM side (:func:`epm_from_yield_blocks`, :func:`epm_relaxation`)
    Blocks of the yield maps (``yield_bond.blocks.parquet``: block mean σ_Y, |σ_Y^B| and residual
    σ_Y − σ₀) give, per block, a stress σ₀ = σ_Y − residual and a threshold
    σ_c = (σ_Y + |σ_Y^B|)/2 (the rate is taken symmetric in σ, as in Eq. 3). A block starts from a
    random row and a relaxation redraws a row (stress and threshold together): the particle-derived
    renewal. Stress in ε/λ², T in ε/k_B.
    Barrier: ΔE_i = K_i (σ_c,i − |σ|)^{3/2} with the fold estimate for a block of area V whose local
    stress–strain curve is a parabola of initial slope μ and maximum σ_c (curvature κ = μ²/(2σ_c)):
    ΔE = (4√2/3) V Δσ^{3/2}/√κ, i.e. K_i = (8/3) V √σ_c,i / μ. V = ``volume_fraction`` × the block
    area (the map's block, ξ = 5d, by default: an upper bound on the rearranging volume), μ the
    glasses' shear modulus. Kicks: randomly oriented Eshelby kernels (K'(0) = −1, Σ K' = 0).
    The EPM's time unit τ is the attempt time of a block; it is not set by the particles.
Particle side (:func:`liquid_relaxation`)
    The SWAP MC liquids at T_p = T (the same samples whose inherent states give the EPM's blocks),
    then displacement-only Monte Carlo (p_swap = 0) from them; τ_α = sweeps until F_s(k = 2π/⟨λ⟩, t)
    < 1/e (the series of :mod:`glass2epm.prepare.swapmc`). So the EPM at T is built from the
    inherent states of the very liquid it is compared with.
Comparison (:func:`compare`)
    One time scale is free: τ (EPM) in MC sweeps, fixed at the highest common T. What is compared is
    the temperature dependence: τ_α(T)/τ_α(T_max) on both sides and the apparent activation energies
    E_app = d ln τ_α / d(1/T) over the common range.
"""

from __future__ import annotations

import json
import math

import numpy as np

from glass2epm.core import io, schemas
from glass2epm.thermal.lattice import ThermalParams, run_thermal


def epm_from_yield_blocks(blocks_paths, properties_paths, volume_fraction: float = 1.0):
    """(stresses σ₀, thresholds σ_c, kscale, details) pooled over the samples' block maps."""
    s0, sc, areas = [], [], []
    for path in blocks_paths:
        t = io.read_table(path, schemas.YIELD_BLOCKS)
        if "residual" not in t.columns:
            raise ValueError(f"{path}: the bridge needs the 'residual' column (σ_Y − σ₀) of a yield_blocks table")
        sy, sb, res = (np.asarray(t[k], float) for k in ("sigma_y", "sigma_y_backward", "residual"))
        ok = np.isfinite(sy) & np.isfinite(sb) & np.isfinite(res)
        s0.append(sy[ok] - res[ok])
        sc.append(0.5 * (sy[ok] + sb[ok]))
        box = t.box
        areas.append(abs(np.linalg.det(box.h)) / len(sy))
    mus = []
    for p in properties_paths:
        with open(p) as fh:
            mus.append(float(json.load(fh)["shear_modulus"]))
    s0, sc = np.concatenate(s0), np.concatenate(sc)
    if s0.size < 10:
        raise ValueError(f"particle bridge: only {s0.size} blocks with σ_Y, |σ_Y^B| and residual in {list(blocks_paths)}")
    mu = float(np.mean(mus))
    V = volume_fraction * float(np.mean(areas))
    kscale = 8.0 / 3.0 * V / mu
    return s0, sc, kscale, {"blocks": int(s0.size), "mu": mu, "block_area": float(np.mean(areas)), "volume": V,
                            "kscale": kscale, "sigma_c_mean": float(sc.mean()), "sigma0_std": float(s0.std()),
                            "barrier_at_rest_mean": float(np.mean(kscale * np.sqrt(sc) * sc ** 1.5))}


def epm_relaxation(s0, sc, kscale, temperatures, *, L: int, seeds, log=None, **params) -> list[dict]:
    """Thermal-EPM runs with the particle blocks at each T: rows of τ_α, Γ, ξ, χ₄."""
    slope = 1.5 * kscale * float(np.sqrt(np.mean(sc))) * float(np.sqrt(np.mean(sc)))  # |dΔE/dσ| at σ ≈ 0
    rows = []
    for T in sorted(float(t) for t in temperatures):
        margin = float(np.clip(0.5 * T / slope, 1e-4, 0.1 * float(np.mean(sc))))
        for seed in seeds:
            p = ThermalParams(L=int(L), T=T, seed=int(seed), kicks="random", margin=margin, **params)
            r = run_thermal(p, table=s0, thr_table=sc, kscale=kscale, log=log)
            rows.append({"T": T, "seed": int(seed), "tau_alpha": r["tau_alpha"], "activity": r["activity"],
                         "xi": r["xi"], "chi4_max": r["chi4_max"], "mean_abs_sigma": r["mean_abs_sigma"],
                         "converged": r["converged"]})
    return rows


def liquid_relaxation(conf, *, T: float, seed: int, sweeps: int) -> dict:
    """τ_α of the particle liquid ``conf`` (equilibrated at T, e.g. the SWAP MC liquid of a glass
    quenched from T_p = T) under displacement-only Monte Carlo (p_swap = 0): sweeps until
    F_s(k = 2π/⟨λ⟩) < 1/e, from the start of the run (tau_alpha) and from its middle (tau_mid)."""
    from glass2epm.prepare import swapmc

    _, res = swapmc.run_swap_mc(conf, T=T, sweeps=sweeps, seed=seed, p_swap=0.0, check_equilibration=False)
    return {"T": T, "seed": seed, "N": conf.N,
            "tau_alpha": float(res.tau), "tau_mid": float(res.tau_mid), "tau_msd": float(res.tau_msd),
            "sweeps": sweeps}


def _e_app(T, tau):
    ok = np.isfinite(tau) & (tau > 0)
    if ok.sum() < 2:
        return math.nan
    slope, _ = np.polyfit(1.0 / T[ok], np.log(tau[ok]), 1)
    return float(slope)


def compare(liquid: dict, epm: dict) -> dict:
    """Shapes of τ_α(T): both normalised at the highest common T, and apparent activation energies
    E_app = d ln τ_α/d(1/T) (ε) over the common range. ``liquid``/``epm``: {T: mean τ_α}."""
    common = sorted(set(liquid) & set(epm))
    if len(common) < 2:
        return {"common_T": common}
    T = np.array(common)
    tl = np.array([liquid[t] for t in common])
    te = np.array([epm[t] for t in common])
    ref = -1
    return {"common_T": common, "tau_unit_sweeps": float(tl[ref] / te[ref]),
            "liquid_ratio": (tl / tl[ref]).tolist(), "epm_ratio": (te / te[ref]).tolist(),
            "E_app_liquid": _e_app(T, tl), "E_app_epm": _e_app(T, te)}
