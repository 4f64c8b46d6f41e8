"""The fields figure: predictor scores (ROC-AUC, Spearman) per T_p and the exponents ξ_q of S_q(r)."""

from __future__ import annotations

import numpy as np

from glass2epm.core import io, schemas
from glass2epm.fields.predict import PREDICTORS
from glass2epm.plotting.style import figure, save

LABELS = {"flux": "Π_ℓ", "grad_rho": "|∇ρ_ℓ|", "dev_stress": "dev σ_ℓ", "roughness": "−ξ₂ (local)", "weak_bond": "−σ_Y bond",
          "weak_frozen": "−σ_Y frozen"}


def plot_fields(score_paths, png, pdf=None) -> dict:
    fig, axes = figure(width=7.0, aspect=0.33, nrows=1, ncols=3)
    summary = {}
    width = 0.8 / max(1, len(score_paths))
    for k, path in enumerate(score_paths):
        t = io.read_table(path, schemas.PREDICTOR_SCORES)
        Tp = float(t["Tp"][0])
        sel = np.asarray(t["target"]) == "d2min"
        names = list(np.asarray(t["predictor"])[sel])
        xs = np.array([PREDICTORS.index(n) for n in names]) + (k - 0.5 * (len(score_paths) - 1)) * width
        auc, lo, hi = (np.asarray(t[c], float)[sel] for c in ("auc", "auc_lo", "auc_hi"))
        axes[0].bar(xs, auc - 0.5, width, bottom=0.5, yerr=[auc - lo, hi - auc], color=f"C{k}", capsize=2,
                    label=f"T_p = {Tp:g}")
        summary[f"Tp{Tp:g}"] = {f"{n} vs {tg}": {"auc": float(a), "spearman": float(s)} for n, tg, a, s in
                               zip(t["predictor"], t["target"], np.asarray(t["auc"], float),
                                   np.asarray(t["spearman"], float))}
        xi = t.meta["extra"].get("xi_q_mean")
        if xi:
            q = np.arange(1, len(xi) + 1)
            sem = t.meta["extra"].get("xi_q_sem") or [0] * len(xi)
            axes[1].errorbar(q, xi, yerr=sem, fmt="o-", color=f"C{k}", label=f"T_p = {Tp:g}")
        for j, path in enumerate(t.meta["extra"].get("xi_q_along_aqs") or []):
            if path:
                a = np.array(path)
                axes[2].plot(a[:, 0], a[:, 2], "-", color=f"C{k}", lw=0.8,
                             label=f"T_p = {Tp:g}" if j == 0 else None)
    axes[0].axhline(0.5, color="k", lw=0.6)
    axes[0].set_xticks(range(len(PREDICTORS)), [LABELS[p] for p in PREDICTORS], rotation=20, fontsize=6)
    axes[0].set(ylabel="ROC-AUC (next plastic window)", ylim=(0.2, 1.0))
    axes[1].set(xlabel="q", ylabel="ξ_q (S_q ∝ r^{ξ_q})")
    axes[2].set(xlabel="γ (AQS)", ylabel="ξ₂ along the AQS path")
    for ax in axes:
        ax.legend(fontsize=6, frameon=False)
    save(fig, png, pdf)
    return summary
