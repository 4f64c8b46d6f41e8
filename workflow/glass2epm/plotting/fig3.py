"""Fig. 3: one cavity of the bond micromechanics (Sec. IV).

(a) Bond network of the cavity: bonds drawn as segments between particle
centres, free particles light, frozen (matrix) particles dark, discs of
diameter λ_i (to scale). (b) The analytical non-affine field ẋ of the free
particles under simple shear (Eq. 11 on the free block). (c) The cavity stress
σ(γ): the cubic expansion of Eqs. (16)–(18) (lines) against the explicit
frozen-matrix AQS (symbols), forward and backward; an inset zooms on the
linear response σ₀ + μ₀γ; σ_Y^F and σ_Y^B are marked.

Inputs (schemas of :mod:`glass2epm.core.schemas`): ``cavity_particles`` (x, y, size,
free, ux, uy; positions relative to the site, λ), ``cavity_bonds`` (i, j,
weight), ``cavity_curves`` (strain, stress, kind, direction; extra: sigma0, mu0,
sigma_y_forward, sigma_y_backward — scalars, or {"bond": …, "frozen": …}, and
optionally gamma_y_forward, gamma_y_backward, radius). Strains are signed
(backward loading: γ < 0). Stresses in ε/λ², lengths in λ.

"""

from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection

from glass2epm.core.schemas import CAVITY_BONDS, CAVITY_CURVES, CAVITY_PARTICLES
from glass2epm.plotting.common import discs, extra, map_axes, panel, read_checked
from glass2epm.plotting.style import DOUBLE, LABELS, figure, save


def _pick(v, key="bond"):
    """A scalar from a metadata entry that may be a scalar or {"bond": …, "frozen": …}."""
    if isinstance(v, dict):
        v = v.get(key)
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


# ----------------------------------------------------------------------------

FORWARD, BACKWARD = "#c4462b", "#1f5fa8"
DIR_COLORS = {"forward": FORWARD, "backward": BACKWARD}


def _yield_point(g, s, sigma_y, gamma_y, forward: bool):
    """(γ_Y, σ_Y) to mark: the metadata's strain if given, else the point of the
    expansion curve (on the side of the loading direction) closest to σ_Y."""
    if sigma_y is None:
        return None
    if gamma_y is not None:
        return gamma_y, sigma_y
    side = g >= 0 if forward else g <= 0
    if not side.any():
        return None
    k = int(np.argmin(np.abs(s[side] - sigma_y)))
    return float(g[side][k]), sigma_y


def plot_fig3(particles, bonds, curves, png, pdf=None) -> dict:
    """Fig. 3 from a ``cavity_particles``, a ``cavity_bonds`` and a ``cavity_curves`` file.

    Returns the numbers drawn: N free/frozen, bonds, σ₀, μ₀, σ_Y^F, σ_Y^B (ε/λ²).
    """
    P = read_checked(particles, CAVITY_PARTICLES, ["x", "y", "size", "free", "ux", "uy"], "Fig. 3a-b")
    B = read_checked(bonds, CAVITY_BONDS, ["i", "j", "weight"], "Fig. 3a")
    C = read_checked(curves, CAVITY_CURVES, ["strain", "stress", "kind", "direction"], "Fig. 3c")
    x, y, size = (np.asarray(P[c], float) for c in ("x", "y", "size"))
    free = np.asarray(P["free"]).astype(bool)
    ux, uy = np.asarray(P["ux"], float), np.asarray(P["uy"], float)
    i, j = np.asarray(B["i"], int), np.asarray(B["j"], int)
    w = np.asarray(B["weight"], float)
    if i.size and (i.max() >= x.size or j.max() >= x.size or min(i.min(), j.min()) < 0):
        raise ValueError(f"Fig. 3a: bond indices in {B.path} exceed the {x.size} particles of {P.path}")
    ex = {**extra(P), **extra(C)}

    fig, axes = figure(DOUBLE, aspect=0.34, ncols=3)
    ax = axes[0]
    lim = float(np.max(np.abs(np.concatenate([x, y])))) + float(np.max(size, initial=1.0))
    # (a) bond network
    discs(ax, x[~free], y[~free], size[~free], facecolors="0.3", zorder=1)
    discs(ax, x[free], y[free], size[free], facecolors="#cfe0f3", edgecolors="0.55", linewidths=0.3,
          zorder=1)
    segs = np.stack([np.column_stack([x[i], y[i]]), np.column_stack([x[j], y[j]])], axis=1)
    inner = w > 0  # bonds that carry cavity stress on top, matrix-matrix bonds beneath the discs
    ax.add_collection(LineCollection(segs[~inner], linewidths=0.25, colors="0.6", zorder=0.5))
    ax.add_collection(LineCollection(segs[inner], linewidths=np.where(w[inner] >= 1.0, 0.7, 0.4),
                                     colors="k", zorder=2))
    R = _pick(ex.get("radius"))
    if R:
        ax.add_patch(_circle(R))
    map_axes(ax, None, [-lim, lim], [-lim, lim])
    panel(ax, "a", f"cavity: {int(free.sum())} free, {int((~free).sum())} frozen")
    # (b) non-affine field of the free particles
    ax = axes[1]
    discs(ax, x[~free], y[~free], size[~free], facecolors="0.3", zorder=1)
    discs(ax, x[free], y[free], size[free], facecolors="0.93", edgecolors="0.7", linewidths=0.3, zorder=1)
    amp = np.hypot(ux[free], uy[free])
    q = ax.quiver(x[free], y[free], ux[free], uy[free], amp, cmap="viridis", angles="xy", pivot="mid",
                  width=0.006, zorder=3)
    cb = fig.colorbar(q, ax=ax, shrink=0.75, pad=0.02)
    cb.set_label(r"$|\dot{x}|$ ($\lambda$)")
    map_axes(ax, None, [-lim, lim], [-lim, lim])
    panel(ax, "b", r"non-affine field $\dot{x}$")
    # (c) cavity stress
    ax = axes[2]
    g_all, s_all = np.asarray(C["strain"], float), np.asarray(C["stress"], float)
    kind, direction = np.asarray(C["kind"]).astype(str), np.asarray(C["direction"]).astype(str)
    exp_g, exp_s = [], []
    for d in ("forward", "backward"):
        for k, style in (("expansion", "-"), ("frozen", "o")):
            sel = (kind == k) & (direction == d)
            if not sel.any():
                continue
            g, s = g_all[sel], s_all[sel]
            if d == "backward" and np.nanmin(g) >= 0 and np.nanmax(g) > 0:
                g = -g  # backward curves stored as loading magnitude: draw at γ < 0
            o = np.argsort(g)
            g, s = g[o], s[o]
            if k == "expansion":
                exp_g.append(g)
                exp_s.append(s)
                ax.plot(g, s, style, color=DIR_COLORS[d], lw=1.3, zorder=3)
            else:
                every = max(1, len(g) // 25)
                ax.plot(g[::every], s[::every], style, mfc="none", mew=0.6, ms=3, color=DIR_COLORS[d],
                        zorder=2)
    if not exp_g and not (kind == "frozen").any():
        raise ValueError(f"Fig. 3c: {C.path} holds no 'expansion' or 'frozen' rows (kinds {sorted(set(kind))})")
    eg = np.concatenate(exp_g) if exp_g else np.empty(0)
    es = np.concatenate(exp_s) if exp_s else np.empty(0)
    syf, syb = _pick(ex.get("sigma_y_forward")), _pick(ex.get("sigma_y_backward"))
    marks = {}
    for name, sy, gy, fwd, c in (("F", syf, _pick(ex.get("gamma_y_forward")), True, FORWARD),
                                 ("B", syb, _pick(ex.get("gamma_y_backward")), False, BACKWARD)):
        pt = _yield_point(eg, es, sy, gy, fwd) if eg.size or gy is not None else None
        if pt is None:
            continue
        marks[name] = pt
        ax.plot(*pt, "*", ms=8, color=c, mec="k", mew=0.4, zorder=5)
        ax.annotate(f"$\\sigma_Y^{name}$", pt, xytext=(0, 6) if fwd else (7, -2), textcoords="offset points",
                    ha="center" if fwd else "left", va="bottom" if fwd else "center", fontsize=8, color=c)
    ax.axhline(0, color="0.8", lw=0.5, zorder=0)
    ax.axvline(0, color="0.8", lw=0.5, zorder=0)
    ax.set_xlabel(LABELS["strain"])
    ax.set_ylabel(r"$\sigma_{xy}^\mathrm{cav}$ ($\varepsilon/\lambda^2$)")
    from matplotlib.lines import Line2D

    hs = [Line2D([], [], color="0.3", lw=1.3, label=r"expansion, $O(\gamma^3)$"),
          Line2D([], [], color="0.3", marker="o", mfc="none", ls="", ms=3, label="frozen matrix"),
          Line2D([], [], color=FORWARD, lw=3, label="forward"),
          Line2D([], [], color=BACKWARD, lw=3, label="backward")]
    ax.legend(handles=hs, frameon=False, fontsize=5.5, loc="upper left", handlelength=1.4)
    panel(ax, "c")
    sigma0, mu0 = _pick(ex.get("sigma0")), _pick(ex.get("mu0"))
    if sigma0 is not None and mu0 is not None:
        _linear_inset(ax, g_all, s_all, kind, direction, sigma0, mu0, _pick(ex.get("sigma0"), "frozen"),
                      _pick(ex.get("mu0"), "frozen"))
    save(fig, png, pdf)
    return {"n_free": int(free.sum()), "n_frozen": int((~free).sum()), "n_bonds": int(i.size),
            "sigma0": sigma0, "mu0": mu0, "sigma_y_forward": syf, "sigma_y_backward": syb,
            "yield_points": marks}


def _circle(R):
    from matplotlib.patches import Circle

    return Circle((0.0, 0.0), R, fill=False, ls="--", lw=0.6, color="#c4462b", zorder=4)


def _linear_inset(ax, g_all, s_all, kind, direction, sigma0, mu0, sigma0_f, mu0_f):
    """Inset: the cavity stress at small |γ| against σ₀ + μ₀γ."""
    span = np.nanmax(np.abs(g_all)) if g_all.size else 0.1
    gz = 0.1 * span
    ins = ax.inset_axes([0.6, 0.1, 0.37, 0.33])
    for d in ("forward", "backward"):
        for k, st in (("expansion", "-"), ("frozen", "o")):
            sel = (kind == k) & (direction == d) & (np.abs(g_all) <= gz)
            if not sel.any():
                continue
            g, s = g_all[sel], s_all[sel]
            o = np.argsort(g)
            ins.plot(g[o], s[o], st, color=DIR_COLORS[d], mfc="none", ms=2, mew=0.5, lw=1.0)
    gg = np.linspace(-gz, gz, 3)
    ins.plot(gg, sigma0 + mu0 * gg, "k--", lw=0.8)
    if sigma0_f is not None and mu0_f is not None and (sigma0_f, mu0_f) != (sigma0, mu0):
        ins.plot(gg, sigma0_f + mu0_f * gg, ":", color="0.4", lw=0.8)
    ins.plot([0], [sigma0], "ks", ms=2.5)
    ins.text(0.03, 0.95, f"$\\sigma_0$ = {sigma0:.3g}\n$\\mu_0$ = {mu0:.3g}", transform=ins.transAxes,
             va="top", fontsize=5.5)
    ins.tick_params(labelsize=5, length=2)
    ins.set_xlim(-gz, gz)
