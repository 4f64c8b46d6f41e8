"""The local yield-stress stage as one task (Sec. IV, Figs. 3–4): the function that both the
Snakemake rules (``workflow/scripts/yield_map_*.py``) and the ``glass2epm yieldmap``
command call, so that they cannot drift apart.

Lengths (``radius``, ``spacing``, ``block``) are given as numbers in units of the mean
spacing d = (N/V)^{−1/dim} of the configuration, or as strings '5', '5d' (units of d) or
'6.2lambda' / '6.2λ' (λ): :func:`parse_length`.
"""

from __future__ import annotations

import re

import numpy as np

from glass2epm.core.io import read_configuration
from glass2epm.core.validate import InputError
from glass2epm.core.runtime import numba_threads
from glass2epm.yieldstress import maps
from glass2epm.yieldstress.bond import component_matrix
from glass2epm.yieldstress.cavity import mean_spacing

_LENGTH = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(d|lambda|λ)?\s*$")


def parse_length(text, d: float, what: str) -> float:
    """A length in λ from a number or '5', '5d' (units of d) or '6.2lambda' / '6.2λ' (λ)."""
    if isinstance(text, (int, float, np.integer, np.floating)) and not isinstance(text, bool):
        return text * d
    m = _LENGTH.match(str(text))
    if not m:
        raise ValueError(f"--{what} {text!r}: expected a number in units of d (e.g. 5 or 5d) or in λ "
                         "with the suffix 'lambda' (e.g. 6.2lambda)")
    v = float(m.group(1))
    return v if m.group(2) in ("lambda", "λ") else v * d


#: max|F| (ε/λ) above which a configuration is not an inherent state for the yield maps
INHERENT_FTOL = 1e-6


def check_cavity(conf, radius: float, source) -> None:
    """The cavity and its interaction shell must fit in half the smallest box width
    (no particle may see a periodic image of the cavity), else
    :class:`~glass2epm.core.validate.InputError`."""
    rc = float(conf.model.max_cutoff)
    half = 0.5 * float(conf.box.perpendicular_widths().min())
    if not (np.isfinite(radius) and radius > 0):
        raise InputError(f"--radius must be positive, got {radius!r} λ")
    if radius + rc > half:
        raise InputError(f"{source}: --radius {radius:.4g} λ is too large for this box: the cavity plus "
                         f"the interaction range ({radius:.4g} + {rc:.4g} λ) must fit in half the smallest "
                         f"box width ({half:.4g} λ)")


def check_inherent_state(conf, source) -> None:
    """The yield maps expand about a minimum: max|F| must be below :data:`INHERENT_FTOL`."""
    from glass2epm.core.potential import ForceField

    _, f, _ = ForceField(conf.model).compute(conf.x, conf.sizes, conf.box)
    fmax = float(np.sqrt(np.einsum("ij,ij->i", f, f)).max())
    if not fmax < INHERENT_FTOL:
        raise InputError(f"{source}: not an inherent state (max|F| = {fmax:.3g} ε/λ, at most {INHERENT_FTOL:g} "
                         "required): minimise it first (the workflow's minimize rule, or glass2epm prepare)")


def yield_map(config, output, method: str = "bond", radius="5", spacing="3", block="5",
              geometry: str = "simple_shear", component="xy", step: float = 1e-3,
              max_strain: float = 0.3, threads: int = 1, chunk: tuple[int, int] | None = None,
              merge=None, provenance: dict | None = None) -> dict:
    """Compute and write one output of the yield-map stage; returns a summary dict.

    * default: the complete map of ``method`` ("bond": :func:`maps.bond_map`; "frozen":
      :func:`maps.frozen_map`) written to ``output`` (:func:`maps.write_map`);
    * ``chunk=(k, K)`` (frozen only): the site table of chunk k of K
      (:func:`maps.frozen_chunk`, :func:`maps.write_sites`);
    * ``merge=[site tables]``: the map gathered from chunk tables of ``method``
      (:func:`maps.merge`).

    ``config``: configuration Parquet (an inherent state); ``step``, ``max_strain``: the
    frozen-matrix strain step and give-up strain; ``threads``: numba threads.
    """
    conf = read_configuration(config)
    d = mean_spacing(conf)
    radius = parse_length(radius, d, "radius")
    spacing = parse_length(spacing, d, "spacing")
    block = parse_length(block, d, "block")
    if spacing <= 0 or block <= 0:
        raise ValueError("--spacing and --block must be positive")
    component_matrix(component, conf.dim)  # fail early, naming the problem
    if threads < 1:
        raise ValueError(f"--threads must be ≥ 1, got {threads}")
    if chunk and merge:
        raise ValueError("--sites-chunk and --merge are exclusive (compute a chunk, or merge chunks)")
    if method not in ("bond", "frozen"):
        raise ValueError(f"unknown method {method!r}; use bond or frozen")
    if not merge:
        check_cavity(conf, radius, config)
        check_inherent_state(conf, config)
    with numba_threads(threads):
        if chunk:
            if method != "frozen":
                raise ValueError("--sites-chunk is for --method frozen (the bond map takes seconds)")
            k, K = chunk
            table = maps.frozen_chunk(conf, k, K, radius, spacing, geometry, component,
                                      step=step, max_strain=max_strain)
            maps.write_sites(output, conf, table, provenance=provenance)
            return {"chunk": f"{k}/{K}", "n_sites": len(table),
                    "n_discarded_forward": int((table["discarded"] & maps.DISCARD_FORWARD).astype(bool).sum())}
        if merge:
            tables = [maps.read_sites(f) for f in merge]
            for f, t in zip(merge, tables):
                if t.params.get("method") != method:
                    raise ValueError(f"{f}: a '{t.params.get('method')}' site table, but --method {method}")
            ymap = maps.merge(conf, tables, block)
        elif method == "bond":
            ymap = maps.bond_map(conf, radius, spacing, geometry, component, block)
        else:
            ymap = maps.frozen_map(conf, radius, spacing, geometry, component, block,
                                   step=step, max_strain=max_strain)
        maps.write_map(output, conf, ymap, provenance=provenance)
    summary = {k: ymap.info[k] for k in ("method", "n_sites", "n_discarded_forward",
                                         "n_discarded_backward", "n_failed",
                                         "fraction_without_value", "fraction_without_value_backward")}
    summary["mean_sigma_y"] = float(np.nanmean(ymap.sigma_y)) if np.isfinite(ymap.sigma_y).any() else None
    summary["mean_sigma_y_blocks"] = (float(np.nanmean(ymap.blocks["sigma_y"]))
                                      if np.isfinite(ymap.blocks["sigma_y"]).any() else None)
    return summary
