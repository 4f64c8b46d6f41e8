"""Fig. 4: local yield stresses against the parent temperature (Sec. IV).

(a) σ_Y maps (forward simple shear, bond micromechanics) of up to three glasses,
from the poorly annealed (left) to the most stable (right): every particle
coloured by the lowest σ_Y of the cavities that contain it, one colour scale for
all maps, grey where no cavity gave a value. (b) P(σ_Y) of the block-coarse-
grained values (ξ = 5d) pooled over samples: bond micromechanics filled symbols,
frozen matrix empty symbols, one colour per T_p. (c) Mean and (d) variance of
σ_Y against T_p with their confidence intervals (``yield_compare`` table).

Stresses in ε/λ², lengths in λ.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import Normalize

from glass2epm.core.schemas import YIELD_COMPARE
from glass2epm.core.schemas import YIELD_BLOCKS, YIELD_MAP
from glass2epm.plotting.common import discs, map_axes, not_computed, panel, read_checked, wrapped_positions
from glass2epm.plotting.style import DOUBLE, LABELS, save, tp_color

METHOD_STYLE = {"bond": dict(marker="o", mfc=None, ls="-", label="bond micromechanics"),
                "frozen": dict(marker="o", mfc="none", ls="--", label="frozen matrix")}
SIGMA_Y = r"$\sigma_Y$ ($\varepsilon/\lambda^2$)"


def _choose_maps(maps: dict) -> list:
    """Up to three T_p, from high to low (highest, a middle one, lowest)."""
    tps = sorted(maps, key=float, reverse=True)
    if len(tps) > 3:
        tps = [tps[0], tps[len(tps) // 2], tps[-1]]
    return tps


def _mfc(method, c):
    return c if METHOD_STYLE.get(method, {}).get("mfc", None) is None else "none"


def plot_fig4(maps: dict, compare, blocks: dict, png, pdf=None) -> dict:
    """``maps``: {T_p: yield_map path}; ``compare``: yield_compare path; ``blocks``:
    {(method, T_p): [yield_blocks paths]} with method 'bond' or 'frozen'."""
    fig, axd = plt.subplot_mosaic([["m0", "m1", "m2"], ["b", "c", "d"]], figsize=(DOUBLE, DOUBLE * 0.68),
                                  constrained_layout=True, height_ratios=[1.0, 0.85])
    out = {"maps": {}, "blocks": {}}
    # (a) maps
    tps = _choose_maps(maps)
    tabs = []
    for Tp in tps:
        t = read_checked(maps[Tp], YIELD_MAP, ["x", "y", "sigma_y"], "Fig. 4a")
        tabs.append((float(Tp), t))
    vals = np.concatenate([np.asarray(t["sigma_y"], float) for _, t in tabs]) if tabs else np.empty(0)
    fin = vals[np.isfinite(vals)]
    norm = Normalize(*(np.percentile(fin, [1, 99]) if fin.size else (0.0, 1.0)))
    cmap = plt.get_cmap("viridis").with_extremes(bad="0.75")
    col = None
    for k in range(3):
        ax = axd[f"m{k}"]
        if k >= len(tabs):
            ax.axis("off")
            continue
        Tp, t = tabs[k]
        x, y, h = wrapped_positions(t)
        n = len(x)
        dens = t.model.density if t.model is not None else (n / abs(np.linalg.det(h)) if h is not None else 1.0)
        diam = 0.95 * dens ** -0.5
        col = discs(ax, x, y, diam, array=t["sigma_y"], cmap=cmap, norm=norm, rasterized=True)
        map_axes(ax, h, x, y)
        sy = np.asarray(t["sigma_y"], float)
        out["maps"][Tp] = {"N": n, "mean": float(np.nanmean(sy)) if np.isfinite(sy).any() else None,
                           "fraction_without_value": float(np.mean(~np.isfinite(sy)))}
        panel(ax, "a" if k == 0 else "", f"$T_p$ = {Tp:g}")
    if col is not None:
        cb = fig.colorbar(col, ax=[axd[f"m{k}"] for k in range(len(tabs))], shrink=0.85, pad=0.01)
        cb.set_label(SIGMA_Y)
    else:
        not_computed(axd["m0"], "a", "")
    # (b) P(sigma_Y) of blocks
    ax = axd["b"]
    pooled = {}
    for key, paths in blocks.items():
        method, Tp = key
        if isinstance(paths, (str, bytes)) or not hasattr(paths, "__iter__"):
            paths = [paths]
        v = [np.asarray(read_checked(p, YIELD_BLOCKS, ["sigma_y"], "Fig. 4b")["sigma_y"], float)
             for p in paths]
        v = np.concatenate(v) if v else np.empty(0)
        pooled[(str(method), float(Tp))] = v[np.isfinite(v)]
    allv = np.concatenate(list(pooled.values())) if pooled else np.empty(0)
    if allv.size:
        hi = float(np.percentile(allv, 99.5))
        edges = np.linspace(min(0.0, float(allv.min())), hi, 21)
        for (method, Tp), v in sorted(pooled.items(), key=lambda kv: (kv[0][0], -kv[0][1])):
            if v.size == 0:
                continue
            dens, _ = np.histogram(v, bins=edges, density=False)
            dens = dens / (v.size * np.diff(edges))
            c = tp_color(Tp)
            st = METHOD_STYLE.get(method, METHOD_STYLE["bond"])
            ok = dens > 0
            ax.plot(0.5 * (edges[1:] + edges[:-1])[ok], dens[ok], marker=st["marker"], ls=st["ls"], lw=0.8,
                    ms=3, color=c, mfc=_mfc(method, c), mew=0.7)
            out["blocks"][f"{method}@{Tp:g}"] = {"n": int(v.size), "mean": float(v.mean())}
        ax.set_ylim(0, 1.6 * ax.get_ylim()[1])  # room for the legend
        ax.set_xlabel(SIGMA_Y)
        ax.set_ylabel(r"$P(\sigma_Y)$")
        panel(ax, "b", r"blocks $\xi = 5d$")
        _legends(ax, sorted({Tp for _, Tp in pooled}, reverse=True), sorted({m for m, _ in pooled}))
    else:
        not_computed(ax, "b", "")
    # (c), (d)
    cmp_ = read_checked(compare, YIELD_COMPARE, ["Tp", "method", "mean", "mean_lo", "mean_hi", "variance",
                                                 "variance_lo", "variance_hi"], "Fig. 4c-d")
    T = np.asarray(cmp_["Tp"], float)
    meth = np.asarray(cmp_["method"]).astype(str)
    out["compare"] = {}
    for ax, what, letter in ((axd["c"], "mean", "c"), (axd["d"], "variance", "d")):
        for m in sorted(set(meth)):
            sel = meth == m
            o = np.argsort(T[sel])
            Tm = T[sel][o]
            v = np.asarray(cmp_[what], float)[sel][o]
            lo = np.asarray(cmp_[f"{what}_lo"], float)[sel][o]
            hi = np.asarray(cmp_[f"{what}_hi"], float)[sel][o]
            st = METHOD_STYLE.get(m, METHOD_STYLE["bond"])
            ax.plot(Tm, v, ls=st["ls"], color="0.35", lw=0.8, zorder=1)
            for tt, vv, l, hh in zip(Tm, v, lo, hi):
                c = tp_color(tt)
                ax.errorbar([tt], [vv], yerr=[[max(vv - l, 0.0)], [max(hh - vv, 0.0)]], fmt="o", ms=4,
                            color=c, mfc=_mfc(m, c), mew=0.8, capsize=1.5, elinewidth=0.7, zorder=2)
            out["compare"][f"{what}_{m}"] = [float(a) for a in v]
            out["compare"]["Tp"] = [float(a) for a in Tm]
        ax.set_xlabel(LABELS["Tp"])
        ax.set_ylabel(r"$\langle\sigma_Y\rangle$ ($\varepsilon/\lambda^2$)" if what == "mean"
                      else r"$\mathrm{Var}(\sigma_Y)$ ($\varepsilon^2/\lambda^4$)")
        panel(ax, letter)
        _legends(ax, [], sorted(set(meth)))
    save(fig, png, pdf)
    return out


def _legends(ax, tps, methods):
    """Legend: methods (filled/empty) and, where given, the T_p colours."""
    from matplotlib.lines import Line2D

    hs = [Line2D([], [], marker="o", ls=METHOD_STYLE.get(m, METHOD_STYLE["bond"])["ls"], color="0.3", ms=3.5,
                 lw=0.8, mfc=_mfc(m, "0.3"), label=METHOD_STYLE.get(m, {"label": m})["label"]) for m in methods]
    hs += [Line2D([], [], marker="s", ls="", color=tp_color(T), ms=4, label=f"$T_p$ = {T:g}") for T in tps]
    ax.legend(handles=hs, frameon=False, fontsize=5.5, handlelength=1.8, loc="upper right")
