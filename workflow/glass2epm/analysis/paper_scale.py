"""Issue 17's paper-scale comparisons of particles and the calibrated EPM, per particle size N.

(a) P(σ_s) and the peak stress (Sec. V A, Fig. 5): the steady-state stress of the N-particle
    glasses at the renewal T_p (mean and standard deviation, with 95 % bootstrap intervals that
    resample whole glasses or EPM realisations, :func:`glass2epm.analysis.summary.group_widths`)
    and the peak of the glass-averaged σ(γ) at every T_p (maximum of the curve smoothed over
    ``epm.peak_window``, bootstrap standard error; :func:`glass2epm.epm.task.compare_rows`),
    against the EPM of one calibration (its ε_pl and block thresholds) on the lattice matched to
    the particle box, L = N^(1/d) / ξ blocks (ξ = ``yield.block`` in d = (N/V)^(-1/d)).
(b) Shear-band growth (Sec. V B, Fig. 7): w ~ γ^b of the particle glasses at the strains their
    AQS runs reach, with the exponent's 95 % interval, beside the EPM's (``band_growth.json``).

Reads stage outputs only; computes no physics. Stresses in ε/λ^d, T_p in ε/k_B, w in d (particles)
and in blocks of ξ d (EPM), as in :mod:`glass2epm.bands`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from glass2epm.analysis.summary import _fmt, group_widths, write_tsv
from glass2epm.aqs.statistics import read_series, steady_groups
from glass2epm.core import io
from glass2epm.core.schemas import AQS_STATISTICS, EPM_STEADY
from glass2epm.epm.task import compare_rows

_log = logging.getLogger("glass2epm")

METHODS = ("bond", "frozen")
HEADER = ("comparison", "quantity", "particles", "EPM (bond maps)", "EPM (frozen matrix)")


@dataclass
class SizeInputs:
    """The files compared at one particle size.

    ``statistics``: {T_p: ``aqs_statistics`` table of the N-particle glasses};
    ``epm_summaries``: {(T_p, method): ``epm_summary`` table at L}; ``series``: the AQS series of
    the glasses at the renewal T_p (P(σ_s)); ``epm_steady``: {method: ``epm_steady`` table at L and
    the renewal T_p}; ``band_growth``: the ``band_growth.json`` of (N, renewal T_p), or None.
    """

    N: int
    L: int
    statistics: dict = field(default_factory=dict)
    epm_summaries: dict = field(default_factory=dict)
    series: list = field(default_factory=list)
    epm_steady: dict = field(default_factory=dict)
    band_growth: str | Path | None = None


def _epm_groups(path) -> list[np.ndarray]:
    t = io.read_table(path, EPM_STEADY)
    if "sample" not in t.columns:
        raise ValueError(f"{path}: no 'sample' column (written before it existed): rerun its epm_run job")
    v, smp = np.asarray(t["stress"], float), np.asarray(t["sample"])
    return [v[smp == k] for k in np.unique(smp)]


def size_comparison(inp: SizeInputs, *, renewal_Tp: float, steady_from: float, conf: float = 0.95,
                    n_boot: int = 2000) -> dict:
    """The numbers of (a) and (b) at one size (JSON-able; stresses in ε/λ^d)."""
    cols, windows = compare_rows(list(inp.statistics.values()), list(inp.epm_summaries.values()),
                                 N=inp.N, lattice_size=inp.L)
    peaks = {}
    for Tp, src, v, e, x in zip(cols["Tp"], cols["source"], cols["peak_stress"], cols["peak_err"],
                                cols["peak_strain"]):
        peaks.setdefault(f"{float(Tp):g}", {})[str(src)] = {"value": float(v), "stderr": float(e),
                                                              "strain": float(x)}
    for d in peaks.values():
        p = d.get("particles")
        for m in METHODS:
            if p is not None and f"epm_{m}" in d:
                d[f"epm_{m}"]["rel_dev"] = d[f"epm_{m}"]["value"] / p["value"] - 1.0
    series = [read_series(p) for p in inp.series]
    steady = {"particles": group_widths(steady_groups(series, (steady_from, None)), conf=conf, n_boot=n_boot)}
    steady["particles"]["seeds"] = [s.meta.get("seed") for s in series]
    for m, path in sorted(inp.epm_steady.items()):
        steady[f"epm_{m}"] = group_widths(_epm_groups(path), conf=conf, n_boot=n_boot)
    out = {"N": int(inp.N), "L": int(inp.L), "renewal_Tp": float(renewal_Tp), "steady_from": float(steady_from),
           "peak_window": windows, "glasses": {f"{float(t):g}": int(n) for t, n in _glass_counts(inp).items()},
           "steady": steady, "peak": peaks}
    if inp.band_growth is not None:
        g = json.loads(Path(inp.band_growth).read_text())
        out["band_growth"] = {k: {"exponent": v["exponent"], "exponent_ci": v["exponent_ci"], "note": v["note"],
                                  "strain": v["strain"], "width": v["width"]}
                              for k, v in g.items() if k == "particles" or k.startswith("epm_L")}
    return out


def _glass_counts(inp: SizeInputs) -> dict:
    return {float(Tp): len(io.read_table(p, AQS_STATISTICS)["seed"]) for Tp, p in sorted(inp.statistics.items())}


def _steady_cell(d: dict | None, key: str) -> str:
    if d is None:
        return "—"
    ci = d.get(f"{key}_ci")
    return _fmt(d[key], ci, digits=3) + f" ({d['samples']} {'glasses' if 'seeds' in d else 'runs'})"


def _peak_cell(d: dict | None) -> str:
    if d is None:
        return "—"
    s = f"{d['value']:.3f} ± {d['stderr']:.3f}"
    return s + (f" ({100 * d['rel_dev']:+.1f} %)" if "rel_dev" in d else f" (γ = {d['strain']:.3g})")


def _growth_cell(d: dict | None) -> str:
    if d is None:
        return "—"
    single = int(np.sum(np.isfinite(np.asarray(d["width"], float))))
    rng = f"γ = {min(d['strain']):.3g} – {max(d['strain']):.3g}" if d["strain"] else "no strains"
    if d["exponent"] is None:
        return f"{d['note']} ({rng})"
    return f"{_fmt(d['exponent'], d['exponent_ci'], digits=2)} ({single} strains with one band, {rng})"


def rows(results: list[dict]) -> list[tuple]:
    """The report table: (comparison, quantity, particles, EPM from bond maps, EPM from the frozen
    matrix) per size, and the size ratio of the P(σ_s) widths when there are two sizes or more."""
    out = []
    for r in results:
        N, L, T0 = r["N"], r["L"], r["renewal_Tp"]
        st, where = r["steady"], f"N = {N}, L = {L}"
        out.append(("(a)", f"glasses per T_p ({where})",
                    ", ".join(f"{n} at {t} ε/k_B" for t, n in r["glasses"].items()), "", ""))
        for key, label in (("mean", "σ_s"), ("std", "std of P(σ_s)")):
            out.append(("(a)", f"{label} at T_p = {T0:g} ({where}), 95 % CI", _steady_cell(st["particles"], key),
                        _steady_cell(st.get("epm_bond"), key), _steady_cell(st.get("epm_frozen"), key)))
        for Tp, d in sorted(r["peak"].items(), key=lambda kv: -float(kv[0])):
            out.append(("(a)", f"peak stress at T_p = {Tp} ({where}), ± bootstrap s.e. (rel. dev.)",
                        _peak_cell(d.get("particles")), _peak_cell(d.get("epm_bond")), _peak_cell(d.get("epm_frozen"))))
        bg = r.get("band_growth")
        if bg is not None:
            lat = sorted((int(k[5:]), v) for k, v in bg.items() if k.startswith("epm_L"))
            epm = "; ".join(f"L = {L}: {_growth_cell(v)}" for L, v in lat)
            out.append(("(b)", f"w ~ γ^b at T_p = {T0:g} (N = {N}), 95 % CI", _growth_cell(bg.get("particles")),
                        epm or "—", "—"))
    if len(results) > 1:
        a, b = results[0], results[-1]
        ratio = lambda src: b["steady"][src]["std"] / a["steady"][src]["std"]  # noqa: E731
        out.append(("(a)", f"std of P(σ_s): N = {b['N']} over N = {a['N']} (EPM: L = {b['L']} over L = {a['L']})",
                    f"{ratio('particles'):.3f}",
                    f"{ratio('epm_bond'):.3f}" if all("epm_bond" in r["steady"] for r in (a, b)) else "—",
                    f"{ratio('epm_frozen'):.3f}" if all("epm_frozen" in r["steady"] for r in (a, b)) else "—"))
    return out


def paper_scale(sizes: list[SizeInputs], table, numbers, *, renewal_Tp: float, steady_from: float,
                conf: float = 0.95, n_boot: int = 2000) -> list[dict]:
    """Task of the rule ``paper_scale`` and of ``glass2epm paper-scale``: :func:`size_comparison`
    at every size (ascending N), written as the report's TSV ``table`` (comparison, quantity,
    particles, EPM bond, EPM frozen) and the JSON ``numbers``; returns the per-size dicts."""
    if not sizes:
        raise ValueError("paper_scale: no sizes given")
    results = [size_comparison(s, renewal_Tp=renewal_Tp, steady_from=steady_from, conf=conf, n_boot=n_boot)
               for s in sorted(sizes, key=lambda s: s.N)]
    tab = rows(results)
    for r in tab:
        _log.info("%s", " | ".join(r))
    write_tsv(table, tab, HEADER)
    io.write_json(numbers, {"sizes": results, "conf": conf})
    return results


def layout_inputs(root, N: int, *, calibration_N: int, L: int, renewal_Tp: str, methods=METHODS,
                  geometry: str = "simple_shear") -> SizeInputs:
    """The :class:`SizeInputs` of size N in a results tree of the workflow's layout
    (``root`` = ``<results>/<preset>/d<dim>``): ``N<N>/Tp<T>/aqs_statistics.parquet`` for every T_p
    directory, the EPM files ``N<calibration_N>/Tp<T>/epm_<method>_L<L>.*`` and
    ``N<N>/Tp<renewal_Tp>/band_growth.json`` if present. A missing file is named in the error."""
    root = Path(root)
    nd, cd = root / f"N{int(N)}", root / f"N{int(calibration_N)}"
    if not nd.is_dir():
        raise FileNotFoundError(f"{nd}: no such directory (expected <results>/<preset>/d<dim>/N<N>)")
    tps = sorted((p.name[2:] for p in nd.glob("Tp*") if (p / "aqs_statistics.parquet").exists()), key=float)
    if renewal_Tp not in tps:
        raise FileNotFoundError(f"{nd / ('Tp' + renewal_Tp) / 'aqs_statistics.parquet'}: missing (the renewal T_p)")
    inp = SizeInputs(N=int(N), L=int(L))
    for tp in tps:
        inp.statistics[float(tp)] = nd / f"Tp{tp}" / "aqs_statistics.parquet"
        for m in methods:
            p = cd / f"Tp{tp}" / f"epm_{m}_L{int(L)}.summary.parquet"
            if not p.exists():
                raise FileNotFoundError(f"{p}: missing (EPM run of method {m} on L = {L} at T_p = {tp})")
            inp.epm_summaries[(float(tp), m)] = p
            if tp == renewal_Tp:
                inp.epm_steady[m] = cd / f"Tp{tp}" / f"epm_{m}_L{int(L)}.steady.parquet"
    inp.series = sorted((nd / f"Tp{renewal_Tp}").glob(f"seed*/aqs_{geometry}_forward.parquet"))
    bg = nd / f"Tp{renewal_Tp}" / "band_growth.json"
    inp.band_growth = bg if bg.exists() else None
    return inp


def named_inputs(named: dict, specs: list[dict]) -> list[SizeInputs]:
    """:class:`SizeInputs` from a rule's named inputs (keys ``stats_<N>_<T_p>``,
    ``summary_<N>_<T_p>_<method>``, ``steady_<N>_<method>``, ``series_<N>``, ``bands_<N>``) and its
    ``specs`` param: one {N, L, Tp: [T_p strings], methods: [...]} per size."""
    out = []
    for s in specs:
        N = int(s["N"])
        series = named[f"series_{N}"]
        inp = SizeInputs(N=N, L=int(s["L"]), series=[series] if isinstance(series, str) else list(series),
                         band_growth=named.get(f"bands_{N}"))
        for tp in s["Tp"]:
            inp.statistics[float(tp)] = named[f"stats_{N}_{tp}"]
            for m in s["methods"]:
                inp.epm_summaries[(float(tp), m)] = named[f"summary_{N}_{tp}_{m}"]
        inp.epm_steady = {m: named[f"steady_{N}_{m}"] for m in s["methods"]}
        out.append(inp)
    return out
