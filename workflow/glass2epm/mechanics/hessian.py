"""Sparse Hessian of the pair energy and a factorise-once, solve-many solver.

For a pair ι = (i, j) with separation x_ι = x_j − x_i and r = |x_ι|, the
Hessian block (Appendix B, Eq. B7–B8 with the ERRATA prefactors) is

    K_ι = (second) x_ι x_ιᵀ + (first) I,   (first) = φ'/r,  (second) = φ''/r² − φ'/r³,

entering H_jj and H_ii with a plus sign and H_ij, H_ji with a minus sign.
Units: ε/λ².

:class:`HessianSolver` removes the d translational zero modes by pinning one
well-connected particle (the reduced matrix is positive definite at a stable
minimum), solves with CHOLMOD (scikit-sparse; SuperLU as a fallback where
scikit-sparse is missing), and returns solutions with zero mean displacement.
Particles without any interaction (rattlers) are left out and get zero.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import scipy.sparse as sp
from numba import njit

from glass2epm.core.contractions import first_second_all
from glass2epm.core.io import Configuration
from glass2epm.core.potential import ForceField, pair_data  # noqa: F401 (pair_data: re-exported)

log = logging.getLogger(__name__)

try:  # CHOLMOD
    from sksparse.cholmod import CholmodNotPositiveDefiniteError, analyze, cholesky

    HAVE_CHOLMOD = True
except ImportError:  # pragma: no cover - exercised only without SuiteSparse
    HAVE_CHOLMOD = False

    class CholmodNotPositiveDefiniteError(Exception):
        pass


class NotPositiveDefinite(RuntimeError):
    """The (reduced) Hessian is not positive definite: not a stable minimum."""


@njit(cache=True)
def _coo(ii, jj, rv, first, second, n):
    m, d = rv.shape
    nnz = m * 4 * d * d
    rows = np.empty(nnz, dtype=np.int64)
    cols = np.empty(nnz, dtype=np.int64)
    vals = np.empty(nnz)
    k = 0
    for p in range(m):
        i = ii[p]
        j = jj[p]
        for a in range(d):
            for b in range(d):
                v = second[p] * rv[p, a] * rv[p, b]
                if a == b:
                    v += first[p]
                # (i,i) +, (j,j) +, (i,j) -, (j,i) -
                rows[k] = i * d + a
                cols[k] = i * d + b
                vals[k] = v
                k += 1
                rows[k] = j * d + a
                cols[k] = j * d + b
                vals[k] = v
                k += 1
                rows[k] = i * d + a
                cols[k] = j * d + b
                vals[k] = -v
                k += 1
                rows[k] = j * d + a
                cols[k] = i * d + b
                vals[k] = -v
                k += 1
    return rows, cols, vals


def assemble(ii, jj, rv, r, dphi, d2phi, n: int) -> sp.csc_matrix:
    """The (N d × N d) Hessian in CSC form from pair data."""
    first, second = first_second_all(r, dphi, d2phi)
    rows, cols, vals = _coo(ii, jj, rv, first, second, n)
    d = rv.shape[1]
    H = sp.coo_matrix((vals, (rows, cols)), shape=(n * d, n * d)).tocsc()
    H.sum_duplicates()
    return H


def hessian(conf: Configuration, ff: ForceField | None = None) -> sp.csc_matrix:
    """The Hessian ∂²U/∂x∂x of a configuration (ε/λ²)."""
    ii, jj, rv, lam, r, der = pair_data(conf, ff, order=2)
    return assemble(ii, jj, rv, r, der[1], der[2], conf.N)


#: fraction of an ordering's particle pairs that may be new before it is recomputed
REORDER_DRIFT = 0.002


def pair_keys(H: sp.csc_matrix, n: int, dim: int) -> np.ndarray:
    """Sorted keys i·n + j (i < j) of the particle pairs coupled in H (its block pattern)."""
    cols = np.repeat(np.arange(H.shape[1], dtype=np.int64), np.diff(H.indptr))
    rows = H.indices.astype(np.int64)
    m = (cols % dim == 0) & (rows % dim == 0) & (rows < cols)
    return np.unique(rows[m] // dim * n + cols[m] // dim)


def new_pairs(keys: np.ndarray, ref: np.ndarray) -> int:
    """How many of the sorted ``keys`` are not in the sorted ``ref``."""
    if ref.size == 0:
        return int(keys.size)
    pos = np.minimum(np.searchsorted(ref, keys), ref.size - 1)
    return int(np.count_nonzero(ref[pos] != keys))


def block_ordering(keys: np.ndarray, keep: np.ndarray, n: int, dim: int) -> np.ndarray:
    """A fill-reducing ordering of the reduced dofs (``keep`` particles × ``dim``) from the
    particle graph of the pairs ``keys``: CHOLMOD's METIS nested dissection (AMD where
    CHOLMOD has no METIS) of the N-node graph, each particle's d dofs kept together.
    The same fill as ordering the N d × N d matrix, at about half the cost (measured at
    N = 4·10⁴: 0.19 against 0.34 s)."""
    index = np.full(n, -1, dtype=np.int64)
    index[keep] = np.arange(keep.size)
    i, j = index[keys // n], index[keys % n]
    m = (i >= 0) & (j >= 0)
    i, j = i[m], j[m]
    k = keep.size
    B = sp.csc_matrix((np.ones(2 * i.size + k), (np.concatenate([i, j, np.arange(k)]),
                                                 np.concatenate([j, i, np.arange(k)]))), shape=(k, k))
    B = B + sp.identity(k, format="csc") * float(k)  # numerically SPD; only the pattern matters
    try:
        p = analyze(B, ordering_method="metis").P()
    except Exception:  # pragma: no cover - CHOLMOD built without METIS
        p = analyze(B, ordering_method="amd").P()
    return (dim * np.asarray(p, dtype=np.int64)[:, None] + np.arange(dim)).ravel()


class Ordering:
    """A fill-reducing ordering of the Hessian's degrees of freedom, kept across factorisations.

    Computing an ordering costs about half a factorisation at N = 4·10⁴. Successive
    Hessians of one system along an AQS path differ in a few pairs, so the ordering of
    an earlier one serves later ones (the symbolic analysis of the permuted matrix with
    the natural ordering is cheap), but not for long: every new pair that joins parts
    the ordering had separated adds fill (measured at N = 10⁴: 88 new pairs of 2.5·10⁴,
    +14 % nonzeros in L; 300 new pairs, +80 %; Lees–Edwards images alone bring new pairs
    across the sheared boundary at every step). The ordering therefore keeps the pairs
    it was computed for and is recomputed once more than ``drift`` (default
    :data:`REORDER_DRIFT`) of them are new, or after ``reorder_every`` uses. It is stored
    over *all* N d degrees of freedom, so that it still applies when the pinned particle
    or the set of rattlers changes. :meth:`state`/:meth:`restore` save it in checkpoints
    (the factor's round-off depends on it, and a resumed run must be bitwise the same).
    """

    def __init__(self, reorder_every: int = 100, drift: float = REORDER_DRIFT):
        self.reorder_every = int(reorder_every)
        self.drift = float(drift)
        self.order = None  # (N d,) dof order, or None: compute one at the next factorisation
        self.pairs = np.zeros(0, np.int64)  # pair keys the ordering was computed for
        self.uses = 0

    def reduced(self, keep_dofs: np.ndarray, pairs: np.ndarray | None = None):
        """The permutation of the reduced system ``keep_dofs`` (None: compute a new ordering,
        also when more than ``drift`` of the pairs ``pairs`` (:func:`pair_keys`) are new)."""
        if self.order is None or self.uses >= self.reorder_every:
            return None
        if pairs is not None and new_pairs(pairs, self.pairs) > self.drift * max(self.pairs.size, 1):
            return None
        rank = np.empty(self.order.size, dtype=np.int64)
        rank[self.order] = np.arange(self.order.size)
        self.uses += 1
        return np.argsort(rank[keep_dofs], kind="stable")

    def record(self, keep_dofs: np.ndarray, perm: np.ndarray, ndof: int, pairs: np.ndarray | None = None) -> None:
        """Keep the ordering ``perm`` chosen for the reduced system ``keep_dofs`` (and its pairs)."""
        rest = np.setdiff1d(np.arange(ndof), keep_dofs, assume_unique=True)
        self.order = np.concatenate([keep_dofs[perm], rest]).astype(np.int64)
        self.pairs = np.zeros(0, np.int64) if pairs is None else np.asarray(pairs, np.int64)
        self.uses = 0

    def state(self) -> dict:
        return {"order": np.zeros(0, np.int64) if self.order is None else self.order,
                "uses": np.array(self.uses), "pairs": self.pairs}

    def restore(self, st: dict) -> None:
        self.order = None if st["order"].size == 0 else st["order"].astype(np.int64).copy()
        self.uses = int(st["uses"])
        self.pairs = np.asarray(st.get("pairs", np.zeros(0, np.int64)), np.int64).copy()


class SPDSolver:
    """Factorise a symmetric positive-definite sparse matrix once, solve many times.

    ``perm``: a fill-reducing permutation to use instead of CHOLMOD's own ordering
    (the matrix is permuted and factorised with the natural ordering); ``perm`` is then
    CHOLMOD's ordering (``None`` without CHOLMOD)."""

    def __init__(self, A: sp.spmatrix, perm: np.ndarray | None = None):
        A = sp.csc_matrix(A)
        self.shape = A.shape
        self.given = perm
        if HAVE_CHOLMOD:
            try:
                if perm is None:
                    self._f = cholesky(A)
                    self.perm = None
                else:
                    self._f = cholesky(A[perm][:, perm], ordering_method="natural")
                    self.perm = perm
            except CholmodNotPositiveDefiniteError as exc:
                raise NotPositiveDefinite(f"matrix not positive definite ({exc})") from None
            self._solve = self._f  # not a bound method of self: no reference cycle keeps a factor alive
        else:  # pragma: no cover
            warnings.warn("scikit-sparse not available: falling back to SuperLU (slow beyond N ~ 1e5)")
            from scipy.sparse.linalg import splu

            lu = splu(A)
            if np.any(lu.U.diagonal() <= 0):
                raise NotPositiveDefinite("matrix not positive definite (SuperLU pivots)")
            self._solve = lu.solve
            self.perm = None

    def _permuted(self, b):
        out = np.empty_like(b)
        out[self.given] = self._f(b[self.given])
        return out

    def __call__(self, b: np.ndarray) -> np.ndarray:
        if self.given is not None and HAVE_CHOLMOD:
            return self._permuted(b)
        return self._solve(b)


class HessianSolver:
    """Solve H·u = b for the Hessian of a configuration, translations removed.

    ``b`` and the returned ``u`` are (N, d) arrays. The right-hand side is
    projected onto zero total force first (it is zero up to round-off for any
    b = H·v), and the solution has zero mean over the particles that take part.
    One factorisation serves every solve (Eqs. 5, 11, 12 share it). ``ordering``: an
    :class:`Ordering` reused (and updated) across factorisations of one system.
    """

    def __init__(self, H: sp.spmatrix, n: int, dim: int, active: np.ndarray | None = None,
                 ordering: Ordering | None = None):
        self.n = n
        self.dim = dim
        H = sp.csc_matrix(H)
        diag = H.diagonal().reshape(n, dim)
        if active is None:
            active = np.abs(diag).sum(axis=1) > 0  # rattlers have empty rows
        self.active = np.asarray(active, dtype=bool)
        idx = np.flatnonzero(self.active)
        if idx.size == 0:
            raise ValueError("no interacting particles: the Hessian is empty")
        # pin the best-connected particle: removes the d translational zero modes
        rowcounts = np.diff(H.indptr).reshape(n, dim)[:, 0]
        self.pinned = int(idx[np.argmax(rowcounts[idx])])
        keep = idx[idx != self.pinned]
        self.keep_dofs = (keep[:, None] * dim + np.arange(dim)).ravel()
        Hr = H[self.keep_dofs][:, self.keep_dofs]
        pairs = None if ordering is None or not HAVE_CHOLMOD else pair_keys(H, n, dim)
        perm = None if ordering is None else ordering.reduced(self.keep_dofs, pairs)
        if ordering is not None and perm is None and HAVE_CHOLMOD:
            # a new ordering (symbolic analysis only), then the same numeric route as a reused
            # one: the factor is a function of (H, ordering), so a restart reproduces it
            perm = block_ordering(pairs, keep, n, dim)
            ordering.record(self.keep_dofs, perm, n * dim, pairs)
        self.solver = SPDSolver(Hr, perm)

    @classmethod
    def from_configuration(cls, conf: Configuration, ff: ForceField | None = None) -> "HessianSolver":
        return cls(hessian(conf, ff), conf.N, conf.dim)

    def solve(self, b: np.ndarray) -> np.ndarray:
        b = np.asarray(b, dtype=float).reshape(self.n, self.dim)
        bb = b.copy()
        bb[~self.active] = 0.0
        bb[self.active] -= bb[self.active].mean(axis=0)
        u = np.zeros_like(bb)
        flat = u.reshape(-1)
        flat[self.keep_dofs] = self.solver(bb.reshape(-1)[self.keep_dofs])
        u[self.active] -= u[self.active].mean(axis=0)
        return u


SCHUR_MAX_GAIN = 1e6  # |H⁺Q| · max H_ii / |Q| above which ConstrainedSolver uses the bordered factor


class ConstrainedSolver:
    """Solve the bordered (constrained) system of a Hessian, translations removed.

    For constraint vectors q_1..q_k ((k, N, d), the AQRD forcing field c of
    ``../shared/papers/agoritsas-global-shear-vs-random-forcing.txt`` Eq. 3), solve

        [ H   Q   T ] [u]   [b]
        [ Qᵀ  0   0 ] [m] = [g]
        [ Tᵀ  0   0 ] [t]   [0]

    with T the d uniform translations of the interacting particles: ``u`` satisfies
    Qᵀu = g and has zero mean, H·u = b − Q m − T t (``m`` the constraint multipliers,
    ``t`` absorbs any net force of b). Two routes to the same solution:

    * where H is positive definite on the complement of the translations and not close
      to singular along Q (|H⁺Q| max H_ii / |Q| < ``SCHUR_MAX_GAIN``), the Schur complement: u₀ = H⁺b and the k vectors H⁺q_j by one CHOLMOD
      factor (:class:`HessianSolver`), S = QᵀH⁺Q (k × k), m = S⁻¹(Qᵀu₀ − g),
      u = u₀ − H⁺Q m (``method`` = "cholmod-schur");
    * otherwise the bordered matrix is factorised (SuperLU; it is indefinite by
      construction), which serves where H alone is singular or indefinite but the
      constrained problem is stable (ERRATA: a smooth maximum of the generalised stress
      under AQRD) (``method`` = "superlu-bordered"; also with ``bordered=True``).

    Rattlers (empty Hessian rows) are held at u = 0.
    Units: H in ε/λ², b in ε/λ, u in λ, m in ε/λ (per unit of q).
    """

    def __init__(self, H: sp.spmatrix, n: int, dim: int, constraints: np.ndarray, bordered: bool = False):
        self.n, self.dim = n, dim
        H = sp.csc_matrix(H)
        Q = np.asarray(constraints, dtype=float).reshape(-1, n * dim)
        self.k = Q.shape[0]
        diag = H.diagonal().reshape(n, dim)
        self.active = np.abs(diag).sum(axis=1) > 0
        keep = np.flatnonzero(np.repeat(self.active, dim))
        self.keep_dofs = keep
        if not bordered and self._schur(H, Q):
            return
        self._bordered(H, Q)

    def _schur(self, H, Q) -> bool:
        """The Schur-complement route; False where H is not positive definite (or S is singular)."""
        try:
            hs = HessianSolver(H, self.n, self.dim, active=self.active)
        except NotPositiveDefinite:
            return False
        Qa = Q.reshape(self.k, self.n, self.dim).copy()
        Qa[:, ~self.active] = 0.0
        HQ = np.array([hs.solve(q) for q in Qa])
        # near a singular H (ERRATA: a smooth maximum of Σ) u = u₀ − H⁺Q m cancels two large
        # vectors; where H⁺ amplifies Q by more than SCHUR_MAX_GAIN over the stiffest diagonal
        # the bordered factor is the accurate route
        gain = np.linalg.norm(HQ) * np.abs(H.diagonal()).max() / max(np.linalg.norm(Qa), 1e-300)
        if not gain < SCHUR_MAX_GAIN:
            return False
        S = np.einsum("kia,lia->kl", Qa, HQ)
        w = np.linalg.eigvalsh(0.5 * (S + S.T))
        if not (np.all(np.isfinite(w)) and w.min() > 1e-12 * max(w.max(), 1e-300)):
            return False
        self._hs, self._Qa, self._HQ, self._S = hs, Qa, HQ, S
        self.method = "cholmod-schur"
        return True

    def _bordered(self, H, Q):
        from scipy.sparse.linalg import splu

        n, dim, keep = self.n, self.dim, self.keep_dofs
        m = keep.size
        T = np.zeros((dim, n * dim))
        for a in range(dim):
            T[a, a::dim] = self.active / np.sqrt(max(self.active.sum(), 1))
        B = np.vstack([Q, T])[:, keep].T  # (m, k + d)
        nb = B.shape[1]
        K = sp.bmat([[H[keep][:, keep], sp.csc_matrix(B)], [sp.csc_matrix(B.T), None]], format="csc")
        try:
            self._lu = splu(K, permc_spec="MMD_AT_PLUS_A")
        except RuntimeError as exc:
            raise NotPositiveDefinite(f"bordered Hessian is singular ({exc})") from None
        self.size = m + nb
        self.method = "superlu-bordered"

    def solve(self, b: np.ndarray, g=None) -> tuple[np.ndarray, np.ndarray]:
        """(u (N, d), multipliers m (k,)) for the right-hand side b (N, d) and the
        constraint values g (k,; default 0)."""
        if self.method == "cholmod-schur":
            u0 = self._hs.solve(b)
            r = np.einsum("kia,ia->k", self._Qa, u0)
            if g is not None:
                r = r - np.asarray(g, dtype=float).reshape(-1)
            mult = np.linalg.solve(self._S, r)
            u = u0 - np.einsum("k,kia->ia", mult, self._HQ)
            return u, mult
        b = np.asarray(b, dtype=float).reshape(-1)
        rhs = np.zeros(self.size)
        m = self.keep_dofs.size
        rhs[:m] = b[self.keep_dofs]
        if g is not None:
            rhs[m:m + self.k] = np.asarray(g, dtype=float).reshape(-1)
        sol = self._lu.solve(rhs)
        if not np.all(np.isfinite(sol)):
            raise NotPositiveDefinite("bordered Hessian solve is not finite (singular)")
        u = np.zeros(self.n * self.dim)
        u[self.keep_dofs] = sol[:m]
        return u.reshape(self.n, self.dim), sol[m:m + self.k].copy()
