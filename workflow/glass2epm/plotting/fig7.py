"""Fig. 7: shear-band growth after yielding, particles against EPM (Sec. V B).

(a) Particle plastic profiles P(x) (mean activity per particle in slabs
across the band, centred on it; ``band_profiles``) at several strains, for the
T_p given (colour per T_p, lighter = earlier strain). (b) Band width w(γ) (in
particle diameters d, ``band_widths``: width_scaled) on log-log axes with a
power-law fit per T_p (:func:`glass2epm.bands.growth.growth`, i.e.
:func:`glass2epm.bands.growth.fit_width`; only strains with one band) and a γ^0.25 guide.
(c), (d) the same for the EPM (lengths in blocks, one block = 5d), (d) with L = 40
triangles and L = 128 circles (more sizes: squares, diamonds) and a √γ guide.

A panel whose inputs are empty (stage not run at this scale) says so.
"""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from glass2epm.bands import growth
from glass2epm.core.schemas import BAND_PROFILES, BAND_WIDTHS
from glass2epm.plotting.common import not_computed, panel, plain_log_ticks, read_checked
from glass2epm.plotting.style import DOUBLE, LABELS, figure, save, tp_color

MAX_STRAINS = 8
L_MARKERS = ["^", "o", "s", "D", "v"]


def _shade(c, f):
    """Colour c darkened by fraction f (0: c, 1: black): later strains darker."""
    return tuple(np.asarray(c[:3]) * (1 - f))


def _pick_strains(g, m=MAX_STRAINS):
    g = np.unique(g)
    g = g[np.isfinite(g)]
    if g.size <= m:
        return g
    pos = g[g > 0]
    if pos.size >= m:  # roughly log-spaced picks
        target = np.geomspace(pos[0], pos[-1], m)
        return np.unique([pos[np.argmin(np.abs(np.log(pos) - np.log(t)))] for t in target])
    return g[np.linspace(0, g.size - 1, m).round().astype(int)]


def _profiles(ax, files: dict, what: str, xlabel: str) -> dict:
    out = {}
    for Tp in sorted(files, key=float, reverse=True):
        t = read_checked(files[Tp], BAND_PROFILES, ["strain", "d", "profile"], what)
        g = np.asarray(t["strain"], float)
        strains = _pick_strains(g)
        c = tp_color(float(Tp))
        for k, gs in enumerate(strains):
            sel = g == gs
            d, P = np.asarray(t["d"], float)[sel], np.asarray(t["profile"], float)[sel]
            o = np.argsort(d)
            f = 0.6 * k / max(len(strains) - 1, 1)
            ax.plot(d[o], P[o], "-", lw=0.9, color=_shade(c, f))
        out[float(Tp)] = [float(s) for s in strains]
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"$P(x)$ (events per site)")
    hs = [Line2D([], [], color=tp_color(float(T)), lw=1.5, label=f"$T_p$ = {float(T):g}")
          for T in sorted(files, key=float, reverse=True)]
    hs.append(Line2D([], [], color="0.6", lw=0, label=f"{len(strains)} strains, darker = larger $\\gamma$"))
    ax.legend(handles=hs, frameon=False, fontsize=5.5, loc="upper right")
    return out


def _widths(ax, files: dict, what: str, guide: float, unit: str) -> dict:
    """w(γ) per entry of ``files`` ({(L or None, T_p): path}); fits; a γ^guide line."""
    out = {}
    Ls = sorted({L for L, _ in files if L is not None})
    allx, ally = [], []
    for (L, Tp), path in sorted(files.items(), key=lambda kv: (kv[0][0] or 0, -float(kv[0][1]))):
        t = read_checked(path, BAND_WIDTHS, ["strain", "width_scaled", "n_bands"], what)
        cols = {k: np.asarray(t[k]) for k in ("strain", "width_scaled", "n_bands")}
        cols["strain"] = cols["strain"].astype(float)
        cols["width_scaled"] = cols["width_scaled"].astype(float)
        w_all = cols["width_scaled"]
        ok = (cols["n_bands"] == 1) & np.isfinite(w_all) & (w_all > 0) & (cols["strain"] > 0)
        c = tp_color(float(Tp))
        mk = L_MARKERS[Ls.index(L) % len(L_MARKERS)] if L is not None else "o"
        x, w = cols["strain"][ok], cols["width_scaled"][ok]
        ax.loglog(x, w, mk, ms=3.5, color=c, mfc="none" if mk == "o" and L is not None else c, mew=0.8)
        allx.append(x)
        ally.append(w)
        key = f"{float(Tp):g}" if L is None else f"L={L:g},Tp={float(Tp):g}"
        ws = growth.growth(cols)
        if ws is not None:
            xs = np.geomspace(x.min(), x.max(), 20)
            ax.loglog(xs, ws.fit.predict(xs), "-", lw=0.8, color=c)
            lo, hi = ws.fit.b_ci
            lab = (f"$T_p$ = {float(Tp):g}" + ("" if L is None else f", L = {L:g}")
                   + f": $\\gamma^{{{ws.fit.b:.2f}\\pm{(hi - lo) / 2:.2f}}}$")
            ax.plot([], [], mk, ls="-", color=c, ms=3, mfc="none" if mk == "o" and L is not None else c,
                    lw=0.8, label=lab)
            out[key] = {"b": ws.fit.b, "b_ci": [lo, hi], "n": ws.fit.n}
        else:
            ax.plot([], [], mk, color=c, ms=3, label=f"$T_p$ = {float(Tp):g}" + ("" if L is None else f", L = {L:g}"))
            out[key] = None
    x = np.concatenate(allx) if allx else np.empty(0)
    y = np.concatenate(ally) if ally else np.empty(0)
    if x.size:
        xs = np.geomspace(x.min(), x.max(), 10)
        x0, y0 = np.exp(np.mean(np.log(x))), np.exp(np.mean(np.log(y)))
        names = {0.25: r"$\gamma^{1/4}$", 0.5: r"$\sqrt{\gamma}$"}
        ax.loglog(xs, 0.6 * y0 * (xs / x0) ** guide, "k:", lw=1.0,
                  label=names.get(guide, f"$\\gamma^{{{guide:g}}}$"))
    plain_log_ticks(ax)
    ax.set_xlabel(LABELS["strain"])
    ax.set_ylabel(f"$w$ ({unit})")
    ax.legend(frameon=False, fontsize=5.5)
    return out


def plot_fig7(particle_profiles: dict, particle_widths: dict, epm_profiles: dict, epm_widths: dict,
              png, pdf=None) -> dict:
    """``particle_profiles``/``particle_widths``: {T_p: band_profiles / band_widths path};
    ``epm_profiles``: {T_p: band_profiles path}; ``epm_widths``: {(L, T_p): band_widths path}.
    Returns the strains drawn and the fitted growth exponents with 95 % CIs."""
    fig, axes = figure(DOUBLE, aspect=0.62, nrows=2, ncols=2)
    title_d = "EPM (bond)"
    if epm_widths:
        sizes = sorted({float(L) for L, _ in epm_widths})
        shapes = {"^": "triangles", "o": "circles", "s": "squares", "D": "diamonds", "v": "down triangles"}
        legend = ", ".join(f"{shapes[L_MARKERS[k % len(L_MARKERS)]]} L = {L:g}" for k, L in enumerate(sizes))
        title_d = f"EPM (bond); {legend}"
    panels = (  # (axes, letter, title, key of the result, input files, drawing)
        (axes[0, 0], "a", "particles", "particle_profiles", particle_profiles,
         lambda ax, f: _profiles(ax, f, "Fig. 7a", r"$x$ ($\lambda$)")),
        (axes[0, 1], "b", "particles", "particle_growth", particle_widths,
         lambda ax, f: _widths(ax, {(None, T): p for T, p in f.items()}, "Fig. 7b", 0.25, "$d$")),
        (axes[1, 0], "c", "EPM (bond)", "epm_profiles", epm_profiles,
         lambda ax, f: _profiles(ax, f, "Fig. 7c", r"$x$ (blocks)")),
        (axes[1, 1], "d", title_d, "epm_growth", epm_widths,
         lambda ax, f: _widths(ax, {(float(L), T): p for (L, T), p in f.items()}, "Fig. 7d", 0.5, "blocks")),
    )
    out = {}
    for ax, letter, title, key, files, draw in panels:
        if files:
            out[key] = draw(ax, files)
            panel(ax, letter, title)
        else:
            not_computed(ax, letter, title)
    save(fig, png, pdf)
    return out
