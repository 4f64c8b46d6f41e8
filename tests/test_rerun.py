"""Config edits rerun only what changed (issue 16, point 6).

Rules pass only the config keys their job reads, so Snakemake's default rerun triggers
(mtime, params, input, software-env, code) replan a finished job only when one of *its*
keys changes. Checked on the tiny test config: run one glass up to its forward AQS, edit
the config as a new user would, and read the dry run's job table.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
TINY = ROOT / "tests" / "data" / "tiny.yaml"
SAMPLE = "results/lerner-poly2d/d2/N400/Tp3.00/seed1"


def snake(workdir, config, *args):
    """Snakemake on `workdir` with `config` (a dict) as its only config file."""
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    cmd = [str(SNAKEMAKE), *args, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--cores", "2", "--configfile", str(path)]
    env = {**os.environ, "NUMBA_NUM_THREADS": "2"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)


def planned(workdir, config, *targets):
    """The dry run's job table {rule: count} (empty: nothing to be done)."""
    r = snake(workdir, config, "-n", *targets)
    text = r.stdout + r.stderr
    assert r.returncode == 0, text[-3000:]
    if "Nothing to be done" in text:
        return {}
    m = re.search(r"Job stats:\s*\n\s*job\s+count\s*\n\s*-+\s+-+\s*\n(.*?)\n\s*total\s+(\d+)", text, re.S)
    assert m, text[-3000:]
    jobs = {}
    for line in m.group(1).splitlines():
        name, count = line.split()
        jobs[name] = int(count)
    assert sum(jobs.values()) == int(m.group(2))
    return jobs


def edited(config, **sections):
    """A copy of `config` with keys of some sections replaced."""
    new = {k: dict(v) if isinstance(v, dict) else v for k, v in config.items()}
    for section, keys in sections.items():
        new[section] = {**new.get(section, {}), **keys}
    return new


@pytest.fixture(scope="module")
def forward_done(tmp_path_factory):
    """The tiny config run up to the forward AQS of one glass."""
    wd = tmp_path_factory.mktemp("rerun")
    config = yaml.safe_load(TINY.read_text())
    r = snake(wd, config, f"{SAMPLE}/aqs_simple_shear_forward.json")
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    return wd, config


def test_new_direction_plans_only_the_backward_aqs(forward_done):
    wd, config = forward_done
    targets = [f"{SAMPLE}/aqs_simple_shear_{d}.json" for d in ("forward", "backward")]
    assert planned(wd, config, targets[0]) == {}
    new = edited(config, aqs={"directions": ["forward", "backward"]},
                 epm={"L": [8, 12]}, **{"yield": {"frozen_max_strain": 0.15}})
    r = snake(wd, new, "-n", *targets)
    assert planned(wd, new, *targets) == {"aqs": 1}, (r.stdout + r.stderr)[-3000:]
    text = r.stdout + r.stderr
    assert "aqs_simple_shear_backward.json" in text
    assert not re.search(r"output:.*aqs_simple_shear_forward", text), text[-3000:]


def test_unrelated_sections_replan_no_preparation(forward_done):
    wd, config = forward_done
    targets = [f"{SAMPLE}/{name}" for name in ("liquid.parquet", "glass.parquet",
                                               "aqs_simple_shear_forward.json")]
    new = edited(config, epm={"L": [8, 12], "realisations": 3},
                 bands={"epm_L": [8], "realisations": 1},
                 activity={"threshold": 0.2, "map_strain": 0.04},
                 aqs={"geometries": ["simple_shear", "pure_shear"]},
                 bonds={"check_strain": 0.02},
                 **{"yield": {"frozen_max_strain": 0.15, "radius": 3.0}})
    assert planned(wd, new, *targets) == {}
    # a key the AQS reads does replan it (the trigger stays on), but not the glass
    new = edited(config, aqs={"event_threshold": 1.0e-5})
    assert planned(wd, new, *targets) == {"aqs": 1}


def test_jobs_share_the_suites_numba_cache(forward_done):
    """The Snakemake jobs compiled into (or loaded from) the pytest process's numba cache:
    one base directory for every process, keyed by the package source (tests/conftest.py)."""
    cache = Path(os.environ["NUMBA_CACHE_DIR"])
    assert cache.parent == Path(os.environ["GLASS2EPM_NUMBA_CACHE_BASE"])
    assert list(cache.rglob("*.nbi")), cache
    assert not list(cache.glob("src-*")), "a job nested its own cache under the suite's"
    r = subprocess.run([sys.executable, "-c", "import glass2epm, os; print(os.environ['NUMBA_CACHE_DIR'])"],
                       capture_output=True, text=True, env={**os.environ})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(cache)
