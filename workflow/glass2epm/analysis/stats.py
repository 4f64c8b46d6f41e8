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
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from numba import njit
from scipy import stats as _st

__all__ = [
    "LogHistogram",
    "log_histogram",
    "PowerLawTail",
    "XminScan",
    "powerlaw_tail_mle",
    "choose_xmin",
    "powerlaw_tail",
    "powerlaw_tail_lsq",
    "TailPrefactor",
    "tail_prefactor",
    "tail_prefactor_lsq",
    "prefactor_ratio",
    "PowerLawFit",
    "powerlaw_fit",
    "Estimate",
    "mean_ci",
    "variance_ci",
    "bootstrap_ci",
    "pareto_sample",
    "CurvePeak",
    "uniform_grid",
    "moving_average",
    "curve_peak",
]


def _as_positive(x, absolute=True):
    """Finite values of x (|x| if ``absolute``): (all finite, strictly positive)."""
    x = np.asarray(x, dtype=float).ravel()
    x = x[np.isfinite(x)]
    if absolute:
        x = np.abs(x)
    return x, x[x > 0]


def _check_conf(conf):
    if not 0.0 < conf < 1.0:
        raise ValueError(f"confidence level must be in (0, 1), got {conf}")


def pareto_sample(n: int, alpha: float, xmin: float = 1.0, seed: int = 0) -> np.ndarray:
    """n samples of the continuous power law P(x) = (α−1)/x_min (x/x_min)^(−α), x ≥ x_min.

    Inverse-transform sampling: x = x_min u^(−1/(α−1)), u uniform in (0, 1].
    """
    if alpha <= 1:
        raise ValueError(f"alpha must be > 1 for a normalisable tail, got {alpha}")
    rng = np.random.default_rng(seed)
    u = 1.0 - rng.random(n)  # in (0, 1]
    return xmin * u ** (-1.0 / (alpha - 1.0))


# -----------------------------------------------------------------------------
# log-binned densities


@dataclass
class LogHistogram:
    """A log-binned probability density.

    ``density[i] = counts[i] / (n_norm * (edges[i+1] − edges[i]))`` with
    ``n_norm = n_binned`` (``norm="binned"``: Σ density·width = 1) or
    ``n_norm = n_total`` (``norm="total"``: density of the whole sample).
    ``centers`` are geometric bin centres; ``density_err`` Poisson errors
    √counts/(n_norm·width). Empty bins have density 0 and ``mask`` False.
    """

    edges: np.ndarray
    centers: np.ndarray
    counts: np.ndarray
    density: np.ndarray
    density_err: np.ndarray
    n_binned: int
    n_total: int
    n_nonpositive: int
    n_outside: int
    norm: str

    @property
    def widths(self) -> np.ndarray:
        return np.diff(self.edges)

    @property
    def mask(self) -> np.ndarray:
        return self.counts > 0

    def integral(self) -> float:
        return float(np.sum(self.density * self.widths))

    def to_dict(self) -> dict:
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in asdict(self).items()}


def log_edges(xmin: float, xmax: float, per_decade: float = 10.0, n_bins: int | None = None) -> np.ndarray:
    """Logarithmically spaced edges covering [xmin, xmax] (at least one bin)."""
    if not (xmin > 0 and xmax > 0):
        raise ValueError(f"log bins need positive limits, got [{xmin}, {xmax}]")
    if xmax < xmin:
        raise ValueError(f"xmax {xmax} < xmin {xmin}")
    if xmax == xmin:
        xmax = xmin * (1.0 + 1e-9)
    if n_bins is None:
        n_bins = max(1, int(np.ceil(per_decade * np.log10(xmax / xmin) - 1e-9)))
    return np.geomspace(xmin, xmax, int(n_bins) + 1)


def log_histogram(
    x,
    *,
    bins=None,
    per_decade: float = 10.0,
    n_bins: int | None = None,
    xmin: float | None = None,
    xmax: float | None = None,
    absolute: bool = True,
    norm: str = "binned",
) -> LogHistogram:
    """Probability density P(|x|) on logarithmic bins.

    x: samples (any shape; non-finite values dropped; |x| taken if ``absolute``).
    bins: explicit edges (overrides the rest); otherwise ``per_decade`` bins per
    decade (or ``n_bins``) between ``xmin`` and ``xmax`` (default: the smallest
    and largest positive sample). Zeros / negative values cannot be log-binned:
    they are counted in ``n_nonpositive``; samples outside the edges in
    ``n_outside``. ``norm="binned"`` normalises over the binned samples (∫P = 1
    over the bins), ``norm="total"`` over all finite samples.
    """
    if norm not in ("binned", "total"):
        raise ValueError(f"norm must be 'binned' or 'total', got {norm!r}")
    allx, pos = _as_positive(x, absolute)
    n_total = allx.size
    if bins is not None:
        edges = np.asarray(bins, dtype=float)
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0) or edges[0] <= 0:
            raise ValueError("bins must be increasing positive edges")
    else:
        if pos.size == 0 and (xmin is None or xmax is None):
            raise ValueError("no positive samples to log-bin")
        lo = float(pos.min()) if xmin is None else float(xmin)
        hi = float(pos.max()) if xmax is None else float(xmax)
        edges = log_edges(lo, hi, per_decade, n_bins)
    counts, _ = np.histogram(pos, bins=edges)
    n_binned = int(counts.sum())
    n_norm = n_binned if norm == "binned" else n_total
    widths = np.diff(edges)
    if n_norm > 0:
        density = counts / (n_norm * widths)
        err = np.sqrt(counts) / (n_norm * widths)
    else:
        density = np.zeros_like(widths)
        err = np.zeros_like(widths)
    return LogHistogram(
        edges=edges,
        centers=np.sqrt(edges[:-1] * edges[1:]),
        counts=counts.astype(np.int64),
        density=density,
        density_err=err,
        n_binned=n_binned,
        n_total=int(n_total),
        n_nonpositive=int(n_total - pos.size),
        n_outside=int(pos.size - n_binned),
        norm=norm,
    )


# -----------------------------------------------------------------------------
# power-law tails: maximum likelihood (CSN continuous estimator)


@dataclass
class PowerLawTail:
    """P(x) ∝ x^(−alpha) for x ≥ xmin: estimate, standard error and CI on alpha."""

    alpha: float
    stderr: float
    ci: tuple
    xmin: float
    n_tail: int
    n_total: int
    conf: float
    method: str
    ks: float = float("nan")  # KS distance between tail data and the fitted law

    @property
    def exponent(self) -> float:
        """The exponent of P(x) ~ x^exponent, i.e. −alpha."""
        return -self.alpha

    def contains(self, alpha: float) -> bool:
        return bool(self.ci[0] <= alpha <= self.ci[1])

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ci"] = list(self.ci)
        return d


@njit(cache=True)
def _ks_scan(xs, cand):
    """For each candidate index k into the ascending samples xs (x_min = xs[k]):
    the CSN estimate α_k (Eq. 3.1) and the KS distance D_k (Eq. 3.9)."""
    N = xs.size
    logs = np.log(xs)
    suf = np.zeros(N + 1)
    for i in range(N - 1, -1, -1):
        suf[i] = suf[i + 1] + logs[i]
    nc = cand.size
    alphas = np.full(nc, np.nan)
    D = np.full(nc, np.inf)
    for m in range(nc):
        k = cand[m]
        n = N - k
        S = suf[k] - n * logs[k]
        if n < 2 or S <= 0.0:
            continue
        a = 1.0 + n / S
        alphas[m] = a
        d = 0.0
        for i in range(k, N):
            F = 1.0 - np.exp((1.0 - a) * (logs[i] - logs[k]))
            j = i - k
            lo = F - j / n
            hi = (j + 1.0) / n - F
            if lo > d:
                d = lo
            if hi > d:
                d = hi
        D[m] = d
    return alphas, D


def _ks_distance(tail, xmin, alpha) -> float:
    """KS distance between the tail samples and P ∝ x^(−α), x ≥ x_min (CSN Eq. 3.9)."""
    xs = np.sort(np.asarray(tail, dtype=float))
    n = xs.size
    if n == 0:
        return float("nan")
    F = 1.0 - (xs / xmin) ** (1.0 - alpha)
    j = np.arange(n)
    return float(max(np.max(F - j / n), np.max((j + 1.0) / n - F)))


@njit(cache=True)
def _boot_tail_alpha(logs_tail, n_total, n_boot, seed):
    """Bootstrap of the CSN estimate with x_min fixed: each replicate resamples
    the full data set, i.e. draws the tail count ~ Binomial(N, n_tail/N) and
    that many tail samples with replacement."""
    np.random.seed(seed)
    nt = logs_tail.size
    p = nt / n_total
    out = np.empty(n_boot)
    for b in range(n_boot):
        c = np.random.binomial(n_total, p)
        s = 0.0
        for _ in range(c):
            s += logs_tail[np.random.randint(0, nt)]
        out[b] = 1.0 + c / s if (c > 1 and s > 0.0) else np.nan
    return out


def powerlaw_tail_mle(
    x,
    xmin: float,
    *,
    conf: float = 0.95,
    method: str = "exact",
    n_boot: int = 2000,
    seed: int = 0,
    absolute: bool = True,
) -> PowerLawTail:
    """Continuous maximum-likelihood exponent α of P(x) ∝ x^(−α), x ≥ xmin.

    α̂ = 1 + n / Σ ln(x_i / x_min) over the n tail samples (CSN Eq. 3.1).
    Confidence interval (level ``conf``):

    * ``"exact"`` (default): Σ ln(x_i/x_min) ~ Gamma(n, 1/(α−1)) for a pure
      power law, so (α−1)·Σ ln ~ Gamma(n, 1) gives an exact pivot;
    * ``"normal"``: α̂ ± z σ with the asymptotic σ = (α̂−1)/√n (CSN Eq. 3.2);
    * ``"bootstrap"``: percentile interval over ``n_boot`` resamples of the full
      data set (x_min fixed), seeded by ``seed``.

    ``stderr`` is always the asymptotic (α̂−1)/√n (bootstrap: the replicates' sd).
    """
    _check_conf(conf)
    if not xmin > 0:
        raise ValueError(f"xmin must be positive, got {xmin}")
    allx, _ = _as_positive(x, absolute)
    tail = allx[allx >= xmin]
    n = tail.size
    if n < 2:
        raise ValueError(f"only {n} samples at or above xmin={xmin}: cannot fit a tail")
    logs = np.log(tail / xmin)
    S = float(logs.sum())
    if S <= 0:
        raise ValueError("all tail samples equal xmin: exponent undefined")
    alpha = 1.0 + n / S
    se = (alpha - 1.0) / np.sqrt(n)
    q = (1.0 - conf) / 2.0
    if method == "exact":
        ci = (1.0 + _st.gamma.ppf(q, n) / S, 1.0 + _st.gamma.ppf(1.0 - q, n) / S)
    elif method == "normal":
        z = _st.norm.ppf(1.0 - q)
        ci = (alpha - z * se, alpha + z * se)
    elif method == "bootstrap":
        reps = _boot_tail_alpha(logs, allx.size, int(n_boot), int(seed))
        reps = reps[np.isfinite(reps)]
        ci = (float(np.quantile(reps, q)), float(np.quantile(reps, 1.0 - q)))
        se = float(np.std(reps, ddof=1))
    else:
        raise ValueError(f"unknown CI method {method!r}: use 'exact', 'normal' or 'bootstrap'")
    return PowerLawTail(
        alpha=float(alpha),
        stderr=float(se),
        ci=(float(ci[0]), float(ci[1])),
        xmin=float(xmin),
        n_tail=int(n),
        n_total=int(allx.size),
        conf=conf,
        method=method,
        ks=_ks_distance(tail, xmin, alpha),
    )


@dataclass
class XminScan:
    """Result of the KS scan: chosen x_min and the scanned candidates."""

    xmin: float
    alpha: float
    ks: float
    n_tail: int
    candidates: np.ndarray = field(repr=False)
    alphas: np.ndarray = field(repr=False)
    ks_values: np.ndarray = field(repr=False)


def choose_xmin(
    x,
    *,
    min_tail: int = 50,
    max_candidates: int = 200,
    xmin_range: tuple | None = None,
    absolute: bool = True,
) -> XminScan:
    """Choose x_min by minimising the KS distance between the tail data and the
    fitted power law (CSN §3.3, Eq. 3.9).

    Candidates are sample values leaving at least ``min_tail`` samples in the
    tail, optionally restricted to ``xmin_range = (lo, hi)``; when there are more
    than ``max_candidates``, a union of rank-spaced and log-spaced ones is used.
    Cost O(N · candidates) in a numba kernel.
    """
    _, pos = _as_positive(x, absolute)
    xs = np.sort(pos)
    N = xs.size
    if N < max(min_tail, 2):
        raise ValueError(f"{N} positive samples: need at least min_tail={min_tail}")
    kmax = N - max(int(min_tail), 2)
    lo_k, hi_k = 0, kmax
    if xmin_range is not None:
        lo_k = int(np.searchsorted(xs, xmin_range[0], side="left"))
        hi_k = min(kmax, int(np.searchsorted(xs, xmin_range[1], side="right")) - 1)
        if hi_k < lo_k:
            raise ValueError(f"no candidate x_min in {xmin_range} leaves {min_tail} tail samples")
    # unique values only: first index of each value
    if hi_k - lo_k + 1 <= max_candidates:
        cand = np.arange(lo_k, hi_k + 1)
    else:
        half = max(2, max_candidates // 2)
        rank = np.linspace(lo_k, hi_k, half).round().astype(np.int64)
        logv = np.geomspace(xs[lo_k], xs[hi_k], half)
        logk = np.clip(np.searchsorted(xs, logv, side="left"), lo_k, hi_k)
        cand = np.union1d(rank, logk)
    cand = np.unique(np.searchsorted(xs, xs[cand], side="left")).astype(np.int64)
    alphas, D = _ks_scan(xs, cand)
    m = int(np.argmin(D))
    if not np.isfinite(D[m]):
        raise ValueError("KS scan found no valid x_min (degenerate data)")
    return XminScan(
        xmin=float(xs[cand[m]]),
        alpha=float(alphas[m]),
        ks=float(D[m]),
        n_tail=int(N - cand[m]),
        candidates=xs[cand],
        alphas=alphas,
        ks_values=D,
    )


def powerlaw_tail(
    x,
    xmin: float | str = "ks",
    *,
    conf: float = 0.95,
    method: str = "exact",
    n_boot: int = 2000,
    seed: int = 0,
    min_tail: int = 50,
    xmin_range: tuple | None = None,
    absolute: bool = True,
) -> PowerLawTail:
    """Tail exponent α of P(x) ~ x^(−α): x_min given, or chosen by KS (``"ks"``).

    With a KS-chosen x_min the CI is conditional on that x_min (it does not
    include the uncertainty of the choice).
    """
    if isinstance(xmin, str):
        if xmin != "ks":
            raise ValueError(f"xmin must be a number or 'ks', got {xmin!r}")
        xmin = choose_xmin(x, min_tail=min_tail, xmin_range=xmin_range, absolute=absolute).xmin
    return powerlaw_tail_mle(x, float(xmin), conf=conf, method=method, n_boot=n_boot, seed=seed,
                             absolute=absolute)


def powerlaw_tail_lsq(
    x,
    xmin: float,
    *,
    per_decade: float = 10.0,
    min_count: int = 5,
    conf: float = 0.95,
    weighted: bool = True,
    absolute: bool = True,
) -> PowerLawTail:
    """α from a straight-line fit of log P against log x on log-binned data above
    ``xmin`` (bins with ≥ ``min_count`` samples; Poisson weights if ``weighted``).

    For comparison with the maximum-likelihood estimate only: it is biased and
    less efficient (CSN §3.1).
    """
    allx, _ = _as_positive(x, absolute)
    tail = allx[allx >= xmin]
    if tail.size < 2:
        raise ValueError(f"only {tail.size} samples above xmin={xmin}")
    h = log_histogram(tail, per_decade=per_decade, xmin=xmin, xmax=float(tail.max()), absolute=False)
    ok = h.counts >= min_count
    if ok.sum() < 3:
        raise ValueError(f"fewer than 3 log bins with ≥ {min_count} counts above xmin={xmin}")
    fit = powerlaw_fit(h.centers[ok], h.density[ok], h.density_err[ok] if weighted else None, conf=conf)
    return PowerLawTail(
        alpha=-fit.b,
        stderr=fit.b_stderr,
        ci=(-fit.b_ci[1], -fit.b_ci[0]),
        xmin=float(xmin),
        n_tail=int(tail.size),
        n_total=int(allx.size),
        conf=conf,
        method="lsq",
    )


# -----------------------------------------------------------------------------
# tail prefactor at fixed exponent (A_g/A_∞, Fig. 1c)


@dataclass
class TailPrefactor:
    """A in P(x) ≈ A x^(−alpha) for x in [xmin, xmax), alpha fixed.

    ``log_se`` is the standard error of ln A (for ratios); ``fraction`` the
    tail fraction n_tail/n_total it is computed from.
    """

    A: float
    ci: tuple
    log_se: float
    alpha: float
    xmin: float
    xmax: float
    n_tail: int
    n_total: int
    conf: float
    method: str

    @property
    def fraction(self) -> float:
        return self.n_tail / self.n_total

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ci"] = list(self.ci)
        return d


def _tail_integral(alpha, xmin, xmax):
    """∫_{xmin}^{xmax} x^(−α) dx for α > 1 (xmax may be inf)."""
    top = 0.0 if not np.isfinite(xmax) else xmax ** (1.0 - alpha)
    return (xmin ** (1.0 - alpha) - top) / (alpha - 1.0)


def tail_prefactor(
    x,
    alpha: float,
    xmin: float,
    *,
    xmax: float = np.inf,
    n_total: int | None = None,
    conf: float = 0.95,
    absolute: bool = True,
) -> TailPrefactor:
    """Maximum-likelihood prefactor A of the tail P(x) ≈ A x^(−α) with α FIXED.

    With P normalised over all ``n_total`` samples (default: all finite samples
    of x; pass a larger ``n_total`` if x omits samples that belong to the
    normalisation), the number of samples in [x_min, x_max) is Binomial(N, p)
    with p = A ∫ x^(−α) dx, and at fixed α the shapes of samples inside the tail
    carry no information on A. Hence Â = (k/N) / ∫_{x_min}^{x_max} x^(−α) dx, with
    the exact (Clopper–Pearson) binomial interval mapped onto A.

    α is the positive tail exponent: for the paper's P(φ_γ) ~ φ_γ^(−7/2) pass
    alpha=3.5 (Eq. 23, n = 1).
    """
    _check_conf(conf)
    if alpha <= 1:
        raise ValueError(f"alpha must be the positive tail exponent > 1 (P ~ x^-alpha), got {alpha}")
    if not xmin > 0 or not xmax > xmin:
        raise ValueError(f"need 0 < xmin < xmax, got xmin={xmin}, xmax={xmax}")
    allx, _ = _as_positive(x, absolute)
    N = allx.size if n_total is None else int(n_total)
    k = int(np.count_nonzero((allx >= xmin) & (allx < xmax)))
    if N < allx.size:
        raise ValueError(f"n_total={N} is smaller than the number of samples {allx.size}")
    if k == 0:
        raise ValueError(f"no samples in [{xmin}, {xmax}): cannot estimate the tail prefactor")
    I = _tail_integral(alpha, xmin, xmax)
    q = (1.0 - conf) / 2.0
    p_lo = _st.beta.ppf(q, k, N - k + 1)
    p_hi = _st.beta.ppf(1.0 - q, k + 1, N - k) if k < N else 1.0
    return TailPrefactor(
        A=float(k / N / I),
        ci=(float(p_lo / I), float(p_hi / I)),
        log_se=float(np.sqrt((1.0 - k / N) / k)),
        alpha=float(alpha),
        xmin=float(xmin),
        xmax=float(xmax),
        n_tail=k,
        n_total=N,
        conf=conf,
        method="binomial-mle",
    )


def tail_prefactor_lsq(hist: LogHistogram, alpha: float, xmin: float, *, min_count: int = 5,
                       conf: float = 0.95) -> TailPrefactor:
    """A at fixed α from a log-binned density: weighted mean of ln(P x^α) over
    bins fully above ``xmin`` with ≥ ``min_count`` samples (Poisson weights),
    t-based CI. The bin-averaged density of x^(−α) is corrected exactly (P in a
    bin is A ∫x^(−α)/width, not A x_c^(−α)). For comparison with ``tail_prefactor``.
    """
    ok = (hist.edges[:-1] >= xmin * (1 - 1e-12)) & (hist.counts >= min_count)
    if ok.sum() < 2:
        raise ValueError(f"fewer than 2 usable bins above xmin={xmin}")
    lo, hi = hist.edges[:-1][ok], hist.edges[1:][ok]
    model = np.array([_tail_integral(alpha, a, b) for a, b in zip(lo, hi)]) / (hi - lo)
    r = np.log(hist.density[ok] / model)
    w = hist.counts[ok].astype(float)  # var(ln P) ≈ 1/count
    m = float(np.sum(w * r) / np.sum(w))
    n = r.size
    s2 = float(np.sum(w * (r - m) ** 2) / (n - 1)) if n > 1 else 0.0
    se = np.sqrt(max(s2, 1.0) / np.sum(w)) if n > 1 else np.nan  # at least the Poisson error
    t = _st.t.ppf(1 - (1 - conf) / 2, n - 1)
    return TailPrefactor(A=float(np.exp(m)), ci=(float(np.exp(m - t * se)), float(np.exp(m + t * se))),
                         log_se=float(se), alpha=float(alpha), xmin=float(xmin),
                         xmax=float(hi.max()), n_tail=int(hist.counts[ok].sum()),
                         n_total=int(hist.n_total if hist.norm == "total" else hist.n_binned),
                         conf=conf, method="lsq")


def prefactor_ratio(num: TailPrefactor, den: TailPrefactor, conf: float = 0.95) -> tuple:
    """A_num / A_den with a CI from independent log-normal errors (delta method):
    returns (ratio, ci_low, ci_high). Both prefactors must share α."""
    if not np.isclose(num.alpha, den.alpha):
        raise ValueError(f"prefactors with different exponents ({num.alpha}, {den.alpha}) are not comparable")
    r = num.A / den.A
    se = np.hypot(num.log_se, den.log_se)
    z = _st.norm.ppf(1 - (1 - conf) / 2)
    return float(r), float(r * np.exp(-z * se)), float(r * np.exp(z * se))


# -----------------------------------------------------------------------------
# generic power law y = c x^b


@dataclass
class PowerLawFit:
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

    def predict(self, x) -> np.ndarray:
        return self.c * np.asarray(x, dtype=float) ** self.b

    def contains(self, b: float) -> bool:
        return bool(self.b_ci[0] <= b <= self.b_ci[1])

    def to_dict(self) -> dict:
        d = asdict(self)
        d["b_ci"] = list(self.b_ci)
        return d


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


@dataclass
class Estimate:
    """A point estimate with a standard error and a confidence interval."""

    value: float
    stderr: float
    ci: tuple
    n: int
    n_groups: int
    conf: float
    method: str

    def contains(self, v: float) -> bool:
        return bool(self.ci[0] <= v <= self.ci[1])

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ci"] = list(self.ci)
        return d


@njit(cache=True)
def _boot_moments(s0, s1, s2, n_boot, ddof, seed):
    """Bootstrap over groups with sufficient statistics (count, Σx, Σx²) per
    group: returns the resampled means and variances (ddof as in numpy)."""
    np.random.seed(seed)
    G = s0.size
    means = np.empty(n_boot)
    varis = np.empty(n_boot)
    for b in range(n_boot):
        n = 0.0
        a1 = 0.0
        a2 = 0.0
        for _ in range(G):
            g = np.random.randint(0, G)
            n += s0[g]
            a1 += s1[g]
            a2 += s2[g]
        m = a1 / n
        means[b] = m
        varis[b] = (a2 - a1 * m) / (n - ddof) if n > ddof else np.nan
    return means, varis


def _groups(x):
    """(pooled values, group index) from an array (each point its own group) or a
    list of arrays (one group per array, e.g. one per sample/configuration)."""
    if isinstance(x, (list, tuple)):
        parts = [np.asarray(v, dtype=float).ravel() for v in x]
        parts = [p[np.isfinite(p)] for p in parts]
        parts = [p for p in parts if p.size]
        if not parts:
            raise ValueError("no finite samples")
        vals = np.concatenate(parts)
        gid = np.repeat(np.arange(len(parts)), [p.size for p in parts])
        return vals, gid, len(parts)
    vals = np.asarray(x, dtype=float).ravel()
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        raise ValueError("no finite samples")
    return vals, np.arange(vals.size), vals.size


def _moments_ci(x, which, conf, n_boot, seed, ddof, resample):
    _check_conf(conf)
    vals, gid, G = _groups(x)
    if resample == "points":
        gid, G = np.arange(vals.size), vals.size
    elif resample != "groups":
        raise ValueError(f"resample must be 'groups' or 'points', got {resample!r}")
    shift = float(np.mean(vals))  # resample centred values: no cancellation in Σx² − (Σx)²/n
    v = vals - shift
    s0 = np.bincount(gid, minlength=G).astype(float)
    s1 = np.bincount(gid, weights=v, minlength=G)
    s2 = np.bincount(gid, weights=v * v, minlength=G)
    means, varis = _boot_moments(s0, s1, s2, int(n_boot), float(ddof), int(seed))
    reps = means + shift if which == "mean" else varis
    est = shift if which == "mean" else float(np.var(vals, ddof=ddof))
    reps = reps[np.isfinite(reps)]
    q = (1.0 - conf) / 2.0
    return Estimate(
        value=float(est),
        stderr=float(np.std(reps, ddof=1)),
        ci=(float(np.quantile(reps, q)), float(np.quantile(reps, 1.0 - q))),
        n=int(vals.size),
        n_groups=int(G),
        conf=conf,
        method=f"bootstrap-percentile ({resample}, n_boot={n_boot}, seed={seed})",
    )


def mean_ci(x, *, conf: float = 0.95, n_boot: int = 2000, seed: int = 0, resample: str = "groups") -> Estimate:
    """Pooled mean with a bootstrap percentile CI.

    x: an array (each value resampled) or a list of arrays (pooled; with
    ``resample="groups"`` whole arrays are resampled, which respects
    correlations within one sample, e.g. all bonds of one configuration).
    """
    return _moments_ci(x, "mean", conf, n_boot, seed, 0, resample)


def variance_ci(x, *, conf: float = 0.95, n_boot: int = 2000, seed: int = 0, ddof: int = 1,
                resample: str = "groups") -> Estimate:
    """Pooled variance (``ddof`` as numpy) with a bootstrap percentile CI; see ``mean_ci``."""
    return _moments_ci(x, "var", conf, n_boot, seed, ddof, resample)


def bootstrap_ci(x, statistic, *, conf: float = 0.95, n_boot: int = 2000, seed: int = 0,
                 resample: str = "groups") -> Estimate:
    """Percentile bootstrap CI of an arbitrary ``statistic(values) -> float``.

    x as in ``mean_ci``. Pure numpy (``np.random.default_rng(seed)``): use the
    specialised functions for means/variances of large samples.
    """
    _check_conf(conf)
    vals, gid, G = _groups(x)
    if resample == "points":
        gid, G = np.arange(vals.size), vals.size
    elif resample != "groups":
        raise ValueError(f"resample must be 'groups' or 'points', got {resample!r}")
    rng = np.random.default_rng(seed)
    order = np.argsort(gid, kind="stable")
    sorted_vals = vals[order]
    bounds = np.concatenate([[0], np.cumsum(np.bincount(gid, minlength=G))])
    reps = np.empty(n_boot)
    for b in range(n_boot):
        pick = rng.integers(0, G, G)
        if G == vals.size:
            sample = sorted_vals[pick]
        else:
            sample = np.concatenate([sorted_vals[bounds[g]:bounds[g + 1]] for g in pick])
        reps[b] = statistic(sample)
    reps = reps[np.isfinite(reps)]
    q = (1.0 - conf) / 2.0
    return Estimate(
        value=float(statistic(vals)),
        stderr=float(np.std(reps, ddof=1)),
        ci=(float(np.quantile(reps, q)), float(np.quantile(reps, 1.0 - q))),
        n=int(vals.size),
        n_groups=int(G),
        conf=conf,
        method=f"bootstrap-percentile ({resample}, n_boot={n_boot}, seed={seed})",
    )


@dataclass
class CurvePeak:
    """Peak of a sample-averaged curve (:func:`curve_peak`); y in the units of the curves."""

    value: float  # max of the smoothed mean curve
    x: float  # where it is reached
    stderr: float  # bootstrap standard deviation over samples
    ci: tuple  # percentile bootstrap interval
    n_samples: int
    window: float  # moving-average width (units of x)
    conf: float = 0.95

    def as_dict(self) -> dict:
        return {"value": self.value, "x": self.x, "stderr": self.stderr, "ci": list(self.ci),
                "n_samples": self.n_samples, "window": self.window, "conf": self.conf}


def uniform_grid(end: float, step: float) -> np.ndarray:
    """0, step, 2·step, … up to ``end`` (inclusive within round-off): the common strain grid
    on which sample curves are averaged before :func:`curve_peak`."""
    if not (step > 0 and end >= 0):
        raise ValueError(f"uniform_grid needs step > 0 and end >= 0, got end={end}, step={step}")
    return np.arange(int(np.floor(end / step + 1e-9)) + 1) * step


def moving_average(y, k: int) -> np.ndarray:
    """Centred moving average over k (odd) points along the last axis; near the ends the
    window is truncated and the average taken over the points it still covers."""
    y = np.asarray(y, float)
    if k < 1 or k % 2 == 0:
        raise ValueError(f"moving-average width must be an odd number of points >= 1, got {k}")
    if k == 1:
        return y.copy()
    h = k // 2
    n = y.shape[-1]
    c = np.concatenate([np.zeros(y.shape[:-1] + (1,)), np.cumsum(y, axis=-1)], axis=-1)
    lo = np.clip(np.arange(n) - h, 0, n)
    hi = np.clip(np.arange(n) + h + 1, 0, n)
    return (c[..., hi] - c[..., lo]) / (hi - lo)


def curve_peak(curves, x, window: float = 0.0, *, conf: float = 0.95, n_boot: int = 2000,
               seed: int = 0) -> CurvePeak:
    """Peak of the sample-averaged curve: the yield (peak) stress of Fig. 5(c), inset.

    ``curves`` (n_samples, n_x): one curve per sample on the common uniform grid ``x``
    (for stress–strain curves: σ in ε/λ^d against γ). The samples are averaged, the
    mean is smoothed by a centred moving average of width ``window`` (in units of x;
    rounded to an odd number of grid points, truncated at the ends) and its maximum is
    the peak. Averaging before taking the maximum is the paper's convention ("stress
    signals are averaged over realizations"): the mean of per-sample maxima of noisy
    small-system curves is biased upwards by the fluctuations (extreme-value
    statistics), not by the yield stress. The smoothing removes the same bias from
    the residual noise of a finite number of samples. Uncertainty: percentile
    bootstrap over samples (whole curves resampled), ``seed`` fixed.
    """
    _check_conf(conf)
    C = np.atleast_2d(np.asarray(curves, float))
    x = np.asarray(x, float)
    if C.shape[1] != x.size or x.size < 2:
        raise ValueError(f"curves {C.shape} do not match a grid of {x.size} points (need >= 2)")
    if not np.all(np.isfinite(C)):
        raise ValueError("curves must be finite on the whole grid (cut the grid to the shortest curve)")
    dx = np.diff(x)
    if not np.allclose(dx, dx[0], rtol=1e-6, atol=0.0) or dx[0] <= 0:
        raise ValueError("curve_peak needs a uniform increasing grid")
    if window < 0:
        raise ValueError(f"window must be >= 0, got {window}")
    k = 2 * int(round(0.5 * window / dx[0])) + 1

    def peak(rows):
        m = moving_average(rows.mean(axis=0), k)
        j = int(np.argmax(m))
        return m[j], x[j]

    value, xp = peak(C)
    n = C.shape[0]
    rng = np.random.default_rng(seed)
    reps = np.array([peak(C[rng.integers(0, n, n)])[0] for _ in range(n_boot)]) if n > 1 else np.array([value])
    q = (1.0 - conf) / 2.0
    return CurvePeak(value=float(value), x=float(xp),
                     stderr=float(np.std(reps, ddof=1)) if reps.size > 1 else 0.0,
                     ci=(float(np.quantile(reps, q)), float(np.quantile(reps, 1.0 - q))),
                     n_samples=int(n), window=float((k - 1) * dx[0]), conf=conf)
