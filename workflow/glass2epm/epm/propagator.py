"""The EPM propagator of Eq. (24) (paper Sec. V A) and its FFT conventions.

Conventions (GooseEPM-style: what is stored, signs, normalisation)
------------------------------------------------------------------
Grid
    An L×L periodic lattice of blocks (one block = ξ = 5 particle diameters);
    every field has shape (L, L), indexed ``field[x, y]``. Offsets are taken
    modulo L, so ``K[dx, dy]`` is the kernel at offset (dx, dy) with
    dx, dy ∈ {0, …, L − 1} (negative offsets wrap to L − |d|).
Wave vectors
    q = 2π k / L with k the integers of ``numpy.fft.fftfreq(L)·L`` (order
    0, 1, …, L/2 − 1, −L/2, …, −1), built ``indexing="ij"``: axis 0 is q_x,
    axis 1 is q_y.
Fourier kernel (Eq. 24)
    Ĝ(q) = −4 q_x² q_y² / q⁴ for q ≠ 0; Ĝ(0) = ``q0`` = −1 under strain
    control (each failure lowers the total stress by 2 μ ε_pl) and 0 under
    stress control (the q = 0 part removed: total stress conserved).
Transforms
    numpy's unnormalised forward FFT and the 1/L²-normalised inverse:
    K = ``ifft2(Ĝ).real``, hence Σ_r K(r) = Ĝ(0) and K(0) = (1/L²) Σ_q Ĝ(q).
    The FFT path of the dynamics convolves with the half spectrum
    ``Ĝ[:, :L//2 + 1]`` (``scipy.fft.rfft2``/``irfft2``, same normalisation).
Amplitude
    A failure of block j changes σ_i by 2 μ_j ε_pl K(r_i − r_j) (μ_j: the
    modulus of the failing block before renewal).
On-site value (ERRATA)
    K(0) → 1 − π/2 ≈ −0.5708 for large L (exact finite-L value:
    :func:`onsite_value`), not −1. ``onsite="normalised"`` adds the constant
    A = (−1 − K(0))·L²/(L² − 1) to Ĝ(q ≠ 0): in real space K' = K + A·δ_{r,0} − A/L²,
    on-site exactly −1, the excess handed back uniformly, Σ_r K' = Ĝ(0).
Sign pattern
    quadrupolar and x↔y symmetric: K > 0 along the lattice axes, K < 0 along
    the diagonals, far field ≈ cos 4θ / (π r²).
"""

from __future__ import annotations

import numpy as np


def _wavevectors(L: int):
    k = 2.0 * np.pi * np.fft.fftfreq(L)
    return np.meshgrid(k, k, indexing="ij")


def propagator_fourier(L: int, *, onsite: str = "paper", q0: float = -1.0) -> np.ndarray:
    """Ĝ(q) of Eq. (24) on the L×L FFT grid (``fftfreq`` order), shape (L, L).

    Ĝ(q) = −4 q_x² q_y² / q⁴ for q ≠ 0 and Ĝ(0) = ``q0`` (−1 under strain control,
    0 under stress control). ``onsite="normalised"`` adds the constant
    A = (−1 − K(0))·L²/(L² − 1) to every q ≠ 0 so that the real-space on-site
    value is exactly −1 and the real-space sum stays ``q0`` (see module docstring).
    """
    L = int(L)
    if L < 2:
        raise ValueError(f"EPM lattice size must be >= 2, got {L}")
    if onsite not in ("paper", "normalised"):
        raise ValueError(f"onsite must be 'paper' or 'normalised', got {onsite!r}")
    qx, qy = _wavevectors(L)
    q2 = qx * qx + qy * qy
    q2[0, 0] = 1.0
    G = -4.0 * qx * qx * qy * qy / (q2 * q2)
    G[0, 0] = q0
    if onsite == "normalised":
        k0 = G.sum() / (L * L)  # the on-site value of the unmodified kernel
        A = (-1.0 - k0) * L * L / (L * L - 1.0)
        G += A
        G[0, 0] = q0
    return G


def propagator(L: int, *, onsite: str = "paper", q0: float = -1.0) -> np.ndarray:
    """Real-space kernel K[dx, dy] (shape (L, L)): the stress change at offset
    (dx, dy) from a failing block per unit 2 μ ε_pl. Inverse FFT of :func:`propagator_fourier`."""
    G = propagator_fourier(L, onsite=onsite, q0=q0)
    K = np.fft.ifft2(G).real
    return np.ascontiguousarray(K)


def onsite_value(L: int, q0: float = -1.0) -> float:
    """Exact on-site value K(0) = (1/L²) Σ_q Ĝ(q) of the paper's kernel (→ 1 − π/2 as L → ∞)."""
    return float(propagator_fourier(L, q0=q0).sum() / (L * L))


def sparse_kernel(K: np.ndarray) -> np.ndarray:
    """The kernel doubled along y, ``[K, K]`` (shape (L, 2L)), so that the row of
    K(x − x_f, · − y_f) is the contiguous slice ``Kt[x − x_f mod L, L − y_f : 2L − y_f]``."""
    return np.ascontiguousarray(np.concatenate([K, K], axis=1))


def oriented_kernels(L: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Real-space basis of the randomly oriented Eshelby kernel, all with Ĝ(0) = 0 (no load).

    The kernel of a shear eigenstrain rotated by ψ, seen in the same rotated component, is
    Ĝ_ψ(q) = −sin²(2φ − 2ψ) (φ the angle of q; ψ = 0 is Eq. 24's −4q_x²q_y²/q⁴), hence
    K_ψ = cos²(2ψ)·K_a + sin²(2ψ)·K_b + sin(4ψ)·K_c with
    Ĝ_a = −4q_x²q_y²/q⁴, Ĝ_b = −(q_x² − q_y²)²/q⁴, Ĝ_c = 2q_xq_y(q_x² − q_y²)/q⁴.
    K_a + K_b = −δ_{r,0} + 1/L² and K_c(0) = 0. Returns (K_a, K_b, K_c), each (L, L)."""
    qx, qy = _wavevectors(int(L))
    q2 = qx * qx + qy * qy
    q2[0, 0] = 1.0
    ga = -4.0 * qx * qx * qy * qy / (q2 * q2)
    gb = -((qx * qx - qy * qy) ** 2) / (q2 * q2)
    gc = 2.0 * qx * qy * (qx * qx - qy * qy) / (q2 * q2)
    out = []
    for g in (ga, gb, gc):
        g[0, 0] = 0.0
        out.append(np.ascontiguousarray(np.fft.ifft2(g).real))
    return tuple(out)
