"""Checks of user input, run before any computation.

Every entry point (the ``glass2epm`` commands and, through the same task functions and
readers, the workflow's rules) checks what it is given before it starts work, and a bad
input raises :class:`InputError`: one line that names the file, the row or the key, and
the problem. The CLI prints that line and exits with status 2 (no traceback unless
``--debug``); since every output is written by atomic rename, nothing is left behind.

Checks on a configuration (:func:`check_configuration`):

* N > 0; box sides positive and finite;
* every position finite (the first bad row is named);
* every size positive and finite;
* the number density N/V equal to the model's (relative 1e-3): a file cut short or
  padded changes it;
* no two particles closer than ``contact_fraction`` (default 0.5) of their contact
  distance λ_ij (the pair named): overlapping or duplicated particles give forces
  of ~ ε/λ·(1/0.5)^(β+1) and no meaningful minimum.

Checks on paths (:func:`check_outputs`): an output is not one of the inputs, and its
folder exists (or can be made) and is writable.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

#: closest allowed approach, as a fraction of the contact distance λ_ij
CONTACT_FRACTION = 0.5
#: relative tolerance of the density check
DENSITY_RTOL = 1e-3


class InputError(ValueError):
    """A user input that cannot be used: the message names where and what."""


def check_configuration(conf, source: str = "configuration", *, contact_fraction: float = CONTACT_FRACTION,
                        density: bool = True) -> None:
    """Raise :class:`InputError` if ``conf`` cannot be a configuration of its model.

    ``source`` names it in the message (a file path); rows are 0-based particle
    indices (the row of the table, or the particle line after the header of a text
    file). ``density=False`` skips the density check (a model given its own density).
    """
    n = conf.N
    if n == 0:
        raise InputError(f"{source}: no particles (N = 0)")
    h = np.asarray(conf.box.h, dtype=float)
    sides = np.diag(h)
    if not np.all(np.isfinite(h)) or np.any(sides <= 0):
        raise InputError(f"{source}: box sides must be positive and finite, got {sides.tolist()}")
    x = np.asarray(conf.x)
    bad = ~np.all(np.isfinite(x), axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"{source}: row {i}: position {x[i].tolist()} is not finite "
                         f"({int(bad.sum())} such rows)")
    s = np.asarray(conf.sizes)
    bad = ~(np.isfinite(s) & (s > 0))
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"{source}: row {i}: size {s[i]!r} must be positive and finite "
                         f"({int(bad.sum())} such rows)")
    if density:
        rho = n / conf.box.volume
        rho0 = float(conf.model.density)
        if abs(rho - rho0) > DENSITY_RTOL * rho0:
            raise InputError(
                f"{source}: N = {n} particles in volume {conf.box.volume:.6g} λ^{conf.dim} give density "
                f"{rho:.6g}, but the model {conf.model.name!r} has {rho0:.6g} (a file cut short or "
                f"padded, or the wrong preset?)")
    check_overlaps(conf, source, contact_fraction)


def closest_pair(conf):
    """(i, j, r_ij / λ_ij) of the closest pair relative to contact, among the pairs
    within the interaction range (None if there is none); uses the one neighbour
    query (:class:`glass2epm.core.potential.ForceField`)."""
    from glass2epm.core.potential import ForceField

    ii, jj, rv, lam = ForceField(conf.model).pairs(conf.x, conf.sizes, conf.box)
    if ii.size == 0:
        return None
    ratio = np.sqrt(np.einsum("ij,ij->i", rv, rv)) / lam
    k = int(np.argmin(ratio))
    return int(ii[k]), int(jj[k]), float(ratio[k])


def check_overlaps(conf, source: str, contact_fraction: float = CONTACT_FRACTION) -> None:
    """Raise :class:`InputError` if two particles are closer than ``contact_fraction`` λ_ij."""
    got = closest_pair(conf)
    if got is not None and got[2] < contact_fraction:
        i, j, ratio = got
        what = "duplicate particles (same position)" if ratio == 0 else "overlapping particles"
        raise InputError(f"{source}: rows {min(i, j)} and {max(i, j)}: {what}, distance {ratio:.3g} of their "
                         f"contact distance λ_ij (at least {contact_fraction} required)")


def check_outputs(outputs, inputs=()) -> None:
    """Raise :class:`InputError` if an output is an input, or cannot be written.

    Run before the work: an unwritable output discovered at the end loses the run.
    """
    ins = {Path(p).resolve() for p in inputs if p is not None}
    for out in outputs:
        if out is None:
            continue
        out = Path(out)
        if out.resolve() in ins:
            raise InputError(f"{out}: the output is also an input; choose another output path")
        if out.exists() and out.is_dir():
            raise InputError(f"{out}: the output is an existing directory")
        parent = out.resolve().parent
        existing = parent
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            raise InputError(f"{out}: cannot write here ({existing} is not a writable directory)")
        if out.exists() and not os.access(out, os.W_OK):
            raise InputError(f"{out}: the output exists and is not writable")


def check_range(name: str, value, lo=None, hi=None, *, lo_open: bool = False, hi_open: bool = False,
                unit: str = "") -> float:
    """``value`` as a float, or :class:`InputError` naming ``name`` if outside [lo, hi]
    (open ends with ``lo_open``/``hi_open``) or not finite."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a number, got {value!r}") from None
    u = f" {unit}" if unit else ""
    ok = np.isfinite(v)
    if ok and lo is not None:
        ok = v > lo if lo_open else v >= lo
    if ok and hi is not None:
        ok = v < hi if hi_open else v <= hi
    if not ok:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        span = f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"
        raise InputError(f"{name} = {value!r}{u} is outside the allowed range {span}{u}")
    return v
