"""Fault injection (slow tier): nothing is lost and nothing half-written looks complete.

* ``kill -9`` in the middle of each long command (SWAP MC preparation, AQS, the
  frozen-matrix map, the EPM, the ε_pl calibration), then the same command again: its outputs are identical
  to those of an uninterrupted run, and while it was dead no output existed (AQS
  resumes from its checkpoint; the others restart, deterministically).
* A corrupted or truncated Parquet input gets a one-line error.
* A full disk (a size-limited folder: ``ulimit -f``) leaves no output that looks complete.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest


pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def _cmd(*args):
    return [sys.executable, "-m", "glass2epm.cli", *map(str, args)]


def _env():
    return {**os.environ, "NUMBA_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "workflow")}


def _run(*args, **kw):
    return subprocess.run(_cmd(*args), capture_output=True, text=True, env=_env(), timeout=1200, **kw)


def _same_tables(a: Path, b: Path):
    ta, tb = pq.read_table(a), pq.read_table(b)
    assert ta.schema.metadata == tb.schema.metadata, f"{a} vs {b}: metadata differ"
    assert ta.equals(tb), f"{a} vs {b}: data differ"


def _kill_midway(args, outputs, after: float, marker: Path | None = None):
    """Start the command, SIGKILL it after ``after`` s (or once ``marker`` exists), and
    check that none of ``outputs`` exists then."""
    proc = subprocess.Popen(_cmd(*args), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while time.time() - t0 < 600:
        if proc.poll() is not None:
            pytest.fail(f"{args[0]} finished before it could be killed: increase the work")
        if (marker is None and time.time() - t0 > after) or (marker is not None and marker.exists()):
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    for o in outputs:
        assert not Path(o).exists(), f"{o} exists after kill -9"


@pytest.fixture(scope="module")
def glass(tmp_path_factory):
    d = tmp_path_factory.mktemp("faults")
    out = d / "glass.parquet"
    r = _run("prepare", "--N", 400, "--Tp", 1.0, "--seed", 3, "--sweeps", 200, "--tune-sweeps", 50,
             "--no-check", "-o", out)
    assert r.returncode == 0, r.stderr
    return out


def test_swap_mc_killed_then_rerun(tmp_path):
    args = ["prepare", "--N", 2000, "--Tp", 1.0, "--seed", 5, "--sweeps", 20000, "--tune-sweeps", 100,
            "--no-check"]
    _killed_rerun_matches(tmp_path, args, after=4.0)


def test_aqs_killed_then_resumed_from_its_checkpoint(tmp_path, glass):
    args = ["aqs", glass, "--step", "1e-4", "--strain", "0.04", "--checkpoint-every", "20",
            "--snapshot-every", "0.01"]
    ref = tmp_path / "ref.parquet"
    r = _run(*args, "-o", ref)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "series.parquet"
    ckpt = tmp_path / "run.ckpt.npz"
    full = args + ["-o", out, "--checkpoint", ckpt]
    _kill_midway(full, [out, out.with_suffix(".events.parquet")], after=0, marker=ckpt)
    assert ckpt.exists()
    r = _run(*full)
    assert r.returncode == 0, r.stderr
    _same_tables(ref, out)
    _same_tables(ref.with_name("ref.events.parquet"), out.with_name("series.events.parquet"))
    snaps = sorted(p.name for p in (tmp_path / "ref.snapshots").glob("*.parquet"))
    assert snaps == sorted(p.name for p in (tmp_path / "series.snapshots").glob("*.parquet"))
    assert not ckpt.exists()


def _killed_rerun_matches(tmp_path, args, after: float = 3.0):
    """Reference run of ``args`` (-o ref), then a run killed after ``after`` s and rerun:
    the same table, and no output while killed."""
    ref, out = tmp_path / "ref.parquet", tmp_path / "out.parquet"
    r = _run(*args, "-o", ref)
    assert r.returncode == 0, r.stderr
    _kill_midway(args + ["-o", out], [out], after=after)
    r = _run(*args, "-o", out)
    assert r.returncode == 0, r.stderr
    _same_tables(ref, out)


def test_frozen_map_killed_then_rerun(tmp_path, glass):
    _killed_rerun_matches(tmp_path, ["yieldmap", glass, "--method", "frozen", "--radius", "3", "--spacing", "1",
                                     "--threads", "1"])


def test_epm_killed_then_rerun(tmp_path):
    sy = tmp_path / "thr.csv"
    sy.write_text("sigma_y\n" + "\n".join(f"{float(v)!r}" for v in np.random.default_rng(1).uniform(0.5, 1.5, 1000)))
    _killed_rerun_matches(tmp_path, ["epm", "--thresholds", sy, "-L", 128, "--eps-pl", 0.1, "--modulus", 10,
                                     "--strain", 30.0, "--seed", 2])


_CALIBRATE = """
import sys
from glass2epm.epm.task import calibrate_stage
calibrate_stage(sys.argv[1], sys.argv[2], sys.argv[3], L=64, strain=6.0, steady_from=2.0, seeds=4,
                bracket=(0.005, 0.5), onsite="paper", renewal_Tp=0.7)
"""


def test_calibration_killed_then_rerun(tmp_path):
    from glass2epm.core import io
    from glass2epm.epm.thresholds import write_thresholds

    sy = np.random.default_rng(3).uniform(0.3, 1.2, 2000)
    thr = write_thresholds(tmp_path / "thr.parquet", sy, extra={"modulus": 12.0})
    part = io.write_table(tmp_path / "particles.parquet", "thresholds", {"sigma_y": sy[:10]},
                          extra={"pooled": {"mean": 0.45}})
    cmd = [sys.executable, "-c", _CALIBRATE, str(thr), str(part)]

    def calib(out, kill_after=None):
        proc = subprocess.Popen(cmd + [str(out)], env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if kill_after is None:
            assert proc.wait(timeout=900) == 0, proc.stderr.read()
            return
        time.sleep(kill_after)
        assert proc.poll() is None, "calibration finished before it could be killed: increase the work"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert not out.exists()

    ref, out = tmp_path / "ref.json", tmp_path / "cal.json"
    calib(ref)
    calib(out, kill_after=4.0)
    calib(out)
    assert out.read_bytes() == ref.read_bytes()


def test_corrupted_and_truncated_parquet_refused(tmp_path, glass):
    data = glass.read_bytes()
    for name, blob in (("cut.parquet", data[: len(data) // 2]), ("junk.parquet", b"PAR1" + os.urandom(500))):
        bad = tmp_path / name
        bad.write_bytes(blob)
        r = _run("properties", bad)
        assert r.returncode == 2 and name in r.stderr and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def _limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))  # bytes: a "full disk" for this process
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG instead of killing


def test_full_disk_leaves_nothing_that_looks_complete(tmp_path, glass):
    out = tmp_path / "series.parquet"
    r = subprocess.run(_cmd("aqs", glass, "--step", "1e-3", "--strain", "0.02", "-o", out), capture_output=True,
                       text=True, env=_env(), timeout=600, preexec_fn=_limit_file_size)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert not out.exists()
    assert not out.with_name("series.events.parquet").exists()
    assert not out.with_name("series.snapshots").exists()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in ("series.snapshots.part",)]
    assert leftovers == [], leftovers
