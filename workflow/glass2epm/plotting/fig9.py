"""Fig. 9: shear-band width against system size after yielding (Appendix D).

(a) Plastic profiles P(x) across the band (``band_profiles``), at one strain
(the paper: γ = 0.15, T_p = 0.2), for several box sizes (colour: size).
(b) Band width w against the box side L (``band_size``: particles with L and w
in diameters d, EPM in blocks) on log-log axes, with a power-law fit w ∝ L^α per
source and T_p (:func:`glass2epm.analysis.stats.powerlaw_fit`, or
:func:`glass2epm.bands.growth.fit_width` when several rows share a box size); α and
its 95 % CI in the legend (paper: α between 0.55 and 0.75).

T_p of the size table: a ``Tp`` column if present, else extra.Tp.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from glass2epm.bands.growth import fit_width
from glass2epm.core.schemas import BAND_PROFILES
from glass2epm.core.schemas import BAND_SIZE
from glass2epm.analysis.stats import powerlaw_fit
from glass2epm.plotting.common import extra, not_computed, panel, plain_log_ticks, read_checked
from glass2epm.plotting.style import DOUBLE, figure, save, tp_color

SOURCE_MARKERS = {"particles": "o", "epm": "s"}
UNITS = {"particles": "$d$", "epm": "blocks"}


def _fit(box, width, err):
    """Power law w = c L^α over the rows of one group (None with < 3 distinct sizes)."""
    ub = np.unique(box)
    if ub.size < 3:
        return None, ub, np.array([np.mean(width[box == b]) for b in ub])
    if any(np.sum(box == b) > 1 for b in ub):
        ws = fit_width(ub, [width[box == b] for b in ub])
        return ws.fit, ub, ws.w
    ok = np.isfinite(err) & (err > 0)
    f = powerlaw_fit(box, width, err if ok.all() else None)
    o = np.argsort(box)
    return f, box[o], width[o]


def plot_fig9(profiles: dict, size_table, png, pdf=None) -> dict:
    """``profiles``: {size: band_profiles path} at one strain (particles or EPM);
    ``size_table``: a ``band_size`` path. Returns the fitted exponents α with CIs."""
    S = read_checked(size_table, BAND_SIZE, ["source", "size", "box", "strain", "width", "width_err"], "Fig. 9b")
    src = np.asarray(S["source"]).astype(str)
    size = np.asarray(S["size"], float)
    box = np.asarray(S["box"], float)
    width = np.asarray(S["width"], float)
    err = np.asarray(S["width_err"], float)
    strain = np.asarray(S["strain"], float)
    Tp_col = np.asarray(S["Tp"], float) if "Tp" in S.columns else np.full(len(src), float(extra(S).get("Tp") or np.nan))
    fig, axes = figure(DOUBLE, aspect=0.34, ncols=2)
    out = {"alpha": {}}
    # (a)
    ax = axes[0]
    if profiles:
        g_ref = float(np.nanmedian(strain)) if strain.size else np.nan
        keys = sorted(profiles, key=float)
        cmap = plt.get_cmap("viridis")
        out["profile_strain"] = {}
        tp_prof = set()
        for k, key in enumerate(keys):
            t = read_checked(profiles[key], BAND_PROFILES, ["strain", "d", "profile"], "Fig. 9a")
            g = np.asarray(t["strain"], float)
            gs = np.unique(g)
            g0 = gs[np.argmin(np.abs(gs - g_ref))] if np.isfinite(g_ref) else gs[-1]
            sel = g == g0
            d, P = np.asarray(t["d"], float)[sel], np.asarray(t["profile"], float)[sel]
            o = np.argsort(d)
            row = np.flatnonzero(size == float(key))
            lab = (f"L = {box[row[0]]:g} {'blocks' if src[row[0]] == 'epm' else 'd'}" if row.size
                   else f"size {float(key):g}")
            tp_prof.add(extra(t).get("Tp"))
            ax.plot(d[o], P[o], "-", lw=1.0, color=cmap(k / max(len(keys) - 1, 1) * 0.9), label=lab)
            out["profile_strain"][float(key)] = float(g0)
        srcs = set(src)
        unit = r"$\lambda$" if srcs == {"particles"} else ("blocks" if srcs == {"epm"} else r"$\lambda$ or blocks")
        ax.set_xlabel(f"$x$ ({unit})")
        ax.set_ylabel(r"$P(x)$ (events per site)")
        ax.legend(frameon=False, fontsize=6)
        title = f"$\\gamma$ = {g_ref:.3g}" if np.isfinite(g_ref) else ""
        if len(tp_prof) == 1 and None not in tp_prof:
            title += f", $T_p$ = {float(tp_prof.pop()):g}"
        panel(ax, "a", title)
    else:
        not_computed(ax, "a", "")
    # (b)
    ax = axes[1]
    for s in sorted(set(src)):
        for T in sorted(set(Tp_col[src == s].tolist()), reverse=True):
            sel = (src == s) & ((Tp_col == T) if np.isfinite(T) else ~np.isfinite(Tp_col))
            b, w, e = box[sel], width[sel], err[sel]
            c = tp_color(T) if np.isfinite(T) else "0.2"
            mk = SOURCE_MARKERS.get(s, "D")
            ax.errorbar(b, w, yerr=np.where(np.isfinite(e), e, 0.0), fmt=mk, ms=4, color=c, capsize=1.5,
                        elinewidth=0.6, mew=0.8, mfc=c if s == "particles" else "none")
            fit, xb, _ = _fit(b, w, e)
            tag = f"{s}" + (f", $T_p$ = {T:g}" if np.isfinite(T) else "")
            if fit is not None:
                xs = np.geomspace(xb.min(), xb.max(), 20)
                ax.plot(xs, fit.predict(xs), "-", color=c, lw=0.9)
                lo, hi = fit.b_ci
                ax.plot([], [], mk, ls="-", color=c, ms=4, mfc=c if s == "particles" else "none",
                        label=f"{tag}: $\\alpha$ = {fit.b:.2f} [{lo:.2f}, {hi:.2f}]")
                out["alpha"][f"{s}@{T:g}"] = {"alpha": fit.b, "ci": [lo, hi], "n": fit.n}
            else:
                ax.plot([], [], mk, color=c, ms=4, label=f"{tag} (< 3 sizes: no fit)")
                out["alpha"][f"{s}@{T:g}"] = None
    ax.set_xscale("log")
    ax.set_yscale("log")
    srcs = sorted(set(src))
    unit = UNITS.get(srcs[0], "") if len(srcs) == 1 else "$d$; EPM: blocks"
    ax.set_xlabel(f"$L$ ({unit})")
    ax.set_ylabel(f"$w$ ({unit})")
    plain_log_ticks(ax)
    ax.legend(frameon=False, fontsize=5.5, title=r"fit $w \propto L^\alpha$ (95 % CI)", title_fontsize=5.5)
    panel(ax, "b")
    save(fig, png, pdf)
    return out
