"""Generic power law y = c x^b by weighted log-log regression (Figs. 7b, d and 9b)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as _st

from glass2epm.analysis._common import WithCI, _check_conf

__all__ = ["PowerLawFit", "powerlaw_fit"]


@dataclass
class PowerLawFit(WithCI):
    """y = c x^b fitted as ln y = ln c + b ln x (weighted least squares)."""

    b: float
    b_stderr: float
    b_ci: tuple
    c: float
    log_c: float
    log_c_stderr: float
    n: int
    dof: int
    conf: float
    r2: float
    chi2: float  # weighted residual sum of squares (chi² if sigma is absolute)

    _ci = "b_ci"  # the CI of contains() / to_dict() is that of the exponent b

    def predict(self, x) -> np.ndarray:
        return self.c * np.asarray(x, dtype=float) ** self.b


def powerlaw_fit(
    x,
    y,
    yerr=None,
    *,
    xmin: float | None = None,
    xmax: float | None = None,
    conf: float = 0.95,
    absolute_sigma: bool = False,
) -> PowerLawFit:
    """Fit y = c x^b on positive (x, y) data by linear regression of ln y on ln x.

    ``yerr`` (optional, same units as y): per-point errors, propagated to
    σ_ln y = yerr/y and used as weights 1/σ². Without ``absolute_sigma`` the
    covariance is rescaled by the residual variance and the CI on b uses
    Student's t with n − 2 degrees of freedom; with ``absolute_sigma`` the errors
    are taken as exact and the CI is normal. Points outside [xmin, xmax] and
    non-positive/non-finite points are dropped. Used for w(γ) (Fig. 7b, d) and
    w(L) (Fig. 9b).
    """
    _check_conf(conf)
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in length: {x.size} vs {y.size}")
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if yerr is not None:
        yerr = np.broadcast_to(np.asarray(yerr, dtype=float), x.shape)
        ok &= np.isfinite(yerr) & (yerr > 0)
    if xmin is not None:
        ok &= x >= xmin
    if xmax is not None:
        ok &= x <= xmax
    n = int(ok.sum())
    if n < 2:
        raise ValueError(f"need at least 2 positive points to fit a power law, got {n}")
    lx, ly = np.log(x[ok]), np.log(y[ok])
    w = np.ones(n) if yerr is None else (y[ok] / yerr[ok]) ** 2
    W = w.sum()
    mx, my = np.sum(w * lx) / W, np.sum(w * ly) / W
    Sxx = np.sum(w * (lx - mx) ** 2)
    if Sxx <= 0:
        raise ValueError("all x values are equal: slope undefined")
    b = np.sum(w * (lx - mx) * (ly - my)) / Sxx
    a = my - b * mx
    res = ly - a - b * lx
    chi2 = float(np.sum(w * res**2))
    dof = n - 2
    Syy = np.sum(w * (ly - my) ** 2)
    r2 = float(1.0 - chi2 / Syy) if Syy > 0 else 1.0
    q = 1.0 - (1.0 - conf) / 2.0
    if absolute_sigma and yerr is not None:
        s2, crit = 1.0, _st.norm.ppf(q)
    elif dof > 0:
        s2, crit = chi2 / dof, _st.t.ppf(q, dof)
    else:
        s2, crit = np.nan, np.nan
    b_se = np.sqrt(s2 / Sxx)
    a_se = np.sqrt(s2 * (1.0 / W + mx**2 / Sxx))
    return PowerLawFit(
        b=float(b),
        b_stderr=float(b_se),
        b_ci=(float(b - crit * b_se), float(b + crit * b_se)),
        c=float(np.exp(a)),
        log_c=float(a),
        log_c_stderr=float(a_se),
        n=n,
        dof=dof,
        conf=conf,
        r2=r2,
        chi2=chi2,
    )


# -----------------------------------------------------------------------------
# pooled means / variances with bootstrap CIs

