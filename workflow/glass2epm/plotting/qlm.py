"""The qlm figure (Ji et al.): θ(γ), α(γ) two ways against Eq. (9), ⟨γ_min⟩(N), and the mesoscopic model."""

from __future__ import annotations

import json

from matplotlib.ticker import NullFormatter
import numpy as np

from glass2epm.core import io, schemas
from glass2epm.plotting.style import figure, save, tp_color
from glass2epm.qlm.pseudogap import alpha_prediction


def _err(v, lo, hi):
    return np.vstack([np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)])


def _epm_theta_text(g, v) -> str:
    if "reason" in v:
        return f"γ = {g}: no θ ({v['reason']})"
    return f"γ = {g}: θ = {v['theta']:.2f} [{v['theta_ci'][0]:.2f}, {v['theta_ci'][1]:.2f}]"


def _meso_note(meso) -> str:
    th = meso.get("theta_ev")
    if not th:
        return "Mesoscopic model: θ not measured (fewer than two lattice sizes)"
    lo, hi = (float(alpha_prediction(c)) for c in th["ci"])
    parts = []
    for key in ("alpha_active", "alpha"):
        fit = meso.get(key) or {}
        a, ci = fit.get("exponent"), fit.get("ci")
        if a is None or ci is None:
            continue
        ok = ci[0] <= hi and ci[1] >= lo
        parts.append(f"{key} = {a:.2f} [{ci[0]:.2f}, {ci[1]:.2f}] vs 3 + 4θ in [{lo:.2f}, {hi:.2f}]: "
                     + ("holds" if ok else "fails"))
    pas = meso.get("alpha_passive") or {}
    if pas.get("exponent") is not None:
        parts.append(f"passive modes α = {pas['exponent']:.2f} (Eq. 6 predicts 4 for them)")
    return (f"Mesoscopic (λ, κ) model, L = {meso['L']} (θ by extreme values, α of D(ω) at the largest L): θ = {th['exponent']:.3f} [{th['ci'][0]:.3f}, "
            f"{th['ci'][1]:.3f}]; " + "; ".join(parts))


def plot_qlm(exponents, sample_paths, meso_json, meso_density, png, pdf=None, epm=()) -> dict:
    fig, axes = figure(width=7.0, aspect=0.62, nrows=2, ncols=3)
    ax = axes.ravel()
    t = io.read_table(exponents, schemas.QLM_EXPONENTS)
    c = {k: np.asarray(t[k], float) for k in t.columns}
    summary = {"verdicts": t.meta["extra"].get("verdicts", [])}
    for tp in np.unique(c["Tp"]):
        s = c["Tp"] == tp
        g = c["strain"][s]
        col = tp_color(tp)
        ax[0].errorbar(g, c["theta"][s], _err(c["theta"][s], c["theta_lo"][s], c["theta_hi"][s]), fmt="o-",
                       color=col, capsize=2, label=f"T_p = {tp:g}")
        ax[1].errorbar(g, c["alpha_fss"][s], _err(c["alpha_fss"][s], c["alpha_fss_lo"][s], c["alpha_fss_hi"][s]),
                       fmt="o-", color=col, capsize=2, label=f"⟨ω_min⟩ FSS, T_p = {tp:g}")
        ax[1].errorbar(g + 0.002, c["alpha_direct"][s],
                       _err(c["alpha_direct"][s], c["alpha_direct_lo"][s], c["alpha_direct_hi"][s]), fmt="s--",
                       color=col, mfc="white", capsize=2, label=f"D_L(ω) fit, T_p = {tp:g}")
        ax[1].fill_between(g, alpha_prediction(c["theta_lo"][s]), alpha_prediction(c["theta_hi"][s]), color=col,
                           alpha=0.2, lw=0)
        ax[1].plot(g, c["alpha_predicted"][s], ":", color=col)
    for path in epm:
        e = io.read_table(path, schemas.QLM_EPM_EXTREMES).meta["extra"]
        th = e["theta"]
        g = np.array([float(k) for k in th])
        v = np.array([th[k]["theta"] for k in th], float)
        lo = np.array([th[k]["theta_ci"][0] for k in th], float)
        hi = np.array([th[k]["theta_ci"][1] for k in th], float)
        ax[0].errorbar(g, v, _err(v, lo, hi), fmt="^:", color=tp_color(e["Tp"]), capsize=2,
                       label=f"EPM (σ_th − σ), T_p = {e['Tp']:g}")
        summary.setdefault("epm_theta", {})[f"{e['Tp']:g}"] = th
    ax[0].axhline(0.25, color="0.5", lw=0.8, ls="--")
    ax[0].set(xlabel="γ", ylabel="θ", title="(a) θ from ⟨γ_min⟩(N)", ylim=(-1.0, 3.0))  # CIs clipped
    ax[1].set(xlabel="γ", ylabel="α", title="(b) α two ways; band: Eq. (9)")
    ax[0].legend(fontsize=6)
    ax[1].legend(fontsize=5)
    # ⟨γ_min⟩ and ⟨ω_min⟩ against N
    rows = [io.read_table(p, schemas.QLM_SAMPLES) for p in sample_paths]
    cols = {k: np.concatenate([np.asarray(r[k], float) for r in rows]) for k in ("Tp", "N", "strain", "gamma_min",
                                                                                  "omega_min")}
    strains = np.unique(cols["strain"])
    for tp in np.unique(cols["Tp"]):
        for j, g in enumerate(strains):
            s = (cols["Tp"] == tp) & (cols["strain"] == g)
            Ns = np.unique(cols["N"][s])
            m = [np.nanmean(cols["gamma_min"][s & (cols["N"] == n)]) for n in Ns]
            w = [np.nanmean(cols["omega_min"][s & (cols["N"] == n)]) for n in Ns]
            mk = "osd^v"[j % 5]
            ax[2].loglog(Ns, m, mk + "-", color=tp_color(tp), lw=0.8, label=f"T_p = {tp:g}, γ = {g:g}")
            ax[3].loglog(Ns, w, mk + "-", color=tp_color(tp), lw=0.8)
    ax[2].set(xlabel="N", ylabel="⟨γ_min⟩", title="(c) particles: ⟨γ_min⟩(N)")
    ax[3].set(xlabel="N", ylabel="⟨ω_min⟩", title="(d) all modes: ⟨ω_1⟩(N)")
    ax[2].legend(fontsize=5)
    # the mesoscopic model
    with open(meso_json) as fh:
        meso = json.load(fh)
    d = io.read_table(meso_density, schemas.QLM_MESO_DENSITY)
    om_fine = np.asarray(d["omega"], float)
    width = om_fine[1] - om_fine[0] if om_fine.size > 1 else 1.0
    edges = np.geomspace(max(om_fine[0] - 0.5 * width, 1e-3), om_fine[-1] + 0.5 * width, 41)
    om = np.sqrt(edges[1:] * edges[:-1])
    for name, col in (("passive", "C0"), ("active", "C3")):
        mass, _ = np.histogram(om_fine, edges, weights=np.asarray(d[name], float) * width)
        y = mass / np.diff(edges)
        ok = y > 0
        ax[4].loglog(om[ok], y[ok], "o-", ms=2, color=col, label=name)
    th = meso.get("theta_ev", {})
    if th:
        ref = np.geomspace(0.05, 0.5, 20)
        a = float(alpha_prediction(th["exponent"]))
        y0 = np.interp(0.3, om_fine, np.asarray(d["active"], float))
        ax[4].loglog(ref, y0 * (ref / 0.3) ** a, "k--", lw=0.8, label=f"ω^(3+4θ), θ = {th['exponent']:.3f}")
        ax[4].loglog(ref, y0 * (ref / 0.3) ** 4, "k:", lw=0.8, label="ω⁴")
        ax[5].loglog(th["sizes"], th["means"], "o-", color="C3")
        ax[5].set_xticks(th["sizes"], [str(n) for n in th["sizes"]], minor=False)
        ax[5].xaxis.set_minor_formatter(NullFormatter())
        ax[5].set(xlabel="N = L²", ylabel="⟨x_min⟩",
                  title=f"(f) model: θ = {th['exponent']:.3f}")
    ax[4].set(xlabel="ω = √λ", ylabel="D(ω)", title=f"(e) (λ, κ) model, L = {d.meta['extra'].get('L')}")
    ax[4].legend(fontsize=6)
    summary["meso"] = {k: meso[k] for k in ("theta_ev", "alpha", "alpha_active", "alpha_passive") if k in meso}
    for tp, th in summary.get("epm_theta", {}).items():
        summary.setdefault("epm_notes", []).append(
            f"Calibrated EPM (T_p = {tp} thresholds), θ from ⟨min(σ_th − σ)⟩ ∝ (L²)^(−1/(1+θ)): "
            + "; ".join(_epm_theta_text(g, v) for g, v in th.items()))
    summary["notes"] = ["Particles (Eq. 9 holds where the predicted α over θ's CI meets a measured α's CI): "
                        + v for v in summary["verdicts"]] + summary.get("epm_notes", []) + [_meso_note(meso)]
    save(fig, png, pdf)
    return summary
