# Shared helpers: sample lists, output paths, resource estimates.
import itertools

RESULTS = config["results"]
PRESET = config["model"]["preset"]
DIM = config["model"]["dim"]

# One sample = one directory; pooled statistics live one level up.
SAMPLE = RESULTS + "/{preset}/d{dim}/N{N}/Tp{Tp}/seed{seed}"
LOGS = RESULTS + "/logs/{preset}/d{dim}/N{N}/Tp{Tp}/seed{seed}"
BENCH = RESULTS + "/benchmarks/{preset}/d{dim}/N{N}/Tp{Tp}/seed{seed}"
FIGURES = RESULTS + "/figures"


wildcard_constraints:
    preset=r"[a-z0-9\-]+",
    dim=r"[23]",
    N=r"\d+",
    Tp=r"\d+\.\d\d",
    seed=r"\d+",


def tp_str(t):
    """T_p as it appears in paths and config keys: two decimals ("0.40")."""
    return f"{float(t):.2f}"


def glass_samples():
    """Every (preset, dim, N, Tp, seed) of the `glasses` section (lists expand to all combinations)."""
    g = config["glasses"]
    return [
        dict(preset=PRESET, dim=DIM, N=n, Tp=tp_str(t), seed=s)
        for n, t, s in itertools.product(g["N"], g["Tp"], g["seeds"])
    ]


def onset_samples():
    o = config["onset"]
    return [
        dict(preset=p, dim=2, N=o["N"], Tp=tp_str(t), seed=s)
        for p, temps in o["Tp"].items()
        for t in temps
        for s in o["seeds"]
    ]


def sample_files(pattern, samples):
    return [pattern.format(**s) for s in samples]


def swap_sweeps(wildcards):
    mc = config["swap_mc"]
    return int(mc["sweeps_by_Tp"].get(wildcards.Tp, mc["sweeps"]))


def swap_runtime(wildcards, attempt):
    """Minutes: trials at ~1e6/s (conservative), doubled per retry, at least 5."""
    trials = (swap_sweeps(wildcards) + config["swap_mc"]["tune_sweeps"]) * int(wildcards.N)
    return max(5, int(trials / 1e6 / 60 * 2) + 5) * attempt


def mem_for(wildcards, attempt, per_particle_kb=2.0, base=1000):
    """MB: a base for the interpreter and numba, plus a per-particle share."""
    return int(base + per_particle_kb * int(wildcards.N) / 1024 * 4) * attempt


def all_targets():
    t = sample_files(SAMPLE + "/properties.json", glass_samples())
    t += [RESULTS + "/onset/onset.parquet", FIGURES + "/onset.png", FIGURES + "/onset.pdf"]
    return t
