"""Workflow hygiene in CI: `snakemake --lint` reports nothing, `snakefmt --check` passes."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_snakemake_lint_is_clean():
    r = subprocess.run([str(BIN / "snakemake"), "--lint"], cwd=ROOT, capture_output=True, text=True)
    out = r.stdout + r.stderr
    assert "Lints for" not in out, out[-4000:]
    assert r.returncode == 0, out[-4000:]


def test_snakefmt_check():
    rules = sorted(str(p) for p in (ROOT / "workflow" / "rules").glob("*.smk"))
    r = subprocess.run([str(BIN / "snakefmt"), "--check", "Snakefile", *rules], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
