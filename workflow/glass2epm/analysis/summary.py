"""The key numbers of a run against the paper's stated ones (the report's comparison table).

Reads the stages' outputs only (no physics): ε_pl, the bond-coefficient tail
exponents (Eq. 23), the trend of the mean local yield stress with T_p, the
bond/frozen variance ratio, the band-growth exponents w ~ γ^b, the size
exponent w ~ L^α, and the peak stress against T_p (particles and EPM).
"""

from __future__ import annotations

import json
import logging

import numpy as np

from glass2epm.core import io
from glass2epm.analysis import stats
from glass2epm.analysis.bootstrap import mean_ci, variance_ci
from glass2epm.core.schemas import BAND_SIZE, EPM_COMPARE, EPM_STEADY, YIELD_COMPARE


def _fmt(v, ci=None, digits=3):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "n/a"
    s = f"{v:.{digits}g}"
    if ci is not None and all(c is not None and np.isfinite(c) for c in ci):
        s += f" [{ci[0]:.{digits}g}, {ci[1]:.{digits}g}]"
    return s


def group_widths(groups, *, conf: float = 0.95, n_boot: int = 2000) -> dict:
    """Mean and standard deviation of steady-state stresses given as ``groups`` (one array per
    sample: glass or EPM realisation; ε/λ^d) with percentile bootstrap intervals (``conf``)
    that resample whole samples: the values of one sample are correlated along the strain.
    ``n`` counts values, ``samples`` samples; one sample gives point values only."""
    groups = [np.asarray(g, float) for g in groups if len(g)]
    if not groups:
        raise ValueError("no steady-state samples")
    x = np.concatenate(groups)
    d = {"mean": float(x.mean()), "std": float(x.std()), "n": int(x.size), "samples": len(groups)}
    if len(groups) > 1:
        m = mean_ci(groups, conf=conf, n_boot=n_boot)
        var = variance_ci(groups, conf=conf, n_boot=n_boot, ddof=0)
        d["mean_ci"] = [float(c) for c in m.ci]
        d["std_ci"] = [float(np.sqrt(max(c, 0.0))) for c in var.ci]
    return d


def steady_widths(steady, *, conf: float = 0.95, n_boot: int = 2000) -> dict:
    """Mean and standard deviation of the steady-state stress per source and size
    (``epm_steady`` table: particles per N, EPM per L; ε/λ^d), for P(σ_s) against size.

    With the table's ``sample`` column, ``mean_ci`` and ``std_ci`` are :func:`group_widths`'
    intervals, resampling whole samples (glasses, EPM realisations). Tables written before
    the column give point values (``n`` values, no ``samples``).
    """
    t = io.read_table(steady, EPM_STEADY)
    src, size, v = np.asarray(t["source"]).astype(str), np.asarray(t["size"], float), np.asarray(t["stress"], float)
    smp = np.asarray(t["sample"]) if "sample" in t.columns else None
    out = {}
    for a in np.unique(src):
        for n in np.unique(size[src == a]):
            sel = (src == a) & (size == n)
            x = v[sel]
            if smp is None:
                d = {"mean": float(x.mean()), "std": float(x.std()), "n": int(x.size)}
            else:
                d = group_widths([x[smp[sel] == k] for k in np.unique(smp[sel])], conf=conf, n_boot=n_boot)
            out.setdefault(str(a), {})[int(n)] = d
    return out


def comparison(calibration, tails: dict, yield_compare, growth: dict, band_size: dict, epm_compare,
               steady=None) -> tuple:
    """(rows, numbers): rows = [(quantity, this run, paper)], numbers = a JSON-able dict.

    ``tails``: {T_p: bond_tails.json path}; ``growth``: {T_p: band_growth.json path};
    ``band_size``: {T_p: band_size.parquet path}; ``steady``: the ``steady_samples``
    table (P(σ_s) per size), optional.
    """
    rows, num = [], {}
    cal = json.load(open(calibration))
    num["eps_pl"] = {k: cal.get(k) for k in ("eps_pl", "eps_pl_low", "eps_pl_high", "target", "stress")}
    rows.append((f"ε_pl (calibrated at T_p = {cal.get('renewal_Tp', 0.7):.3g})",
                 _fmt(cal["eps_pl"], (cal["eps_pl_low"], cal["eps_pl_high"])), "≈ 0.065"))
    Tmax = max(tails)
    t = json.load(open(tails[Tmax]))["fits"]
    num["tail_exponents"] = {}
    for n, paper in (("1", "−7/2"), ("2", "−11/6"), ("3", "−3/2")):
        f = t[n]
        num["tail_exponents"][n] = {"alpha": f["alpha"], "ci": f["ci"], "xmin": f["xmin"]}
        rows.append((f"P(|φ_{n}γ|) tail exponent (T_p = {Tmax:g})",
                     _fmt(-f["alpha"], (-f["ci"][1], -f["ci"][0])), paper))
    yc = io.read_table(yield_compare, YIELD_COMPARE)
    for method in ("bond", "frozen"):
        sel = yc["method"] == method
        order = np.argsort(yc["Tp"][sel])
        T, m = yc["Tp"][sel][order], yc["mean"][sel][order]
        num[f"mean_sigma_y_{method}"] = dict(zip(map(float, T), map(float, m)))
        trend = "grows as T_p decreases" if len(m) > 1 and np.all(np.diff(m) < 0) else \
            ("not monotonic" if len(m) > 1 else "one T_p")
        rows.append((f"mean σ_Y ({method}) against T_p",
                     ", ".join(f"{a:g}: {b:.3g}" for a, b in zip(T, m)) + f" ({trend})", "grows as T_p decreases"))
    ratios = {}
    for T in np.unique(yc["Tp"]):
        vb = yc["variance"][(yc["Tp"] == T) & (yc["method"] == "bond")]
        vf = yc["variance"][(yc["Tp"] == T) & (yc["method"] == "frozen")]
        if vb.size and vf.size and vf[0] > 0:
            ratios[float(T)] = float(vb[0] / vf[0])
    num["variance_ratio_bond_over_frozen"] = ratios
    rows.append(("Var σ_Y bond / frozen (blocks)", ", ".join(f"{a:g}: {b:.3g}" for a, b in ratios.items()),
                 "≥ 1.5 at every T_p"))
    num["band_growth"] = {}
    for T, path in sorted(growth.items()):
        g = json.load(open(path))
        for key, paper in (("particles", "0.25"), *[(k, "0.5 (L = 128)") for k in g if k.startswith("epm_L")]):
            if key not in g:
                continue
            e = g[key]
            num["band_growth"][f"{key}_Tp{T:g}"] = {"exponent": e["exponent"], "ci": e["exponent_ci"]}
            rows.append((f"w ~ γ^b, {key}, T_p = {T:g}",
                         _fmt(e["exponent"], e["exponent_ci"]) if e["exponent"] is not None else (e["note"] or "n/a"),
                         paper))
    num["band_size"] = {}
    for T, path in sorted(band_size.items()):
        bs = io.read_table(path, BAND_SIZE)
        ok = np.isfinite(bs["width"]) & (bs["width"] > 0)
        if ok.sum() >= 3:
            fit = stats.powerlaw_fit(bs["box"][ok], bs["width"][ok])
            num["band_size"][f"Tp{T:g}"] = {"alpha": fit.b, "ci": list(fit.b_ci)}
            rows.append((f"w ~ L^α (EPM), T_p = {T:g}", _fmt(fit.b, fit.b_ci), "0.55 – 0.75"))
        else:
            rows.append((f"w ~ L^α (EPM), T_p = {T:g}", f"{int(ok.sum())} sizes with a single band", "0.55 – 0.75"))
    ec = io.read_table(epm_compare, EPM_COMPARE)
    num["peak_stress"] = {}
    for src in np.unique(ec["source"]):
        sel = ec["source"] == src
        num["peak_stress"][str(src)] = dict(zip(map(float, ec["Tp"][sel]), map(float, ec["peak_stress"][sel])))
    part = num["peak_stress"].get("particles", {})
    size = {str(a): int(b) for a, b in zip(ec["source"], ec["size"])}
    for src in ("epm_bond", "epm_frozen"):
        e = num["peak_stress"].get(src, {})
        common = sorted(set(part) & set(e))
        if common:
            rel = {T: e[T] / part[T] - 1 for T in common}
            num[f"peak_rel_dev_{src}"] = rel
            rows.append((f"peak stress {src} (L = {size.get(src)}) vs particles (N = {size.get('particles')}), "
                         "rel. dev.",
                         ", ".join(f"{T:g}: {100 * v:+.0f}%" for T, v in rel.items()), "within ~10 %"))
    if steady is not None:
        w = steady_widths(steady)
        num["steady_widths"] = w
        for src, label in (("particles", "N"), ("epm", "L")):
            if src in w:
                rows.append((f"std of P(σ_s), {src} (T_p = {cal.get('renewal_Tp', 0.7):.3g})",
                             ", ".join(f"{label} = {n}: {_fmt(d['std'], d.get('std_ci'))}"
                                       for n, d in sorted(w[src].items())),
                             "EPM L = 20, 40 follows particles N = 10⁴, 4·10⁴"))
    return rows, num


def write_tsv(path, rows, header=("quantity", "this run", "paper")):
    """A report table: tab-separated ``header`` and ``rows``, written atomically."""
    from glass2epm.core.io import atomic_path
    import os

    tmp = atomic_path(path)
    with open(tmp, "w") as fh:
        fh.write("\t".join(header) + "\n")
        for r in rows:
            fh.write("\t".join(str(c) for c in r) + "\n")
    os.replace(tmp, path)


def tp_scale_row(temps, units: str, T_onset: float | None, preset: str) -> tuple:
    """(row, numbers): the glasses' T_p on both scales, ε/k_B and T_p/T_onset (T_onset from
    ``glasses.T_onset`` or the preset's measured value, :data:`glass2epm.prepare.onset.MEASURED_ONSET`)."""
    from glass2epm.prepare.onset import MEASURED_ONSET

    stored = MEASURED_ONSET.get(preset)
    Ton = T_onset if T_onset is not None else (stored or {}).get("T_onset")
    temps = sorted(float(t) for t in temps)
    num = {"Tp": temps, "units": units, "T_onset": Ton,
           "T_onset_ci": None if T_onset is not None or stored is None else stored.get("T_onset_ci")}
    if Ton is None:
        return ("T_p (ε/k_B)", ", ".join(f"{t:.2f}" for t in temps), "0.7, 0.4, 0.2 (onset ≈ 0.6)"), num
    num["Tp_over_T_onset"] = [t / Ton for t in temps]
    txt = ", ".join(f"{t:.2f} ({t / Ton:.2f})" for t in temps)
    return (f"T_p in ε/k_B (T_p/T_onset, T_onset = {Ton:.3g})", txt, "0.7, 0.4, 0.2 (1.2, 0.67, 0.33)"), num


def summary(calibration, tails: dict, yield_compare, growth: dict, band_size: dict, epm_compare, steady,
            table, numbers, tp_scale: dict | None = None) -> list:
    """Task of the rule ``summary``: :func:`comparison` written as the report's TSV ``table``
    and the JSON ``numbers``; returns the rows. ``tp_scale``: {Tp: [...], units, T_onset,
    preset} adds the T_p row on both scales (:func:`tp_scale_row`)."""
    rows, num = comparison(calibration, tails, yield_compare, growth, band_size, epm_compare, steady=steady)
    if tp_scale is not None:
        row, num["Tp_scale"] = tp_scale_row(tp_scale["Tp"], tp_scale["units"], tp_scale["T_onset"],
                                            tp_scale["preset"])
        rows.insert(0, row)
    for r in rows:
        logging.getLogger("glass2epm").info("%s | %s | %s", *r)
    write_tsv(table, rows)
    io.write_json(numbers, num)
    return rows
