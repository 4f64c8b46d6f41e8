"""The frozen-matrix local yield stress of one cavity, plain reference (Sec. IV; refs. [29, 46]).

The protocol of :mod:`glass2epm.yieldstress.frozen` written with the shared mechanics: the
cavity's subsystem as a :class:`~glass2epm.core.io.Configuration`, deformed affinely
step by step, its free particles relaxed by :func:`glass2epm.mechanics.minimize.minimize`
(FIRE + Newton polish, ``frozen=`` mask for the frozen matrix), the cavity stress from
:func:`glass2epm.yieldstress.cavity.cavity_stress`. Slow (Python per step): for checks of
the numba production path and of the expansion at small |γ|.
"""

from __future__ import annotations

import numpy as np

from glass2epm.core.box import deformation, deformation_generator
from glass2epm.mechanics.minimize import MinimizationError, minimize
from glass2epm.yieldstress.cavity import Cavity, cavity_stress
from glass2epm.yieldstress.records import FrozenCurve


def _component(sig: np.ndarray, B: np.ndarray) -> float:
    """B:σ — the stress component selected by B (B = x̂ŷ gives σ_xy)."""
    return float(np.einsum("ab,ab->", B, sig))


def frozen_matrix_curve(cav: Cavity, geometry: str = "simple_shear", B: np.ndarray | None = None,
                        step: float = 1e-3, max_strain: float = 0.3, direction: int = 1,
                        drop_tol: float = 1e-6, strains: np.ndarray | None = None,
                        ftol: float = 1e-11) -> FrozenCurve:
    """Shear the cavity explicitly until the first stress drop (or ``max_strain``).

    Plain reference implementation (see the module docstring). ``strains``: an
    explicit list of strains to visit instead (no yield detection), used to compare
    with the expansion at small |γ|. The drop is a decrease of ``direction``·σ_B.
    """
    if step <= 0:
        raise ValueError(f"frozen-matrix step must be positive, got {step}")
    if direction not in (1, -1):
        raise ValueError("direction must be +1 (forward) or -1 (backward)")
    sub = cav.sub
    dim = sub.dim
    if B is None:
        B = np.zeros((dim, dim))
        B[0, 1] = 1.0
    trA = float(np.trace(deformation_generator(geometry, dim)))
    frozen = ~cav.free
    if cav.n_free == 0:
        frozen = None
    x0, box0 = sub.x, sub.box
    s0 = _component(cavity_stress(cav), B)
    gam = [0.0]
    sig = [s0]
    if strains is not None:
        targets = np.asarray(strains, float)
    else:
        nmax = int(np.ceil(max_strain / step))
        targets = direction * step * np.arange(1, nmax + 1)
    x_prev = x0
    g_prev = 0.0
    yielded = False
    sy, gy = np.nan, np.nan
    for g in targets:
        D = deformation(geometry, g, dim)
        Dstep = deformation(geometry, g - g_prev, dim)
        box = box0.deformed(D)
        guess = x_prev @ Dstep.T  # affine step from the previous state
        c = sub.copy()
        c.box = box
        c.x = guess
        if frozen is not None:
            # frozen particles sit exactly on the affine map of the reference
            c.x[frozen] = (x0 @ D.T)[frozen]
            try:
                relaxed, _ = minimize(c, frozen=frozen, ftol=ftol, newton_from=1e3)
            except MinimizationError:
                relaxed, _ = minimize(c, frozen=frozen, ftol=10 * ftol)
            x_prev = relaxed.x
        else:
            x_prev = c.x
        s = _component(cavity_stress(cav, x_prev, box, volume=cav.volume * np.exp(g * trA)), B)
        gam.append(float(g))
        sig.append(s)
        g_prev = g
        if strains is None and direction * (s - sig[-2]) < -drop_tol:
            yielded = True
            sy, gy = sig[-2], gam[-2]
            break
    return FrozenCurve(np.array(gam), np.array(sig), yielded, float(sy), float(gy), len(gam) - 1)
