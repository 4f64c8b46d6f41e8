"""One figure style for the whole project: sizes, fonts, colours per T_p."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLUMN = 3.4  # inches: a single journal column
DOUBLE = 7.0

RC = {
    "font.size": 8,
    "axes.labelsize": 8,
    "axes.titlesize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "lines.linewidth": 1.2,
    "lines.markersize": 4,
    "axes.linewidth": 0.6,
    "savefig.dpi": 300,
    "figure.dpi": 150,
    "pdf.fonttype": 42,
}
plt.rcParams.update(RC)

# Consistent colours per T_p across all figures: a fixed map from T_p to colour,
# bright orange (poorly annealed, high T_p) to dark purple (stable, low T_p); the
# ends of "inferno" are cut so that no T_p is drawn near-white or near-black.
_CMAP = plt.get_cmap("inferno")
TP_RANGE = (0.2, 0.7)


def tp_color(Tp: float):
    lo, hi = TP_RANGE
    u = (np.log(Tp) - np.log(lo)) / (np.log(hi) - np.log(lo))
    return _CMAP(0.15 + 0.65 * float(np.clip(u, 0.0, 1.0)))


PRESET_COLORS = {"lerner-poly2d": "#1f5fa8", "richard2023": "#c4462b"}
LABELS = {
    "Tp": r"$T_\mathrm{p}$ ($\varepsilon/k_\mathrm{B}$)",
    "strain": r"$\gamma$",
    "stress": r"$\sigma$ ($\varepsilon/\lambda^2$)",
    "e_IS": r"$e_\mathrm{IS}$ ($\varepsilon$ per particle)",
}


def figure(width=COLUMN, aspect=0.75, nrows=1, ncols=1, **kw):
    return plt.subplots(nrows, ncols, figsize=(width, width * aspect), constrained_layout=True, **kw)


def save(fig, png, pdf=None):
    """Write PNG (and PDF) atomically enough for Snakemake (both or an error)."""
    for path in (png, pdf):
        if path is None:
            continue
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    plt.close(fig)


def require_columns(table, columns, what):
    """Fail with a clear message when a figure's input lacks columns."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{what}: input {getattr(table, 'path', '')} lacks columns {missing} "
                         f"(has {sorted(table.columns)})")
