"""xoshiro256** random numbers for SWAP MC (Blackman & Vigna), state = 4 uint64 in an array.

Seeded from ``numpy.random.SeedSequence(seed)``: same seed → bitwise the same stream,
so a SWAP MC trajectory (:mod:`glass2epm.prepare.swapmc`) is reproducible.
"""

from __future__ import annotations

import numpy as np
from numba import njit



@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << k) | (x >> (np.uint64(64) - k))


@njit(cache=True, inline="always")
def _next_u64(s):
    result = _rotl(s[1] * np.uint64(5), np.uint64(7)) * np.uint64(9)
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], np.uint64(45))
    return result


@njit(cache=True, inline="always")
def _uniform(s):
    """A double uniform in [0, 1) (53 random bits)."""
    return float(_next_u64(s) >> np.uint64(11)) * 1.1102230246251565e-16


def rng_state(seed: int) -> np.ndarray:
    """The xoshiro256** state for an integer seed (via numpy's SeedSequence)."""
    st = np.random.SeedSequence(int(seed)).generate_state(4, dtype=np.uint64)
    if not st.any():
        st[0] = 1
    return st


@njit(cache=True)
def uniforms(state, n):
    """n uniform doubles from the generator (advances ``state``); for tests."""
    out = np.empty(n)
    for k in range(n):
        out[k] = _uniform(state)
    return out


# ----------------------------------------------------------------------------
