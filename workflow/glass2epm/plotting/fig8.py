"""Fig. 8: strain expansions against explicit AQS for a prestressed solid (Appendix C).

(a) σ_xy(γ) under simple shear (black) and isotropic dilation (red): the AQS
(open circles), the linear prediction c0 + c1 γ (solid) and the second-order one
c0 + c1 γ + c2 γ²/2 (dashed). (b) The same for the pressure P = −Tr σ/d.
The coefficients c_k = d^kσ/dγ^k at γ = 0 (Eqs. 16–18, with the volume terms of
Eqs. C1–C2 for dilation) come from the ``expansion_check`` metadata
(extra.coefficients[geometry][observable] = {c0, c1, c2, c3}). Stresses in ε/λ².
"""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from glass2epm.core.schemas import EXPANSION_CHECK
from glass2epm.plotting.common import extra, panel, read_checked
from glass2epm.plotting.style import DOUBLE, LABELS, figure, save

GEOMETRY_COLORS = {"simple_shear": "k", "dilation": "#d62728", "pure_shear": "#1f5fa8"}
GEOMETRY_LABELS = {"simple_shear": "simple shear", "dilation": "dilation", "pure_shear": "pure shear"}
OBS_LABELS = {"sxy": r"$\sigma_{xy}$ ($\varepsilon/\lambda^2$)", "pressure": r"$P$ ($\varepsilon/\lambda^2$)"}


def _coefficients(coeffs, geometry, obs, path):
    try:
        c = coeffs[geometry][obs]
        return [float(c[f"c{k}"]) for k in range(3)]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"Fig. 8: {path} lacks extra.coefficients[{geometry!r}][{obs!r}] with c0..c2 "
                         f"({exc!r})") from None


def plot_fig8(check, png, pdf=None) -> dict:
    """Fig. 8 from one ``expansion_check`` file. Returns the largest relative deviation of
    the first- and second-order predictions from the AQS per geometry and observable."""
    t = read_checked(check, EXPANSION_CHECK, ["geometry", "strain", "sxy", "pressure"], "Fig. 8")
    coeffs = extra(t).get("coefficients")
    if not coeffs:
        raise ValueError(f"Fig. 8: {t.path} has no extra.coefficients (expansion coefficients per geometry)")
    geo = np.asarray(t["geometry"]).astype(str)
    g_all = np.asarray(t["strain"], float)
    fig, axes = figure(DOUBLE, aspect=0.34, ncols=2)
    out = {}
    geometries = [g for g in GEOMETRY_COLORS if g in set(geo)] + sorted(set(geo) - set(GEOMETRY_COLORS))
    for ax, obs, letter in ((axes[0], "sxy", "a"), (axes[1], "pressure", "b")):
        for gname in geometries:
            sel = geo == gname
            g, v = g_all[sel], np.asarray(t[obs], float)[sel]
            o = np.argsort(g)
            g, v = g[o], v[o]
            c0, c1, c2 = _coefficients(coeffs, gname, obs, t.path)
            col = GEOMETRY_COLORS.get(gname, "0.4")
            every = max(1, len(g) // 30)
            ax.plot(g[::every], v[::every], "o", mfc="none", mew=0.7, ms=3.5, color=col)
            gg = np.linspace(min(0.0, g.min()), g.max(), 200)
            lin = c0 + c1 * gg
            quad = lin + 0.5 * c2 * gg**2
            ax.plot(gg, lin, "-", color=col, lw=1.0)
            ax.plot(gg, quad, "--", color=col, lw=1.0)
            scale = max(np.max(np.abs(v - c0)), 1e-300)
            out[f"{gname}:{obs}"] = {
                "max_dev_linear": float(np.max(np.abs(v - (c0 + c1 * g))) / scale),
                "max_dev_quadratic": float(np.max(np.abs(v - (c0 + c1 * g + 0.5 * c2 * g**2))) / scale),
                "c": [c0, c1, c2]}
        ax.set_xlabel(LABELS["strain"])
        ax.set_ylabel(OBS_LABELS[obs])
        panel(ax, letter)
    hs = [Line2D([], [], color=GEOMETRY_COLORS.get(g, "0.4"), lw=1.0, label=GEOMETRY_LABELS.get(g, g))
          for g in geometries]
    hs += [Line2D([], [], color="0.3", marker="o", mfc="none", ls="", ms=3.5, label="AQS"),
           Line2D([], [], color="0.3", ls="-", lw=1.0, label=r"linear, $c_0 + c_1\gamma$"),
           Line2D([], [], color="0.3", ls="--", lw=1.0, label=r"$+\,c_2\gamma^2/2$")]
    axes[0].legend(handles=hs, frameon=False, fontsize=6)
    save(fig, png, pdf)
    return out
