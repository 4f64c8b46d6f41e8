"""Stationary mean-field theory of the thermal elasto-plastic model (Baron & Biroli, Eqs. 1–8).

Model and conventions
---------------------
A site carries a scalar stress σ. It relaxes at rate ν(σ)/τ (Eq. 3)::

    ν(σ) = 1                                  |σ| ≥ σ_c
    ν(σ) = exp(−ΔE(σ)/T),  ΔE = K (σ_c − |σ|)^a   |σ| < σ_c

and its stress is redrawn from (Eq. 1)::

    y(σ) = exp((|σ| − σ_c)/σ₀) θ(σ_c − |σ|) / 𝒩,   𝒩 = 2σ₀ (1 − e^{−σ_c/σ₀}).

In mean field (Eqs. 5, 6, 8) the stationary distribution solves

    D P''(σ) − ν(σ) P(σ)/τ + Γ y(σ) = 0,    D = α Γ,

with Γ the activity: the relaxation rate per site, Γ = (1/τ) ∫ ν P dσ (the paper sets τ = 1;
with τ ≠ 1 this is the only choice that conserves probability). T is in the units of K σ_c^a
(k_B = 1), σ in the units of the stress, time in units of τ. Defaults are the paper's:
σ_c = σ₀ = K = τ = 1, α = 0.11, a = 1.5.

How it is solved (not by simulation)
------------------------------------
Dividing by Γ, P solves the *linear* boundary-value problem

    α P'' − λ(σ) P = −y,   λ = ν/(τΓ),   P'(0) = 0,   P(σ) = P(σ_c) e^{−(σ−σ_c)/√(ατΓ)} for σ > σ_c

(the outer solution is exact because ν ≡ 1 and y ≡ 0 there). Integrating the equation over the
line shows that Γ = (1/τ)∫νP holds for every Γ once P is normalised, so the self-consistency is
the single scalar condition Q(Γ) = ∫P − 1 = 0, monotone in Γ and solved by bracketing on ln Γ.
For each Γ the BVP is discretised by a vertex-centred finite-volume scheme (exact integrals of y
over the dual cells, exact Robin flux at σ_c) on a grid mapped to the local scales of the problem
(the absorption length √(ατΓ/ν) and the barrier scale T/(Ka(σ_c−σ)^{a−1})), solved as a
tridiagonal system, and Richardson-extrapolated over three grid levels. The reported
``error_estimate`` is the difference between the last two extrapolants.

Regimes (the same solver, or closed forms checked against it)
-------------------------------------------------------------
* :func:`frozen_edge` — σ̄ of Eq. (18), the edge of the T → 0 distribution, and Ē = K(σ_c − σ̄)^a;
* :func:`activated_activity` — the low-T law with the prefactor of ERRATA (not Eqs. 21–22):
  Γ ≃ (e^{2γ_E}/α) T₁² e^{−Ē/T} / τ, T₁ = T/(K a (σ_c − σ̄)^{a−1});
* :func:`critical_temperature` — T_c of the MCT-like regime, σ_B(T_c) = σ̄ with σ_B of Eq. (10);
  ``rate="no-activation"`` solves the model with the rate of Eq. (10), whose activity vanishes there;
* :func:`onset_temperature` — T_onset = ∫ΔE P_∞ dσ, the exact 1/T coefficient of 1 − τΓ at large T
  (ERRATA), and :func:`onset_temperature_linearised`, Eq. (B6) with the sign of ERRATA;
* :func:`correlation_length` — ξ of Eqs. (15), (16), (23): from the slope of the on-shell curve
  D*(Γ) of the same solver, ξ² = m / |dD*/dΓ − α|.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import solve_banded
from scipy.optimize import brentq

#: the paper's parameters (Sec. II: σ_c = σ₀ = K = τ = 1; Sec. VI: α = 0.11, a ≈ 1.5)
DEFAULTS = {"alpha": 0.11, "a": 1.5, "sigma_c": 1.0, "sigma0": 1.0, "K": 1.0, "tau": 1.0}

#: the rate functions the solver accepts: Eq. (3), Eq. (10) (activation switched off), Eq. (7)
RATES = ("full", "no-activation", "linear-high-T")

EULER_GAMMA = 0.5772156649015329


@dataclass(frozen=True)
class Model:
    """Parameters of the thermal EPM (Eqs. 1–3), in the units of the module docstring."""

    T: float
    alpha: float = DEFAULTS["alpha"]
    a: float = DEFAULTS["a"]
    sigma_c: float = DEFAULTS["sigma_c"]
    sigma0: float = DEFAULTS["sigma0"]
    K: float = DEFAULTS["K"]
    tau: float = DEFAULTS["tau"]
    rate: str = "full"

    def __post_init__(self):
        for name in ("T", "alpha", "a", "sigma_c", "sigma0", "K", "tau"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"mean-field parameter {name} must be a finite number > 0, got {v!r}")
        if self.rate not in RATES:
            raise ValueError(f"rate must be one of {RATES}, got {self.rate!r}")

    @property
    def norm(self) -> float:
        """𝒩 of Eq. (1)."""
        return 2.0 * self.sigma0 * (1.0 - math.exp(-self.sigma_c / self.sigma0))

    def barrier(self, s):
        """ΔE(|σ|) = K (σ_c − |σ|)^a for |σ| < σ_c, 0 beyond."""
        s = np.abs(np.asarray(s, float))
        return self.K * np.clip(self.sigma_c - s, 0.0, None) ** self.a

    def nu(self, s):
        """The dimensionless rate ν(σ) of the chosen ``rate`` (Eq. 3, 10 or 7)."""
        s = np.abs(np.asarray(s, float))
        if self.rate == "full":
            return np.exp(-self.barrier(s) / self.T)
        if self.rate == "no-activation":
            s_half, delta, s_b = _eq10(self)
            inside = np.where(s >= s_b, 0.5 + delta * (s - s_half), 0.0)
            return np.where(s >= self.sigma_c, 1.0, np.clip(inside, 0.0, None))
        # Eq. (7) (with the exponent of ERRATA), generalised to K, σ_c: linear about |σ| = σ_c/2
        h = 0.5 * self.sigma_c
        nu0 = math.exp(-self.K * h ** self.a / self.T)
        slope = nu0 * self.K * self.a * h ** (self.a - 1.0) / self.T
        return np.where(s >= self.sigma_c, 1.0, nu0 + slope * (s - h))

    def y(self, s):
        """The renewal density y(σ) of Eq. (1)."""
        s = np.abs(np.asarray(s, float))
        return np.where(s < self.sigma_c, np.exp((s - self.sigma_c) / self.sigma0) / self.norm, 0.0)

    def y_integral(self, lo, hi):
        """∫_lo^hi y dσ for 0 ≤ lo ≤ hi ≤ σ_c (exact)."""
        s0, sc = self.sigma0, self.sigma_c
        return s0 * (np.exp((hi - sc) / s0) - np.exp((lo - sc) / s0)) / self.norm


def _eq10(m: Model):
    """σ_{1/2}, Δ and σ_B of Eq. (10), for general K and σ_c: ν(σ_{1/2}) = 1/2, Δ = ν'(σ_{1/2})."""
    x = (m.T * math.log(2.0) / m.K) ** (1.0 / m.a)  # σ_c − σ_{1/2}
    s_half = m.sigma_c - x
    delta = 0.5 * m.K * m.a * x ** (m.a - 1.0) / m.T
    return s_half, delta, s_half - 0.5 / delta


# --------------------------------------------------------------------------- the linear BVP

def _grid(m: Model, gamma: float, D: float, cells: int) -> np.ndarray:
    """Nodes on [0, σ_c] (σ_c a node), dense where P varies fast: the absorption length
    √(D/(ν/τ)) and the barrier scale of ν. The map depends only on (m, Γ, D), so grids of
    ``cells``, 2·``cells``, ... nest and Richardson extrapolation applies."""
    sc = m.sigma_c
    aux = np.linspace(0.0, sc, 16385)
    nu = np.maximum(m.nu(aux), 1e-300)
    ell_d = np.sqrt(D * m.tau / nu)  # absorption length
    dist = np.clip(sc - aux, 1e-12, None)
    with np.errstate(over="ignore", divide="ignore"):
        ell_nu = m.T / (m.K * m.a * dist ** (m.a - 1.0)) if m.rate != "no-activation" else np.full_like(aux, sc)
    # Boundary layers of width ℓ_D sit where absorption sets in; deeper in, P follows the local
    # balance P ≈ Γ y τ/ν, which varies on the barrier scale only. So the ℓ_D density is damped
    # by the optical depth past the first point where ℓ_D < σ_c/10 (over ~30 layers).
    depth = np.concatenate([[0.0], np.cumsum(np.diff(aux) * 0.5 * (1 / ell_d[1:] + 1 / ell_d[:-1]))])
    turn = np.flatnonzero(ell_d < 0.1 * sc)
    if turn.size:
        depth = np.maximum(depth - depth[turn[0]], 0.0)
    else:
        depth = np.zeros_like(aux)
    dens = 1.0 / sc + np.exp(-depth / 30.0) / np.minimum(ell_d, sc) + 0.5 / np.minimum(ell_nu, sc)
    dens = np.convolve(np.pad(dens, 4, mode="edge"), np.ones(9) / 9.0, mode="valid")
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(aux))])
    cum /= cum[-1]
    return np.interp(np.linspace(0.0, 1.0, cells + 1), cum, aux)


def _solve_fv(m: Model, gamma: float, D: float, s: np.ndarray):
    """Vertex-centred finite volumes for D P'' − (ν/τ) P + Γ y = 0 on the nodes ``s``
    (P'(0) = 0, exact exponential tail beyond σ_c). Returns (P at nodes, dual-cell widths, κ)."""
    h = np.diff(s)
    n = s.size
    lo = np.concatenate([[s[0]], 0.5 * (s[1:] + s[:-1])])
    hi = np.concatenate([0.5 * (s[1:] + s[:-1]), [s[-1]]])
    w = hi - lo
    rate = m.nu(s) / m.tau
    src = gamma * m.y_integral(lo, hi)
    kappa = 1.0 / math.sqrt(D * m.tau)  # tail decay rate: D κ² = 1/τ
    ab = np.zeros((3, n))
    diag = -rate * w
    diag[1:] -= D / h
    diag[:-1] -= D / h
    diag[-1] -= D * kappa  # flux D P'(σ_c) = −D κ P(σ_c)
    ab[1] = diag
    ab[0, 1:] = D / h  # super-diagonal
    ab[2, :-1] = D / h  # sub-diagonal
    P = solve_banded((1, 1), ab, -src)
    return P, w, kappa


def _moments(m: Model, P, w, s, kappa):
    """(∫P, ∫|σ|P, ∫νP/τ) over the whole line (both signs), tails included exactly."""
    tail = P[-1] / kappa
    mass = 2.0 * (np.dot(w, P) + tail)
    first = 2.0 * (np.dot(w, s * P) + P[-1] * (m.sigma_c / kappa + 1.0 / kappa ** 2))
    act = 2.0 * (np.dot(w, m.nu(s) * P) + tail) / m.tau
    return mass, first, act


def stationary_profile(m: Model, gamma: float, D: float | None = None, *, cells: int = 4000, levels: int = 3):
    """Solve D P'' − (ν/τ) P + Γ y = 0 for given Γ and D (default D = αΓ), unnormalised.

    Returns a dict with Richardson-extrapolated ``mass`` = ∫P, ``first`` = ∫|σ|P, ``activity``
    = (1/τ)∫νP, the finest grid ``sigma`` and ``P`` on it, and ``error_estimate`` (relative
    change of the mass between the last two extrapolants)."""
    D = m.alpha * gamma if D is None else D
    rows = []
    for k in range(levels):
        s = _grid(m, gamma, D, cells * 2 ** k)
        P, w, kappa = _solve_fv(m, gamma, D, s)
        rows.append((np.array(_moments(m, P, w, s, kappa)), s, P, kappa))
    vals = [r[0] for r in rows]
    # second-order scheme: eliminate h², then (where three levels exist) the next term, taken as h³
    r1 = [(4.0 * vals[k + 1] - vals[k]) / 3.0 for k in range(len(vals) - 1)]
    if len(r1) >= 2:
        best = (8.0 * r1[-1] - r1[-2]) / 7.0
        err = np.abs(best - r1[-1])
    else:
        best = r1[-1] if r1 else vals[-1]
        err = np.abs(vals[-1] - vals[-2]) if len(vals) > 1 else np.full(3, np.nan)
    return {"mass": best[0], "first": best[1], "activity": best[2], "sigma": rows[-1][1],
            "P": rows[-1][2], "kappa": rows[-1][3],
            "error_estimate": float(np.max(err / np.maximum(np.abs(best), 1e-300)))}


# --------------------------------------------------------------------------- self-consistency

@dataclass
class Solution:
    """The stationary self-consistent mean-field state at one T."""

    model: Model
    activity: float  # Γ: relaxations per site per unit time (1/τ)
    mean_abs_sigma: float  # ⟨|σ|⟩
    diffusion: float  # D = αΓ
    error_estimate: float  # relative discretisation error estimate of the normalisation
    sigma: np.ndarray = field(repr=False, default=None)  # nodes on [0, σ_c]
    P: np.ndarray = field(repr=False, default=None)  # normalised P at the nodes
    kappa: float = float("nan")

    def pdf(self, s) -> np.ndarray:
        """Normalised stationary P(σ) (symmetric; exponential tail beyond σ_c)."""
        s = np.abs(np.asarray(s, float))
        sc = self.model.sigma_c
        inner = np.interp(np.minimum(s, sc), self.sigma, self.P)
        return np.where(s <= sc, inner, self.P[-1] * np.exp(-self.kappa * (s - sc)))

    def to_dict(self) -> dict:
        m = self.model
        return {"T": m.T, "alpha": m.alpha, "a": m.a, "sigma_c": m.sigma_c, "sigma0": m.sigma0, "K": m.K,
                "tau": m.tau, "rate": m.rate, "activity": self.activity, "mean_abs_sigma": self.mean_abs_sigma,
                "diffusion": self.diffusion, "relaxation_time": 1.0 / self.activity if self.activity > 0 else math.inf,
                "error_estimate": self.error_estimate}


def _mass_minus_one(m: Model, log_gamma: float, cells: int) -> float:
    return stationary_profile(m, math.exp(log_gamma), cells=cells)["mass"] - 1.0


def solve(m: Model, *, cells: int = 4000, rtol: float = 1e-11) -> Solution:
    """The self-consistent stationary state: Γ with ∫P = 1 at D = αΓ (module docstring).

    Γ is bracketed on ln Γ between a value with ∫P < 1 and Γ = 1/τ (where ∫P ≥ 1, since ν ≤ 1).
    With ``rate="no-activation"`` below T_c no Γ > 0 normalises P: the frozen state, Γ = 0, is
    returned (``mean_abs_sigma`` then nan: the frozen distribution depends on the history)."""
    if m.rate == "no-activation" and m.T <= critical_temperature(m.alpha, m.a, m.sigma_c, m.sigma0, m.K):
        return Solution(m, 0.0, float("nan"), 0.0, 0.0)  # σ_B ≥ σ̄: the frozen state (Eq. 12)
    hi = math.log(1.0 / m.tau)
    f_hi = _mass_minus_one(m, hi, cells)
    if -1e-9 < f_hi < 0:  # T → ∞: Γ = 1/τ to the solver's accuracy
        f_hi = 0.0
    if f_hi < 0:
        raise RuntimeError(f"mean-field: ∫P < 1 at Γ = 1/τ (T = {m.T}); the model parameters admit no solution")
    if f_hi == 0:
        lo = hi
    else:
        try:
            guess = min(max(activated_activity(m), 1e-300), 1e-3) if m.rate == "full" else 1e-3 / m.tau
        except ValueError:  # α above the frozen threshold: no activated regime, Γ stays O(1/τ)
            guess = 1e-3 / m.tau
        lo = min(math.log(guess) - 2.0, hi - 1.0)
        f_lo = _mass_minus_one(m, lo, cells)
        while f_lo > 0:
            if lo < math.log(1e-280):
                if m.rate == "no-activation":
                    return Solution(m, 0.0, float("nan"), 0.0, 0.0)
                raise RuntimeError(f"mean-field: no activity above 1e-280 normalises P at T = {m.T}")
            lo -= 5.0
            f_lo = _mass_minus_one(m, lo, cells)
    lg = hi if lo == hi else brentq(lambda x: _mass_minus_one(m, x, cells), lo, hi, xtol=rtol, rtol=rtol, maxiter=200)
    gamma = math.exp(lg)
    prof = stationary_profile(m, gamma, cells=cells)
    mass = prof["mass"]
    return Solution(m, gamma, prof["first"] / mass, m.alpha * gamma, prof["error_estimate"],
                    prof["sigma"], prof["P"] / mass, prof["kappa"])


def on_shell_diffusion(m: Model, gamma: float, *, cells: int = 4000, rtol: float = 1e-12) -> float:
    """D*(Γ): the diffusion coefficient that normalises P at activity Γ (the constraint
    Q(Γ, D) = 0 of Sec. III, before D = αΓ is imposed)."""
    f = lambda ld: stationary_profile(m, gamma, math.exp(ld), cells=cells)["mass"] - 1.0
    d0 = math.log(m.alpha * gamma)
    lo, hi = d0 - 0.5, d0 + 0.5
    # ∫P falls as D grows (a wider P reaches the fast-relaxing tails)
    for _ in range(60):
        if f(lo) > 0:
            break
        lo -= 1.0
    else:
        return math.nan
    for _ in range(60):
        if f(hi) < 0:
            break
        hi += 1.0
    else:
        return math.nan
    return math.exp(brentq(f, lo, hi, xtol=rtol, rtol=rtol))


def correlation_length(m: Model, m_coeff: float, *, cells: int = 4000, rel_step: float = 1e-3) -> float:
    """Mean-field ξ (Eqs. 15–16, 23): linearising D(r) = m∇²Γ + αΓ about the homogeneous state
    with the on-shell relation D = D*(Γ) gives m∇²δΓ = (dD*/dΓ − α) δΓ, ξ = √(m/|dD*/dΓ − α|).
    The slope is a central difference of :func:`on_shell_diffusion` (relative step ``rel_step``)."""
    sol = solve(m, cells=cells)
    g = sol.activity
    if g <= 0:
        return math.inf
    dp = on_shell_diffusion(m, g * (1 + rel_step), cells=cells)
    dm = on_shell_diffusion(m, g * (1 - rel_step), cells=cells)
    slope = (dp - dm) / (2 * rel_step * g)
    return math.sqrt(m_coeff / abs(slope - m.alpha))


# --------------------------------------------------------------------------- closed forms

def frozen_edge(alpha: float = DEFAULTS["alpha"], sigma_c: float = DEFAULTS["sigma_c"],
                sigma0: float = DEFAULTS["sigma0"]) -> float:
    """σ̄ of Eq. (18): the edge of the T → 0 stationary distribution (17), from
    α (1 − e^{−σ_c/σ₀}) = σ₀(σ̄ − σ₀) e^{(σ̄−σ_c)/σ₀} + (σ₀² − σ̄²/2) e^{−σ_c/σ₀}."""
    def f(sb):
        return (sigma0 * (sb - sigma0) * math.exp((sb - sigma_c) / sigma0)
                + (sigma0 ** 2 - 0.5 * sb * sb) * math.exp(-sigma_c / sigma0)) / (1.0 - math.exp(-sigma_c / sigma0)) - alpha
    if f(sigma_c) < 0:
        raise ValueError(f"alpha = {alpha} is above the frozen threshold: no T = 0 frozen state (σ̄ ≥ σ_c)")
    return brentq(f, 0.0, sigma_c, xtol=1e-15, rtol=1e-15)


def frozen_barrier(m: Model) -> tuple[float, float]:
    """(σ̄, Ē = K(σ_c − σ̄)^a): the T → 0 edge and the Arrhenius energy of Eqs. (18)–(22)."""
    sb = frozen_edge(m.alpha, m.sigma_c, m.sigma0)
    return sb, m.K * (m.sigma_c - sb) ** m.a


def activated_activity(m: Model) -> float:
    """Low-T activity with the boundary-layer prefactor of ERRATA (replacing Eqs. 21–22):
    Γ ≃ (e^{2γ_E}/α) T₁² e^{−Ē/T} / τ, T₁ = T / (K a (σ_c − σ̄)^{a−1}). Its ratio to :func:`solve`
    tends to 1 as T → 0 (tested)."""
    sb, E = frozen_barrier(m)
    T1 = m.T / (m.K * m.a * (m.sigma_c - sb) ** (m.a - 1.0))
    return math.exp(2 * EULER_GAMMA) / m.alpha * T1 * T1 * math.exp(-E / m.T) / m.tau


def critical_temperature(alpha: float = DEFAULTS["alpha"], a: float = DEFAULTS["a"], sigma_c: float = DEFAULTS["sigma_c"],
                         sigma0: float = DEFAULTS["sigma0"], K: float = DEFAULTS["K"]) -> float:
    """T_c of the MCT-like regime (Eq. 12): σ_B(T_c) = σ̄, σ_B from Eq. (10). Below it the model
    with activation switched off (``rate="no-activation"``) is frozen (Γ = 0)."""
    sb = frozen_edge(alpha, sigma_c, sigma0)
    g = lambda T: _eq10(Model(T=T, alpha=alpha, a=a, sigma_c=sigma_c, sigma0=sigma0, K=K))[2] - sb
    lo, hi = 1e-6, 1.0
    while g(hi) > 0:
        hi *= 2
    return brentq(g, lo, hi, xtol=1e-14, rtol=1e-14)


def infinite_T_profile(m: Model, s) -> np.ndarray:
    """P_∞(σ): the exact stationary distribution at T = ∞ (ν ≡ 1, τΓ = 1), solving
    α P'' − P + y = 0: P = y/(1 − α/σ₀²) + A cosh(σ/√α) + B sinh(|σ|/√α) inside (B from P'(0) = 0),
    C e^{−(|σ|−σ_c)/√α} outside."""
    al, s0, sc = m.alpha, m.sigma0, m.sigma_c
    if abs(al - s0 * s0) < 1e-12:
        raise ValueError("α = σ₀² is a resonant case of the closed form; use the numerical solver")
    b = 1.0 / math.sqrt(al)
    c0 = 1.0 / (m.norm * (1.0 - al / (s0 * s0)))  # particular: c0·e^{(σ−σ_c)/σ₀}
    # P'(0) = 0 (the particular part has slope c0 e^{−σ_c/σ₀}/σ₀ there): B sinh cancels it
    B = -c0 * math.exp(-sc / s0) / (s0 * b)
    # continuity of P and P' at σ_c: c0 + A ch + B sh = C;  c0/σ₀ + A b sh + B b ch = −b C
    ch, sh = math.cosh(b * sc), math.sinh(b * sc)
    A = -(c0 / s0 + b * c0) / (b * (sh + ch)) - B
    C = c0 + A * ch + B * sh
    s = np.abs(np.asarray(s, float))
    inside = c0 * np.exp((s - sc) / s0) + A * np.cosh(b * s) + B * np.sinh(b * s)
    return np.where(s < sc, inside, C * np.exp(-b * (np.maximum(s, sc) - sc)))


def onset_temperature(m: Model | None = None, **params) -> float:
    """T_onset of Eq. (9), exactly (ERRATA): 1 − τΓ = T_onset/T + O(1/T²) with
    T_onset = ∫ ΔE(σ) P_∞(σ) dσ, P_∞ the T = ∞ distribution (:func:`infinite_T_profile`)."""
    from scipy.integrate import quad

    m = m or Model(T=1.0, **params)
    f = lambda s: float(m.barrier(s) * infinite_T_profile(m, s))
    val, _ = quad(f, 0.0, m.sigma_c, epsabs=1e-14, epsrel=1e-13, limit=200)
    return 2.0 * val


def onset_temperature_linearised(alpha: float = DEFAULTS["alpha"], a: float = DEFAULTS["a"]) -> float:
    """Eq. (B6) with the prefactor's (α − 1) read as (1 − α) (ERRATA): the large-T limit of
    T(1 − Γ) when ν is linearised about |σ| = 1/2 (Eq. 7). σ_c = σ₀ = K = τ = 1 only."""
    e = math.e
    ra = math.sqrt(alpha)
    e1, e2 = math.exp(1 / ra), math.exp(2 / ra)
    N = 2.0 * (1.0 - math.exp(-1.0))
    pre = N / ((1.0 - alpha) * (1.0 - e) ** 2 * 2.0 ** (2 + a)) * math.exp(1.0 - 2.0 / ra)
    br = (2 * e2 * (e - 1 - 3 * a + a * e)
          - 2 * a * alpha ** 1.5 * (e1 - 1) * (2 * e1 + e * e1 - e)
          + (a - 1) * ra * e * (e2 - 1)
          + alpha * (e - 3 * a * e + 4 * a * e * e1 - (1 + a) * e * e2 + 2 * (a - 1) * e1 + 2 * (1 + a) * e2))
    return pre * br
