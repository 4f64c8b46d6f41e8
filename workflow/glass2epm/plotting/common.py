"""Helpers shared by the figure modules of Figs. 3–9: checked reading of a table, panel
letters and "not computed" panels, discs to scale, periodic map axes, plain log ticks."""

from __future__ import annotations

import numpy as np
from matplotlib.collections import EllipseCollection

from glass2epm.core import io
from glass2epm.plotting.style import require_columns


def read_checked(path, schema, columns, what: str):
    """Read ``path`` with ``schema`` through :func:`glass2epm.core.io.read_table` and check
    ``columns``; any schema problem becomes a ValueError naming the figure (``what``),
    the file and the missing columns."""
    try:
        t = io.read_table(path, schema)
    except io.SchemaError as exc:
        raise ValueError(f"{what}: {exc}") from None
    require_columns(t, list(columns), what)
    return t


def extra(t) -> dict:
    return dict(t.meta.get("extra") or {})


def panel(ax, letter: str, text: str = ""):
    """Panel letter (and a short title) at the top left of ``ax``."""
    ax.set_title((f"({letter}) " if letter else "") + text, loc="left")


def not_computed(ax, letter: str, what: str):
    """An empty panel saying that its stage did not run at this scale."""
    panel(ax, letter, what)
    ax.text(0.5, 0.5, "not computed\nat this scale", ha="center", va="center", transform=ax.transAxes,
            color="0.4", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


def discs(ax, x, y, diameter, *, facecolors=None, edgecolors="none", linewidths=0.0, array=None,
          cmap=None, norm=None, zorder=1, rasterized=False):
    """Discs of the given diameters (data units, to scale) centred at (x, y)."""
    diameter = np.broadcast_to(np.asarray(diameter, float), np.shape(x))
    col = EllipseCollection(diameter, diameter, np.zeros_like(diameter), units="xy",
                            offsets=np.column_stack([x, y]), offset_transform=ax.transData,
                            edgecolors=edgecolors, linewidths=linewidths, zorder=zorder)
    if array is not None:
        col.set_array(np.ma.masked_invalid(np.asarray(array, float)))
        col.set_cmap(cmap)
        col.set_norm(norm)
    elif facecolors is not None:
        col.set_facecolors(facecolors)
    col.set_rasterized(rasterized)
    ax.add_collection(col, autolim=False)
    return col


def wrapped_positions(t):
    """(x, y) of a table with a box in its metadata, mapped into the primary cell."""
    x, y = np.asarray(t["x"], float), np.asarray(t["y"], float)
    box = t.box
    if box is None:
        return x, y, None
    h = box.h[:2, :2]
    s = np.linalg.solve(h, np.stack([x, y]))
    s -= np.floor(s)
    x, y = h @ s
    return x, y, h


def map_axes(ax, h, x, y):
    """Square map axes without ticks, limits the cell (or the data)."""
    if h is not None:
        ax.set_xlim(min(0.0, h[0, 1]), h[0, 0] + max(0.0, h[0, 1]))
        ax.set_ylim(0.0, h[1, 1])
    else:
        ax.set_xlim(np.min(x), np.max(x))
        ax.set_ylim(np.min(y), np.max(y))
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def plain_log_ticks(ax):
    """Tick labels 2, 5, 10 rather than 2×10⁰ on log axes; minor ticks labelled (at 2, 3
    and 5) only on an axis spanning less than about a decade and a half."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    def minor(v, _):
        m = round(v / 10 ** np.floor(np.log10(v)), 6) if v > 0 else 0
        return f"{v:g}" if m in (2.0, 3.0, 5.0) else ""

    for axis, lim in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        if axis.get_scale() != "log":
            continue
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        narrow = lim[0] > 0 and np.log10(lim[1] / lim[0]) < 1.5
        axis.set_minor_formatter(FuncFormatter(minor) if narrow else NullFormatter())
