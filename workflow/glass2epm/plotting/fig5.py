"""Fig. 5: the calibrated EPM against particle AQS (Sec. V A).

(a) σ(γ) of one particle realisation (red) and one EPM realisation (orange)
at T_p = 0.7, with the mean steady-state stress σ_s of the particles dashed.
(b) P(σ_s) for two (or more) system sizes: particles (N, symbols) against EPM
(L blocks, lines), paired by size rank (smallest N with smallest L).
(c) Mean σ(γ) for several T_p: particles thin solid, EPM calibrated from the
bond micromechanics thick solid, EPM from the frozen matrix dashed (the workflow
passes the EPM lattice matched to the particle box, L = N^(1/2)/5 blocks, see
``epm.match_particles``); inset: the peak (yield) stress against T_p
(``epm_compare``: the maximum of the sample-averaged curve smoothed over
``epm.peak_window``, for particles and EPM alike).

Particle curves of (c) are averages over realisations of σ_xy interpolated on a
common strain grid (strain measured from the start of each series). Stresses in
ε/λ², strains dimensionless.
"""

from __future__ import annotations

import numpy as np

from glass2epm.core.schemas import AQS_SERIES
from glass2epm.core.schemas import EPM_SERIES
from glass2epm.core.schemas import EPM_CURVES
from glass2epm.core.schemas import EPM_COMPARE, EPM_STEADY
from glass2epm.plotting.common import extra, not_computed, panel, read_checked
from glass2epm.plotting.style import DOUBLE, LABELS, figure, save, tp_color

PARTICLE_COLOR, EPM_COLOR = "#c4462b", "#f39c12"
SIZE_COLORS = ["#1f5fa8", "#c4462b", "#1b7837", "#762a83"]
SOURCE_STYLE = {"particles": dict(ls="-", lw=0.8, label="particles"),
                "epm_bond": dict(ls="-", lw=2.2, label="EPM, bond"),
                "epm_frozen": dict(ls="--", lw=1.2, label="EPM, frozen")}
STRESS = LABELS["stress"]


def _as_list(p):
    return [p] if isinstance(p, (str, bytes)) or not hasattr(p, "__iter__") else list(p)


def _particle_series(path, what):
    t = read_checked(path, AQS_SERIES, ["strain", "sxy"], what)
    g = np.asarray(t["strain"], float)
    return g - g[0], np.asarray(t["sxy"], float), t


def _n_particles(t):
    """N of an AQS series from its metadata (extra.N, or density × cell volume)."""
    ex = extra(t)
    if ex.get("N"):
        return int(ex["N"])
    model, box = t.meta.get("model") or {}, t.box
    if model.get("density") and box is not None:
        return int(round(model["density"] * box.volume))
    return None


def particle_mean_curve(paths, n_grid: int = 400, what: str = "Fig. 5c"):
    """(grid, mean σ_xy, number of series): realisations interpolated on a common grid
    from 0 to the smallest final strain, then averaged (ε/λ²)."""
    ser = [_particle_series(p, what)[:2] for p in _as_list(paths)]
    if not ser:
        raise ValueError(f"{what}: no particle series to average")
    gmax = min(float(g[-1]) for g, _ in ser)
    grid = np.linspace(0.0, gmax, n_grid)
    S = np.array([np.interp(grid, g, s) for g, s in ser])
    return grid, S.mean(axis=0), len(ser)


def _epm_curve(paths, what="Fig. 5c"):
    """Mean EPM curve of one or several ``epm_curves`` files (weighted by their n)."""
    tabs = [read_checked(p, EPM_CURVES, ["strain", "stress_mean", "n"], what) for p in _as_list(paths)]
    g0 = np.asarray(tabs[0]["strain"], float)
    num, den = np.zeros_like(g0), np.zeros_like(g0)
    for t in tabs:
        n = np.interp(g0, t["strain"], np.asarray(t["n"], float))
        num += n * np.interp(g0, t["strain"], t["stress_mean"])
        den += n
    return g0, np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def plot_fig5(particle_series, epm_series_example, steady, curves: dict, compare, png, pdf=None) -> dict:
    """``particle_series``: AQS series paths at T_p = 0.7 (the first is drawn in (a));
    ``epm_series_example``: one ``epm_series`` path; ``steady``: ``epm_steady`` path;
    ``curves``: {(source, T_p): path(s)} with source 'particles' (AQS series paths,
    averaged), 'epm_bond' or 'epm_frozen' (``epm_curves`` paths); ``compare``:
    ``epm_compare`` path."""
    out = {}
    fig, axes = figure(DOUBLE, aspect=0.32, ncols=3)
    st = read_checked(steady, EPM_STEADY, ["source", "size", "stress"], "Fig. 5a-b")
    src = np.asarray(st["source"]).astype(str)
    size = np.asarray(st["size"])
    sval = np.asarray(st["stress"], float)
    # (a)
    ax = axes[0]
    plist = _as_list(particle_series)
    if not plist:
        raise ValueError("Fig. 5a needs at least one particle AQS series")
    g, s, t0 = _particle_series(plist[0], "Fig. 5a")
    ax.plot(g, s, "-", color=PARTICLE_COLOR, lw=0.7, label="particles")
    e = read_checked(epm_series_example, EPM_SERIES, ["strain", "stress"], "Fig. 5a")
    eg, es = np.asarray(e["strain"], float), np.asarray(e["stress"], float)
    if "stress_before" in e.columns:  # the exact saw-tooth: rise to σ_before, drop to σ
        eb = np.asarray(e["stress_before"], float)
        eg, es = np.repeat(eg, 2), np.column_stack([eb, es]).ravel()
    ax.plot(eg, es, "-", color=EPM_COLOR, lw=0.7, label="EPM")
    part = src == "particles"
    N = _n_particles(t0)
    pick = part & (size == N) if N is not None and np.any(part & (size == N)) else part
    if pick.any():
        sigma_s = float(np.mean(sval[pick]))
        ax.axhline(sigma_s, color="k", ls="--", lw=0.8, label=r"$\sigma_s$")
        out["sigma_s_particles"] = sigma_s
    Tp0 = extra(t0).get("Tp", 0.7)
    ax.set_xlim(0, max(g[-1], eg[-1] if eg.size else 0))
    ax.set_xlabel(LABELS["strain"])
    ax.set_ylabel(STRESS)
    ax.legend(frameon=False, loc="lower right")
    panel(ax, "a", f"$T_p$ = {Tp0:g}" + (f", N = {N}" if N else ""))
    # (b)
    ax = axes[1]
    if sval.size:
        lo, hi = np.percentile(sval, [0.5, 99.5])
        pad = 0.1 * (hi - lo if hi > lo else 1.0)
        edges = np.linspace(lo - pad, hi + pad, 31)
        centers = 0.5 * (edges[1:] + edges[:-1])
        out["steady"] = {}
        for source, marker, ls in (("particles", "o", ""), ("epm", "", "-")):
            sizes = sorted(set(size[src == source].tolist()))
            for k, n in enumerate(sizes):
                v = sval[(src == source) & (size == n)]
                dens, _ = np.histogram(v, bins=edges, density=True)
                lab = f"particles, N = {n:g}" if source == "particles" else f"EPM, L = {n:g}"
                c = SIZE_COLORS[k % len(SIZE_COLORS)]
                ok = dens > 0 if source == "particles" else np.ones_like(dens, bool)
                ax.plot(centers[ok], dens[ok], marker=marker, ls=ls, ms=3, mfc="none", mew=0.7, color=c,
                        lw=1.2, label=lab)
                out["steady"][f"{source}:{n:g}"] = {"mean": float(v.mean()), "std": float(v.std())}
        ax.set_xlabel(r"$\sigma_s$ ($\varepsilon/\lambda^2$)")
        ax.set_ylabel(r"$P(\sigma_s)$")
        ax.legend(frameon=False, fontsize=5.5)
        panel(ax, "b")
    else:
        not_computed(ax, "b", "")
    # (c)
    ax = axes[2]
    out["curves"] = {}
    tps = set()
    for (source, Tp), paths in sorted(curves.items(), key=lambda kv: (-float(kv[0][1]), kv[0][0])):
        if source not in SOURCE_STYLE:
            raise ValueError(f"Fig. 5c: unknown source {source!r} (expected {sorted(SOURCE_STYLE)})")
        if source == "particles":
            gg, ss, n = particle_mean_curve(paths)
        else:
            gg, ss = _epm_curve(paths)
        sty = SOURCE_STYLE[source]
        ax.plot(gg, ss, ls=sty["ls"], lw=sty["lw"], color=tp_color(float(Tp)))
        tps.add(float(Tp))
        out["curves"][f"{source}@{float(Tp):g}"] = float(np.nanmax(ss))
    ax.set_xlabel(LABELS["strain"])
    ax.set_ylabel(STRESS)
    ax.set_xlim(left=0)
    top = max([v for v in out["curves"].values() if np.isfinite(v)], default=1.0)
    ax.set_ylim(0, 1.7 * top)  # room for the inset above the curves
    from matplotlib.lines import Line2D

    hs = [Line2D([], [], color="0.3", ls=v["ls"], lw=v["lw"], label=v["label"]) for v in SOURCE_STYLE.values()]
    hs += [Line2D([], [], color=tp_color(T), lw=2, label=f"$T_p$ = {T:g}") for T in sorted(tps, reverse=True)]
    ax.legend(handles=hs, frameon=False, fontsize=5.5, loc="upper left", ncol=1, handlelength=1.8)
    panel(ax, "c")
    cmp_ = read_checked(compare, EPM_COMPARE, ["Tp", "source", "peak_stress", "peak_err"], "Fig. 5c inset")
    ins = ax.inset_axes([0.6, 0.64, 0.37, 0.32])
    csrc = np.asarray(cmp_["source"]).astype(str)
    T = np.asarray(cmp_["Tp"], float)
    out["peak"] = {}
    for source, sty in SOURCE_STYLE.items():
        sel = csrc == source
        if not sel.any():
            continue
        o = np.argsort(T[sel])
        pk = np.asarray(cmp_["peak_stress"], float)[sel][o]
        er = np.asarray(cmp_["peak_err"], float)[sel][o]
        ins.errorbar(T[sel][o], pk, yerr=np.nan_to_num(er), fmt="o", ls=sty["ls"], lw=min(sty["lw"], 1.5),
                     ms=2.5, color="0.2", mfc="none" if source == "epm_frozen" else "0.2", capsize=1,
                     elinewidth=0.5)
        out["peak"][source] = dict(zip([float(a) for a in T[sel][o]], [float(a) for a in pk]))
    ins.set_xlabel(r"$T_p$", fontsize=6, labelpad=0)
    ins.set_ylabel(r"$\sigma_\mathrm{yield}$", fontsize=6, labelpad=1)
    ins.tick_params(labelsize=5, length=2, pad=1)
    ins.locator_params(nbins=3)
    save(fig, png, pdf)
    return out
