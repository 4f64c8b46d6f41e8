"""The inter-scale stress flux Π_ℓ, defined from the coarse-grained balance itself (issue 22, part 3).

Hernández-García write Π_ℓ through moments of density increments, assuming bounded V and ∇V, which
fails for the inverse-power-law potential (ERRATA). We define it from the energy balance of a
deformation step, in the Kolmogorov way (resolved power against total power), with the same
Gaussian filter G_ℓ and exact bond integrals as :mod:`glass2epm.fields.coarse`.

Step
    Two states A → B of the same particles (consecutive AQS snapshots, or an elastic linear-response
    step δγ(Ax + ẋ) of Eq. 5 from an inherent state); u_i the displacement (cell deformation
    included), evaluated at the midpoint configuration x^m = x_A + u/2, cell h^m = (h_A + h_B)/2.
Fields (per unit volume; ε/λ^d)
    total power      P_ℓ(x) = Σ_pairs [φ(|r_B|) − φ(|r_A|)] ∫₀¹ G_ℓ(x − x_i^m − s r^m) ds, r_A,B = r^m ∓ δr/2,
                     δr = u_j − u_i (image-corrected): each bond's exact energy change, spread along it;
    resolved power   R_ℓ(x) = σ_ℓ^m : ∇u_ℓ, u_ℓ = Σ_i u_i G_ℓ(x − x_i^m)/ρ_ℓ (mass-weighted displacement);
    flux             Π_ℓ = P_ℓ − R_ℓ: the work done below the scale ℓ (by the sub-ℓ part of the bond
                     forces on the sub-ℓ part of the displacements).
Balance (checked)
    U_B − U_A = ∫R_ℓ + ∫Π_ℓ + residual; the residual comes from the bonds inside the cut-off at A or B
    but not at the midpoint (φ, φ' → 0 at the cut-off) and from the grid quadrature: :func:`balance`
    reports each term and the residual.
"""

from __future__ import annotations

import math

import numpy as np

from glass2epm.fields.coarse import _PAIRS, spread


def displacement(conf_a, conf_b) -> np.ndarray:
    """u = x_B − x_A with the cell deformation included and the periodic images matched through the
    fractional coordinates (valid while non-affine displacements stay below half a cell)."""
    sa = conf_a.x @ np.linalg.inv(conf_a.box.h).T
    sb = conf_b.x @ np.linalg.inv(conf_b.box.h).T
    ds = sb - sa
    ds -= np.round(ds)
    return (sa + ds) @ conf_b.box.h.T - conf_a.x


def elastic_step(conf, dgamma: float, geometry: str = "simple_shear"):
    """The linear-response step of Eq. (5) from an inherent state: (B, u) with u = δγ(Ax + ẋ)."""
    from glass2epm.core.box import Box, deformation_generator
    from glass2epm.mechanics.linear_response import nonaffine_velocity

    A = deformation_generator(geometry, conf.dim)
    xdot, _ = nonaffine_velocity(conf, A)
    u = dgamma * (conf.x @ A.T + xdot.reshape(conf.N, conf.dim))
    b = conf.copy()
    b.x = conf.x + u
    b.box = Box((np.eye(conf.dim) + dgamma * A) @ conf.box.h)
    return b, u


def flux_fields(conf_a, conf_b, ell: float, n: int, threads: int | None = None) -> dict:
    """P_ℓ, R_ℓ, Π_ℓ (and σ_ℓ, ρ_ℓ, u_ℓ at the midpoint) on the n^d grid for the step A → B."""
    from glass2epm.core.box import Box
    from glass2epm.core.pairs import PairSet
    from glass2epm.fields.coarse import _check

    d = conf_a.dim
    u = displacement(conf_a, conf_b)
    mid = conf_a.copy()
    mid.x = conf_a.x + 0.5 * u
    mid.box = Box(0.5 * (conf_a.box.h + conf_b.box.h))
    _check(mid, ell, n)
    h = mid.box.h
    hinv = np.linalg.inv(h)
    # every pair that interacts at A, at the midpoint or at B (bonds made or broken during the step
    # carry energy too), with its midpoint separation r^m (minimum image of the midpoint cell)
    keys = set()
    for c in (conf_a, mid, conf_b):
        pc = PairSet.from_configuration(c)
        keys.update(zip(pc.ii.tolist(), pc.jj.tolist()))
    ii, jj = (np.array(v, dtype=np.int64) for v in zip(*sorted(keys)))
    sep = mid.x[jj] - mid.x[ii]
    img = np.round(sep @ hinv.T)
    rv = sep - img @ h.T
    lam = mid.model.pair_size(mid.sizes[ii], mid.sizes[jj])
    der = mid.model.radial_derivatives(np.sqrt(np.einsum("ij,ij->i", rv, rv)), lam, order=1)
    g = der[1] / np.sqrt(np.einsum("ij,ij->i", rv, rv))  # φ'(r)/r at the midpoint (0 beyond the cut-off)
    # bond change r_B − r_A = u_j − u_i − (h_B − h_A)·n, n the pair's periodic image (x_j − x_i = r + h n)
    du = u[jj] - u[ii] - img @ (conf_b.box.h - conf_a.box.h).T
    # each bond's exact energy change φ(|r_B|) − φ(|r_A|), r_A,B = r^m ∓ δr/2 (zero beyond the cut-off)
    phi = lambda v: mid.model.radial_derivatives(np.sqrt(np.einsum("ij,ij->i", v, v)), lam, order=0)[0]
    dphi = phi(rv + 0.5 * du) - phi(rv - 0.5 * du)
    pair_w = np.column_stack([g * rv[:, a] * rv[:, b] for a, b in _PAIRS[d]] + [dphi])
    # displacement = affine E·x (E the cell's step, h_B = (1 + E) h_A) + a periodic remainder w
    E = (conf_b.box.h - conf_a.box.h) @ np.linalg.inv(conf_a.box.h)
    w = u - mid.x @ E.T
    part_w = np.column_stack([np.ones(mid.N), w])
    x3 = np.zeros((mid.N, 3))
    x3[:, :d] = mid.x
    rv3 = np.zeros((ii.size, 3))
    rv3[:, :d] = rv
    h3, hinv3 = np.eye(3), np.eye(3)
    h3[:d, :d] = h
    hinv3[:d, :d] = np.linalg.inv(h)
    grid = spread(x3, h3, hinv3, ii, rv3, pair_w, part_w, n, ell, d, threads)
    rho = grid[0]
    m = grid[1:1 + d]
    ncomp = len(_PAIRS[d])
    sig = grid[1 + d:1 + d + ncomp]
    P = grid[1 + d + ncomp]
    # Favre average of the affine part: Σ E x_i G/ρ = E(x + ℓ²∇ρ/ρ) (Gaussian: Σ(x_i − x)G = ℓ²∇ρ), so
    # ∇u_ℓ = E + E·∇(ℓ²∇ρ/ρ) + ∇(Σ w_i G/ρ), every piece periodic
    grho = _gradient(rho[None, :], h, n, d)[0]
    b = np.stack([ell * ell * grho[a] / rho for a in range(d)])
    gb = _gradient(b, h, n, d)
    gw = _gradient(m / rho, h, n, d)
    grad = [[E[a, bb] + sum(E[a, c] * gb[c][bb] for c in range(d)) + gw[a][bb] for bb in range(d)]
            for a in range(d)]  # grad[a][b] = ∂_b u_a
    u_l = m / rho
    R = np.zeros_like(P)
    for c, (a, b) in enumerate(_PAIRS[d]):
        R += sig[c] * (grad[a][b] if a == b else grad[a][b] + grad[b][a])
    return {"rho": rho, "u": u_l, "sigma": sig, "P": P, "R": R, "Pi": P - R, "V": abs(float(np.linalg.det(h)))}


def _gradient(f, h, n, d):
    """∂_b f_a of periodic grid fields f_a (a over the first axis; on the cell's fractional grid) by
    FFT, q = 2π h^{−T} k: out[a][b]."""
    k = np.meshgrid(*[np.fft.fftfreq(n, 1.0 / n)] * d, indexing="ij")
    kv = np.stack([a.ravel() for a in k])
    q = (2 * np.pi * np.linalg.inv(h).T @ kv).reshape((d,) + (n,) * d)
    out = []
    for a in range(len(f)):
        fa = np.fft.fftn(f[a].reshape((n,) * d))
        out.append([np.fft.ifftn(1j * q[b] * fa).real.ravel() for b in range(d)])
    return out


def balance(conf_a, conf_b, ell: float, n: int) -> dict:
    """The step's energy balance: U_B − U_A against ∫R_ℓ + ∫Π_ℓ (ε), with the local magnitudes ∫|R_ℓ|,
    ∫|Π_ℓ| (from an inherent state ∫Π_ℓ itself nearly cancels: the flux moves energy between places and
    scales) and the residual relative to dU and to ∫|Π_ℓ|."""
    from glass2epm.core.potential import ForceField

    ff = ForceField(conf_a.model)
    ua = ff.compute(conf_a.x, conf_a.sizes, conf_a.box)[0]
    ub = ff.compute(conf_b.x, conf_b.sizes, conf_b.box)[0]
    f = flux_fields(conf_a, conf_b, ell, n)
    V = f["V"]
    dU = float(ub - ua)
    iR = float(f["R"].mean() * V)
    iPi = float(f["Pi"].mean() * V)
    res = dU - (iR + iPi)
    absR = float(np.abs(f["R"]).mean() * V)
    absPi = float(np.abs(f["Pi"]).mean() * V)
    return {"dU": dU, "int_R": iR, "int_Pi": iPi, "int_abs_R": absR, "int_abs_Pi": absPi, "residual": res,
            "residual_over_dU": abs(res) / max(abs(dU), 1e-300),
            "residual_over_abs_Pi": abs(res) / max(absPi, 1e-300)}
