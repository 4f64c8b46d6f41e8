"""Plain real-space reference implementation of the EPM (Sec. V A, Eq. 24), for tests.

Stores σ_i directly and adds the shifted real-space kernel block by block with
modulo indexing (no FFT, no failure-value bookkeeping): an independent route to
the dynamics of :mod:`glass2epm.epm.dynamics`, with the same renewal stream.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from glass2epm.epm.dynamics import Renewal, new_record
from glass2epm.epm.propagator import propagator
from glass2epm.epm.thresholds import _as_table, renewal_index, renewal_key


class RefState(NamedTuple):
    """State of the reference implementation: (L, L) fields, σ stored directly."""
    sigma: np.ndarray
    thr: np.ndarray
    c: np.ndarray
    mu: np.ndarray
    epsp: np.ndarray
    act: np.ndarray


@njit(cache=True)
def _reference_core(st, K, rn, s, s_max, rec):
    """Load and relax from s up to s_max (or until rec is full); returns (s, records filled)."""
    sigma = st.sigma
    thr = st.thr
    c = st.c
    mu = st.mu
    epsp = st.epsp
    act = st.act
    max_steps = rec.s.shape[0]
    L = sigma.shape[0]
    N = L * L
    nt = rn.table.shape[0]
    gap = np.empty((L, L))
    unstable = np.zeros((L, L), dtype=np.bool_)
    fl = np.empty(N, dtype=np.int64)
    a = np.empty(N)
    nrec = 0
    while nrec < max_steps:
        ds = np.inf
        for i in range(L):
            for j in range(L):
                g = (thr[i, j] - sigma[i, j]) / c[i, j]
                gap[i, j] = g
                if g < ds:
                    ds = g
        if ds < 0.0:
            ds = 0.0
        if s + ds > s_max:
            break
        s += ds
        tot = 0.0
        for i in range(L):
            for j in range(L):
                sigma[i, j] += c[i, j] * ds
                unstable[i, j] = gap[i, j] <= ds or sigma[i, j] >= thr[i, j]
                tot += sigma[i, j]
        rec.s[nrec] = s
        rec.sb[nrec] = tot / N
        size = 0
        rounds = 0
        while True:
            n = 0
            for i in range(L):
                for j in range(L):
                    if unstable[i, j]:
                        fl[n] = i * L + j
                        n += 1
            if n == 0:
                break
            for f in range(n):
                i = fl[f] // L
                j = fl[f] % L
                a[f] = 2.0 * mu[i, j] * rn.eps_pl
                act[i, j] += 1
                epsp[i, j] += rn.eps_pl
            for f in range(n):
                i0 = fl[f] // L
                j0 = fl[f] % L
                for di in range(L):
                    for dj in range(L):
                        sigma[(i0 + di) % L, (j0 + dj) % L] += a[f] * K[di, dj]
            for f in range(n):
                i = fl[f] // L
                j = fl[f] % L
                x = rn.table[renewal_index(rn.key, fl[f], act[i, j], nt)]
                thr[i, j] = x + sigma[i, j] if rn.relative else x
                mu[i, j] = rn.mu_ren
                c[i, j] = rn.c_ren
            size += n
            rounds += 1
            for i in range(L):
                for j in range(L):
                    unstable[i, j] = sigma[i, j] >= thr[i, j]
        tot = 0.0
        for i in range(L):
            for j in range(L):
                tot += sigma[i, j]
        rec.sa[nrec] = tot / N
        rec.size[nrec] = size
        rec.rounds[nrec] = rounds
        nrec += 1
    if s < s_max and nrec < max_steps:
        for i in range(L):
            for j in range(L):
                sigma[i, j] += c[i, j] * (s_max - s)
        s = s_max
    return s, nrec


def reference_run(thresholds, renewal, *, eps_pl: float, modulus, renewal_modulus=None, seed: int,
                  strain_max: float, sigma0=None, onsite: str = "paper", control: str = "strain",
                  renewal_mode: str = "absolute", chunk: int = 1 << 16):
    """Plain real-space implementation of the same dynamics (no FFT; O(L²) per failure with
    modulo indexing; σ stored directly). Same renewal stream as
    :class:`glass2epm.epm.lattice.EPM`.

    Returns (series dict, final state dict with sigma, thresholds, modulus, activity,
    plastic_strain, strain). ``chunk``: record buffer length per call of the numba core.
    """
    thr = np.array(thresholds, dtype=np.float64)
    L = thr.shape[0]
    table = _as_table(renewal, "renewal table")
    mu = np.broadcast_to(np.asarray(modulus, dtype=np.float64), (L, L)).copy()
    if renewal_modulus is None:
        renewal_modulus = float(mu.flat[0])
    q0 = -1.0 if control == "strain" else 0.0
    K = propagator(L, onsite=onsite, q0=q0)
    c = mu.copy() if control == "strain" else np.ones((L, L))
    c_ren = float(renewal_modulus) if control == "strain" else 1.0
    sigma = np.zeros((L, L)) if sigma0 is None else np.array(sigma0, dtype=np.float64)
    epsp = np.zeros((L, L))
    act = np.zeros((L, L), dtype=np.int64)
    cap = int(chunk)
    parts = []
    s = 0.0
    st = RefState(sigma, thr, c, mu, epsp, act)
    rn = Renewal(table, np.uint64(renewal_key(seed)), float(eps_pl), c_ren, float(renewal_modulus),
                 renewal_mode == "relative")
    while True:
        out = new_record(cap)
        s, nrec = _reference_core(st, K, rn, s, float(strain_max), out)
        parts.append(tuple(o[:nrec].copy() for o in out))
        if nrec < cap:
            break
    cols = [np.concatenate([p[k] for p in parts]) for k in range(5)]
    series = {"strain": cols[0], "stress": cols[2], "stress_before": cols[1],
              "avalanche_size": cols[3], "rounds": cols[4]}
    if control == "stress":
        series["strain"] = 2.0 * eps_pl * np.cumsum(series["avalanche_size"]) / (L * L)
    state = {"sigma": sigma, "thresholds": thr, "modulus": mu, "activity": act,
             "plastic_strain": epsp, "strain": s}
    return series, state
