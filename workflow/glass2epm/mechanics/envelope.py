"""Cholesky factorisations in envelope (profile) storage for the small free–free
Hessians H_FF of the cavity expansion (Sec. IV, the solves H_FF·ẋ_F = −[H·(A·x)]_F of
Eqs. 5, 11, 12 restricted to the free rows).

Rows ordered along x keep the envelope a narrow band (≈ 5× fewer flops than dense at
R = 5d). Three variants, all ``@njit(cache=True)``:

* ``envelope_cholesky`` / ``envelope_solve``: scalar rows (3D, and the reference);
* ``envelope_cholesky2`` / ``envelope_solve2``: 2D particle systems, 2×2 blocks;
* ``block_envelope_*``: 2D, 4×4 blocks of two particles (16 accumulators per block;
  ≈ 2× faster than the 2×2-block variant at R = 5d, measured) — the bond method's path.

``envelope_factor`` / ``envelope_backsolve`` dispatch on the dimension.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from glass2epm.core.simd import panel_dot2, panel_dot4

@njit(cache=True)
def envelope_layout(first, n):
    """Row pointers of an envelope matrix: row r holds columns first[r]..r, stored at
    ptr[r] + (c − first[r]). Returns ptr (n+1,)."""
    ptr = np.empty(n + 1, dtype=np.int64)
    ptr[0] = 0
    for r in range(n):
        ptr[r + 1] = ptr[r] + (r - first[r] + 1)
    return ptr


@njit(cache=True)
def particle_envelope(firstp, nf, dim):
    """Envelope of a system of ``nf`` particles with ``dim`` rows each: the rows of
    particle l start at column dim·firstp[l]. Returns (first, ptr, env zeroed)."""
    nd = dim * nf
    first = np.empty(nd, dtype=np.int64)
    for l in range(nf):
        for a in range(dim):
            first[dim * l + a] = dim * firstp[l]
    ptr = envelope_layout(first, nd)
    return first, ptr, np.zeros(ptr[nd])


_FM = {"reassoc", "contract"}  # let the dot products vectorise (no change to NaN/inf handling)


@njit(cache=True, fastmath=_FM)
def envelope_cholesky(env, ptr, first, n):
    """In-place Cholesky L·Lᵀ of an SPD matrix held in envelope storage (lower
    triangle). Fill-in stays inside the envelope. Returns False if a pivot is not
    positive (not positive definite)."""
    for i in range(n):
        fi = first[i]
        base_i = ptr[i] - fi
        for j in range(fi, i + 1):
            fj = first[j]
            base_j = ptr[j] - fj
            k0 = fi if fi > fj else fj
            s = env[base_i + j]
            for k in range(k0, j):
                s -= env[base_i + k] * env[base_j + k]
            if j == i:
                if not s > 0.0:
                    return False
                env[base_i + i] = np.sqrt(s)
            else:
                env[base_i + j] = s / env[base_j + j]
    return True


@njit(cache=True, fastmath=_FM)
def envelope_solve(env, ptr, first, n, b):
    """Solve L·Lᵀ u = b in place (b overwritten by u) with a factor from
    :func:`envelope_cholesky`."""
    for i in range(n):  # forward: L y = b
        base = ptr[i] - first[i]
        s = b[i]
        for k in range(first[i], i):
            s -= env[base + k] * b[k]
        b[i] = s / env[base + i]
    for i in range(n - 1, -1, -1):  # backward: Lᵀ u = y (column-oriented)
        base = ptr[i] - first[i]
        b[i] /= env[base + i]
        v = b[i]
        for k in range(first[i], i):
            b[k] -= env[base + k] * v


@njit(cache=True, fastmath=_FM)
def envelope_cholesky2(env, ptr, first, n):
    """:func:`envelope_cholesky` for 2D particle systems: rows come in pairs (the two
    dofs of a particle) with the same even ``first``; works on 2×2 blocks (four
    independent accumulators: ≈ 2× faster). Returns False if not positive definite."""
    for P in range(n // 2):
        i0 = 2 * P
        fi = first[i0]
        b0 = ptr[i0] - fi
        b1 = ptr[i0 + 1] - fi
        for Q in range(fi // 2, P + 1):
            j0 = 2 * Q
            fj = first[j0]
            c0 = ptr[j0] - fj
            c1 = ptr[j0 + 1] - fj
            k0 = fi if fi > fj else fj
            s00 = env[b0 + j0]
            s10 = env[b1 + j0]
            s11 = env[b1 + j0 + 1]
            s01 = env[b0 + j0 + 1] if Q < P else 0.0
            for k in range(k0, j0):
                l0 = env[b0 + k]
                l1 = env[b1 + k]
                m0 = env[c0 + k]
                m1 = env[c1 + k]
                s00 -= l0 * m0
                s01 -= l0 * m1
                s10 -= l1 * m0
                s11 -= l1 * m1
            if Q < P:
                d0 = env[c0 + j0]
                l00 = s00 / d0
                l10 = s10 / d0
                m10 = env[c1 + j0]
                d1 = env[c1 + j0 + 1]
                env[b0 + j0] = l00
                env[b0 + j0 + 1] = (s01 - l00 * m10) / d1
                env[b1 + j0] = l10
                env[b1 + j0 + 1] = (s11 - l10 * m10) / d1
            else:
                if not s00 > 0.0:
                    return False
                d0 = np.sqrt(s00)
                l10 = s10 / d0
                t = s11 - l10 * l10
                if not t > 0.0:
                    return False
                env[b0 + j0] = d0
                env[b1 + j0] = l10
                env[b1 + j0 + 1] = np.sqrt(t)
    return True


@njit(cache=True, fastmath=_FM)
def envelope_solve2(env, ptr, first, n, b):
    """:func:`envelope_solve` for a factor from :func:`envelope_cholesky2` (in place)."""
    for P in range(n // 2):  # forward
        i0 = 2 * P
        fi = first[i0]
        b0 = ptr[i0] - fi
        b1 = ptr[i0 + 1] - fi
        s0 = b[i0]
        s1 = b[i0 + 1]
        for k in range(fi, i0):
            y = b[k]
            s0 -= env[b0 + k] * y
            s1 -= env[b1 + k] * y
        y0 = s0 / env[b0 + i0]
        b[i0] = y0
        b[i0 + 1] = (s1 - env[b1 + i0] * y0) / env[b1 + i0 + 1]
    for P in range(n // 2 - 1, -1, -1):  # backward (column oriented)
        i0 = 2 * P
        fi = first[i0]
        b0 = ptr[i0] - fi
        b1 = ptr[i0 + 1] - fi
        u1 = b[i0 + 1] / env[b1 + i0 + 1]
        u0 = (b[i0] - env[b1 + i0] * u1) / env[b0 + i0]
        b[i0] = u0
        b[i0 + 1] = u1
        for k in range(fi, i0):
            b[k] -= env[b0 + k] * u0 + env[b1 + k] * u1


@njit(cache=True)
def envelope_factor(env, ptr, first, n, dim):
    """Cholesky in envelope storage: the 2×2-block version in 2D, scalar otherwise."""
    if dim == 2:
        return envelope_cholesky2(env, ptr, first, n)
    return envelope_cholesky(env, ptr, first, n)


@njit(cache=True)
def envelope_backsolve(env, ptr, first, n, b, dim):
    """Solve with a factor from :func:`envelope_factor` (in place)."""
    if dim == 2:
        envelope_solve2(env, ptr, first, n, b)
    else:
        envelope_solve(env, ptr, first, n, b)


# ----------------------------------------------------------------------------
# 2D: envelope storage in 4×4 blocks (two particles), register-blocked Cholesky

_U1 = np.uint64(1)
_U2 = np.uint64(2)
_U3 = np.uint64(3)
_U4 = np.uint64(4)
_U5 = np.uint64(5)
_U6 = np.uint64(6)
_U7 = np.uint64(7)
_U8 = np.uint64(8)
_U9 = np.uint64(9)
_U10 = np.uint64(10)
_U11 = np.uint64(11)
_U12 = np.uint64(12)
_U13 = np.uint64(13)
_U14 = np.uint64(14)
_U15 = np.uint64(15)
_FC = {"contract"}  # fused multiply-adds, no reassociation (the vector panels: glass2epm.core.simd)
_Z8 = (0.0,) * 8


@njit(cache=True)
def block_envelope_layout(firstp, nf):
    """Layout of a 2D particle system's matrix in *block-envelope* storage.

    Particles (ordered so that ``firstp[l]`` ≤ l is the lowest particle coupled to
    particle l) are grouped in blocks of two (block I = particles 2I, 2I+1, dofs
    4I..4I+3; an odd count gets one padding particle). Block row I holds the columns
    ``4·fb[I]`` … 4I+3, column by column (4 entries each, one per row of the block):
    entry (4I+r, c) is at ``bptr[I] + 4(c − 4fb[I]) + r``. ``fd[I, 0]`` = 2·min(firstp
    of its two particles) is the first non-zero column of the block row (fill-in stays
    behind it), ``fd[I, 1]`` the first column where both particles' rows are non-zero
    and ``fd[I, 2]`` the row offset (0 or 2) of the particle that starts first.
    Returns (nb, fb, fd, bptr)."""
    nb = (nf + 1) // 2
    fb = np.empty(nb, dtype=np.int64)
    fd = np.empty((nb, 3), dtype=np.int64)
    bptr = np.empty(nb + 1, dtype=np.int64)
    block_envelope_layout_into(firstp, nf, fb, fd, bptr)
    return nb, fb, fd, bptr


@njit(cache=True)
def block_envelope_layout_into(firstp, nf, fb, fd, bptr):
    """:func:`block_envelope_layout` into given arrays (of at least nb, (nb, 3), nb + 1
    rows); returns nb."""
    nb = (nf + 1) // 2
    bptr[0] = 0
    for I in range(nb):
        fa = firstp[2 * I]
        fo = firstp[2 * I + 1] if 2 * I + 1 < nf else 2 * I + 1
        lo = fa if fa <= fo else fo
        fb[I] = lo // 2
        fd[I, 0] = 2 * lo
        fd[I, 1] = 2 * (fo if fa <= fo else fa)
        fd[I, 2] = 0 if fa <= fo else 2
        bptr[I + 1] = bptr[I] + 16 * (I - fb[I] + 1)
    return nb


@njit(cache=True, fastmath=_FC)
def _times_inverse_t(env, q, s0, s1, s2, s3, mi):
    """Row r of an off-diagonal block (entries env[q + 4c], c = 0..3, with q at row r):
    y = a − s, then y ← y L_JJ⁻ᵀ with ``mi`` the lower triangle of L_JJ⁻¹ row by row."""
    m00, m10, m11, m20, m21, m22, m30, m31, m32, m33 = mi
    y0 = env[q] - s0
    y1 = env[q + _U4] - s1
    y2 = env[q + _U8] - s2
    y3 = env[q + _U12] - s3
    env[q] = y0 * m00
    env[q + _U4] = y0 * m10 + y1 * m11
    env[q + _U8] = y0 * m20 + y1 * m21 + y2 * m22
    env[q + _U12] = y0 * m30 + y1 * m31 + y2 * m32 + y3 * m33


@njit(cache=True, fastmath=_FC)
def block_envelope_factor(env, fb, fd, bptr, dinv):
    """In-place Cholesky L·Lᵀ of an SPD matrix in block-envelope storage (lower
    triangle; :func:`block_envelope_layout`). Each 4×4 block of L is one dot-product
    sweep with 16 accumulators (:func:`glass2epm.core.simd.panel_dot4`: 4 vector
    multiply-adds per column; :func:`~glass2epm.core.simd.panel_dot2`, 2 × 4, over the
    columns where only one particle's rows are non-zero), then a triangular solve with
    the diagonal block of its column, applied as a product with that block's inverse;
    ``dinv`` (≥ 14·nb) receives the reciprocal pivots (first 4·nb entries) and the
    inverses of the diagonal blocks (10 per block, lower triangle row by row).
    Returns False if a pivot is not positive (not positive definite)."""
    nb = fb.shape[0]
    for I in range(nb):
        fI = fb[I]
        pI = bptr[I] - 16 * fI  # L[4I + r, c] = env[pI + 4c + r]
        for J in range(fI, I + 1):
            pJ = bptr[J] - 16 * fb[J]
            k1 = 4 * J
            ka = fd[I, 0] if fd[I, 0] > fd[J, 0] else fd[J, 0]
            kb = fd[I, 1] if fd[I, 1] > fd[J, 0] else fd[J, 0]
            if kb > k1:
                kb = k1
            if ka > kb:
                ka = kb
            # columns ka..kb: only the rows of the particle that starts first (2 × 4)
            ua = np.uint64(pI + 4 * ka + fd[I, 2])  # unsigned: no wraparound code
            ub = np.uint64(pJ + 4 * ka)
            if fd[I, 2] == 0:
                s00, s01, s02, s03, s10, s11, s12, s13 = panel_dot2(env, ua, ub, kb - ka, _Z8)
                s20 = 0.0; s21 = 0.0; s22 = 0.0; s23 = 0.0  # noqa: E702
                s30 = 0.0; s31 = 0.0; s32 = 0.0; s33 = 0.0  # noqa: E702
            else:
                s20, s21, s22, s23, s30, s31, s32, s33 = panel_dot2(env, ua, ub, kb - ka, _Z8)
                s00 = 0.0; s01 = 0.0; s02 = 0.0; s03 = 0.0  # noqa: E702
                s10 = 0.0; s11 = 0.0; s12 = 0.0; s13 = 0.0  # noqa: E702
            # columns kb..4J: all four rows (4 × 4), continuing the same accumulators
            (s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32,
             s33) = panel_dot4(env, np.uint64(pI + 4 * kb), np.uint64(pJ + 4 * kb), k1 - kb,
                               (s00, s01, s02, s03, s10, s11, s12, s13,
                                s20, s21, s22, s23, s30, s31, s32, s33))
            q = np.uint64(pI + 16 * J)  # block (I, J): env[q + 4c + r]
            if J < I:
                # L_IJ = (A_IJ − S) L_JJ⁻ᵀ, with L_JJ⁻¹ (lower triangle, row-wise in
                # dinv[4 nb + 10 J …]) from the diagonal step of block J
                v = 4 * nb + 10 * J
                m00 = dinv[v]; m10 = dinv[v + 1]; m11 = dinv[v + 2]; m20 = dinv[v + 3]  # noqa: E702
                m21 = dinv[v + 4]; m22 = dinv[v + 5]; m30 = dinv[v + 6]; m31 = dinv[v + 7]  # noqa: E702
                m32 = dinv[v + 8]; m33 = dinv[v + 9]  # noqa: E702
                mi = (m00, m10, m11, m20, m21, m22, m30, m31, m32, m33)
                _times_inverse_t(env, q, s00, s01, s02, s03, mi)
                _times_inverse_t(env, q + _U1, s10, s11, s12, s13, mi)
                _times_inverse_t(env, q + _U2, s20, s21, s22, s23, mi)
                _times_inverse_t(env, q + _U3, s30, s31, s32, s33, mi)
            else:
                # diagonal block: dense 4×4 Cholesky of A_II − S
                a00 = env[q] - s00
                a10 = env[q + _U1] - s10
                a20 = env[q + _U2] - s20
                a30 = env[q + _U3] - s30
                a11 = env[q + _U5] - s11
                a21 = env[q + _U6] - s21
                a31 = env[q + _U7] - s31
                a22 = env[q + _U10] - s22
                a32 = env[q + _U11] - s32
                a33 = env[q + _U15] - s33
                if not a00 > 0.0:
                    return False
                d0 = np.sqrt(a00)
                i0 = 1.0 / d0
                l10 = a10 * i0
                l20 = a20 * i0
                l30 = a30 * i0
                t = a11 - l10 * l10
                if not t > 0.0:
                    return False
                d1 = np.sqrt(t)
                i1 = 1.0 / d1
                l21 = (a21 - l20 * l10) * i1
                l31 = (a31 - l30 * l10) * i1
                t = a22 - l20 * l20 - l21 * l21
                if not t > 0.0:
                    return False
                d2 = np.sqrt(t)
                i2 = 1.0 / d2
                l32 = (a32 - l30 * l20 - l31 * l21) * i2
                t = a33 - l30 * l30 - l31 * l31 - l32 * l32
                if not t > 0.0:
                    return False
                d3 = np.sqrt(t)
                env[q] = d0
                env[q + _U1] = l10
                env[q + _U2] = l20
                env[q + _U3] = l30
                env[q + _U5] = d1
                env[q + _U6] = l21
                env[q + _U7] = l31
                env[q + _U10] = d2
                env[q + _U11] = l32
                env[q + _U15] = d3
                i3 = 1.0 / d3
                dinv[4 * I] = i0
                dinv[4 * I + 1] = i1
                dinv[4 * I + 2] = i2
                dinv[4 * I + 3] = i3
                # L_II⁻¹ (for the blocks below: a product instead of a substitution)
                m10 = -i1 * l10 * i0
                m21 = -i2 * l21 * i1
                m20 = -i2 * (l20 * i0 + l21 * m10)
                m32 = -i3 * l32 * i2
                m31 = -i3 * (l31 * i1 + l32 * m21)
                v = 4 * nb + 10 * I
                dinv[v] = i0
                dinv[v + 1] = m10
                dinv[v + 2] = i1
                dinv[v + 3] = m20
                dinv[v + 4] = m21
                dinv[v + 5] = i2
                dinv[v + 6] = -i3 * (l30 * i0 + l31 * m10 + l32 * m20)
                dinv[v + 7] = m31
                dinv[v + 8] = m32
                dinv[v + 9] = i3
    return True


@njit(cache=True, fastmath=_FC)
def block_envelope_solve(env, fb, fd, bptr, dinv, b):
    """Solve L·Lᵀ u = b in place (b, length 4·nb, overwritten by u) with a factor from
    :func:`block_envelope_factor`."""
    nb = fb.shape[0]
    for I in range(nb):  # forward: L y = b, one block row at a time
        pI = bptr[I] - 16 * fb[I]
        s0 = b[4 * I]
        s1 = b[4 * I + 1]
        s2 = b[4 * I + 2]
        s3 = b[4 * I + 3]
        t0 = 0.0
        t1 = 0.0
        t2 = 0.0
        t3 = 0.0
        ua = np.uint64(pI + 4 * fd[I, 0])
        for k in range(fd[I, 0], 4 * I, 2):  # fd even: pairs of columns, two accumulator sets
            y = b[k]
            z = b[k + 1]
            s0 -= env[ua] * y
            s1 -= env[ua + _U1] * y
            s2 -= env[ua + _U2] * y
            s3 -= env[ua + _U3] * y
            t0 += env[ua + _U4] * z
            t1 += env[ua + _U5] * z
            t2 += env[ua + _U6] * z
            t3 += env[ua + _U7] * z
            ua += _U8
        s0 -= t0
        s1 -= t1
        s2 -= t2
        s3 -= t3
        q = pI + 16 * I
        y0 = s0 * dinv[4 * I]
        y1 = (s1 - env[q + 1] * y0) * dinv[4 * I + 1]
        y2 = (s2 - env[q + 2] * y0 - env[q + 6] * y1) * dinv[4 * I + 2]
        y3 = (s3 - env[q + 3] * y0 - env[q + 7] * y1 - env[q + 11] * y2) * dinv[4 * I + 3]
        b[4 * I] = y0
        b[4 * I + 1] = y1
        b[4 * I + 2] = y2
        b[4 * I + 3] = y3
    for I in range(nb - 1, -1, -1):  # backward: Lᵀ u = y (block-column oriented)
        pI = bptr[I] - 16 * fb[I]
        q = pI + 16 * I
        u3 = b[4 * I + 3] * dinv[4 * I + 3]
        u2 = (b[4 * I + 2] - env[q + 11] * u3) * dinv[4 * I + 2]
        u1 = (b[4 * I + 1] - env[q + 6] * u2 - env[q + 7] * u3) * dinv[4 * I + 1]
        u0 = (b[4 * I] - env[q + 1] * u1 - env[q + 2] * u2 - env[q + 3] * u3) * dinv[4 * I]
        b[4 * I] = u0
        b[4 * I + 1] = u1
        b[4 * I + 2] = u2
        b[4 * I + 3] = u3
        ua = np.uint64(pI + 4 * fd[I, 0])
        for k in range(fd[I, 0], 4 * I):
            b[k] -= env[ua] * u0 + env[ua + _U1] * u1 + env[ua + _U2] * u2 + env[ua + _U3] * u3
            ua += _U4
