"""Fig. 6: accumulated plasticity across yielding, particles against EPM (Sec. V B).

Top row: particles (D²min ``d2min_activity`` tables) coloured when they were
active at least once up to ``map_strain`` (first_active_strain ≤ map_strain,
the paper's γ < 12 %), grey otherwise. Bottom row: EPM blocks (``activity_series``)
active (activity > 0) at the snapshot strain closest to ``map_strain``, drawn as an
image (one pixel per block, one block = 5 particle diameters). Columns go from the
highest T_p (left) to the lowest (right). Particle positions in λ, blocks in block
units; discs have the mean spacing d = (N/V)^{-1/2} as diameter.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from glass2epm.core.schemas import D2MIN_ACTIVITY
from glass2epm.core.schemas import ACTIVITY_SERIES
from glass2epm.plotting.common import discs, extra, map_axes, not_computed, panel, read_checked, wrapped_positions
from glass2epm.plotting.style import DOUBLE, save

INACTIVE = "0.86"
# One strong colour for "yielded at least once" in every column (the columns are
# labelled with T_p): mid-range T_p colours of style.tp_color are too pale against
# the grey of inactive particles.
ACTIVE = "#b2182b"


def plot_fig6(particle_activity: dict, epm_activity: dict, map_strain: float, png, pdf=None) -> dict:
    """``particle_activity``: {T_p: d2min_activity path}; ``epm_activity``: {T_p:
    activity_series path}; ``map_strain``: the strain up to which activity is shown."""
    tps = sorted({float(t) for t in list(particle_activity) + list(epm_activity)}, reverse=True)
    if not tps:
        raise ValueError("Fig. 6 needs at least one particle or EPM activity input")
    pa = {float(k): v for k, v in particle_activity.items()}
    ea = {float(k): v for k, v in epm_activity.items()}
    n = len(tps)
    fig, axes = plt.subplots(2, n, figsize=(DOUBLE, DOUBLE * 2 / max(n, 3) * 1.02 + 0.15), squeeze=False,
                             constrained_layout=True)
    out = {"map_strain": float(map_strain), "particles": {}, "epm": {}}
    for k, Tp in enumerate(tps):
        c = ACTIVE
        # particles
        ax = axes[0, k]
        if Tp in pa:
            t = read_checked(pa[Tp], D2MIN_ACTIVITY, ["x", "y", "first_active_strain"], "Fig. 6 (particles)")
            x, y, h = wrapped_positions(t)
            fa = np.asarray(t["first_active_strain"], float)
            act = np.isfinite(fa) & (fa <= map_strain + 1e-12)
            area = abs(np.linalg.det(h)) if h is not None else np.ptp(x) * np.ptp(y)
            diam = 0.95 * np.sqrt(area / max(len(x), 1))
            discs(ax, x[~act], y[~act], diam, facecolors=INACTIVE, rasterized=True)
            discs(ax, x[act], y[act], diam, facecolors=[c], rasterized=True, zorder=2)
            map_axes(ax, h, x, y)
            out["particles"][Tp] = {"N": int(len(x)), "active_fraction": float(act.mean())}
            panel(ax, "a" if k == 0 else "", f"$T_p$ = {Tp:g}, N = {len(x)}")
        else:
            not_computed(ax, "a" if k == 0 else "", f"$T_p$ = {Tp:g}")
        # EPM
        ax = axes[1, k]
        if Tp in ea:
            t = read_checked(ea[Tp], ACTIVITY_SERIES, ["strain", "x", "y", "activity"], "Fig. 6 (EPM)")
            g = np.asarray(t["strain"], float)
            if g.size == 0:
                raise ValueError(f"Fig. 6 (EPM): {t.path} holds no rows")
            gs = np.unique(g)
            g0 = float(gs[np.argmin(np.abs(gs - map_strain))])
            sel = g == g0
            bx, by = np.asarray(t["x"], float)[sel], np.asarray(t["y"], float)[sel]
            ux, uy = np.unique(bx), np.unique(by)
            L = extra(t).get("box_side")
            if L is not None:  # block coordinates in block units, x in [0, L)
                L = np.atleast_1d(np.asarray(L, float))
                nx, ny = int(round(L[0])), int(round(L[-1]))
                ix, iy = np.floor(bx + 1e-9).astype(int), np.floor(by + 1e-9).astype(int)
            else:  # one row per block: rank the coordinates
                nx, ny = ux.size, uy.size
                ix, iy = np.searchsorted(ux, bx), np.searchsorted(uy, by)
            img = np.zeros((ny, nx))
            img[iy % ny, ix % nx] = np.asarray(t["activity"], float)[sel] > 0
            ax.imshow(img, origin="lower", cmap=ListedColormap([INACTIVE, c]), vmin=0, vmax=1,
                      extent=(0, nx, 0, ny), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            out["epm"][Tp] = {"L": int(nx), "strain": g0, "active_fraction": float(img.mean())}
            panel(ax, "b" if k == 0 else "", f"EPM $L$ = {nx}, $\\gamma$ = {g0:.3g}")
        else:
            not_computed(ax, "b" if k == 0 else "", f"EPM, $T_p$ = {Tp:g}")
    fig.suptitle(f"active (coloured) up to $\\gamma$ = {map_strain:g}", fontsize=8)
    save(fig, png, pdf)
    return out
