"""EPM thresholds: initial threshold maps, the renewal stream, threshold tables (Sec. V A).

Initial thresholds σ_th,i are drawn from P_init (or placed one-to-one), renewal
thresholds from P_renewal. Renewal draws are sampling with replacement from an
empirical table; the m-th renewal of block k takes table index ⌊u·M⌋ with u the
53-bit uniform of splitmix64(splitmix64(key ⊕ k) + m) (``key`` derived from the
seed, :func:`renewal_key`). The renewal sequence of every block is thus fixed
by (seed, block, count) and independent of the order in which failures are
processed, so different implementations consume exactly the same sequence.
Stresses and thresholds in ε/λ².
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from numba import njit

from glass2epm.core.schemas import THRESHOLDS


def sample_thresholds(values, L: int, seed: int) -> np.ndarray:
    """An (L, L) map drawn with replacement from the empirical values (seeded)."""
    values = _as_table(values, "threshold table")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x1A17]))
    return values[rng.integers(0, values.size, size=(L, L))]


def threshold_map(values, L: int, x=None, y=None) -> np.ndarray:
    """One-to-one spatial realisation: the L² values as an (L, L) map.

    Without coordinates the values are taken in row-major ``[x, y]`` order.
    With block coordinates ``x``, ``y`` (indices or block-centre positions in
    λ), each must take exactly L distinct values; blocks are placed by rank.
    """
    values = np.asarray(values, dtype=float).ravel()
    if values.size != L * L:
        raise ValueError(f"a one-to-one threshold map needs L² = {L * L} values, got {values.size}")
    if not np.all(np.isfinite(values)):
        raise ValueError("threshold map contains non-finite values")
    if x is None or y is None:
        return values.reshape(L, L).copy()
    out = np.full((L, L), np.nan)
    ux, ix = np.unique(np.asarray(x), return_inverse=True)
    uy, iy = np.unique(np.asarray(y), return_inverse=True)
    if ux.size != L or uy.size != L:
        raise ValueError(f"block coordinates take {ux.size}×{uy.size} distinct values, expected {L}×{L}")
    out[ix, iy] = values
    if np.isnan(out).any():
        raise ValueError("block coordinates do not cover the L×L lattice once each")
    return out


def weibull_table(mean: float, std: float, n: int = 100_000, seed: int = 0) -> np.ndarray:
    """n Weibull samples with the given mean and standard deviation (for tests and benchmarks)."""
    from scipy.optimize import brentq
    from scipy.special import gamma as G

    cv = std / mean

    def f(k):
        return math.sqrt(G(1 + 2 / k) / G(1 + 1 / k) ** 2 - 1) - cv

    k = brentq(f, 0.2, 100.0)
    scale = mean / G(1 + 1 / k)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x3E1B]))
    return scale * rng.weibull(k, size=n)


def renewal_key(seed: int) -> int:
    """The 64-bit key of the renewal stream for a seed."""
    return int(np.random.SeedSequence([int(seed), 0x2E4E]).generate_state(1, np.uint64)[0])


def _as_table(values, what) -> np.ndarray:
    v = np.ascontiguousarray(np.asarray(values, dtype=np.float64).ravel())
    if v.size == 0:
        raise ValueError(f"{what} is empty")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{what} contains non-finite values")
    return v


_GOLD = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)


@njit(cache=True)
def _mix64(z):
    z = z + _GOLD
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True)
def renewal_index(key, k, m, n):
    """Table index of the m-th renewal (m ≥ 1) of block k for a table of n values."""
    h = _mix64(_mix64(key ^ np.uint64(k)) + np.uint64(m))
    u = np.float64(h >> _S11) * (1.0 / 9007199254740992.0)
    i = np.int64(u * n)
    if i >= n:
        i = n - 1
    return i


# ----------------------------------------------------------------------------
# files


def read_thresholds(path) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """Read a thresholds table: any table with a ``sigma_y`` column (ε/λ^d, finite): a
    glass2epm 'thresholds' table or yield map, or plain user data (Parquet without
    glass2epm metadata, CSV, TSV); optional ``sigma_y_renewal`` (NaN-padded).
    Returns (sigma_y, sigma_y_renewal or None, columns dict)."""
    from glass2epm.core.io import read_user_table

    t = read_user_table(path, ["sigma_y"], "thresholds table")
    sy = _as_table(t["sigma_y"], f"{path}: column sigma_y")
    ren = t.columns.get("sigma_y_renewal")
    if ren is not None:
        ren = np.asarray(ren, dtype=float)
        ren = ren[np.isfinite(ren)]  # may be padded with NaN when P_renewal has fewer samples
        ren = _as_table(ren, f"{path}: column sigma_y_renewal")
    return sy, ren, t.columns


def write_thresholds(path, sigma_y, sigma_y_renewal=None, **meta) -> Path:
    """Write a 'thresholds' table (renewal column NaN-padded to the length of sigma_y if shorter)."""
    from glass2epm.core.io import write_table

    sy = np.asarray(sigma_y, dtype=float)
    cols = {"sigma_y": sy}
    if sigma_y_renewal is not None:
        r = np.asarray(sigma_y_renewal, dtype=float)
        if r.size > sy.size:
            raise ValueError("sigma_y_renewal longer than sigma_y: write them the other way round")
        pad = np.full(sy.size, np.nan)
        pad[: r.size] = r
        cols["sigma_y_renewal"] = pad
    return write_table(path, THRESHOLDS, cols, **meta)


def activity_columns(activity, plastic_strain=None) -> dict:
    L = activity.shape[0]
    x, y = np.meshgrid(np.arange(L), np.arange(L), indexing="ij")
    cols = {"x": x.ravel().astype(np.int32), "y": y.ravel().astype(np.int32),
            "activity": np.asarray(activity).ravel().astype(np.int64)}
    if plastic_strain is not None:
        cols["plastic_strain"] = np.asarray(plastic_strain).ravel()
    return cols