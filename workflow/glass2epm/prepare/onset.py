"""The model's onset temperature from inherent-state energies e_IS(T_p).

Above the onset, inherent states do not depend on the parent temperature
(e_IS sits on a plateau); below it, they deepen as T_p decreases. The onset is
estimated by a least-squares fit of a plateau-plus-linear ("hockey stick")
curve, e_IS = e_∞ for T_p ≥ T_on and e_∞ + s (T_p − T_on) below, with T_on
scanned on a fine grid over the sampled range. Energies in ε, temperatures in ε/k_B.
"""

from __future__ import annotations

import numpy as np


def estimate_onset(Tp, e) -> dict:
    """Hockey-stick fit of e_IS(T_p); returns T_on, plateau e_∞, slope and rms residual."""
    Tp = np.asarray(Tp, float)
    e = np.asarray(e, float)
    order = np.argsort(Tp)
    Tp, e = Tp[order], e[order]
    if len(np.unique(Tp)) < 3:
        raise ValueError("need at least three distinct T_p to estimate an onset")
    best = None
    for Ton in np.linspace(Tp[0], Tp[-1], 400):
        below = np.minimum(Tp - Ton, 0.0)
        X = np.stack([np.ones_like(Tp), below], axis=1)
        coef, *_ = np.linalg.lstsq(X, e, rcond=None)
        res = float(np.sum((X @ coef - e) ** 2))
        if best is None or res < best[0]:
            best = (res, Ton, coef)
    res, Ton, coef = best
    return {"T_onset": float(Ton), "e_plateau": float(coef[0]), "slope": float(coef[1]),
            "rms": float(np.sqrt(res / len(e)))}
