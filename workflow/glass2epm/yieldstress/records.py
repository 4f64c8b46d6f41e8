"""Named state of the frozen-matrix kernels (:mod:`glass2epm.yieldstress.frozen`): named
tuples of arrays, which numba passes to
``@njit(cache=True)`` kernels field by field (no copy, same code as separate arguments)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np


class FrozenModel(NamedTuple):
    """The pair potential of the frozen-matrix kernels (:mod:`glass2epm.yieldstress.frozen`):
    β, the polynomial coefficients, the reduced cutoff x_c and the non-additivity n_a
    (Eq. A4) of :class:`glass2epm.core.model.Model`."""

    beta: float
    coeffs: np.ndarray
    xc: float
    na: float


class FrozenProtocol(NamedTuple):
    """The frozen-matrix AQS protocol of one cavity: generator ``A``, stress selector
    ``B``, cavity volume ``VR`` and tr A (V_R(γ) = V_R e^{γ trA}), strain ``step`` Δγ,
    at most ``nmax`` steps, ``drop_tol`` (ε/λ^d) and ``ftol`` (max|F|, ε/λ)."""

    A: np.ndarray
    B: np.ndarray
    VR: float
    trA: float
    step: float
    nmax: int
    drop_tol: float
    ftol: float


@dataclass
class FrozenCurve:
    """Cavity stress against strain for one site and direction."""

    strain: np.ndarray
    stress: np.ndarray
    yielded: bool
    sigma_y: float
    gamma_y: float
    steps: int
    extra: dict = field(default_factory=dict)
