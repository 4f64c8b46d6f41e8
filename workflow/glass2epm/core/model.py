"""The polydisperse smoothed inverse-power-law glass former (paper Appendix A).

Units: energy ε = 1, length λ = λ_min = 1, mass m = 1; temperature in ε/k_B;
stress, pressure and moduli in ε/λ^d (d the spatial dimension).

Pair potential (Eq. A2)::

    φ(r) = ε [ (λ_ij / r)^β + Σ_{l=0..q} c_2l (r / λ_ij)^{2l} ]   for r/λ_ij ≤ x_c, else 0

with the smoothing coefficients of Eq. (A3) and the non-additive pair size of
Eq. (A4), λ_ij = ½(λ_i + λ_j)(1 − n_a |λ_i − λ_j|). Sizes are drawn from
p(λ) ∝ λ^-3 on [λ_min, λ_max].

Two presets (see ``../shared/papers/ERRATA.md``):

``lerner-poly2d`` (default)
    x_c = 1.5, N/V = 0.65 in 2D: the parameters under which the authors' group's
    2D configurations are force balanced. The paper's T_p = 0.7, 0.4, 0.2 are
    poorly annealed, mildly annealed and very stable glasses here.
``richard2023``
    the values printed in Appendix A: x_c = 1.4, N/V = 0.86 (2D) or 0.58 (3D).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from numba import njit


def double_factorial(n: int) -> int:
    """n!! for integer n ≥ −1 (with 0!! = (−1)!! = 1)."""
    if n <= 0:
        return 1
    out = 1
    for k in range(n, 0, -2):
        out *= k
    return out


def smoothing_coefficients(beta: int, q: int, xc: float) -> np.ndarray:
    """The coefficients c_0, c_2, …, c_2q of Eq. (A3).

    c_2l = (−1)^{l+1} / ((2q−2l)!! (2l)!!) · (β+2q)!! / ((β−2)!! (β+2l)) · x_c^{−(β+2l)}.
    They make φ and its first q radial derivatives vanish at r = x_c λ_ij.
    """
    if beta % 2 != 0 or beta < 2:
        raise ValueError(f"beta must be an even integer >= 2 for Eq. (A3), got {beta}")
    c = np.empty(q + 1)
    for l in range(q + 1):
        c[l] = (
            (-1) ** (l + 1)
            / (double_factorial(2 * q - 2 * l) * double_factorial(2 * l))
            * double_factorial(beta + 2 * q)
            / (double_factorial(beta - 2) * (beta + 2 * l))
            * xc ** (-(beta + 2 * l))
        )
    return c


PRESETS: dict[str, dict] = {
    "lerner-poly2d": {
        "beta": 10,
        "q": 3,
        "xc": 1.5,
        "na": 0.1,
        "lam_min": 1.0,
        "lam_max": 2.22,
        "density": {2: 0.65},
        "description": "polydisperse IPL as in the Lerner group's 2D configurations "
        "(x_c = 1.5, N/V = 0.65); the default",
    },
    "richard2023": {
        "beta": 10,
        "q": 3,
        "xc": 1.4,
        "na": 0.1,
        "lam_min": 1.0,
        "lam_max": 2.22,
        "density": {2: 0.86, 3: 0.58},
        "description": "Appendix A as printed (x_c = 1.4, N/V = 0.86 in 2D, 0.58 in 3D)",
    },
}


@dataclass(frozen=True)
class Model:
    """Parameters of the pair potential and of the size distribution.

    Attributes
    ----------
    preset : name of the preset the parameters come from (or ``"custom"``).
    dim : spatial dimension d (2 or 3).
    beta : IPL exponent β (even integer; the paper's "n = 10").
    q : number of derivatives that vanish at the cutoff.
    xc : dimensionless cutoff x_c (cutoff distance x_c λ_ij).
    na : non-additivity n_a of Eq. (A4).
    lam_min, lam_max : size range, in λ.
    density : number density N/V, in λ^-d.
    """

    preset: str
    dim: int
    beta: int
    q: int
    xc: float
    na: float
    lam_min: float
    lam_max: float
    density: float
    coeffs: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.dim not in (2, 3):
            raise ValueError(f"dim must be 2 or 3, got {self.dim}")
        if not (0 < self.lam_min < self.lam_max):
            raise ValueError(f"need 0 < lam_min < lam_max, got {self.lam_min}, {self.lam_max}")
        if self.density <= 0:
            raise ValueError(f"density must be positive, got {self.density}")
        object.__setattr__(self, "coeffs", smoothing_coefficients(self.beta, self.q, self.xc))

    @classmethod
    def from_preset(cls, name: str, dim: int = 2, **overrides) -> "Model":
        if name not in PRESETS:
            raise ValueError(f"unknown model preset {name!r}; known presets: {sorted(PRESETS)}")
        p = PRESETS[name]
        if dim not in p["density"] and "density" not in overrides:
            raise ValueError(
                f"preset {name!r} defines no density for dim={dim} "
                f"(it has {sorted(p['density'])}); pass density explicitly"
            )
        kw = {k: p[k] for k in ("beta", "q", "xc", "na", "lam_min", "lam_max")}
        kw["density"] = p["density"].get(dim)
        kw.update(overrides)
        return cls(preset=name, dim=dim, **kw)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("coeffs", None)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Model":
        keys = ("preset", "dim", "beta", "q", "xc", "na", "lam_min", "lam_max", "density")
        missing = [k for k in keys if k not in d]
        if missing:
            raise ValueError(f"model parameters missing keys {missing}")
        return cls(**{k: d[k] for k in keys})

    # ------------------------------------------------------------------
    @property
    def half_beta(self) -> int:
        return self.beta // 2

    @property
    def max_pair_size(self) -> float:
        """Largest possible λ_ij (two particles of size λ_max)."""
        return self.lam_max

    @property
    def max_cutoff(self) -> float:
        """Largest interaction range x_c · max λ_ij, in λ."""
        # λ_ij ≤ ½(λ_i+λ_j) ≤ λ_max: the non-additive factor only shrinks it.
        return self.xc * self.lam_max

    def box_side(self, n: int) -> float:
        """Side L of the cubic/square box holding n particles at this density."""
        return (n / self.density) ** (1.0 / self.dim)

    def pair_size(self, li, lj):
        """λ_ij of Eq. (A4) (numpy broadcasting)."""
        return 0.5 * (li + lj) * (1.0 - self.na * np.abs(li - lj))

    # ------------------------------------------------------------------
    def sizes(self, n: int, method: str = "quantile", rng: np.random.Generator | None = None):
        """Particle sizes from p(λ) ∝ λ^-3 on [λ_min, λ_max].

        ``quantile`` (default): λ_k = F^{-1}((k + ½)/N), deterministic, so samples of
        the same N have exactly the same size composition and differ only by the
        configuration (sample-to-sample fluctuations of composition are removed).
        ``random``: independent draws (needs ``rng``).
        """
        if method == "quantile":
            u = (np.arange(n) + 0.5) / n
        elif method == "random":
            if rng is None:
                raise ValueError("random sizes need an rng")
            u = rng.random(n)
        else:
            raise ValueError(f"sizes must be 'quantile' or 'random', got {method!r}")
        a = 1.0 / self.lam_min**2
        b = 1.0 / self.lam_max**2
        return 1.0 / np.sqrt(a - u * (a - b))

    # ------------------------------------------------------------------
    def radial_derivatives(self, r, lam, order: int = 4) -> np.ndarray:
        """φ of Eq. (A2) and its radial derivatives φ^(k)(r), k = 0..order, zero beyond
        the cutoff (:func:`radial_derivatives_into`).

        Returns an array of shape (order + 1, len(r)). Used by the Hessian, the strain
        expansions (Appendix B scalars) and by tests; the force loops use the u-form
        :func:`phi_and_dphi_u`.
        """
        r = np.asarray(r, dtype=float)
        lam = np.broadcast_to(np.asarray(lam, dtype=float), r.shape)
        return _radial_derivatives(r, lam, float(self.beta), self.coeffs, self.xc, order)


@njit(cache=True)
def _radial_derivatives(r, lam, beta, coeffs, xc, order):
    """φ^(k)(r), k = 0..order (Eqs. A1–A3), shape (order + 1, len(r)): see
    :func:`radial_derivatives_into`."""
    out = np.empty((order + 1, r.shape[0]))
    radial_derivatives_into(r, lam, beta, coeffs, xc, order, out, 0, r.shape[0])
    return out


@njit(cache=True)
def radial_derivatives_into(r, lam, beta, coeffs, xc, order, out, lo, hi):
    """Eq. (A2) and its radial derivatives (the generic r-form, any order; the one
    evaluation behind every App. B scalar): out[k, p] = φ^(k)(r[p]) for p in [lo, hi),
    k = 0..order, 0 beyond the cutoff (Eqs. A1–A3): d^k/dr^k (λ/r)^β = (−1)^k β(β+1)…(β+k−1) (λ/r)^β r^{−k} and
    d^k/dr^k c_2l (r/λ)^{2l} = c_2l (2l)!/(2l−k)! (r/λ)^{2l−k} λ^{−k}. One ``pow`` per
    pair (the IPL base); every other power by multiplication."""
    q = coeffs.shape[0] - 1
    smax = 2 * q + 1
    spow = np.empty(smax)  # (r/λ)^e, e = 0..2q
    for p in range(lo, hi):
        rr = r[p]
        la = lam[p]
        if rr > xc * la:
            for k in range(order + 1):
                out[k, p] = 0.0
            continue
        ir = 1.0 / rr
        il = 1.0 / la
        s = rr * il
        spow[0] = 1.0
        for e in range(1, smax):
            spow[e] = spow[e - 1] * s
        term = (la * ir) ** beta  # IPL
        ilk = 1.0  # λ^{−k}
        for k in range(order + 1):
            acc = term
            for l in range(q + 1):  # polynomial part
                e = 2 * l
                if e < k:
                    continue
                f = 1.0
                for j in range(k):
                    f *= e - j
                acc += coeffs[l] * f * spow[e - k] * ilk
            out[k, p] = acc
            term *= -(beta + k) * ir
            ilk *= il


@njit(cache=True, inline="always")
def pair_size(li, lj, na):
    """λ_ij of Eq. (A4)."""
    return 0.5 * (li + lj) * (1.0 - na * abs(li - lj))


@njit(cache=True, inline="always")
def phi_and_dphi_u(u, half_beta, coeffs):
    """Eq. (A2) in u-form: φ and dφ/du as functions of u = (r/λ_ij)², inside the cutoff
    (the generic pair term of the force kernels; the β = 10, q = 3 fast path
    ``glass2epm.core.potential._term_b10q3`` is tested against it).

    Written in u so that forces need no square root: φ'(r)/r = (2/λ_ij²) dφ/du.
    """
    inv = 1.0 / u
    ipl = inv**half_beta
    q = coeffs.shape[0] - 1
    poly = coeffs[q]
    dpoly = q * coeffs[q]
    for l in range(q - 1, -1, -1):
        poly = poly * u + coeffs[l]
        if l >= 1:
            dpoly = dpoly * u + l * coeffs[l]
    phi = ipl + poly
    dphi = -half_beta * ipl * inv + dpoly
    return phi, dphi
