"""Issue 17's paper-scale comparisons in one figure, from the ``paper_scale`` rule's numbers.

(a) Peak stress against T_p: particles of each N (filled) against the EPM on the matched
lattice (bond maps: open circles, frozen matrix: open squares), ± bootstrap standard errors.
(b) Width of P(σ_s) at the renewal T_p against N (log N) (EPM at L = N^(1/d)/ξ plotted at that N), 95 %
bootstrap intervals over glasses or realisations, and an N^(−1/2) guide.
(c) Band width w(γ) of the particles (d) and of the EPM (blocks of ξ d) on log-log axes, the
strains with a single band, with the fitted exponent and its 95 % interval in the legend.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from glass2epm.plotting.common import not_computed, panel, plain_log_ticks
from glass2epm.plotting.style import DOUBLE, figure, save

_SRC = {"particles": ("particles", "o", True), "epm_bond": ("EPM, bond maps", "o", False),
        "epm_frozen": ("EPM, frozen matrix", "s", False)}


def _peaks(ax, sizes, colors):
    for r, c in zip(sizes, colors):
        for src, (label, marker, filled) in _SRC.items():
            pts = sorted((float(T), d[src]) for T, d in r["peak"].items() if src in d)
            if not pts:
                continue
            T = np.array([p[0] for p in pts])
            ax.errorbar(T, [p[1]["value"] for p in pts], yerr=[p[1]["stderr"] for p in pts], marker=marker,
                        color=c, mfc=c if filled else "white", ls="-" if filled else ":", capsize=2,
                        label=f"{label}, {'N' if filled else 'L'} = {r['N'] if filled else r['L']}")
    ax.set_xlabel(r"$T_p$ ($\varepsilon/k_B$)")
    ax.set_ylabel(r"peak stress ($\varepsilon/\lambda^d$)")
    ax.legend(fontsize=5.5, loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False)


def _widths(ax, sizes, colors):
    for src, (label, marker, filled) in _SRC.items():
        pts = [(r["N"], r["steady"][src]) for r in sizes if src in r["steady"]]
        if not pts:
            continue
        N = np.array([p[0] for p in pts], float)
        s = np.array([p[1]["std"] for p in pts])
        lo = np.array([p[1].get("std_ci", [v, v])[0] for p, v in zip(pts, s)])
        hi = np.array([p[1].get("std_ci", [v, v])[1] for p, v in zip(pts, s)])
        ax.errorbar(N, s, yerr=[s - lo, hi - s], marker=marker, color="k" if filled else "0.45",
                    mfc="k" if filled else "white", ls="-" if filled else ":", capsize=2, label=label)
    ref = sizes[0]["steady"]["particles"]
    N = np.array([r["N"] for r in sizes], float)
    if N.size > 1:
        ax.plot(N, ref["std"] * (N / N[0]) ** -0.5, color="0.6", lw=0.8, ls="--", label=r"$N^{-1/2}$")
    ax.set_xscale("log")
    ax.set_xlabel(r"$N$ (EPM: $L = N^{1/d}/\xi$)")
    ax.set_ylabel(r"std of $P(\sigma_s)$ ($\varepsilon/\lambda^d$)")
    plain_log_ticks(ax)
    ax.legend(fontsize=5.5, loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False)


def _growth(ax, sizes, colors) -> bool:
    drawn = False
    for r, c in zip(sizes, colors):
        bg = r.get("band_growth") or {}
        epm_marker = {k: "^v<>D"[j % 5] for j, k in enumerate(sorted((k for k in bg if k != "particles"),
                                                                      key=lambda k: int(k[5:])))}
        for key, d in sorted(bg.items()):
            g, w = np.asarray(d["strain"], float), np.asarray(d["width"], float)
            ok = np.isfinite(w) & (w > 0) & (g > 0)
            if not ok.any():
                continue
            part = key == "particles"
            b = "n/a" if d["exponent"] is None else \
                f"{d['exponent']:.2f} [{d['exponent_ci'][0]:.2f}, {d['exponent_ci'][1]:.2f}]"
            label = f"particles N = {r['N']} (d)" if part else f"EPM L = {key[5:]} (blocks)"
            ax.plot(g[ok], w[ok], marker="o" if part else epm_marker[key], color=c if part else "0.45",
                    mfc=c if part else "white", ls="-" if part else ":", label=f"{label}: b = {b}")
            drawn = True
    if drawn:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"$\gamma$")
        ax.set_ylabel(r"band width $w$")
        plain_log_ticks(ax)
        ax.legend(fontsize=5.5, loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False)
    return drawn


def plot_paper_scale(numbers, png, pdf=None) -> dict:
    """Draw the three panels from the ``paper_scale`` JSON ``numbers``; returns what was drawn."""
    sizes = json.loads(Path(numbers).read_text())["sizes"]
    if not sizes:
        raise ValueError(f"{numbers}: no sizes")
    colors = [f"C{k}" for k in range(len(sizes))]
    fig, axes = figure(DOUBLE, aspect=0.5, nrows=1, ncols=3)
    _peaks(axes[0], sizes, colors)
    panel(axes[0], "a", "peak stress")
    _widths(axes[1], sizes, colors)
    panel(axes[1], "a", r"width of $P(\sigma_s)$, $T_p$ = " + f"{sizes[0]['renewal_Tp']:g}")
    if _growth(axes[2], sizes, colors):
        panel(axes[2], "b", "band growth")
    else:
        not_computed(axes[2], "b", "band growth")
    save(fig, png, pdf)
    return {"sizes": [r["N"] for r in sizes]}
