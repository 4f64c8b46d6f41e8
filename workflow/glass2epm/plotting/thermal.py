"""The thermal-EPM figure: lattice against mean field (Baron & Biroli), with the scaling forms fitted.

(a) activity Γ(T): the mean-field solver (α of the config), the same solver with activation
switched off (Eq. 10), the low-T law of ERRATA, 1 − T_onset/T, the App. E simulation, and the
lattice runs per L (and the solver at the lattice's own α_lat); (b) τ_α(T) of the lattice and
1/Γ of mean field; (c) ξ(T): lattice (Ornstein–Zernike fit of S₄ at τ_α) and mean field
(√m_lat · ξ/√m of the solver, at α_lat); (d) ξ against τ_α with the two fitted forms: a power law
ξ ∝ τ_α^z in the MCT-like regime (T above 1.2 T_c(α_lat)) and ξ² = c₀ + c₁ ln τ_α in the
activated regime (below).
"""

from __future__ import annotations

import math

import numpy as np

from glass2epm.core import io, schemas
from glass2epm.plotting.style import figure, save
from glass2epm.thermal import meanfield as mf


def _fit_regimes(tau, xi, T, Tc):
    ok = np.isfinite(tau) & np.isfinite(xi) & (xi > 0) & (tau > 0)
    hi = ok & (T > 1.2 * Tc)
    lo = ok & (T <= 1.2 * Tc)
    out = {}
    if hi.sum() >= 2:
        z, c = np.polyfit(np.log(tau[hi]), np.log(xi[hi]), 1)
        out["mct_power_z"] = float(z)
        out["mct_points"] = int(hi.sum())
    if lo.sum() >= 2:
        c1, c0 = np.polyfit(np.log(tau[lo]), xi[lo] ** 2, 1)
        out["activated_xi2_vs_log_tau_slope"] = float(c1)
        out["activated_points"] = int(lo.sum())
    return out


def plot_thermal(meanfield_path, gillespie_path, runs_path, persistence_paths, png, pdf=None) -> dict:
    mft = io.read_table(meanfield_path, schemas.THERMAL_MEANFIELD)
    gil = io.read_table(gillespie_path, schemas.THERMAL_GILLESPIE)
    runs = io.read_table(runs_path, schemas.THERMAL_RUNS).to_pandas()
    extra = mft.meta["extra"]
    alpha, a = float(mft["alpha"][0]), float(mft["a"][0])
    T = mft["T"]
    fig, axes = figure(width=7.0, aspect=0.75, nrows=2, ncols=2)
    ax = axes[0, 0]
    ax.plot(T, mft["activity"], "k-", label=f"mean field, α = {alpha:g}")
    noact = np.where(mft["activity_no_activation"] > 0, mft["activity_no_activation"], np.nan)
    ax.plot(T, noact, "k--", lw=0.8, label="activation off (Eq. 10)")
    low = T <= 2 * extra["T_c"]  # the low-T law is an asymptote: drawn where it applies
    ax.plot(T[low], mft["activity_activated_law"][low], "k:", lw=0.8, label="low-T law (ERRATA)")
    hiT = np.where(mft["activity_high_T"] > 0, mft["activity_high_T"], np.nan)
    ax.plot(T, hiT, "k-.", lw=0.8, label="1 − T_onset/T")
    ax.errorbar(gil["T"], gil["activity"], yerr=gil["activity_err"], fmt="s", mfc="none", color="C3",
                label="App. E simulation")
    agg = runs.groupby(["L", "T"]).agg(activity=("activity", "mean"), tau_alpha=("tau_alpha", "mean"),
                                      xi=("xi", "mean"), alpha_lattice=("alpha_lattice", "mean"),
                                      m_lattice=("m_lattice", "mean")).reset_index()
    Ls = sorted(agg["L"].unique())
    for k, L in enumerate(Ls):
        g = agg[agg["L"] == L].sort_values("T")
        ax.plot(g["T"], g["activity"], "o", color=f"C{k}", ms=3, label=f"lattice L = {int(L)}")
    a_lat = float(agg["alpha_lattice"].median())
    m_lat = float(agg["m_lattice"].median())
    Tl = np.array(sorted(runs["T"].unique()))
    Tfine = np.geomspace(Tl.min(), Tl.max(), 24)
    lat_mf = [mf.solve(mf.Model(T=t, alpha=a_lat, a=a)) for t in Tfine]
    ax.plot(Tfine, [s.activity for s in lat_mf], "-", color="0.6", label=f"mean field at α_lat = {a_lat:.3f}")
    ax.set(xscale="log", yscale="log", xlabel="T", ylabel="activity Γ (1/τ)")
    ax.legend(fontsize=5, frameon=False)
    def per_L(ax, x, y, fmt, what):
        for k, L in enumerate(Ls):
            g = agg[agg["L"] == L].sort_values("T")
            ax.plot(g[x], g[y], fmt, color=f"C{k}", ms=3, label=f"lattice{what}, L = {int(L)}")

    ax = axes[0, 1]
    per_L(ax, "T", "tau_alpha", "o-", " τ_α")
    ax.plot(T, 1.0 / mft["activity"], "k-", label="mean field 1/Γ")
    ax.plot(Tfine, [1.0 / s.activity for s in lat_mf], "-", color="0.6", label="mean field 1/Γ at α_lat")
    ax.set(xscale="log", yscale="log", xlabel="T", ylabel="τ_α (τ)")
    ax.legend(fontsize=5, frameon=False)
    ax = axes[1, 0]
    per_L(ax, "T", "xi", "o-", "")
    xi_mf_lat = np.array([mf.correlation_length(mf.Model(T=t, alpha=a_lat, a=a), m_lat) for t in Tfine])
    ax.plot(Tfine, xi_mf_lat, "-", color="0.6", label="mean field at α_lat, m_lat (Eqs. 15–16, 23)")
    ax.set(xscale="log", yscale="log", xlabel="T", ylabel="ξ (blocks)")
    ax.legend(fontsize=5, frameon=False)
    ax = axes[1, 1]
    Tc_lat = mf.critical_temperature(a_lat, a)
    fits = {"alpha": alpha, "a": a, **extra, "alpha_lattice": a_lat, "m_lattice": m_lat, "T_c_lattice_alpha": Tc_lat}
    per_L(ax, "tau_alpha", "xi", "o", "")
    for L in Ls:
        g = agg[agg["L"] == L].sort_values("T")
        fits[f"lattice_L{int(L)}"] = _fit_regimes(g["tau_alpha"].to_numpy(), g["xi"].to_numpy(), g["T"].to_numpy(),
                                                  Tc_lat)
    tau_mf = np.array([1.0 / s.activity for s in lat_mf])
    ax.plot(tau_mf, xi_mf_lat, "-", color="0.6", label="mean field at α_lat")
    fits["meanfield_alpha_lattice"] = _fit_regimes(tau_mf, xi_mf_lat, Tfine, Tc_lat)
    ax.set(xscale="log", yscale="log", xlabel="τ_α (τ)", ylabel="ξ (blocks)")
    ax.legend(fontsize=5, frameon=False, title=f"T_c(α_lat) = {Tc_lat:.3f}", title_fontsize=5)
    for ax, lab in zip(axes.flat, "abcd"):
        ax.set_title(f"({lab})", loc="left", fontsize=7)
    save(fig, png, pdf)
    fits["gillespie_max_deviation_sigmas"] = float(np.max(np.abs(gil["activity"] - gil["activity_solver"])
                                                          / gil["activity_err"]))
    fits["units"] = {"stress": "sigma_c", "time": "tau", "temperature": "K sigma_c^a", "length": "block"}
    fits["lattice_converged_fraction"] = float(np.mean(runs["converged"])) if "converged" in runs else math.nan
    return fits


def plot_bridge(liquid_paths, epm_paths, png, pdf=None) -> dict:
    """τ_α(T): the particle liquid (p_swap = 0 MC from the SWAP MC liquids at T) against the thermal EPM
    at T built from the yield maps of the glasses quenched from T (EPM time converted to sweeps at the
    highest T, the one free scale). Returns the comparison (:func:`glass2epm.thermal.bridge.compare`)."""
    import json

    from glass2epm.thermal.bridge import compare

    liquid = {}
    for p in liquid_paths:
        with open(p) as fh:
            d = json.load(fh)
        taus = [r["tau_alpha"] for r in d["runs"] if r["tau_alpha"] is not None and np.isfinite(r["tau_alpha"])]
        if taus:
            liquid[float(d["T"])] = float(np.mean(taus))
    epm, per_T = {}, {}
    for p in epm_paths:
        t = io.read_table(p, schemas.THERMAL_BRIDGE)
        extra = t.meta["extra"]
        tau = np.asarray(t["tau_alpha"], float)
        T = float(t["T"][0])
        if np.isfinite(tau).any():
            epm[T] = float(np.nanmean(tau))
        per_T[str(T)] = {k: extra.get(k) for k in ("mu", "sigma_c_mean", "sigma0_std", "barrier_at_rest_mean",
                                                   "kscale", "blocks", "volume_fraction")}
    cmp = compare(liquid, epm)
    vf = float(next(iter(per_T.values()))["volume_fraction"] or 1.0) if per_T else 1.0
    if np.isfinite(cmp.get("E_app_liquid", np.nan)) and np.isfinite(cmp.get("E_app_epm", np.nan)):
        # ln τ_α ≈ ⟨ΔE⟩/T with ΔE ∝ V: the barrier volume that would give the liquid's E_app
        cmp["volume_fraction_matching_E_app"] = vf * cmp["E_app_liquid"] / cmp["E_app_epm"]
    fig, axes = figure(width=7.0, aspect=0.4, nrows=1, ncols=2)
    Tl = np.array(sorted(liquid))
    tl = np.array([liquid[t] for t in Tl])
    axes[0].plot(1 / Tl, tl, "ks-", label="particles, p_swap = 0 MC (sweeps)")
    if "tau_unit_sweeps" in cmp:
        Te = np.array(cmp["common_T"])
        axes[0].plot(1 / Te, np.array([epm[x] for x in Te]) * cmp["tau_unit_sweeps"], "o--", color="C0",
                     label=f"thermal EPM from the T_p = T maps (τ → sweeps at T = {Te.max():g})")
        axes[1].plot(Te, cmp["liquid_ratio"], "ks-", label="particles")
        axes[1].plot(Te, cmp["epm_ratio"], "o--", color="C0", label="EPM")
    axes[0].set(yscale="log", xlabel="1/T (k_B/ε)", ylabel="τ_α (MC sweeps)")
    axes[1].set(yscale="log", xlabel="T (ε/k_B)", ylabel="τ_α(T) / τ_α(T_max)")
    for ax in axes:
        ax.legend(fontsize=5, frameon=False)
    save(fig, png, pdf)
    return {"liquid": {str(k): v for k, v in liquid.items()}, "epm": {str(k): v for k, v in epm.items()},
            "comparison": cmp, "epm_parameters": per_T, "units": {"T": "epsilon/k_B", "time": "MC sweeps (liquid), "
                                                                   "tau (EPM, before conversion)"}}
