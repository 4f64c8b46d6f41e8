"""Fig. 1: statistics of bond expansion coefficients (Sec. III, Eq. 23).

(a) P(|φ_nγ|), n = 1, 2, 3, of the most poorly annealed glasses, with the
Eq. (23) slopes −7/2, −11/6, −3/2; (b) P(|φ_γ|) against T_p; (c) A_g/A_∞
against T_p (tail prefactor with the exponent fixed at 7/2).
"""

from __future__ import annotations

import numpy as np

from glass2epm.core import io
from glass2epm.analysis.bondstats import THEORY_ALPHA
from glass2epm.core.schemas import BOND_HISTOGRAMS, BOND_PREFACTORS
from glass2epm.plotting.style import DOUBLE, LABELS, figure, require_columns, save, tp_color

ORDER_COLORS = {1: "#1b7837", 2: "#762a83", 3: "#e08214"}
ORDER_LABELS = {1: r"$|\varphi_\gamma|$", 2: r"$|\varphi_{\gamma\gamma}|$", 3: r"$|\varphi_{\gamma\gamma\gamma}|$"}


def _slope(ax, x, y, alpha, color):
    """A guide line of slope −alpha through the tail of (x, y)."""
    k = max(0, len(x) - max(3, len(x) // 3))
    x0, y0 = x[k], y[k]
    xs = np.array([x0, x[-1] * 1.5])
    ax.plot(xs, y0 * (xs / x0) ** (-alpha), ls="--", lw=0.8, color=color)


def plot_fig1(histograms: list, prefactors, png, pdf=None) -> dict:
    """``histograms``: bond_histograms files (one per T_p); ``prefactors``: bond_prefactors file."""
    tabs = []
    for p in histograms:
        t = io.read_table(p, BOND_HISTOGRAMS)
        require_columns(t, ["order", "center", "density"], "Fig. 1")
        tabs.append((float(t.meta["extra"]["Tp"]), t))
    if not tabs:
        raise ValueError("Fig. 1 needs at least one bond_histograms input")
    tabs.sort(key=lambda p: -p[0])
    pre = io.read_table(prefactors, BOND_PREFACTORS)
    require_columns(pre, ["Tp", "ratio", "ratio_lo", "ratio_hi"], "Fig. 1c")
    fig, axes = figure(DOUBLE, aspect=0.3, ncols=3)
    # (a)
    Tp0, t0 = tabs[0]
    for n in (1, 2, 3):
        sel = t0["order"] == n
        x, y = t0["center"][sel], t0["density"][sel]
        axes[0].loglog(x, y, "o", ms=2.5, color=ORDER_COLORS[n], label=ORDER_LABELS[n])
        if len(x) > 3:
            _slope(axes[0], x, y, THEORY_ALPHA[n], ORDER_COLORS[n])
    axes[0].set_xlabel(r"$|\varphi_{n\gamma}|$ ($\varepsilon$)")
    axes[0].set_ylabel(r"$P(|\varphi_{n\gamma}|)$")
    axes[0].set_title(f"(a) $T_p$ = {Tp0:g}; dashed: Eq. (23)", loc="left")
    axes[0].legend(frameon=False)
    # (b)
    for Tp, t in tabs:
        sel = t["order"] == 1
        axes[1].loglog(t["center"][sel], t["density"][sel], "-o", ms=2, color=tp_color(Tp), label=f"{Tp:g}")
    axes[1].set_xlabel(r"$|\varphi_\gamma|$ ($\varepsilon$)")
    axes[1].set_ylabel(r"$P(|\varphi_\gamma|)$")
    axes[1].set_title("(b)", loc="left")
    axes[1].legend(frameon=False, title=r"$T_p$")
    # (c)
    T = pre["Tp"]
    r = pre["ratio"]
    err = np.vstack([r - pre["ratio_lo"], pre["ratio_hi"] - r])
    axes[2].errorbar(T, r, yerr=err, fmt="o-", color="#2166ac", ms=3)
    axes[2].set_yscale("log")
    axes[2].set_xlabel(LABELS["Tp"])
    axes[2].set_ylabel(r"$A_g/A_\infty$")
    axes[2].set_title(r"(c) tail $\propto|\varphi_\gamma|^{-7/2}$", loc="left")
    save(fig, png, pdf)
    return {"Tp": [float(v) for v in T], "A_ratio": [float(v) for v in r]}
