"""Figures of the paper: one shared style module (``style``), the helpers
shared by Figs. 3–9 (``common``) and one module per figure.

Every figure function reads the stages' Parquet/JSON outputs through
:mod:`glass2epm.core.io` and writes PNG and PDF; none recomputes physics.
"""
