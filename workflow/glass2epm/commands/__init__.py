"""Subcommands of the ``glass2epm`` CLI: one module each, with ``register(subparsers)``."""
