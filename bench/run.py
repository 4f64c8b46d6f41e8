"""Run every benchmark module (bench/bench_*.py) and write the summary.

Each module exposes ``run(quick=False) -> list[dict]`` with entries
{name, value, unit} and, where a peer ran in the same process run,
{peer, peer_value, ratio} with ratio = peer time ÷ glass2epm time (> 1: faster).
Writes results/bench/summary.json (a list of entries) and, with --readme,
rewrites the table between the BENCH markers of the README. With --only, the README's
rows of the modules not run are kept (rows of the same name are replaced), so one
module can be re-measured without erasing the others.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
BEGIN, END = "<!-- BENCH:BEGIN -->", "<!-- BENCH:END -->"


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(HERE))
    spec.loader.exec_module(mod)
    return mod


def fmt(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v).replace("|", "\\|")


def table(entries) -> str:
    lines = ["| name | value | unit | peer | peer value | ratio (peer time / ours) | target |",
             "|---|---|---|---|---|---|---|"]
    for e in entries:
        lines.append("| " + " | ".join(fmt(e.get(k)) for k in
                                         ("name", "value", "unit", "peer", "peer_value", "ratio", "target")) + " |")
    return "\n".join(lines)


KEYS = ("name", "value", "unit", "peer", "peer_value", "ratio", "target")


def readme_rows(text: str) -> list[dict]:
    """The entries of the README's current table (cells as printed)."""
    if BEGIN not in text or END not in text:
        return []
    body = text.split(BEGIN, 1)[1].split(END, 1)[0]
    rows = []
    for line in body.splitlines():
        if not line.startswith("| ") or line.startswith("| name ") or line.startswith("|---"):
            continue
        cells = [c.strip().replace("\\|", "|") for c in line.strip()[2:-2].split(" | ")]
        if len(cells) == len(KEYS):
            rows.append({k: (c or None) for k, c in zip(KEYS, cells)})
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="results/bench/summary.json")
    ap.add_argument("--readme", default=None)
    ap.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke test")
    ap.add_argument("--only", nargs="*", help="module names (e.g. bench_epm)")
    ap.add_argument("--render-only", action="store_true", help="rewrite the tables from an existing summary")
    args = ap.parse_args(argv)
    entries = json.loads(Path(args.out).read_text()) if args.render_only else []
    for path in ([] if args.render_only else sorted(HERE.glob("bench_*.py"))):
        if args.only and path.stem not in args.only:
            continue
        t0 = time.perf_counter()
        print(f"== {path.stem}", flush=True)
        try:
            got = load(path).run(quick=args.quick)
        except Exception:
            traceback.print_exc()
            got = [{"name": f"{path.stem}_failed", "value": None, "unit": "", "note": traceback.format_exc(limit=1)}]
        for e in got:
            print("  ", json.dumps(e), flush=True)
        entries.extend(got)
        print(f"   ({time.perf_counter() - t0:.1f} s)", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not args.render_only:
        out.write_text(json.dumps(entries, indent=2) + "\n")
    shown = entries
    if args.only and args.readme and Path(args.readme).exists():
        new = {e["name"] for e in entries}
        shown = [e for e in readme_rows(Path(args.readme).read_text()) if e["name"] not in new] + entries
    md = (f"Measured by `make bench` on {platform.machine()} with {__import__('os').cpu_count()} cores "
          f"(Python {platform.python_version()}).\n\n" + table(shown))
    (out.parent / "summary.md").write_text(md + "\n")
    if args.readme:
        readme = Path(args.readme)
        text = readme.read_text()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            readme.write_text(head + BEGIN + "\n" + md + "\n" + END + tail)
    print(table(entries))


if __name__ == "__main__":
    main()
