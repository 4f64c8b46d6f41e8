"""The ``glass2epm`` command. Each subcommand lives in ``glass2epm.commands.<name>``
and exposes ``register(subparsers)``; the handler it sets returns an exit code."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

from glass2epm import __version__, commands


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Help texts with each option's default (units are in the texts) and the
    description's own line breaks."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glass2epm",
        description="From a particle glass to a calibrated elasto-plastic model "
        "(units: energy ε, length λ, stress ε/λ^d).",
    )
    parser.add_argument("--version", action="version", version=f"glass2epm {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error (default: one line naming the problem)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    add = sub.add_parser

    def add_parser(name, **kw):  # every subcommand's --help shows the defaults
        kw["formatter_class"] = _HelpFormatter
        return add(name, **kw)

    sub.add_parser = add_parser
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        mod = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(mod, "register"):
            mod.register(sub)
    return parser


#: argument names that are outputs (of every command, and of some commands only)
_OUTPUTS = {"output", "summary", "liquid", "bonds", "field"}
_OUTPUTS_OF = {"band-profiles": {"widths", "profiles"}, "paper-scale": {"numbers"}}


#: ranges of numeric options, by argument name: (low, high, low open, high open, unit)
_RANGES = {
    "threads": (1, None, False, False, ""), "fft_workers": (1, None, False, False, ""),
    "N": (1, None, False, False, "particles"), "dim": (2, 3, False, False, ""),
    "Tp": (0, None, True, False, "ε/k_B"), "sweeps": (2, None, False, False, "sweeps"),
    "tune_sweeps": (0, None, False, False, "sweeps"), "p_swap": (0, 1, False, False, ""),
    "seed": (0, None, False, False, ""), "size": (2, None, False, False, "blocks"),
    "eps_pl": (0, None, True, False, ""), "modulus": (0, None, True, False, "ε/λ^d"),
    "renewal_modulus": (0, None, True, False, "ε/λ^d"), "box": (0, None, True, False, ""),
    "checkpoint_every": (1, None, False, False, "steps"), "checkpoint_seconds": (0, None, True, False, "s"),
    "snapshot_every": (0, None, False, False, ""), "ftol": (0, None, True, False, "ε/λ"),
    "max_strain": (0, None, True, False, ""), "n_perm": (1, None, False, False, ""),
    "scale": (0, None, True, False, ""), "bin_width": (0, None, True, False, ""),
    "xi": (0, None, True, False, "λ"), "amplitude": (0, None, True, False, "λ"),
    "mode": (1, None, False, False, ""), "modes": (1, None, False, False, ""),
    "seeds": (0, None, False, False, ""), "sizes": (1, None, False, False, "particles"),
    "calibration_N": (1, None, False, False, "particles"), "block": (0, None, True, False, "d"),
    "steady_from": (0, None, False, False, ""),
}


def _check_numbers(args) -> None:
    """Every numeric option within its range (:data:`_RANGES`), before any work."""
    from glass2epm.core.validate import check_range

    for key, value in vars(args).items():
        if key in _RANGES and value is not None and not isinstance(value, bool):
            lo, hi, lo_open, hi_open, unit = _RANGES[key]
            for v in value if isinstance(value, list) else [value]:  # nargs="+" options: each value
                check_range(f"--{key.replace('_', '-')}", v, lo, hi, lo_open=lo_open, hi_open=hi_open, unit=unit)
        elif isinstance(value, float) and value != value:
            raise ValueError(f"--{key.replace('_', '-')} is NaN")


def _check_paths(args) -> None:
    """Before any work: no output is an input, and every output can be written."""
    from glass2epm.core.validate import check_outputs

    outs = _OUTPUTS | _OUTPUTS_OF.get(args.command, set())
    outputs, inputs = [], []
    for key, value in vars(args).items():
        if key in ("func", "command") or value is None or isinstance(value, (bool, int, float)):
            continue
        values = value if isinstance(value, list) else [value]
        if key in outs:
            outputs += [v for v in values if isinstance(v, (str, Path))]
        else:
            inputs += [v for v in values if isinstance(v, (str, Path)) and Path(v).is_file()]
    check_outputs(outputs, inputs)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _check_numbers(args)
        _check_paths(args)
        return int(args.func(args) or 0)
    except (ValueError, OSError, RuntimeError, KeyError) as exc:
        # bad input (glass2epm.core.validate.InputError, SchemaError), a missing or
        # unwritable file, a run that cannot proceed: one line, exit status 2
        if args.debug:
            raise
        msg = str(exc) if not isinstance(exc, KeyError) else f"missing key {exc}"
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in msg:
            msg = f"{exc.filename}: {exc.strerror or msg}"
        msg = "; ".join(line.strip() for line in msg.splitlines() if line.strip()) or type(exc).__name__
        print(f"glass2epm {args.command}: error: {msg}",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
