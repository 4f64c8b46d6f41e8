"""The Snakemake workflow end to end on a tiny configuration, and config validation."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from glass2epm.yieldstress.cavity import mean_spacing
from glass2epm.core.io import read_configuration, read_table
from glass2epm.yieldstress.maps import assign_particles, coarse_grain

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def snake(tmp_path, *args, config=None):
    cmd = [str(SNAKEMAKE), *args, "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
           "--cores", "2", "--configfile", str(ROOT / "tests" / "data" / "tiny.yaml")]
    if config:
        cmd += ["--config", *config]
    env = {**os.environ, "NUMBA_NUM_THREADS": "2"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)


def test_unknown_config_key_is_named(tmp_path):
    r = snake(tmp_path, "-n", config=["bogus_key=1"])
    assert r.returncode != 0
    assert "bogus_key" in r.stderr + r.stdout


def test_wrong_type_is_named(tmp_path):
    r = snake(tmp_path, "-n", config=[f"glasses={{'N': ['ten']}}"])
    assert r.returncode != 0
    out = r.stderr + r.stdout
    assert "ten" in out and "integer" in out


def test_tiny_workflow_end_to_end(tmp_path):
    r = snake(tmp_path, "all")
    assert r.returncode == 0, r.stderr[-4000:]
    res = tmp_path / "results"
    props = sorted(res.glob("lerner-poly2d/d2/N400/Tp3.00/seed*/properties.json"))
    assert len(props) == 2
    p = json.loads(props[0].read_text())
    assert p["N"] == 400 and p["max_force"] < 1e-9 and p["shear_modulus"] > 0
    for name in ["onset"] + [f"fig{k}" for k in range(1, 10)]:
        for ext in ("png", "pdf"):
            assert (res / "figures" / f"{name}.{ext}").stat().st_size > 1000, name
    table = (res / "report" / "comparison.tsv").read_text()
    assert "ε_pl" in table and "tail exponent" in table
    rep = snake(tmp_path, "all", "--report", str(tmp_path / "report.html"))
    assert rep.returncode == 0 and (tmp_path / "report.html").stat().st_size > 10000, rep.stderr[-2000:]
    # P_init of the default threshold convention: the pooled block residual strengths
    # σ_Y − σ₀, recomputed here from the per-sample yield maps' site tables
    tp = res / "lerner-poly2d" / "d2" / "N400" / "Tp3.00"
    thr = read_table(tp / "epm_thresholds_frozen.parquet")
    assert thr.meta["extra"]["threshold"] == "residual"
    want = []
    for seed in sorted(tp.glob("seed*")):
        conf = read_configuration(seed / "glass.parquet")
        sites = read_table(seed / "yield_frozen.sites.parquet")
        r = np.asarray(sites["sigma_y"]) - np.asarray(sites["sigma0"])
        part = assign_particles(conf, np.asarray(sites["site"]), sites.meta["extra"]["radius"], r)
        v = coarse_grain(conf, part, 5 * mean_spacing(conf))["value"]
        want.append(v[np.isfinite(v) & (v > 0)])
    np.testing.assert_allclose(np.sort(thr["sigma_y"]), np.sort(np.concatenate(want)), rtol=1e-12)
    _check_paper_scale(tmp_path, res)
    # every rule wrote its log
    assert list((res / "logs").rglob("swap_mc.log"))
    # nothing to do on a rerun
    r2 = snake(tmp_path, "all", "-n")
    assert "Nothing to be done" in r2.stdout + r2.stderr


def _check_paper_scale(tmp_path, res):
    """Issue 17's (a)/(b) table of the tiny run (N = 400 against the matched L = 4): σ_s and the
    width of P(σ_s) recomputed here from the raw series and EPM steady tables, the peaks of the
    epm_compare rule, the exponents of band_growth.json; the CLI on the same tree writes the same
    table; the landing page shows it."""
    import pyarrow.parquet as pq

    table = (res / "report" / "paper_scale_N400.tsv").read_text()
    assert table.startswith("comparison\tquantity\tparticles") and "(b)" in table
    num = json.loads((res / "report" / "paper_scale_N400.json").read_text())["sizes"][0]
    assert num["N"] == 400 and num["L"] == 4 and num["glasses"] == {"3": 2, "2.5": 2}
    tp = res / "lerner-poly2d" / "d2" / "N400" / "Tp3.00"
    vals = []
    for seed in (1, 2):
        t = pq.read_table(tp / f"seed{seed}" / "aqs_simple_shear_forward.parquet").to_pandas()
        g = t["strain"].to_numpy()
        vals.append(t["sxy"].to_numpy()[g - g[0] >= 0.02])
    v = np.concatenate(vals)
    p = num["steady"]["particles"]
    assert p["mean"] == pytest.approx(v.mean(), rel=1e-12) and p["std"] == pytest.approx(v.std(), rel=1e-12)
    assert p["samples"] == 2 and p["std_ci"][0] <= p["std"] <= p["std_ci"][1] + 1e-12
    e = pq.read_table(tp / "epm_bond_L4.steady.parquet").to_pandas()["stress"].to_numpy()
    assert num["steady"]["epm_bond"]["std"] == pytest.approx(e.std(), rel=1e-12)
    cmp = read_table(res / "lerner-poly2d" / "d2" / "N400" / "epm_compare.parquet")
    for T, src, pk in zip(cmp["Tp"], cmp["source"], cmp["peak_stress"]):
        assert num["peak"][f"{T:g}"][src]["value"] == pytest.approx(pk, rel=1e-12)
    bg = json.loads((tp / "band_growth.json").read_text())
    assert num["band_growth"]["particles"]["exponent"] == bg["particles"]["exponent"]
    cli = subprocess.run([str(SNAKEMAKE.with_name("glass2epm")), "paper-scale", str(res / "lerner-poly2d" / "d2"),
                          "--sizes", "400", "--calibration-N", "400", "--renewal-Tp", "3", "--steady-from", "0.02",
                          "-o", str(tmp_path / "cli.tsv")], capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr[-2000:]
    assert (tmp_path / "cli.tsv").read_text() == table
    assert "Paper-scale comparison" in (res / "report" / "index.html").read_text()
    assert (res / "figures" / "paper_scale_N400.png").stat().st_size > 1000
    page = (res / "report" / "paper_scale_N400.html").read_text()
    assert "../figures/paper_scale_N400.png" in page and "std of P(σ_s)" in page
    bad = subprocess.run([str(SNAKEMAKE.with_name("glass2epm")), "paper-scale", str(res / "lerner-poly2d" / "d2"),
                          "--sizes", "400", "--calibration-N", "400", "--renewal-Tp", "0.7",
                          "-o", str(tmp_path / "bad.tsv")], capture_output=True, text=True)
    assert bad.returncode != 0 and "Tp0.70" in bad.stderr and not (tmp_path / "bad.tsv").exists()


def test_paper_scale_target_names_a_size_without_glasses(tmp_path):
    r = snake(tmp_path, "-n", "results/report/paper_scale_N400_123.tsv")
    assert r.returncode != 0
    assert "no glasses of N = 123" in r.stdout + r.stderr


def test_sweep_table_lists_its_jobs(tmp_path):
    table = ROOT / "tests" / "data" / "sweep.tsv"
    r = snake(tmp_path, "-n", config=[f"glasses={{'table': '{table}'}}"])
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout + r.stderr
    assert "N128/Tp3.00/seed4" in out and "N64/Tp3.00/seed1" in out
    bad = tmp_path / "bad.tsv"
    bad.write_text("N\tT\n64\t3\n")
    r = snake(tmp_path, "-n", config=[f"glasses={{'table': '{bad}'}}"])
    assert r.returncode != 0 and "missing columns" in r.stdout + r.stderr


def test_config_schema_documents_every_key():
    """Every config key has a description (meaning, units) and a default in the schema."""
    import yaml

    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    missing = []

    def walk(node, path):
        for key, sub in node.get("properties", {}).items():
            missing.extend(f"{path}{key}: no {f}" for f in ("description", "default") if f not in sub)
            walk(sub, f"{path}{key}.")

    walk(schema, "")
    assert not missing, missing
