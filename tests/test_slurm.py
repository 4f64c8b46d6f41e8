"""``snakemake --executor slurm`` against a real single-node SLURM cluster.

The cluster (munged + slurmctld + slurmd, Debian's Slurm 22.05) is started by
tests/slurm_cluster.py; the workflow is tests/slurm_workflow (seed -> 3 scattered
``part`` jobs -> gather -> local ``report``), run with profiles/slurm plus the
test-cluster flags of ``SlurmCluster.snakemake_args``.  Skipped when the cluster cannot
run here (not root, no apt-get, packages not installable).

Checks, each by an independent route:
* results: the total is recomputed here from the definition (weights by
  residue class, not the workflow's slicing);
* SLURM really ran the jobs: every cluster job logged its SLURM_JOB_ID, and
  ``scontrol show job`` reports it COMPLETED in partition ``debug`` with the
  rule's threads, mem_mb and runtime as its CPUs, memory and time limit;
* a failing job stops the run, naming the rule and its log; after fixing the
  input a rerun recomputes only what depends on it (mtimes and a run counter).

The two cluster tests are marked slow: about 1.5-3 minutes together on a
loaded 2-core machine (each level of the DAG costs the job's two Snakemake
start-ups plus the plugin's polling).  Two fast tests need no cluster: the
profile + workflow dry run and the generated slurm.conf.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from slurm_cluster import (  # noqa: E402
    SLURM_PROFILE, node_resources, run_snakemake, slurm_cluster, write_slurm_conf)

SNAKEFILE = Path(__file__).resolve().parent / "slurm_workflow" / "Snakefile"
N_PARTS = 3
N_NUMBERS = 30
WEIGHTS = (1, 2, 3)
# resources declared in the Snakefile, as scontrol reports them
DECLARED = {"seed": ("200M", "00:05:00"), "part": ("200M", "00:05:00"),
            "gather": ("300M", "00:05:00")}


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    with slurm_cluster(tmp_path_factory.mktemp("slurm")) as cluster:
        yield cluster


def expected_parts(weights):
    """Part i = w_i * sum of x^2 over x in 1..N_NUMBERS with (x - 1) % N_PARTS == i."""
    parts = [0] * N_PARTS
    for x in range(1, N_NUMBERS + 1):
        parts[(x - 1) % N_PARTS] += weights[(x - 1) % N_PARTS] * x * x
    return parts


def make_workdir(path: Path, weights) -> Path:
    (path / "inputs").mkdir(parents=True)
    for i, w in enumerate(weights):
        (path / "inputs" / f"weight_{i}.txt").write_text(f"{w}\n")
    return path


def snakemake(cluster, workdir):
    """Run the test workflow; gather asks for 2 threads, capped at the node's CPUs
    by ``--max-threads`` in ``cluster.snakemake_args``."""
    res = run_snakemake(workdir, SNAKEFILE, env=cluster.env, timeout=300,
                        extra_args=cluster.snakemake_args(
                            "--config", f"n_parts={N_PARTS}", f"n_numbers={N_NUMBERS}",
                            "gather_threads=2"))
    return res, min(2, cluster.cpus)


def ran(workdir: Path):
    """(rule, wildcard, slurm job id) for every job attempt, from ran.log."""
    path = workdir / "ran.log"
    return [tuple(line.split()) for line in path.read_text().splitlines()] if path.exists() else []


def scontrol_job(cluster, job_id: str) -> dict:
    res = cluster.run("scontrol", "show", "job", "-o", job_id)
    assert res.returncode == 0, res.stderr
    return dict(kv.split("=", 1) for kv in res.stdout.split() if "=" in kv)


def tail(res, n=60):
    return "\n".join(res.stdout.splitlines()[-n:])


def test_profile_and_workflow_dry_run(tmp_path):
    """profiles/slurm parses (executor slurm) and the test DAG is as designed."""
    wd = make_workdir(tmp_path / "wd", WEIGHTS)
    res = run_snakemake(wd, SNAKEFILE, profile=SLURM_PROFILE, timeout=120,
                        extra_args=["--dry-run", "--config", f"n_parts={N_PARTS}"])
    assert res.returncode == 0, tail(res)
    counts = {}
    for line in res.stdout.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1].isdigit() and not fields[0].endswith(":"):
            counts[fields[0]] = int(fields[1])
    assert counts == {"seed": 1, "part": N_PARTS, "gather": 1, "report": 1, "all": 1,
                      "total": N_PARTS + 4}


def test_slurm_conf_describes_this_machine(tmp_path):
    """The node line carries this machine's CPUs and memory (checked against
    os.cpu_count and /proc/meminfo, not against slurmd -C which wrote it)."""
    node = node_resources()
    conf = write_slurm_conf(tmp_path, node, 6817, 6818).read_text()
    settings = [line for line in conf.splitlines() if line and not line.startswith("#")]
    node_line = next(line for line in settings if line.startswith("NodeName="))
    fields = dict(kv.split("=", 1) for kv in node_line.split())
    assert int(fields["CPUs"]) == os.cpu_count()
    mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo")
                  if line.startswith("MemTotal:"))
    assert 0.9 * mem_kb / 1024 <= int(fields["RealMemory"]) <= mem_kb / 1024 + 1
    for required in ("SelectType=select/cons_tres", "SelectTypeParameters=CR_Core_Memory",
                     "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none",
                     "JobAcctGatherType=jobacct_gather/none",
                     "AccountingStorageType=accounting_storage/none", "SlurmUser=root"):
        assert required in settings
    assert any(line.startswith("DefMemPerCPU=") for line in settings)
    assert f"PartitionName=debug Nodes={fields['NodeName']} Default=YES" in conf


@pytest.mark.slow
def test_workflow_runs_as_slurm_jobs(slurm, tmp_path):
    wd = make_workdir(tmp_path / "wd", WEIGHTS)
    res, gather_threads = snakemake(slurm, wd)
    assert res.returncode == 0, tail(res)

    parts = expected_parts(WEIGHTS)
    for i, value in enumerate(parts):
        assert int((wd / "work" / f"part_{i}.txt").read_text()) == value
    assert int((wd / "work" / "total.txt").read_text()) == sum(parts)
    assert (wd / "results" / "report.txt").read_text().strip() == f"total = {sum(parts)}"

    # every cluster rule ran exactly once, each as its own SLURM job
    attempts = ran(wd)
    assert Counter((r, w) for r, w, _ in attempts) == Counter(
        [("seed", "-"), ("gather", "-")] + [("part", str(i)) for i in range(N_PARTS)])
    job_ids = [j for _, _, j in attempts]
    assert all(j.isdigit() for j in job_ids) and len(set(job_ids)) == len(job_ids)
    # `report` is a localrule: it ran on the submit host, not as a job
    assert not any(r == "report" for r, _, _ in attempts)

    # what SLURM itself recorded for each job: the rule's declared resources
    for rule, _, job_id in attempts:
        info = scontrol_job(slurm, job_id)
        assert info["JobState"] == "COMPLETED", info
        assert info["Partition"] == slurm.partition
        assert info["MinMemoryNode"] == DECLARED[rule][0], info
        assert info["TimeLimit"] == DECLARED[rule][1], info
        threads = gather_threads if rule == "gather" else 1
        assert info["NumCPUs"] == str(threads), info
    assert slurm.job_ids() == []  # nothing left queued or running


@pytest.mark.slow
def test_failed_job_is_reported_and_rerun_resumes(slurm, tmp_path):
    bad = list(WEIGHTS)
    bad[1] = "oops"  # part 1 cannot parse its weight
    wd = make_workdir(tmp_path / "wd", bad)

    res, _ = snakemake(slurm, wd)
    assert res.returncode != 0
    assert "Error in rule part:" in res.stdout, tail(res)
    assert "logs/part_1.log" in res.stdout, tail(res)
    assert "ValueError" in (wd / "logs" / "part_1.log").read_text()
    assert not (wd / "work" / "part_1.txt").exists()
    assert not (wd / "work" / "total.txt").exists()

    # outputs of jobs that finished before the run stopped
    done = {p: p.stat().st_mtime_ns for p in [wd / "work" / "numbers.txt"] +
            [wd / "work" / f"part_{i}.txt" for i in range(N_PARTS)] if p.exists()}
    assert wd / "work" / "numbers.txt" in done
    first = Counter((r, w) for r, w, _ in ran(wd))

    (wd / "inputs" / "weight_1.txt").write_text(f"{WEIGHTS[1]}\n")
    res, _ = snakemake(slurm, wd)
    assert res.returncode == 0, tail(res)
    parts = expected_parts(WEIGHTS)
    assert (wd / "results" / "report.txt").read_text().strip() == f"total = {sum(parts)}"

    # finished jobs were not recomputed: same files, no new attempt
    for path, mtime in done.items():
        assert path.stat().st_mtime_ns == mtime, f"{path.name} was recomputed"
    second = Counter((r, w) for r, w, _ in ran(wd)) - first
    assert second[("seed", "-")] == 0
    assert second[("part", "1")] == 1 and second[("gather", "-")] == 1
    for i in (0, 2):
        finished = wd / "work" / f"part_{i}.txt" in done
        assert second[("part", str(i))] == (0 if finished else 1)
