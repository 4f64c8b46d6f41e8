"""Log-binned densities and power-law tails P(x) ≈ A x^(−α), x ≥ x_min: the CSN maximum-
likelihood exponent, the KS choice of x_min, least-squares comparisons and the tail prefactor
at fixed α (Eq. 23 exponents, Fig. 1c). Conventions in :mod:`glass2epm.analysis.stats`.

Reference: A. Clauset, C. R. Shalizi, M. E. J. Newman, SIAM Rev. 51, 661 (2009)
(Eqs. 3.1, 3.2, 3.9 there).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from numba import njit
from scipy import stats as _st

from glass2epm.analysis._common import WithCI, _as_positive, _check_conf, percentile_ci
from glass2epm.analysis.fits import powerlaw_fit

__all__ = [
    "LogHistogram",
    "log_edges",
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
    "pareto_sample",
]


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
class PowerLawTail(WithCI):
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
        ci = percentile_ci(reps, conf)
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
class TailPrefactor(WithCI):
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
