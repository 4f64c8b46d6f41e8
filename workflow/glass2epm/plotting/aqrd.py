"""The AQRD figure: F(ξ) and κ (Eqs. 7, 9, 35), raw and Eq. 36-rescaled stress–strain curves.

Panel (a): κ_F = F/F_shear measured on the pairs, κ_μ = μ_c/μ_AQS from the linear
responses, and Eq. 9 (the paper's Fig. 1, left) at the measured contact distance, against
ξ/ℓ_c. Panel (b): sample-averaged Σ(γ̃) of AQRD at each ξ and σ_xy(γ) of AQS. Panel (c):
the same rescaled by Eq. 36 with κ_F, overlaid on AQS (the paper's Fig. 1, right).
Panel (d), with ``sine``: the sine field's μ_c/(μ_AQS A²k²/2) against kλ, mean ± s.e. over
the quenched glasses of each N (:mod:`glass2epm.aqrd.sine`); the continuum limit is 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from glass2epm.aqrd.forcing import f_xi
from glass2epm.core import io, schemas
from glass2epm.plotting.style import figure, save


def plot_aqrd(json_paths, png, pdf=None, sine=None) -> dict:
    fig, axes = figure(width=9.0, aspect=0.26, nrows=1, ncols=4 if sine else 3)
    summary = {}
    for k, path in enumerate(json_paths):
        info = {k: v for k, v in json.loads(Path(path).read_text()).items()
                if isinstance(v, dict) and "kappa_F" in v}  # runs only (write_json adds "units")
        curves = io.read_table(Path(path).with_name("aqrd_curves.parquet"), schemas.AQRD_CURVES)
        tp = Path(path).parent.name
        labels = sorted((l for l in info if l != "shear"), key=lambda l: info[l]["xi"])
        if labels:
            ellc = float(np.mean(info[labels[0]]["ell_c"]))
            fsh = float(np.mean(info[labels[0]]["F_shear"]))
            xi = np.array([info[l]["xi"] for l in labels])
            axes[0].plot(xi / ellc, [info[l]["kappa_F"] for l in labels], "o", color=f"C{k}",
                         label=f"{tp}: F/F_shear")
            axes[0].plot(xi / ellc, [info[l]["kappa_mu"] for l in labels], "s", mfc="none", color=f"C{k}",
                         label=f"{tp}: μ_c/μ_AQS")
            A, ell = info[labels[0]]["amplitude"], info[labels[0]]["ell"]
            grid = np.geomspace(0.1, 10, 100) * ellc
            axes[0].plot(grid / ellc, 2 * ell * ell * A * (f_xi(0.0, grid) - f_xi(ellc, grid)) / fsh, "-",
                         color=f"C{k}", lw=0.8)
        forcing = np.asarray(curves["forcing"])
        for j, l in enumerate(["shear"] + labels):
            sel = forcing == l
            name = "AQS" if l == "shear" else f"ξ = {info[l]['xi']:g}"
            style = dict(color="k" if l == "shear" else f"C{j}", lw=1.5 if l == "shear" else 1.0,
                         ls="--" if k else "-")
            axes[1].plot(np.asarray(curves["strain"])[sel], np.asarray(curves["stress"])[sel],
                         label=f"{tp} {name}", **style)
            axes[2].plot(np.asarray(curves["rescaled_strain"])[sel], np.asarray(curves["rescaled_stress"])[sel],
                         label=f"{name}" if k == 0 else None, **style)
        summary[tp] = {l: {"kappa_F": info[l]["kappa_F"], "kappa_mu": info[l]["kappa_mu"]} for l in info}
    axes[0].set(xscale="log", yscale="log", xlabel="ξ / ℓ_c", ylabel="κ", title="(a) F/ℓ² (Eq. 9, lines) and κ")
    axes[0].legend(fontsize=5)
    axes[1].set(xlabel="γ̃ (AQRD), γ (AQS)", ylabel="Σ, σ_xy (ε/λ^d)", title="(b) raw (line style: T_p)")
    axes[1].legend(fontsize=5)
    axes[2].set(xlabel="γ̃ √κ_F", ylabel="Σ / √κ_F", title="(c) Eq. 36 rescaled")
    axes[2].legend(fontsize=5)
    if sine:
        summary["sine"] = _sine_panel(axes[3], sine)
    save(fig, png, pdf)
    return summary


def _sine_panel(ax, path) -> dict:
    from glass2epm.aqrd.sine import summarize

    t = io.read_table(path, schemas.AQRD_SINE)
    res = summarize({c: np.asarray(t[c]) for c in ("N", "mode", "ratio", "k")})
    sizes = sorted({N for N, _ in res})
    for j, N in enumerate(sizes):
        keys = [key for key in res if key[0] == N]
        k = np.array([res[key]["k"] for key in keys])
        m = np.array([res[key]["mean"] for key in keys])
        e = np.array([res[key]["sem"] for key in keys])
        ax.errorbar(k, m, np.nan_to_num(e), fmt="o-", color=f"C{j}", ms=3, capsize=2, label=f"N = {N}")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set(xscale="log", xlabel="k λ (k = 2πn/L)", ylabel="μ_c / (μ_AQS A²k²/2)", title="(d) sine field")
    ax.legend(fontsize=5)
    return {f"N={N} n={m}": v for (N, m), v in res.items()}
