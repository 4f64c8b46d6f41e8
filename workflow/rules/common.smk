# Shared helpers: sample lists, output paths, resource estimates.
import itertools
import os

from glass2epm.core.config import tp_key
from glass2epm.epm import matched_lattice as _matched_lattice
from glass2epm.prepare.onset import absolute_tp

RESULTS = config["results"]
PRESET = config["model"]["preset"]
DIM = config["model"]["dim"]

# Job scripts import the package of this checkout, whatever environment runs them.
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        [os.path.join(workflow.basedir, "workflow"), os.environ.get("PYTHONPATH", "")]
    )
)

# One sample = one directory; pooled statistics live one level up.
LEVELS = {
    "sample": os.path.join("{preset}", "d{dim}", "N{N}", "Tp{Tp}", "seed{seed}"),
    "tp": os.path.join("{preset}", "d{dim}", "N{N}", "Tp{Tp}"),
    "n": os.path.join("{preset}", "d{dim}", "N{N}"),
    "top": "",
}
SAMPLE = os.path.join(RESULTS, LEVELS["sample"])
FIGURES = os.path.join(RESULTS, "figures")
ENV = os.path.join(workflow.basedir, "envs", "glass2epm.yaml")


def out(level, name):
    """An output path at a level of the results tree (sample, tp, n or top)."""
    return os.path.join(RESULTS, LEVELS[level], name)


def log(level, name):
    """The log file of a job writing at that level (mirrors the results tree)."""
    return os.path.join(RESULTS, "logs", LEVELS[level], f"{name}.log")


def bench(level, name):
    """The benchmark (timing) file of a job."""
    return os.path.join(RESULTS, "benchmarks", LEVELS[level], f"{name}.tsv")


def figure(name):
    return os.path.join(FIGURES, name)


wildcard_constraints:
    preset=r"[a-z0-9\-]+",
    dim=r"[23]",
    N=r"\d+",
    Tp=r"\d+\.\d\d",
    seed=r"\d+",


def keys(section, *names):
    """Only `names` of a config section, as the params of a job that reads just those.

    A rule's params are its rerun trigger: passing a whole section would replan a
    finished job whenever an unrelated key of that section changes. Each rule passes
    exactly the keys its script reads, under the same param and key names.
    """
    return {k: config[section][k] for k in names}


def abs_tp(t):
    """A T_p of the config (glasses.Tp, epm.renewal_Tp, swap_mc.sweeps_by_Tp keys) in ε/k_B:
    the config's values are in `glasses.Tp_units` (absolute, or multiples of T_onset).
    """
    g = config["glasses"]
    return absolute_tp([float(t)], g["Tp_units"], PRESET, g["T_onset"])[0]


def tp_str(t):
    """T_p as it appears in paths and config keys: two decimals ("0.40")."""
    return f"{float(t):.2f}"


def _sweep_table(path):
    """Rows (N, Tp, seed) of a TSV sweep table, validated with messages naming the file."""
    import csv

    rows = []
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        missing = {"N", "Tp", "seed"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(
                f"sweep table {path}: missing columns {sorted(missing)} (need N, Tp, seed; tab-separated)"
            )
        for k, r in enumerate(reader, start=2):
            try:
                row = (int(r["N"]), float(r["Tp"]), int(r["seed"]))
            except ValueError as exc:
                raise ValueError(f"sweep table {path}, line {k}: {exc}") from None
            tp_key(
                row[1], f"sweep table {path}, line {k}"
            )  # at most two decimals: paths hold two
            rows.append(row)
    if not rows:
        raise ValueError(f"sweep table {path}: no rows")
    return rows


def glass_samples():
    """Every (preset, dim, N, Tp, seed): the product of the `glasses` lists, or the sweep
    table; T_p in ε/k_B (`glasses.Tp_units: onset` multiplies by the onset temperature).
    """
    g = config["glasses"]
    if g["table"]:
        combos = _sweep_table(g["table"])
    else:
        combos = itertools.product(g["N"], g["Tp"], g["seeds"])
    combos = list(combos)
    temps = absolute_tp([t for _, t, _ in combos], g["Tp_units"], PRESET, g["T_onset"])
    return [
        dict(preset=PRESET, dim=DIM, N=n, Tp=tp_str(t), seed=s)
        for (n, _, s), t in zip(combos, temps)
    ]


def onset_samples():
    o = config["onset"]
    return [
        dict(preset=p, dim=2, N=o["N"], Tp=tp_str(t), seed=s)
        for p, temps in o["Tp"].items()
        for t in temps
        for s in o["seeds"]
    ]


def samples_like(wildcards, **fixed):
    """The glass samples sharing the given wildcards (e.g. all seeds of one N and T_p)."""
    keys = [k for k in ("preset", "dim", "N", "Tp") if k in wildcards.keys()]
    want = {k: str(wildcards[k]) for k in keys}
    want.update({k: str(v) for k, v in fixed.items()})
    return [s for s in glass_samples() if all(str(s[k]) == v for k, v in want.items())]


def sample_files(pattern, samples):
    return [pattern.format(**s) for s in samples]


def swap_sweeps(wildcards):
    mc = config["swap_mc"]
    by_tp = {tp_str(abs_tp(k)): v for k, v in mc["sweeps_by_Tp"].items()}
    return int(by_tp.get(wildcards.Tp, mc["sweeps"]))


def swap_runtime(wildcards, attempt):
    """Minutes: trials at 5·10⁵/s up to N = 2·10⁴ and 2.5·10⁵/s above, doubled per retry, at
    least 5. Measured on one thread (2D): 1.1-1.3·10⁶ trials/s at N ≤ 10⁴; 3.8-8·10⁵ at
    N = 4·10⁴, the low end beside another job (the Verlet lists no longer fit the caches).
    A job killed at the limit resumes from its checkpoint on the retry."""
    n = int(wildcards.N)
    trials = (swap_sweeps(wildcards) + config["swap_mc"]["tune_sweeps"]) * n
    rate = 5e5 if n <= 20000 else 2.5e5
    return max(5, int(trials / rate / 60) + 5) * attempt


def aqs_strain(wildcards):
    a = config["aqs"]
    return float(a["strain_by_N"].get(str(wildcards.N), a["strain"]))


def aqs_runtime(wildcards, attempt):
    """Minutes: 0.25 s per step × (N/10⁴)², at least 10. Measured on one thread beside
    another job (2D, step 1e-4, to γ = 0.3, events included; config/paper_a.yaml):
    0.14-0.15 s per step at N = 10⁴ (4 glasses), 1.73 s at N = 4·10⁴ (N^1.8 between
    the two); on 2 threads from γ = 0, 1.59 s at 4·10⁴ and 10.6 s at 10⁵ (N^2.07: events
    per step ∝ N, each FIRE relaxation ∝ N). A run killed at the limit resumes from
    its checkpoint on the retry."""
    a = config["aqs"]
    steps = aqs_strain(wildcards) / a["step"]
    per_step = 0.25 * (int(wildcards.N) / 1e4) ** 2
    return max(10, int(steps * per_step / 60) + 10) * attempt


def frozen_runtime(wildcards):
    """Minutes per frozen-matrix chunk: sites ≈ N/9, 2 directions, ≤ max_strain/step steps
    of ~20 ms each (measured ~12 ms), at least 10."""
    y = config["yield"]
    sites = int(wildcards.N) / y["spacing"] ** 2 / y["frozen_chunks"]
    steps = 2 * y["frozen_max_strain"] / y["frozen_step"]
    return max(10, int(sites * steps * 0.02 / 60) + 10)


def mem_for(wildcards, attempt, per_particle_kb=2.0, base=1000):
    """MB: a base for the interpreter and numba, plus a per-particle share."""
    return int(base + per_particle_kb * int(wildcards.N) / 1024 * 4) * attempt


def fig_samples(**fixed):
    """Samples at the figure size (config `figures.N`, default the largest N)."""
    samples = glass_samples()
    n = config["figures"]["N"] or max(int(s["N"]) for s in samples)
    chosen = [s for s in samples if int(s["N"]) == int(n)]
    if not chosen:
        raise ValueError(f"config figures.N = {n} is not among the glasses' N")
    return [s for s in chosen if all(str(s[k]) == str(v) for k, v in fixed.items())]


def fig_tps():
    return sorted({s["Tp"] for s in fig_samples()}, key=float)


def fig_glass(Tp):
    """The single glass shown at T_p (config `figures.seed`, default the first seed)."""
    cands = fig_samples(Tp=Tp)
    seed = config["figures"]["seed"]
    if seed is not None:
        cands = [s for s in cands if int(s["seed"]) == int(seed)]
    if not cands:
        raise ValueError(f"no glass at T_p = {Tp} for config figures.seed = {seed}")
    return cands[0]


def band_lattices():
    """EPM lattice sizes of the band runs: growth (epm_L) and size scaling (size_L)."""
    b = config["bands"]
    return sorted(set(b["epm_L"]) | set(b["size_L"]))


def renewal_samples():
    """Figure-size samples at the EPM renewal temperature (T_p = 0.7)."""
    ren = tp_str(abs_tp(config["epm"]["renewal_Tp"]))
    chosen = fig_samples(Tp=ren)
    if not chosen:
        raise ValueError(f"no glasses at epm.renewal_Tp = {ren} for the figure size")
    return chosen


def _by_tp(level, name, tps=None):
    return {tp: out(level, name).format(**fig_glass(tp)) for tp in (tps or fig_tps())}


def fig_tp3():
    """Up to three T_p for map panels: highest, middle, lowest."""
    tps = fig_tps()
    return sorted({tps[-1], tps[len(tps) // 2], tps[0]}, key=float, reverse=True)


def fig4_inputs(wildcards):
    tps = fig_tps()
    d = {
        f"map_{tp}": out("sample", "yield_bond.parquet").format(**fig_glass(tp))
        for tp in fig_tp3()
    }
    d["compare"] = out("n", "yield_compare.parquet").format(**fig_samples()[0])
    for m in ("bond", "frozen"):
        for tp in tps:
            d[f"blocks_{m}_{tp}"] = sample_files(
                out("sample", f"yield_{m}.blocks.parquet"), fig_samples(Tp=tp)
            )
    return d


def matched_lattice(N):
    """The EPM lattice of a particle box: L = round(N^(1/dim) / yield.block) blocks."""
    return _matched_lattice(N, DIM, config["yield"]["block"])


def epm_lattices(N):
    """EPM lattice sizes run for glasses of N particles: epm.L, plus the matched one."""
    L = set(config["epm"]["L"])
    if config["epm"]["match_particles"]:
        L.add(matched_lattice(N))
    return sorted(L)


def compare_lattice(N):
    """The lattice compared with N-particle glasses: the matched one, else the largest."""
    if config["epm"]["match_particles"]:
        return matched_lattice(N)
    return max(config["epm"]["L"])


def steady_samples_glasses():
    """Glasses at the renewal T_p of every N (P(σ_s) against system size, Fig. 5b)."""
    ren = tp_str(abs_tp(config["epm"]["renewal_Tp"]))
    return [s for s in glass_samples() if s["Tp"] == ren]


def steady_samples_epm():
    """EPM steady samples of Fig. 5(b), one file per lattice: every lattice of the
    figure-size glasses, the matched lattice of every N taken from that N's maps."""
    ren = renewal_samples()[0]
    by_L = {L: ren for L in epm_lattices(ren["N"])}
    if config["epm"]["match_particles"]:
        by_L.update({matched_lattice(s["N"]): s for s in steady_samples_glasses()})
    return [
        out("tp", f"epm_bond_L{L}.steady.parquet").format(**s)
        for L, s in sorted(by_L.items())
    ]


def fig5_inputs(wildcards):
    ren = renewal_samples()
    Lc = compare_lattice(ren[0]["N"])
    d = {
        "particles_ren": sample_files(
            out("sample", "aqs_simple_shear_forward.parquet"), ren
        ),
        "example": out("tp", f"epm_bond_L{Lc}.example.parquet").format(**ren[0]),
        "steady": out("top", "steady_samples.parquet"),
        "compare": out("n", "epm_compare.parquet").format(**ren[0]),
    }
    for tp in fig_tp3():
        s = fig_samples(Tp=tp)
        d[f"curve_particles_{tp}"] = sample_files(
            out("sample", "aqs_simple_shear_forward.parquet"), s
        )
        for m in config["epm"]["methods"]:
            d[f"curve_epm_{m}_{tp}"] = out(
                "tp", f"epm_{m}_L{compare_lattice(s[0]['N'])}.curves.parquet"
            ).format(**s[0])
    return d


def fig6_inputs(wildcards):
    Lmax = max(config["bands"]["epm_L"])
    d = {f"particles_{tp}": p for tp, p in _by_tp("sample", "activity.parquet").items()}
    d.update(
        {
            f"epm_{tp}": p
            for tp, p in _by_tp("tp", f"epm_bands_L{Lmax}_r0.activity.parquet").items()
        }
    )
    return d


def fig7_inputs(wildcards):
    Lmax = max(config["bands"]["epm_L"])
    d = {}
    for tp in fig_tps():
        g = fig_glass(tp)
        d[f"pprof_{tp}"] = out("tp", "particles.band_profiles.parquet").format(**g)
        d[f"pwid_{tp}"] = out("tp", "particles.band_widths.parquet").format(**g)
        d[f"eprof_{tp}"] = out("tp", f"epm_L{Lmax}.band_profiles.parquet").format(**g)
        for L in config["bands"]["epm_L"]:
            d[f"ewid_{L}_{tp}"] = out("tp", f"epm_L{L}.band_widths.parquet").format(**g)
    return d


def fig9_inputs(wildcards):
    g = fig_glass(fig_tps()[0])
    d = {
        f"prof_{L}": out("tp", f"epm_L{L}.band_profiles.parquet").format(**g)
        for L in config["bands"]["size_L"]
    }
    d["band_size"] = out("tp", "band_size.parquet").format(**g)
    return d


def summary_inputs(wildcards):
    ren = renewal_samples()[0]
    g = fig_samples()[0]
    d = {
        "calibration": out("n", "epm_calibration.json").format(**ren),
        "yield_compare": out("n", "yield_compare.parquet").format(**g),
        "epm_compare": out("n", "epm_compare.parquet").format(**ren),
        "steady": out("top", "steady_samples.parquet"),
    }
    for tp in fig_tps():
        gl = fig_glass(tp)
        d[f"tails_{tp}"] = out("tp", "bond_tails.json").format(**gl)
        d[f"growth_{tp}"] = out("tp", "band_growth.json").format(**gl)
        d[f"size_{tp}"] = out("tp", "band_size.parquet").format(**gl)
    return d


wildcard_constraints:
    sizes=r"\d+(_\d+)*",


def paper_scale_specs(sizes):
    """The sizes of a `paper_scale` target ("10000_40000"): per N the lattice it is compared
    with, the T_p of its glasses and the EPM methods. Bad sizes are named before any job runs.
    """
    ren = tp_str(abs_tp(config["epm"]["renewal_Tp"]))
    cal = renewal_samples()[0]
    cal_tps = {s["Tp"] for s in glass_samples() if s["N"] == cal["N"]}
    specs = []
    for n in sorted({int(x) for x in sizes.split("_")}):
        gl = [s for s in glass_samples() if int(s["N"]) == n]
        tps = sorted({s["Tp"] for s in gl}, key=float)
        if ren not in tps:
            raise ValueError(
                f"paper_scale: no glasses of N = {n} at epm.renewal_Tp = {ren} "
                f"(glasses of N = {n} at T_p: {tps or 'none'})"
            )
        missing = sorted(set(tps) - cal_tps, key=float)
        if missing:
            raise ValueError(
                f"paper_scale: the EPM calibration size N = {cal['N']} has no glasses at "
                f"T_p = {missing} (needed for the EPM of N = {n})"
            )
        specs.append(
            dict(
                N=n,
                L=compare_lattice(n),
                Tp=tps,
                methods=list(config["epm"]["methods"]),
            )
        )
    return specs


def paper_scale_caption(sizes):
    """The paper_scale caption as plain text (its Jinja fields filled), for the HTML page."""
    from types import SimpleNamespace

    from jinja2 import Template

    with open(
        os.path.join(workflow.basedir, "workflow", "report", "paper_scale.rst")
    ) as fh:
        text = Template(fh.read()).render(
            snakemake=SimpleNamespace(config=config, wildcards={"sizes": sizes})
        )
    return " ".join(text.split())


def paper_scale_default():
    """The `paper_scale` table of `all` and of the landing page: every N with glasses at the
    renewal T_p whose T_p the calibration size covers (none: an empty list)."""
    ren = tp_str(abs_tp(config["epm"]["renewal_Tp"]))
    ok = []
    for n in sorted({int(s["N"]) for s in glass_samples() if s["Tp"] == ren}):
        try:
            paper_scale_specs(str(n))
        except ValueError:
            continue
        ok.append(str(n))
    return [out("top", f"report/paper_scale_N{'_'.join(ok)}.tsv")] if ok else []


def paper_scale_pages():
    """The HTML page and figure of the default paper_scale table (`all`)."""
    return [
        p
        for t in paper_scale_default()
        for p in (
            t.replace(".tsv", ".html"),
            figure(os.path.basename(t).replace(".tsv", ".png")),
        )
    ]


def paper_scale_inputs(wildcards):
    """Named inputs of `paper_scale` (keys as glass2epm.analysis.paper_scale.named_inputs):
    particles of each N, the EPM of the calibration size on the lattice matched to N."""
    ren = tp_str(abs_tp(config["epm"]["renewal_Tp"]))
    cal = renewal_samples()[0]
    d = {}
    for s in paper_scale_specs(wildcards.sizes):
        n, L = s["N"], s["L"]
        gl = [g for g in glass_samples() if int(g["N"]) == n]
        for tp in s["Tp"]:
            first = next(g for g in gl if g["Tp"] == tp)
            d[f"stats_{n}_{tp}"] = out("tp", "aqs_statistics.parquet").format(**first)
            for m in s["methods"]:
                at = {**cal, "Tp": tp}
                d[f"summary_{n}_{tp}_{m}"] = out(
                    "tp", f"epm_{m}_L{L}.summary.parquet"
                ).format(**at)
                if tp == ren:
                    d[f"steady_{n}_{m}"] = out(
                        "tp", f"epm_{m}_L{L}.steady.parquet"
                    ).format(**at)
        at_ren = [g for g in gl if g["Tp"] == ren]
        d[f"series_{n}"] = sample_files(
            out("sample", "aqs_simple_shear_forward.parquet"), at_ren
        )
        d[f"bands_{n}"] = out("tp", "band_growth.json").format(**at_ren[0])
    return d


# the report's figures, in the order of the landing page, and their caption files
FIGURE_CAPTIONS = [(f"fig{k}.png", f"fig{k}.rst") for k in range(1, 10)] + [
    ("onset.png", "onset.rst"),
    ("thermal.png", "thermal.rst"),
    ("thermal_bridge.png", "thermal_bridge.rst"),
    ("fields.png", "fields.rst"),
    ("aqrd.png", "aqrd.rst"),
    ("qlm.png", "qlm.rst"),
]


def rendered_captions():
    """The captions of FIGURE_CAPTIONS as plain text (their Jinja fields filled from the
    config, as Snakemake's report does); params of the landing page: it reruns when a
    caption's text changes."""
    from types import SimpleNamespace

    from jinja2 import Template

    ctx = SimpleNamespace(config=config)
    texts = []
    for _, rst in FIGURE_CAPTIONS:
        with open(os.path.join(workflow.basedir, "workflow", "report", rst)) as fh:
            text = Template(fh.read()).render(snakemake=ctx)
        texts.append(" ".join(text.replace("\\|", "|").split()))
    return texts


def thermal_T_str(t):
    """A thermal-EPM temperature as it appears in paths."""
    return f"{float(t):g}"


def thermal_run_files(kind):
    """One file of every thermal-EPM (L, T) run."""
    th = config["thermal"]
    return [
        out("top", f"thermal/lattice_L{L}_T{thermal_T_str(T)}.{kind}.parquet")
        for L in th["L"]
        for T in th["lattice_T"]
    ]


def bridge_samples(T):
    """The glasses of the particle bridge at temperature T (ε/k_B): T_p = T, thermal.bridge_N
    particles, seeds 1 .. thermal.bridge_seeds (their SWAP MC liquids are the liquids at T).
    """
    th = config["thermal"]
    return [
        dict(preset=PRESET, dim=DIM, N=th["bridge_N"], Tp=tp_str(T), seed=s)
        for s in range(1, th["bridge_seeds"] + 1)
    ]


def qlm_samples():
    """The glasses of the qlm stage: qlm.N × qlm.Tp (units of glasses.Tp) × seeds 1 .. qlm.seeds."""
    q = config["qlm"]
    return [
        dict(preset=PRESET, dim=DIM, N=n, Tp=tp_str(abs_tp(t)), seed=s)
        for t in q["Tp"]
        for n in q["N"]
        for s in range(1, q["seeds"] + 1)
    ]


def qlm_epm_files():
    """The EPM extreme-value tables of the qlm stage: for the qlm preparations that have calibrated
    EPM thresholds (those in glasses.Tp, at the figure size)."""
    tps = {tp_str(abs_tp(t)) for t in config["qlm"]["Tp"]}
    return [
        out("tp", "qlm_epm_extremes.parquet").format(**fig_glass(tp))
        for tp in fig_tps()
        if tp in tps
    ]


def all_targets():
    samples = glass_samples()
    t = sample_files(out("sample", "properties.json"), samples)
    t += [out("top", "onset.parquet"), figure("onset.png"), figure("onset.pdf")]
    t += sample_files(out("sample", "bond_field.parquet"), samples)
    t += sorted(set(sample_files(out("tp", "bond_tails.json"), samples)))
    t += sorted(set(sample_files(out("n", "bond_prefactors.parquet"), samples)))
    t += [figure(f"fig{k}.{ext}") for k in range(1, 10) for ext in ("png", "pdf")]
    t += [out("top", "report/comparison.tsv"), out("top", "report/index.html")]
    t += paper_scale_default() + paper_scale_pages()
    a = config["aqs"]
    for g in a["geometries"]:
        for d in a["directions"]:
            t += sample_files(out("sample", f"aqs_{g}_{d}.json"), samples)
    t += sample_files(out("sample", "activity.parquet"), samples)
    t += sorted(set(sample_files(out("tp", "aqs_statistics.parquet"), samples)))
    for m in ("bond", "frozen"):
        t += sample_files(out("sample", f"yield_{m}.parquet"), samples)
    t += sorted(set(sample_files(out("n", "yield_compare.parquet"), samples)))
    t += [out("top", "expansion_check.parquet")]
    # the EPM needs P_renewal: only sizes that have glasses at renewal_Tp
    ren = tp_str(abs_tp(config["epm"]["renewal_Tp"]))
    with_renewal = {s["N"] for s in samples if s["Tp"] == ren}
    epm_samples = [s for s in samples if s["N"] in with_renewal]
    t += sorted(set(sample_files(out("n", "epm_compare.parquet"), epm_samples)))
    for name in ("band_growth.json", "band_size.parquet", "plasticity_maps.json"):
        t += sorted(set(sample_files(out("tp", name), epm_samples)))
    t += [figure("thermal.png"), figure("thermal.pdf"), out("top", "thermal/fits.json")]
    t += [
        figure("thermal_bridge.png"),
        figure("thermal_bridge.pdf"),
        out("top", "thermal/bridge.json"),
    ]
    t += [figure("aqrd.png"), figure("aqrd.pdf")]
    t += [figure("qlm.png"), figure("qlm.pdf"), out("top", "qlm/exponents.parquet")]
    return t
