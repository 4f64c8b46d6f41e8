"""The ``glass2epm`` command. Each subcommand lives in ``glass2epm.commands.<name>``
and exposes ``register(subparsers)``; the handler it sets returns an exit code."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from glass2epm import __version__, commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glass2epm",
        description="From a particle glass to a calibrated elasto-plastic model "
        "(units: energy ε, length λ, stress ε/λ^d).",
    )
    parser.add_argument("--version", action="version", version=f"glass2epm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        mod = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(mod, "register"):
            mod.register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"glass2epm {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
