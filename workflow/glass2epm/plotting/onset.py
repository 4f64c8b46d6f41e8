"""e_IS against T_p for each preset, with the fitted onset (the model's onset figure)."""

from __future__ import annotations

import numpy as np

from glass2epm.core import io
from glass2epm.prepare.onset import estimate_onset
from glass2epm.core.schemas import ONSET
from glass2epm.plotting.style import LABELS, PRESET_COLORS, figure, require_columns, save


def plot_onset(table_path, png, pdf=None) -> dict:
    t = io.read_table(table_path, ONSET)
    require_columns(t, ["preset", "Tp", "e_IS"], "onset figure")
    df = t.to_pandas()
    fig, ax = figure()
    fits = {}
    for preset, g in df.groupby("preset"):
        m = g.groupby("Tp")["e_IS"].agg(["mean", "std", "count"]).reset_index()
        err = (m["std"].fillna(0) / np.sqrt(m["count"])).to_numpy()
        c = PRESET_COLORS.get(preset, "k")
        # the presets' energy scales differ ((N/V)^{β/d}): show e_IS relative to its plateau
        scale = float(m["mean"].iloc[-1])
        if len(m) >= 3:
            fit = estimate_onset(m["Tp"], m["mean"])
            fits[preset] = fit
            scale = fit["e_plateau"]
            ax.axvline(fit["T_onset"], color=c, ls=":", lw=0.8)
        label = f"{preset}" + (f" (onset {fits[preset]['T_onset']:.2g})" if preset in fits else "")
        ax.errorbar(m["Tp"], m["mean"] / scale, yerr=err / scale, fmt="o-", color=c, label=label, ms=3)
    ax.set_xscale("log")
    ax.set_xlabel(LABELS["Tp"])
    ax.set_ylabel(r"$e_\mathrm{IS}/e_\infty$ (plateau)")
    ax.legend(frameon=False, title="dotted: fitted onset")
    save(fig, png, pdf)
    return fits
