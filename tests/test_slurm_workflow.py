"""The project's own workflow through ``snakemake --executor slurm`` on a real single-node
SLURM cluster (tests/slurm_cluster.py): swap_mc -> minimize -> properties (dependent rules)
and the frozen-matrix yield map scattered over 2 chunk jobs and gathered.

Skipped with a clear reason where the cluster cannot run (not root, no apt-get, packages
not installable). A failing job (an injected bad input) stops the run naming the rule and
its log, and a rerun after fixing it recomputes only what is missing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from slurm_cluster import REPO_ROOT, run_snakemake, slurm_cluster  # noqa: E402

CONFIG = Path(__file__).resolve().parent / "data" / "slurm.yaml"
SAMPLE = "results/lerner-poly2d/d2/N400/Tp3.00/seed1"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with slurm_cluster(tmp_path_factory.mktemp("slurm-real")) as c:
        yield c


def _run(cluster, wd, *targets, config=()):
    extra = cluster.snakemake_args(*targets, "--configfile", str(CONFIG))
    if config:
        extra += ["--config", *config]
    return run_snakemake(wd, REPO_ROOT / "Snakefile", env=cluster.env, timeout=900, extra_args=extra)


def test_real_workflow_on_slurm(cluster, tmp_path):
    wd = tmp_path / "wd"
    wd.mkdir()
    targets = [f"{SAMPLE}/properties.json", f"{SAMPLE}/yield_frozen.parquet"]
    res = _run(cluster, wd, *targets)
    assert res.returncode == 0, res.stdout[-6000:]
    props = json.loads((wd / SAMPLE / "properties.json").read_text())
    assert props["N"] == 400 and props["max_force"] < 1e-9
    assert (wd / SAMPLE / "yield_frozen.blocks.parquet").exists()
    for k in (0, 1):
        assert (wd / SAMPLE / f"yield_frozen_chunks/chunk{k}.sites.parquet").exists()
    # every cluster job was a SLURM job (the plugin names them in its output)
    assert res.stdout.count("Job ") >= 5 or "SLURM" in res.stdout

    # an injected failure: an unreadable glass for the bond map names rule and log
    glass = wd / SAMPLE / "glass.parquet"
    good = glass.read_bytes()
    glass.write_bytes(b"not a parquet file")
    bad = _run(cluster, wd, f"{SAMPLE}/yield_bond.parquet")
    assert bad.returncode != 0
    assert "Error in rule yield_map_bond" in bad.stdout
    assert "yield_map_bond.log" in bad.stdout
    # fix the input: only the bond map runs, nothing upstream is recomputed
    glass.write_bytes(good)
    before = (wd / SAMPLE / "liquid.parquet").stat().st_mtime_ns
    ok = _run(cluster, wd, f"{SAMPLE}/yield_bond.parquet", "--rerun-triggers", "mtime")
    assert ok.returncode == 0, ok.stdout[-6000:]
    assert (wd / SAMPLE / "liquid.parquet").stat().st_mtime_ns == before
    assert "rule swap_mc" not in ok.stdout and "rule minimize" not in ok.stdout
