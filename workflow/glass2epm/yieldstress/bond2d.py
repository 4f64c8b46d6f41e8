"""The 2D path of the batched cavity expansion (:func:`glass2epm.yieldstress.bond.bond_sites`).

Per site: H_FF in block-envelope storage (4×4 blocks of two particles,
:func:`glass2epm.mechanics.envelope.block_envelope_factor`), three solves of the
free-row restrictions of Eqs. (5), (11), (12), each followed by one pass over the bonds,
vectorised over bonds, that forms d_n (Eqs. 2, 9, 10) and the next right-hand side, or,
after the last, the weighted stress-observable series of Eqs. (16)–(18) (B13–B15).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from glass2epm.core.contractions import _d3, _h2, _m4, _mv, _t3
from glass2epm.mechanics.envelope import block_envelope_factor, block_envelope_layout_into, block_envelope_solve

# the per-bond passes of the 2D path: vectorised over bonds (sums reassociated)
_FV = {"reassoc", "contract", "nsz"}

# rows of the per-bond work array of a site (2D): d₁, d₂, the affine part of the next
# step (A d₁, then A d₂) and the right-hand side vectors
_D10, _D11, _D20, _D21, _A0, _A1, _R0, _R1 = range(8)


@njit(cache=True)
def _assemble_free_block2(li, lj, bd, m, nf, glob, hdiag, incidence, pin, store, touched):
    """2D: H_FF of one cavity into block-envelope storage
    (:func:`glass2epm.mechanics.envelope.block_envelope_layout`), lower triangle: the diagonal blocks
    of the free particles (``glob``: their particle indices; ``hdiag`` from
    :func:`_diagonal_blocks`) and −[(second) x xᵀ + (first) 1] (Eq. B7) for every
    free–free bond (columns of ``bd``: rows 0, 1 x_ι; 6, 7 (first), (second)). ``pin``
    (or −1), particles without a pair (``istart``, ``jstart`` of :func:`_incidence`)
    and padding get identity rows; ``touched`` (≥ 2·nb) marks the others. ``incidence`` =
    (istart, jstart); ``store`` = (env, fb, bptr), the block-envelope arrays."""
    istart, jstart = incidence
    env, fb, bptr = store
    nb = fb.shape[0]
    for k in range(bptr[nb]):
        env[k] = 0.0
    for l in range(2 * nb):
        I = l >> 1
        o = 2 * (l & 1)
        q = bptr[I] - 16 * fb[I] + 16 * I + 5 * o  # entry (o, o) of the diagonal block
        i = glob[l] if l < nf else -1
        if (i >= 0 and l != pin
                and istart[i + 1] - istart[i] + jstart[i + 1] - jstart[i] > 0):
            env[q] = hdiag[i, 0]
            env[q + 1] = hdiag[i, 1]
            env[q + 5] = hdiag[i, 2]
            touched[l] = True
        else:
            env[q] = 1.0
            env[q + 5] = 1.0
            touched[l] = False
    for p in range(m):
        i = li[p]
        j = lj[p]
        if i < 0 or j < 0 or i == pin or j == pin:
            continue
        x0 = bd[0, p]
        x1 = bd[1, p]
        f1 = bd[6, p]
        f2 = bd[7, p]
        hi_ = i if i > j else j
        lw = i if i < j else j
        H = hi_ >> 1
        q = bptr[H] - 16 * fb[H] + 8 * lw + 2 * (hi_ & 1)  # entry (2 hi, 2 lw)
        k10 = f2 * x1 * x0
        env[q] = -(f2 * x0 * x0 + f1)
        env[q + 1] = -k10
        env[q + 4] = -k10
        env[q + 5] = -(f2 * x1 * x1 + f1)


@njit(cache=True)
def _scatter_solve2(gi, gj, g, rows, m, factor, active, nf, u):
    """u_F = H_FF⁻¹ b_F (2D, block-envelope factor) with b = −(particle field of the pair
    vectors (g[r0, p], g[r1, p])): +g on the i end, −g on the j end (frozen ends write
    to the zero slot, cleared after); rattlers, the pinned particle and padding get 0.
    ``rows`` = (r0, r1); ``factor`` = (env, fb, fd, bptr, dinv), the block-envelope factor."""
    r0, r1 = rows
    env, fb, fd, bptr, dinv = factor
    nb = fb.shape[0]
    for k in range(4 * nb):
        u[k] = 0.0
    for p in range(m):
        i = gi[p]
        j = gj[p]
        g0 = g[r0, p]
        g1 = g[r1, p]
        u[2 * j] -= g0
        u[2 * j + 1] -= g1
        u[2 * i] += g0
        u[2 * i + 1] += g1
    z = u.shape[0] - 2
    u[z] = 0.0
    u[z + 1] = 0.0
    for l in range(2 * nb):
        if l >= nf or not active[l]:
            u[2 * l] = 0.0
            u[2 * l + 1] = 0.0
    block_envelope_solve(env, fb, fd, bptr, dinv, u[:4 * nb])


@njit(cache=True, inline="always")
def _bond_row(gi, gj, bd, p):
    """Bond p of the site's bond table: its particles (i, j), pair vector x_ij (2D) and
    the first three scalar prefactors (Appendix B) of :func:`_pass_d1`/:func:`_pass_d2`."""
    return gi[p], gj[p], bd[0, p], bd[1, p], bd[6, p], bd[7, p], bd[8, p]


@njit(cache=True, fastmath=_FV)
def _pass_d1(gi, gj, bd, u, A, wk, m):
    """d₁ = A x + Δẋ on every bond (Eq. 9), A d₁, and the pair vectors of the right-hand
    side of Eq. (11), T:d₁d₁ + H·(A d₁) (the arithmetic of
    :func:`glass2epm.core.contractions.path_rhs`, order 2, for d = 2)."""
    a00, a01, a10, a11 = A[0, 0], A[0, 1], A[1, 0], A[1, 1]
    for p in range(m):
        i, j, x0, x1, f1, f2, f3 = _bond_row(gi, gj, bd, p)
        e0 = bd[2, p] + u[2 * j] - u[2 * i]
        e1 = bd[3, p] + u[2 * j + 1] - u[2 * i + 1]
        ad0 = a00 * e0 + a01 * e1
        ad1 = a10 * e0 + a11 * e1
        xe = x0 * e0 + x1 * e1
        s11 = e0 * e0 + e1 * e1
        cx = f3 * xe * xe + f2 * s11 + f2 * (x0 * ad0 + x1 * ad1)
        c1 = 2.0 * f2 * xe
        wk[_D10, p] = e0
        wk[_D11, p] = e1
        wk[_A0, p] = ad0
        wk[_A1, p] = ad1
        wk[_R0, p] = cx * x0 + c1 * e0 + f1 * ad0
        wk[_R1, p] = cx * x1 + c1 * e1 + f1 * ad1


@njit(cache=True, fastmath=_FV)
def _pass_d2(gi, gj, bd, u, A, wk, m):
    """d₂ = A d₁ + Δẍ on every bond (Eq. 10), A d₂, and the pair vectors of the
    right-hand side of Eq. (12), M⋮d₁d₁d₁ + 3T:d₁d₂ + H·(A d₂) (the arithmetic of
    :func:`glass2epm.core.contractions.path_rhs`, order 3, for d = 2)."""
    a00, a01, a10, a11 = A[0, 0], A[0, 1], A[1, 0], A[1, 1]
    for p in range(m):
        i, j, x0, x1, f1, f2, f3 = _bond_row(gi, gj, bd, p)
        f4 = bd[9, p]
        v0 = wk[_D10, p]
        v1 = wk[_D11, p]
        e0 = wk[_A0, p] + u[2 * j] - u[2 * i]
        e1 = wk[_A1, p] + u[2 * j + 1] - u[2 * i + 1]
        ad0 = a00 * e0 + a01 * e1
        ad1 = a10 * e0 + a11 * e1
        x1v = x0 * v0 + x1 * v1
        s11 = v0 * v0 + v1 * v1
        x2v = x0 * e0 + x1 * e1
        s12 = v0 * e0 + v1 * e1
        cx = (f4 * x1v * x1v * x1v + 3.0 * f3 * x1v * s11 + 3.0 * (f3 * x1v * x2v + f2 * s12)
              + f2 * (x0 * ad0 + x1 * ad1))
        c1 = 3.0 * f3 * x1v * x1v + 3.0 * f2 * s11 + 3.0 * f2 * x2v
        c2 = 3.0 * f2 * x1v
        wk[_D20, p] = e0
        wk[_D21, p] = e1
        wk[_A0, p] = ad0
        wk[_A1, p] = ad1
        wk[_R0, p] = cx * x0 + c1 * v0 + f1 * ad0 + c2 * e0
        wk[_R1, p] = cx * x1 + c1 * v1 + f1 * ad1 + c2 * e1


@njit(cache=True, fastmath=_FV)
def _pass_obs(gi, gj, bd, w, u, B, wk, m, out):
    """d₃ = A d₂ + Δx⃛ on every bond (Eq. 10) and O_B^w = Σ_b w_b O_b with its first three
    strain derivatives (Eqs. 16–18 per bond, B13–B15, with the pair helpers of
    :func:`glass2epm.core.contractions.bond_obs_series`) into ``out`` (4,)."""
    o0 = 0.0
    o1 = 0.0
    o2 = 0.0
    o3 = 0.0
    for p in range(m):
        i = gi[p]
        j = gj[p]
        f1 = bd[6, p]
        f2 = bd[7, p]
        f3 = bd[8, p]
        f4 = bd[9, p]
        x = (bd[0, p], bd[1, p], 0.0)
        u1 = (wk[_D10, p], wk[_D11, p], 0.0)
        u2 = (wk[_D20, p], wk[_D21, p], 0.0)
        u3 = (wk[_A0, p] + u[2 * j] - u[2 * i], wk[_A1, p] + u[2 * j + 1] - u[2 * i + 1], 0.0)
        b = _mv(B, x, 2)
        b1 = _mv(B, u1, 2)
        b2 = _mv(B, u2, 2)
        b3 = _mv(B, u3, 2)
        xb = _d3(x, b)
        x1 = _d3(x, u1)
        xb1 = _d3(x, b1)
        bd1 = _d3(b, u1)
        x2 = _d3(x, u2)
        xb2 = _d3(x, b2)
        s11 = _d3(u1, u1)
        b1d1 = _d3(b1, u1)
        bd2 = _d3(b, u2)
        x3 = _d3(x, u3)
        xb3 = _d3(x, b3)
        s12 = _d3(u1, u2)
        b1d2 = _d3(b1, u2)
        b2d1 = _d3(b2, u1)
        bd3 = _d3(b, u3)
        r1 = _h2(f1, f2, xb, x1, bd1) + f1 * xb1
        r2 = (_t3(f2, f3, xb, x1, x1, bd1, bd1, s11) + 2.0 * _h2(f1, f2, xb1, x1, b1d1)
              + _h2(f1, f2, xb, x2, bd2) + f1 * xb2)
        m4 = _m4(f2, f3, f4, (xb, x1, x1, x1), (bd1, bd1, bd1, s11, s11, s11))
        t = (_t3(f2, f3, xb1, x1, x1, b1d1, b1d1, s11) + _t3(f2, f3, xb, x1, x2, bd1, bd2, s12)
             + _h2(f1, f2, xb1, x2, b1d2) + _h2(f1, f2, xb2, x1, b2d1))
        r3 = m4 + 3.0 * t + _h2(f1, f2, xb, x3, bd3) + f1 * xb3
        o0 += w[p] * (f1 * xb)
        o1 += w[p] * r1
        o2 += w[p] * r2
        o3 += w[p] * r3
    out[0] = o0
    out[1] = o1
    out[2] = o2
    out[3] = o3


@njit(cache=True)
def _site_expansion2(pt, wb, m, floating, A, B, nf, relax, env):
    """2D cavity: O_B^w and its strain derivatives into ``out`` (4,). H_FF in 4×4 blocks
    (:func:`glass2epm.mechanics.envelope.block_envelope_factor`); then three solves, each followed by
    one vectorised pass over the bonds: Eq. (5) H_FF ẋ = −[H·(A x)]_F → d₁ and the
    right-hand side of Eq. (11) H_FF ẍ = −[T:d₁d₁ + H·(A d₁)]_F → d₂ and that of
    Eq. (12) H_FF x⃛ = −[M⋮d₁d₁d₁ + 3T:d₁d₂ + H·(A d₂)]_F → d₃ and the weighted stress
    observable. Returns (ok, env) (env possibly grown); ok False if H_FF is not
    positive definite. ``pt``: the :class:`~glass2epm.yieldstress.records.PairTable`;
    ``wb``: the :class:`~glass2epm.yieldstress.records.BondWork` after
    :func:`glass2epm.yieldstress.bond._site_bonds`."""
    hdiag, istart, jstart = pt.hdiag, pt.istart, pt.jstart
    li, lj, gi, gj, w, bd, glob, firstp = wb.li, wb.lj, wb.gi, wb.gj, wb.w, wb.bd, wb.glob, wb.firstp
    fbw, fdw, bptrw, touched, dinv, u, wk, out = wb.fb, wb.fd, wb.bptr, wb.touched, wb.dinv, wb.u, wb.wk, wb.out
    if not (relax and nf > 0):
        for p in range(m):  # no free particle: d_n = Aⁿ x, no solve
            wk[_D10, p] = bd[2, p]
            wk[_D11, p] = bd[3, p]
            wk[_D20, p] = A[0, 0] * bd[2, p] + A[0, 1] * bd[3, p]
            wk[_D21, p] = A[1, 0] * bd[2, p] + A[1, 1] * bd[3, p]
            wk[_A0, p] = A[0, 0] * wk[_D20, p] + A[0, 1] * wk[_D21, p]
            wk[_A1, p] = A[1, 0] * wk[_D20, p] + A[1, 1] * wk[_D21, p]
        u[:] = 0.0
        _pass_obs(gi, gj, bd, w, u, B, wk, m, out)
        return True, env
    nb = block_envelope_layout_into(firstp, nf, fbw, fdw, bptrw)
    fb = fbw[:nb]
    fd = fdw[:nb]
    bptr = bptrw[:nb + 1]
    if bptr[nb] > env.shape[0]:
        env = np.empty(2 * bptr[nb])
    _assemble_free_block2(li, lj, bd, m, nf, glob, hdiag, (istart, jstart), 0 if floating else -1,
                          (env, fb, bptr), touched)
    if not block_envelope_factor(env, fb, fd, bptr, dinv):
        return False, env
    # Eq. (5): the right-hand side −[H·(A x)]_F is a property of the pairs (rows 4, 5)
    _scatter_solve2(gi, gj, bd, (4, 5), m, (env, fb, fd, bptr, dinv), touched, nf, u)
    _pass_d1(gi, gj, bd, u, A, wk, m)
    _scatter_solve2(gi, gj, wk, (_R0, _R1), m, (env, fb, fd, bptr, dinv), touched, nf, u)
    _pass_d2(gi, gj, bd, u, A, wk, m)
    _scatter_solve2(gi, gj, wk, (_R0, _R1), m, (env, fb, fd, bptr, dinv), touched, nf, u)
    _pass_obs(gi, gj, bd, w, u, B, wk, m, out)
    return True, env
