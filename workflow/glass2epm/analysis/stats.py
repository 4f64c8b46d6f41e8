"""Statistics used across the project: log-binned densities, power-law tails,
power-law fits y = c x^b, and bootstrap confidence intervals.

Conventions
-----------
* A power-law *tail* is written P(x) ≈ A x^(−α) for x ≥ x_min with **α > 1
  positive** (the paper's Eq. 23 exponents −7/2, −11/6, −3/2 for n = 1, 2, 3
  are α = 7/2, 11/6, 3/2). Functions take and return α; ``.exponent`` gives −α.
* Densities P are normalised over samples (∫P dx = 1 over the data, or over
  all samples with ``norm="total"``), so a tail prefactor A has the units of
  x^(α−1) and, for P(φ_γ), the units of the prefactor of D(ω) (Sec. III,
  Fig. 1c). Quantities carry whatever units their samples carry (ε, λ, ...).
* Every random procedure takes an explicit ``seed``; same inputs and seed give
  the same numbers. Bootstrap kernels are numba ``@njit(cache=True)``
  functions seeded with ``np.random.seed`` inside the kernel.

Contents
--------
``log_histogram``            log-binned P(|x|) with counts, edges, Poisson errors.
``powerlaw_tail_mle``        continuous Clauset–Shalizi–Newman estimator of α
                             (exact Gamma CI, normal CI or bootstrap CI).
``choose_xmin``              x_min by Kolmogorov–Smirnov minimisation (CSN §3.3).
``powerlaw_tail``            ``choose_xmin`` (if asked) + ``powerlaw_tail_mle``.
``powerlaw_tail_lsq``        least-squares α from log-binned data (for comparison).
``tail_prefactor``           A in P ≈ A x^(−α) at fixed α (maximum likelihood,
                             exact binomial CI); ``tail_prefactor_lsq`` alike
                             from log-binned data; ``prefactor_ratio`` A_g/A_∞.
``powerlaw_fit``             y = c x^b on (x, y) by log-log regression with a
                             t-based CI on b (optionally per-point errors).
``mean_ci``, ``variance_ci`` pooled mean/variance with bootstrap CIs (points or
                             groups = samples resampled); ``bootstrap_ci`` generic.
``curve_peak``               peak of a sample-averaged, smoothed curve y(x) with a
                             bootstrap CI over samples (the yield stress, Fig. 5c).

Reference: A. Clauset, C. R. Shalizi, M. E. J. Newman, SIAM Rev. 51, 661 (2009)
(Eqs. 3.1, 3.2, 3.9 there).

Modules: :mod:`~glass2epm.analysis.tails` (densities, tails, prefactors),
:mod:`~glass2epm.analysis.fits` (y = c x^b), :mod:`~glass2epm.analysis.bootstrap` (means,
variances, generic bootstrap, curve peaks). This module is their public import point.
"""

# re-exported names: the public API of the three topic modules
from glass2epm.analysis import bootstrap as _bootstrap, fits as _fits, tails as _tails
from glass2epm.analysis.bootstrap import (Estimate, CurvePeak, bootstrap_ci, curve_peak, mean_ci,  # noqa: F401
                                          moving_average, uniform_grid, variance_ci)
from glass2epm.analysis.fits import PowerLawFit, powerlaw_fit  # noqa: F401
from glass2epm.analysis.tails import (LogHistogram, PowerLawTail, TailPrefactor, XminScan,  # noqa: F401
                                      choose_xmin, log_edges, log_histogram, pareto_sample,
                                      powerlaw_tail, powerlaw_tail_lsq, powerlaw_tail_mle,
                                      prefactor_ratio, tail_prefactor, tail_prefactor_lsq)

__all__ = [*_tails.__all__, *_fits.__all__, *_bootstrap.__all__]
