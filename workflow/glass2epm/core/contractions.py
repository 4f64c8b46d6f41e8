"""Tensor contractions of the pair-potential derivatives (paper Appendix B).

For a pair potential U = Σ_ι φ(r_ι), with separation x_ι = x_j − x_i (minimum
image, Lees–Edwards aware) and r_ι = |x_ι|, every derivative of U with respect
to the coordinates is a sum of pair terms built from the scalars (Eqs. B1–B4,
with the prefactors of ``shared/papers/ERRATA.md``)::

    (first)  = φ'/r
    (second) = φ''/r² − φ'/r³
    (third)  = φ'''/r³ − 3φ''/r⁴ + 3φ'/r⁵
    (fourth) = φ''''/r⁴ − 6φ'''/r⁵ + 15φ''/r⁶ − 15φ'/r⁷

(each is (d/r dr) of the previous one). A displacement field v enters a pair
only through v_ι = v_j − v_i. The affine field A·x is *not* periodic, so every
contraction here takes **pair fields** (arrays (M, d), the value of v_ι on each
pair) and, for convenience, particle fields (N, d) that are turned into pair
differences (:meth:`glass2epm.core.pairs.PairSet.pair_field`).

Contractions (x ≡ x_ι, vu ≡ v_ι·u_ι; the sums run over pairs):

=============  ====================================================  ========
function       formula                                               Eq.
=============  ====================================================  ========
``jv``         J·v = Σ (first)(xv)                                   B6
``hv``         H·v = Σ (second)(xv)x + (first)v                      B7
``hvu``        H:vu = Σ (second)(xv)(xu) + (first)(vu)               B8
``tvu``        T:vu = Σ (third)(xv)(xu)x + (second)[(xv)u+(xu)v+(uv)x] B9
``tvuw``       T⋮vuw                                                  B10
``mvuw``       M⋮vuw (a vector)                                       B11
``mvuwz``      M::vuwz                                                B12
``obs``        O_B = J·(B·x) = Σ (first) x·(B x)                      15
``dobs``       ∂O/∂x·u = H:(Bx)u + J·(Bu)                            B13
``d2obs``      ∂²O:uv = T⋮(Bx)uv + H:(Bv)u + H:(Bu)v                  B14
``d3obs``      ∂³O⋮uvw = M::(Bx)uvw + T⋮(Bw)uv + T⋮(Bv)uw + T⋮(Bu)vw B15
=============  ====================================================  ========

Scalar contractions return the system sum (a float) or, with
``per_bond=True``, the value of every pair (M,). Vector contractions (H·v, T:vu,
M⋮vuw) are gradients with respect to the coordinates: with ``per_bond=True``
they return the pair vector g_ι (M, d) (the derivative with respect to x_ι), and
otherwise the particle field (N, d) that carries +g_ι on j and −g_ι on i.

Units: with positions in λ and φ in ε, (first)…(fourth) are in ε/λ², ε/λ⁴,
ε/λ⁶, ε/λ⁸; a contraction with k displacement fields (in λ) of the k-th
derivative of U is in ε (scalar) or ε/λ (vector). B is dimensionless.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# ----------------------------------------------------------------------------
# numba kernels (pure functions over the pair table)


@njit(cache=True)
def prefactors(r, derivs):
    """The scalars (first)…(fourth) of Eqs. (B1)–(B4) (ERRATA form), shape (4, M).

    ``derivs`` holds φ, φ', φ'', φ''', φ'''' (rows 0..4, as from
    :meth:`Model.radial_derivatives`) for the M pairs at distances ``r``.
    """
    out = np.empty((4, r.shape[0]))
    prefactors_into(r, derivs, out, 0, r.shape[0])
    return out


@njit(cache=True, inline="always")
def pair_first(r, d1):
    """(first) = φ'/r of one pair (Eq. B1), from r and φ' (computed as φ'·(1/r))."""
    return d1 * (1.0 / r)


@njit(cache=True, inline="always")
def first_second(r, d1, d2):
    """(first) = φ'/r and (second) = φ''/r² − φ'/r³ of one pair (Eqs. B1, B2, ERRATA
    form), from r and φ', φ''. With :func:`pair_first` the one place these two scalars
    are formed: stress, Hessian blocks and Eq. (5) all take them from here (the
    pair-force kernels of :mod:`glass2epm.core.potential` form φ'/r in their own
    u = (λ/r)² variables, tested against this one)."""
    ir = 1.0 / r
    f1 = pair_first(r, d1)
    return f1, (d2 - f1) * (ir * ir)


@njit(cache=True)
def first_second_all(r, d1, d2):
    """:func:`first_second` of every pair: arrays (first), (second) of shape (M,)."""
    m = r.shape[0]
    first = np.empty(m)
    second = np.empty(m)
    for p in range(m):
        first[p], second[p] = first_second(r[p], d1[p], d2[p])
    return first, second


@njit(cache=True)
def prefactors_into(r, derivs, out, lo, hi):
    """:func:`prefactors` of the pairs lo..hi−1 into ``out`` (4, M): (first), (second)
    from :func:`first_second`, (third), (fourth) of Eqs. (B3), (B4)."""
    for p in range(lo, hi):
        ir = 1.0 / r[p]
        d1 = derivs[1, p]
        d2 = derivs[2, p]
        d3 = derivs[3, p]
        d4 = derivs[4, p]
        ir2 = ir * ir
        out[0, p], out[1, p] = first_second(r[p], d1, d2)
        out[2, p] = (d3 - 3.0 * d2 * ir + 3.0 * d1 * ir2) * ir2 * ir
        out[3, p] = (d4 - 6.0 * d3 * ir + 15.0 * d2 * ir2 - 15.0 * d1 * ir2 * ir) * ir2 * ir2
    return out


@njit(cache=True, parallel=True)
def pair_diff(ii, jj, v):
    """v_j − v_i for every pair: a particle field (N, d) as a pair field (M, d)."""
    m = ii.shape[0]
    d = v.shape[1]
    out = np.empty((m, d))
    for p in prange(m):
        i = ii[p]
        j = jj[p]
        for a in range(d):
            out[p, a] = v[j, a] - v[i, a]
    return out


@njit(cache=True)
def scatter(ii, jj, g, n):
    """Particle field of the pair vectors g_ι: +g_ι on j, −g_ι on i (shape (n, d))."""
    d = g.shape[1]
    out = np.zeros((n, d))
    for p in range(ii.shape[0]):
        i = ii[p]
        j = jj[p]
        for a in range(d):
            out[j, a] += g[p, a]
            out[i, a] -= g[p, a]
    return out


@njit(cache=True)
def scatter_scalar(ii, jj, s, n):
    """Σ over the bonds of each particle of the bond scalar s_ι (shape (n,)), in bond order
    (serial: O(M), and the sums' order does not depend on threads)."""
    out = np.zeros(n)
    for p in range(ii.shape[0]):
        out[ii[p]] += s[p]
        out[jj[p]] += s[p]
    return out


@njit(cache=True, inline="always")
def row_dot(B, a, v, p):
    """(B·v_p)_a = Σ_b B[a, b] v[p, b], summed in the order of b (the one matrix–row
    product of the pair contractions, Eq. 5's A·x_ι and the bond maps)."""
    s = 0.0
    for b in range(v.shape[1]):
        s += B[a, b] * v[p, b]
    return s


@njit(cache=True, inline="always")
def _dot(a, b, p):
    s = 0.0
    for k in range(a.shape[1]):
        s += a[p, k] * b[p, k]
    return s


@njit(cache=True, parallel=True)
def bond_jv(rv, f1, v):
    """(first)(x·v) per pair (Eq. B6)."""
    m = rv.shape[0]
    out = np.empty(m)
    for p in prange(m):
        out[p] = f1[p] * _dot(rv, v, p)
    return out


@njit(cache=True, parallel=True)
def bond_obs(rv, f1, B):
    """(first) x·(B x) per pair: the bond share of O_B = J·(B·x) (Eq. 15)."""
    m, d = rv.shape
    out = np.empty(m)
    for p in prange(m):
        s = 0.0
        for a in range(d):
            for b in range(d):
                s += rv[p, a] * B[a, b] * rv[p, b]
        out[p] = f1[p] * s
    return out


@njit(cache=True, parallel=True)
def bond_hv(rv, f1, f2, v):
    """(second)(xv)x + (first)v per pair (Eq. B7), shape (M, d)."""
    m, d = rv.shape
    out = np.empty((m, d))
    for p in prange(m):
        c = f2[p] * _dot(rv, v, p)
        for a in range(d):
            out[p, a] = c * rv[p, a] + f1[p] * v[p, a]
    return out


@njit(cache=True, parallel=True)
def bond_hvu(rv, f1, f2, v, u):
    """(second)(xv)(xu) + (first)(vu) per pair (Eq. B8)."""
    m = rv.shape[0]
    out = np.empty(m)
    for p in prange(m):
        out[p] = f2[p] * _dot(rv, v, p) * _dot(rv, u, p) + f1[p] * _dot(v, u, p)
    return out


@njit(cache=True, parallel=True)
def bond_tvu(rv, f2, f3, v, u):
    """(third)(xv)(xu)x + (second)[(xv)u + (xu)v + (uv)x] per pair (Eq. B9), (M, d)."""
    m, d = rv.shape
    out = np.empty((m, d))
    for p in prange(m):
        xv = _dot(rv, v, p)
        xu = _dot(rv, u, p)
        uv = _dot(u, v, p)
        c = f3[p] * xv * xu + f2[p] * uv
        for a in range(d):
            out[p, a] = c * rv[p, a] + f2[p] * (xv * u[p, a] + xu * v[p, a])
    return out


@njit(cache=True, parallel=True)
def bond_tvuw(rv, f2, f3, v, u, w):
    """(third)(xv)(xu)(xw) + (second)[(xv)(uw) + (xu)(vw) + (xw)(uv)] per pair (Eq. B10)."""
    m = rv.shape[0]
    out = np.empty(m)
    for p in prange(m):
        xv = _dot(rv, v, p)
        xu = _dot(rv, u, p)
        xw = _dot(rv, w, p)
        out[p] = f3[p] * xv * xu * xw + f2[p] * (
            xv * _dot(u, w, p) + xu * _dot(v, w, p) + xw * _dot(u, v, p)
        )
    return out


@njit(cache=True, inline="always")
def _dots3(rv, v, u, w, p):
    """Pair p's x·v, x·u, x·w, u·v, u·w, v·w (x the pair vector)."""
    return (_dot(rv, v, p), _dot(rv, u, p), _dot(rv, w, p),
            _dot(u, v, p), _dot(u, w, p), _dot(v, w, p))


@njit(cache=True, parallel=True)
def bond_mvuw(rv, f2, f3, f4, v, u, w):
    """M⋮vuw per pair (Eq. B11), shape (M, d)."""
    m, d = rv.shape
    out = np.empty((m, d))
    for p in prange(m):
        xv, xu, xw, uv, uw, vw = _dots3(rv, v, u, w, p)
        cx = f4[p] * xv * xu * xw + f3[p] * (xv * uw + xu * vw + xw * uv)
        cv = f3[p] * xu * xw + f2[p] * uw
        cu = f3[p] * xv * xw + f2[p] * vw
        cw = f3[p] * xv * xu + f2[p] * uv
        for a in range(d):
            out[p, a] = cx * rv[p, a] + cv * v[p, a] + cu * u[p, a] + cw * w[p, a]
    return out


@njit(cache=True, parallel=True)
def bond_mvuwz(rv, f2, f3, f4, v, u, w, z):
    """M::vuwz per pair (Eq. B12)."""
    m = rv.shape[0]
    out = np.empty(m)
    for p in prange(m):
        xv, xu, xw, uv, uw, vw = _dots3(rv, v, u, w, p)
        xz = _dot(rv, z, p)
        vz = _dot(v, z, p)
        uz = _dot(u, z, p)
        wz = _dot(w, z, p)
        out[p] = (
            f4[p] * xv * xu * xw * xz
            + f3[p] * (xu * xw * vz + xv * xw * uz + xv * xu * wz
                       + xv * uw * xz + xu * vw * xz + xw * uv * xz)
            + f2[p] * (uv * wz + uw * vz + vw * uz)
        )
    return out


@njit(cache=True, parallel=True)
def apply_matrix(B, v):
    """B·v_ι for every row of a pair or particle field (rows @ Bᵀ)."""
    m, d = v.shape
    out = np.empty((m, d))
    for p in prange(m):
        for a in range(d):
            out[p, a] = row_dot(B, a, v, p)
    return out


# --- fused kernels for the strain series along a path (used by glass2epm.mechanics.expansion)


@njit(cache=True, inline="always")
def _h2(f1, f2, xa, xb, ab):
    """H:ab for one pair from dot products (xa = x·a, ab = a·b)."""
    return f2 * xa * xb + f1 * ab


@njit(cache=True, inline="always")
def _t3(f2, f3, xa, xb, xc, ab, ac, bc):
    """T⋮abc for one pair."""
    return f3 * xa * xb * xc + f2 * (xa * bc + xb * ac + xc * ab)


@njit(cache=True, inline="always")
def _m4(f2, f3, f4, xs, dots):
    """M::abcd for one pair: ``xs`` = (x·a, x·b, x·c, x·d), ``dots`` = (a·b, a·c, a·d, b·c, b·d, c·d)."""
    xa, xb, xc, xd = xs
    ab, ac, ad, bc, bd, cd = dots
    return (f4 * xa * xb * xc * xd
            + f3 * (xb * xc * ad + xa * xc * bd + xa * xb * cd + xa * bc * xd + xb * ac * xd
                    + xc * ab * xd)
            + f2 * (ab * cd + ac * bd + bc * ad))


@njit(cache=True, parallel=True)
def bond_energy_series(rv, pre, d1, d2, d3, order):
    """φ_γ, φ_γγ, φ_γγγ of every pair along a path with pair fields d₁, d₂, d₃ (Eq. 13 per
    bond): rows 0..order−1 of the result, shape (order, M).

    φ_γ = J·d₁, φ_γγ = H:d₁d₁ + J·d₂, φ_γγγ = T⋮d₁d₁d₁ + 3H:d₁d₂ + J·d₃.
    """
    m = rv.shape[0]
    out = np.zeros((order, m))
    for p in prange(m):
        f1 = pre[0, p]
        f2 = pre[1, p]
        f3 = pre[2, p]
        x1 = _dot(rv, d1, p)
        out[0, p] = f1 * x1
        if order >= 2:
            x2 = _dot(rv, d2, p)
            s11 = _dot(d1, d1, p)
            out[1, p] = _h2(f1, f2, x1, x1, s11) + f1 * x2
            if order >= 3:
                x3 = _dot(rv, d3, p)
                s12 = _dot(d1, d2, p)
                out[2, p] = (_t3(f2, f3, x1, x1, x1, s11, s11, s11)
                             + 3.0 * _h2(f1, f2, x1, x2, s12) + f1 * x3)
    return out


@njit(cache=True, inline="always")
def _row(v, p, d):
    """Row p of an (M, d) array as a 3-tuple (zero-padded in 2D)."""
    return (v[p, 0], v[p, 1], v[p, 2] if d == 3 else 0.0)


@njit(cache=True, inline="always")
def _mv(B, a, d):
    """B·a for a 3-tuple a (B d×d)."""
    if d == 3:
        return (B[0, 0] * a[0] + B[0, 1] * a[1] + B[0, 2] * a[2],
                B[1, 0] * a[0] + B[1, 1] * a[1] + B[1, 2] * a[2],
                B[2, 0] * a[0] + B[2, 1] * a[1] + B[2, 2] * a[2])
    return (B[0, 0] * a[0] + B[0, 1] * a[1], B[1, 0] * a[0] + B[1, 1] * a[1], 0.0)


@njit(cache=True, inline="always")
def _d3(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


@njit(cache=True, inline="always")
def _path_field(v, p, d, B, x):
    """Row p of a pair field v, its image B·v and the dots x·v, x·(B v)."""
    u = _row(v, p, d)
    bu = _mv(B, u, d)
    return u, bu, _d3(x, u), _d3(x, bu)


@njit(cache=True, parallel=True)
def bond_obs_series(rv, pre, B, d1, d2, d3, order):
    """O_B = J·(B x) and its strain derivatives per pair, shape (order+1, M).

    With b = B·x, bₙ = B·dₙ (Eqs. 7–8 with B13–B15, i.e. V × Eqs. 16–18):
    O⁽¹⁾ = H:b d₁ + J·b₁;
    O⁽²⁾ = T⋮b d₁d₁ + 2H:b₁d₁ + H:b d₂ + J·b₂;
    O⁽³⁾ = M::b d₁d₁d₁ + 3[T⋮b₁d₁d₁ + T⋮b d₁d₂ + H:b₁d₂ + H:b₂d₁] + H:b d₃ + J·b₃.
    """
    m, d = rv.shape
    out = np.zeros((order + 1, m))
    for p in prange(m):
        f1, f2, f3, f4 = pre[0, p], pre[1, p], pre[2, p], pre[3, p]
        x = _row(rv, p, d)
        b = _mv(B, x, d)
        xb = _d3(x, b)
        u1, b1, x1, xb1 = _path_field(d1, p, d, B, x)
        out[0, p] = f1 * xb
        if order >= 1:
            bd1 = _d3(b, u1)
            out[1, p] = _h2(f1, f2, xb, x1, bd1) + f1 * xb1
            if order >= 2:
                u2, b2, x2, xb2 = _path_field(d2, p, d, B, x)
                s11 = _d3(u1, u1)
                b1d1 = _d3(b1, u1)
                bd2 = _d3(b, u2)
                out[2, p] = (_t3(f2, f3, xb, x1, x1, bd1, bd1, s11)
                             + 2.0 * _h2(f1, f2, xb1, x1, b1d1)
                             + _h2(f1, f2, xb, x2, bd2) + f1 * xb2)
                if order >= 3:
                    u3, b3, x3, xb3 = _path_field(d3, p, d, B, x)
                    s12 = _d3(u1, u2)
                    b1d2 = _d3(b1, u2)
                    b2d1 = _d3(b2, u1)
                    bd3 = _d3(b, u3)
                    m4 = _m4(f2, f3, f4, (xb, x1, x1, x1), (bd1, bd1, bd1, s11, s11, s11))
                    t = (_t3(f2, f3, xb1, x1, x1, b1d1, b1d1, s11)
                         + _t3(f2, f3, xb, x1, x2, bd1, bd2, s12)
                         + _h2(f1, f2, xb1, x2, b1d2) + _h2(f1, f2, xb2, x1, b2d1))
                    out[3, p] = m4 + 3.0 * t + _h2(f1, f2, xb, x3, bd3) + f1 * xb3
    return out


@njit(cache=True, parallel=True)
def path_rhs(rv, pre, A, d1, d2, order):
    """Pair vectors of the right-hand sides of Eqs. (11) and (12) (before the sign):

    order 2: T:d₁d₁ + H·(A d₁);  order 3: M⋮d₁d₁d₁ + 3 T:d₁d₂ + H·(A d₂).  Shape (M, d).
    """
    m, d = rv.shape
    out = np.empty((m, d))
    for p in prange(m):
        f1, f2, f3, f4 = pre[0, p], pre[1, p], pre[2, p], pre[3, p]
        x = _row(rv, p, d)
        u1 = _row(d1, p, d)
        x1 = _d3(x, u1)
        s11 = _d3(u1, u1)
        if order == 2:
            ad = _mv(A, u1, d)
            # T:d₁d₁ = (third)(x d₁)² x + (second)[2 (x d₁) d₁ + (d₁ d₁) x]; H·(A d₁)
            cx = f3 * x1 * x1 + f2 * s11 + f2 * _d3(x, ad)
            c1 = 2.0 * f2 * x1
            c2 = 0.0
        else:
            u2 = _row(d2, p, d)
            ad = _mv(A, u2, d)
            x2 = _d3(x, u2)
            s12 = _d3(u1, u2)
            # M⋮d₁d₁d₁ = f4 x1³ x + f3 [3 x1² d₁ + 3 x1 s11 x] + 3 f2 s11 d₁
            # 3 T:d₁d₂ = 3 {f3 x1 x2 x + f2 [x1 d₂ + x2 d₁ + s12 x]}
            cx = (f4 * x1 * x1 * x1 + 3.0 * f3 * x1 * s11 + 3.0 * (f3 * x1 * x2 + f2 * s12)
                  + f2 * _d3(x, ad))
            c1 = 3.0 * f3 * x1 * x1 + 3.0 * f2 * s11 + 3.0 * f2 * x2
            c2 = 3.0 * f2 * x1
        for a in range(d):
            out[p, a] = cx * x[a] + c1 * u1[a] + f1 * ad[a]
            if order == 3:
                out[p, a] += c2 * d2[p, a]
    return out


# ----------------------------------------------------------------------------
# public contractions: ``ps`` is a :class:`glass2epm.core.pairs.PairSet` (that module
# imports the kernels above, so this one does not import it)


def _finish_scalar(vals, per_bond):
    return vals if per_bond else float(np.sum(vals))


def _finish_vector(ps, vals, per_bond):
    return vals if per_bond else ps.scatter(vals)


def jv(ps, v, per_bond: bool = False, kind: str = "auto"):
    """J·v (Eq. B6), J = ∂U/∂x = −F. Float, or (M,) with ``per_bond``."""
    return _finish_scalar(bond_jv(ps.rv, ps.first, ps.pair_field(v, kind)), per_bond)


def hv(ps, v, per_bond: bool = False, kind: str = "auto"):
    """H·v (Eq. B7): particle field (N, d), or pair vectors (M, d) with ``per_bond``."""
    return _finish_vector(ps, bond_hv(ps.rv, ps.first, ps.second, ps.pair_field(v, kind)), per_bond)


def hvu(ps, v, u, per_bond: bool = False, kind: str = "auto"):
    """H:vu (Eq. B8)."""
    return _finish_scalar(
        bond_hvu(ps.rv, ps.first, ps.second, ps.pair_field(v, kind), ps.pair_field(u, kind)), per_bond
    )


def tvu(ps, v, u, per_bond: bool = False, kind: str = "auto"):
    """T:vu (Eq. B9): particle field (N, d), or pair vectors (M, d) with ``per_bond``."""
    return _finish_vector(
        ps, bond_tvu(ps.rv, ps.second, ps.third, ps.pair_field(v, kind), ps.pair_field(u, kind)),
        per_bond,
    )


def tvuw(ps, v, u, w, per_bond: bool = False, kind: str = "auto"):
    """T⋮vuw (Eq. B10)."""
    f = ps.pair_field
    return _finish_scalar(
        bond_tvuw(ps.rv, ps.second, ps.third, f(v, kind), f(u, kind), f(w, kind)), per_bond
    )


def mvuw(ps, v, u, w, per_bond: bool = False, kind: str = "auto"):
    """M⋮vuw (Eq. B11): particle field (N, d), or pair vectors (M, d) with ``per_bond``."""
    f = ps.pair_field
    return _finish_vector(
        ps, bond_mvuw(ps.rv, ps.second, ps.third, ps.fourth, f(v, kind), f(u, kind), f(w, kind)),
        per_bond,
    )


def mvuwz(ps, v, u, w, z, per_bond: bool = False, kind: str = "auto"):
    """M::vuwz (Eq. B12)."""
    f = ps.pair_field
    return _finish_scalar(
        bond_mvuwz(ps.rv, ps.second, ps.third, ps.fourth, f(v, kind), f(u, kind), f(w, kind),
                   f(z, kind)),
        per_bond,
    )


# --- stress observable O_B = J·(B·x) and its coordinate derivatives (B13–B15)


def obs(ps, B, per_bond: bool = False):
    """O_B = J·(B·x) = Σ (first) x·(B x) (Eq. 15): V σ_ab for B = âb̂ (ε)."""
    return _finish_scalar(bond_obs(ps.rv, ps.first, ps._matrix(B)), per_bond)


def dobs(ps, B, u, per_bond: bool = False, kind: str = "auto"):
    """∂O_B/∂x·u = H:(B·x)u + J·(B·u) (Eq. B13)."""
    B = ps._matrix(B)
    u = ps.pair_field(u, kind)
    bx = apply_matrix(B, ps.rv)
    vals = bond_hvu(ps.rv, ps.first, ps.second, bx, u) + bond_jv(ps.rv, ps.first, apply_matrix(B, u))
    return _finish_scalar(vals, per_bond)


def d2obs(ps, B, u, v, per_bond: bool = False, kind: str = "auto"):
    """∂²O_B:uv = T⋮(B·x)uv + H:(B·v)u + H:(B·u)v (Eq. B14)."""
    B = ps._matrix(B)
    u = ps.pair_field(u, kind)
    v = ps.pair_field(v, kind)
    rv, f1, f2, f3 = ps.rv, ps.first, ps.second, ps.third
    vals = (
        bond_tvuw(rv, f2, f3, apply_matrix(B, rv), u, v)
        + bond_hvu(rv, f1, f2, apply_matrix(B, v), u)
        + bond_hvu(rv, f1, f2, apply_matrix(B, u), v)
    )
    return _finish_scalar(vals, per_bond)


def d3obs(ps, B, u, v, w, per_bond: bool = False, kind: str = "auto"):
    """∂³O_B⋮uvw = M::(B·x)uvw + T⋮(B·w)uv + T⋮(B·v)uw + T⋮(B·u)vw (Eq. B15)."""
    B = ps._matrix(B)
    u = ps.pair_field(u, kind)
    v = ps.pair_field(v, kind)
    w = ps.pair_field(w, kind)
    rv, f2, f3, f4 = ps.rv, ps.second, ps.third, ps.fourth
    vals = (
        bond_mvuwz(rv, f2, f3, f4, apply_matrix(B, rv), u, v, w)
        + bond_tvuw(rv, f2, f3, apply_matrix(B, w), u, v)
        + bond_tvuw(rv, f2, f3, apply_matrix(B, v), u, w)
        + bond_tvuw(rv, f2, f3, apply_matrix(B, u), v, w)
    )
    return _finish_scalar(vals, per_bond)
