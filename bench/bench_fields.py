"""Benchmark of the coarse-grained fields (glass2epm.fields.coarse): N = 10⁵ particles on a 256² grid.

Set-up: a 2D liquid of N = 10⁵ lerner-poly2d particles (random positions, overlaps pushed off), ℓ = 2 λ
and 3 λ (the slowest case: just below the switch to the FFT route), pairs included.

Entries
* ``fields_seconds_N1e5_256_ell{2,3}``: ρ_ℓ and the exact-bond-integral σ_ℓ; target ≤ 10 s on 2 cores.
  Peer: the common shortcut in the same process — particles and bond midpoints binned on the grid
  (``numpy.histogram2d``, bond stress lumped at the midpoint) then ``scipy.ndimage.gaussian_filter``
  (periodic) — which is not the same quantity (no bond integral, binning error); ratio = its time / ours.
"""

from __future__ import annotations

import time

import numpy as np


def _liquid():
    from glass2epm.core.model import Model
    from glass2epm.prepare.swapmc import random_liquid

    return random_liquid(Model.from_preset("lerner-poly2d", dim=2), 100_000, seed=1)


def _peer(conf, ps, ell, n):
    from scipy.ndimage import gaussian_filter

    L = conf.box.h[0, 0]
    spacing = L / n
    t = time.perf_counter()
    edges = np.linspace(0, L, n + 1)
    x = conf.x % L
    rho, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=[edges, edges])
    mid = (conf.x[ps.ii] + 0.5 * ps.rv) % L
    g = ps.derivs[1] / ps.r
    out = [gaussian_filter(rho / spacing ** 2, ell / spacing, mode="wrap")]
    for a, b in ((0, 0), (1, 1), (0, 1)):
        w, _, _ = np.histogram2d(mid[:, 0], mid[:, 1], bins=[edges, edges], weights=g * ps.rv[:, a] * ps.rv[:, b])
        out.append(gaussian_filter(w / spacing ** 2, ell / spacing, mode="wrap"))
    return time.perf_counter() - t


def run(quick=False):
    from glass2epm.core.pairs import PairSet
    from glass2epm.fields.coarse import coarse_fields

    conf = _liquid()
    coarse_fields(conf, 1.0, 32)  # compile
    out = []
    for ell in (2.0, 3.0):
        t = time.perf_counter()
        coarse_fields(conf, ell, 256)
        ours = time.perf_counter() - t
        peer = _peer(conf, PairSet.from_configuration(conf), ell, 256)
        out.append({"name": f"fields_seconds_N1e5_256_ell{ell:g}", "value": ours, "unit": "s",
                    "peer": "histogram2d + gaussian_filter (midpoint-lumped)", "peer_value": peer,
                    "ratio": peer / ours, "target": "<= 10 s"})
    return out
