"""Fig. 2: the per-particle field Σ φ_γ × φ_γγ of a poorly annealed glass.

Positive values (blue) destabilise under forward simple shear, negative (red)
stabilise (Sec. III). A symmetric-log colour scale keeps the sign visible
across the orders of magnitude of the field.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import SymLogNorm

from glass2epm.core import io
from glass2epm.plotting.style import COLUMN, figure, require_columns, save


def plot_fig2(field_path, png, pdf=None, max_points: int = 2_000_000) -> dict:
    t = io.read_table(field_path)
    require_columns(t, ["x", "y", "phi_g_phi_gg"], "Fig. 2")
    x, y, v = t["x"], t["y"], t["phi_g_phi_gg"]
    box = t.box
    if box is not None:
        s = np.linalg.solve(box.h[:2, :2], np.stack([x, y]))
        s -= np.floor(s)
        x, y = box.h[:2, :2] @ s
    lin = float(np.percentile(np.abs(v), 50)) or 1e-12
    vmax = float(np.percentile(np.abs(v), 99.5)) or 1.0
    fig, ax = figure(COLUMN, aspect=1.0)
    n = len(v)
    size = max(0.05, 4000.0 / n)
    order = np.argsort(np.abs(v))  # large values on top
    sc = ax.scatter(x[order], y[order], c=v[order], s=size, cmap="RdBu", marker="o", linewidths=0,
                    norm=SymLogNorm(linthresh=lin, vmin=-vmax, vmax=vmax), rasterized=True)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    cb = fig.colorbar(sc, ax=ax, shrink=0.8)
    cb.set_label(r"$\sum \varphi_\gamma \varphi_{\gamma\gamma}$ ($\varepsilon^2$)")
    Tp = (t.meta.get("extra") or {}).get("Tp")
    ax.set_title(f"N = {n}" + (f", $T_p$ = {Tp:g}" if Tp else ""), loc="left")
    save(fig, png, pdf)
    return {"N": n, "positive_fraction": float(np.mean(v > 0))}
