"""The interacting pairs of a configuration as one table (:class:`PairSet`).

:class:`PairSet` holds the pairs (r < x_c λ_ij) of a configuration, their separation
vectors x_ι = x_j − x_i (minimum image, Lees–Edwards aware), φ and its first four
radial derivatives, and the Appendix-B prefactors (first)..(fourth)
(:func:`glass2epm.core.contractions.prefactors`), built in one threaded pass over the
cells of :mod:`glass2epm.core.neighbors` (same pairs, order and numbers as
:func:`glass2epm.core.potential.pair_data`). The contractions of
:mod:`glass2epm.core.contractions` take it. Units: λ, ε.
"""

from __future__ import annotations

from dataclasses import dataclass
import inspect

import numba
import numpy as np
from numba import njit, prange

from glass2epm.core.box import guarded_separation, image_guard
from glass2epm.core.cells import bin_by_cell
from glass2epm.core.contractions import (apply_matrix, pair_diff, prefactors, prefactors_into,
                                         scatter, scatter_scalar)
from glass2epm.core.model import pair_size, radial_derivatives_into
from glass2epm.core.neighbors import (CellList, PairRows, _csr_offsets,
                                      _neighbour_cells, cell_span, store_pair)


# ----------------------------------------------------------------------------
# the pair table of a configuration in one threaded pass


@njit(cache=True)
def _scan_cell_pairs(x, sizes, h, i, cells, xc2, na, rows, m, limit):
    """Pairs (i, j > i) with r² < x_c² λ_ij² (Eqs. A2, A4) among the particles of the cells
    next to particle i's (a :class:`~glass2epm.core.neighbors.CellList`), in the order of
    :func:`glass2epm.core.neighbors._build` (neighbour cells in ``_neighbour_cells`` order,
    particles by index within a cell). Writes rows m, m+1, … below ``limit`` of the
    :class:`~glass2epm.core.neighbors.PairRows` ``rows``; returns m + the number of pairs
    (all counted, also those beyond ``limit``).

    A separation with every |component| < 0.49 of the cell's diagonal element is its own
    minimum image (:func:`glass2epm.core.box.guarded_separation`): the two floors
    and divisions are skipped for it, with the same numbers."""
    d = x.shape[1]
    gx, gy, gz = image_guard(h, d)
    for u in range(cells.ncells.shape[1]):
        lo, hi = cell_span(cells, cells.cid[i], u)
        for q in range(lo, hi):
            j = cells.order[q]
            if j <= i:
                continue
            dz = x[j, 2] - x[i, 2] if d == 3 else 0.0
            dx, dy, dz, r2 = guarded_separation(x[j, 0] - x[i, 0], x[j, 1] - x[i, 1], dz, h, d,
                                                gx, gy, gz)
            lij = pair_size(sizes[i], sizes[j], na)
            if r2 >= xc2 * lij * lij:
                continue
            if m < limit:
                store_pair(rows, m, j, dx, dy, dz, lij)
            m += 1
    return m


@njit(cache=True, parallel=True)
def _pair_table(x, sizes, h, s, ncell, xc, na, nchunks, room):
    """(ii, jj, rv, lam) of every interacting pair (r < x_c λ_ij), each once with j > i:
    the pairs, order and arithmetic of :func:`glass2epm.core.potential.pair_table` over a
    per-pair half Verlet list (cells of ``ncell`` per axis, ≥ 3 each), without the list.

    One threaded pass over chunks of particles into per-chunk buffers (``room`` pairs
    per particle on average), then a threaded copy; a chunk that overflows its buffer
    (an unusually dense configuration) makes a second, exact fill pass."""
    n, d = x.shape
    # records are rebuilt inside the threaded loops: numba's parfor lowering cannot take
    # a named tuple in from outside (NameError in the generated gufunc)
    cid, order, cstart = bin_by_cell(s, ncell)
    ncells = _neighbour_cells(ncell)
    xc2 = xc * xc
    counts = np.zeros(n, dtype=np.int64)
    per = (n + nchunks - 1) // nchunks
    capc = room * per
    bj = np.empty(nchunks * capc, dtype=np.int64)
    brv = np.empty((nchunks * capc, d))
    blam = np.empty(nchunks * capc)
    full = np.zeros(nchunks, dtype=np.bool_)
    for c in prange(nchunks):
        cells = CellList(cid, order, cstart, ncells)
        buf = PairRows(bj, brv, blam)
        m = c * capc
        limit = m + capc
        for i in range(c * per, min(n, (c + 1) * per)):
            m1 = _scan_cell_pairs(x, sizes, h, i, cells, xc2, na, buf, m, limit)
            counts[i] = m1 - m
            m = m1
        full[c] = m > limit
    start = np.zeros(n + 1, dtype=np.int64)
    jj, _ = _csr_offsets(counts, start)
    m = start[n]
    ii = np.empty(m, dtype=np.int64)
    rv = np.empty((m, d))
    lam = np.empty(m)
    for c in prange(nchunks):
        i0 = min(n, c * per)
        i1 = min(n, (c + 1) * per)
        if full[c]:
            cells = CellList(cid, order, cstart, ncells)
            rows = PairRows(jj, rv, lam)
            for i in range(i0, i1):
                _scan_cell_pairs(x, sizes, h, i, cells, xc2, na, rows, start[i], start[i + 1])
        else:
            b = c * capc - start[i0]
            for p in range(start[i0], start[i1]):
                jj[p] = bj[b + p]
                for a in range(d):
                    rv[p, a] = brv[b + p, a]
                lam[p] = blam[b + p]
        for i in range(i0, i1):
            for p in range(start[i], start[i + 1]):
                ii[p] = i
    return ii, jj, rv, lam


@njit(cache=True, parallel=True)
def _pair_scalars(r, lam, beta, coeffs, xc, nchunks):
    """φ..φ'''' (:func:`glass2epm.core.model.radial_derivatives_into`, order 4) and the prefactors
    (first)..(fourth) of every pair at distances r, threaded over chunks of pairs
    (elementwise: the same numbers as one serial call)."""
    m = r.shape[0]
    derivs = np.empty((5, m))
    pre = np.empty((4, m))
    per = (m + nchunks - 1) // nchunks
    for c in prange(nchunks):
        lo = c * per
        hi = min(m, lo + per)
        if hi <= lo:
            continue
        radial_derivatives_into(r, lam, beta, coeffs, xc, 4, derivs, lo, hi)
        prefactors_into(r, derivs, pre, lo, hi)
    return derivs, pre


def _default_skin() -> float:
    from glass2epm.core.potential import ForceField

    return float(inspect.signature(ForceField.__init__).parameters["skin"].default)


# ----------------------------------------------------------------------------
# fields and the pair table


class ParticleField:
    """Marks an (N, d) array as a particle field (to be turned into v_j − v_i)."""

    __slots__ = ("values",)

    def __init__(self, values):
        self.values = np.ascontiguousarray(values, dtype=float)


class PairField:
    """Marks an (M, d) array as a pair field (the value v_ι on each pair)."""

    __slots__ = ("values",)

    def __init__(self, values):
        self.values = np.ascontiguousarray(values, dtype=float)


@dataclass
class PairSet:
    """The interacting pairs of a configuration and their Appendix-B scalars.

    Attributes
    ----------
    ii, jj : (M,) particle indices of each pair (x_ι = x_j − x_i).
    rv : (M, d) separation vectors x_ι (minimum image), in λ.
    r : (M,) distances, in λ.
    derivs : (5, M) φ, φ', φ'', φ''', φ'''' at r (ε/λ^k).
    pre : (4, M) (first), (second), (third), (fourth) (ε/λ^{2k}).
    n : number of particles N.
    lam : (M,) pair sizes λ_ij (optional).
    """

    ii: np.ndarray
    jj: np.ndarray
    rv: np.ndarray
    r: np.ndarray
    derivs: np.ndarray
    pre: np.ndarray
    n: int
    lam: np.ndarray | None = None

    @classmethod
    def from_arrays(cls, ii, jj, rv, derivs, n: int, lam=None) -> "PairSet":
        """From a pair table and the radial derivatives φ..φ'''' (shape (≥5, M))."""
        rv = np.ascontiguousarray(rv, dtype=float)
        derivs = np.ascontiguousarray(derivs, dtype=float)
        if derivs.shape[0] < 5:
            raise ValueError(f"need φ..φ'''' (5 rows of radial derivatives), got {derivs.shape[0]}")
        if rv.ndim != 2 or rv.shape[1] not in (2, 3):
            raise ValueError(f"separation vectors must have shape (M, 2|3), got {rv.shape}")
        r = np.sqrt(np.einsum("ij,ij->i", rv, rv))
        return cls(
            np.ascontiguousarray(ii, dtype=np.int64),
            np.ascontiguousarray(jj, dtype=np.int64),
            rv,
            r,
            derivs,
            prefactors(r, derivs),
            int(n),
            None if lam is None else np.ascontiguousarray(lam, dtype=float),
        )

    @classmethod
    def from_configuration(cls, conf, ff=None) -> "PairSet":
        """All interacting pairs (r < x_c λ_ij) of a :class:`~glass2epm.core.io.Configuration`.

        The pairs, their order and every number are those of
        :func:`glass2epm.core.potential.pair_data` (a fresh per-pair half Verlet list with
        ``ff``'s skin, :func:`~glass2epm.core.potential.pair_table`,
        :meth:`~glass2epm.core.model.Model.radial_derivatives`), computed in threaded numba
        passes without building the list; a cell with fewer than three cells along an
        axis falls back to ``pair_data`` itself."""
        from glass2epm.core.potential import pair_data

        m = conf.model
        mp = m if ff is None else ff.model  # the list's model (pair_data: ff.pairs)
        box = conf.box
        skin = _default_skin() if ff is None else float(ff.vlist.skin)
        rc = mp.max_cutoff + skin
        widths = box.perpendicular_widths()
        ncell = np.maximum(1, np.floor(widths / rc)).astype(np.int64)
        x = np.ascontiguousarray(conf.x, dtype=float)
        if (rc >= 0.5 * widths.min() or not np.all(ncell >= 3)
                or np.abs(x).max() > 100 * np.abs(box.h).max()):
            ii, jj, rv, lam, r, derivs = pair_data(conf, ff, order=4)
            return cls.from_arrays(ii, jj, rv, derivs, conf.N, lam)
        h = box.h
        s = np.linalg.solve(h, x.T).T
        s -= np.floor(s)
        nchunks = 4 * numba.get_num_threads()
        ii, jj, rv, lam = _pair_table(x, np.ascontiguousarray(conf.sizes, dtype=float), h, s,
                                      ncell, float(mp.xc), float(mp.na), nchunks, 4 * conf.dim)
        r = np.sqrt(np.einsum("ij,ij->i", rv, rv))  # as pair_data (same summation order)
        derivs, pre = _pair_scalars(r, lam, float(m.beta), m.coeffs, float(m.xc), nchunks)
        return cls(ii, jj, rv, r, derivs, pre, int(conf.N), lam)

    @classmethod
    def from_positions(cls, model, x, sizes, box, ff=None) -> "PairSet":
        from glass2epm.core.potential import ForceField

        ff = ff or ForceField(model)
        ii, jj, rv, lam = ff.pairs(x, sizes, box)
        r = np.sqrt(np.einsum("ij,ij->i", rv, rv))
        derivs = model.radial_derivatives(r, lam, order=4)
        return cls.from_arrays(ii, jj, rv, derivs, x.shape[0], lam)

    # ------------------------------------------------------------------
    @property
    def M(self) -> int:
        return self.ii.shape[0]

    @property
    def dim(self) -> int:
        return self.rv.shape[1]

    @property
    def first(self):
        return self.pre[0]

    @property
    def second(self):
        return self.pre[1]

    @property
    def third(self):
        return self.pre[2]

    @property
    def fourth(self):
        return self.pre[3]

    def diff(self, v) -> np.ndarray:
        """Pair differences v_j − v_i of a particle field (N, d) → (M, d)."""
        v = np.ascontiguousarray(v, dtype=float)
        if v.shape != (self.n, self.dim):
            raise ValueError(f"particle field must have shape {(self.n, self.dim)}, got {v.shape}")
        return pair_diff(self.ii, self.jj, v)

    def affine(self, A) -> np.ndarray:
        """The affine field A·x on the pairs: A·x_ι (M, d) (A a d×d matrix)."""
        return apply_matrix(self._matrix(A), self.rv)

    def scatter(self, g) -> np.ndarray:
        """Particle field (N, d) of pair vectors g (M, d): +g_ι on j, −g_ι on i."""
        return scatter(self.ii, self.jj, np.ascontiguousarray(g, dtype=float), self.n)

    def per_particle(self, s) -> np.ndarray:
        """Σ of a bond scalar s_ι over the bonds of each particle, shape (N,) (bond order)."""
        s = np.ascontiguousarray(s, dtype=float)
        if s.shape != (self.M,):
            raise ValueError(f"bond scalar must have shape ({self.M},), got {s.shape}")
        return scatter_scalar(self.ii, self.jj, s, self.n)

    def pair_field(self, v, kind: str = "auto") -> np.ndarray:
        """A field as values on the pairs (M, d).

        ``v`` is a :class:`PairField`, a :class:`ParticleField` or an array; an
        array of shape (M, d) is a pair field and one of shape (N, d) a particle
        field (turned into v_j − v_i). When M = N, say which with ``kind``
        ("pair" or "particle") or a wrapper.
        """
        if isinstance(v, PairField):
            kind, v = "pair", v.values
        elif isinstance(v, ParticleField):
            kind, v = "particle", v.values
        v = np.ascontiguousarray(v, dtype=float)
        d = self.dim
        if v.ndim != 2 or v.shape[1] != d:
            raise ValueError(f"a field must have shape (M, {d}) or (N, {d}), got {v.shape}")
        if kind == "auto":
            if self.M == self.n and v.shape[0] == self.M:
                raise ValueError(
                    f"ambiguous field of shape {v.shape}: M = N = {self.n}; pass kind='pair' or "
                    "'particle' (or wrap it in PairField / ParticleField)"
                )
            if v.shape[0] == self.M:
                kind = "pair"
            elif v.shape[0] == self.n:
                kind = "particle"
            else:
                raise ValueError(
                    f"field has {v.shape[0]} rows: expected M = {self.M} (pairs) or N = {self.n} (particles)"
                )
        if kind == "pair":
            if v.shape[0] != self.M:
                raise ValueError(f"pair field must have {self.M} rows, got {v.shape[0]}")
            return v
        if kind == "particle":
            return self.diff(v)
        raise ValueError(f"kind must be 'auto', 'pair' or 'particle', got {kind!r}")

    def _matrix(self, B) -> np.ndarray:
        B = np.ascontiguousarray(B, dtype=float)
        if B.shape != (self.dim, self.dim):
            raise ValueError(f"matrix must be {self.dim}x{self.dim}, got {B.shape}")
        return B
