"""AQRD forcing fields c (paper: agoritsas-global-shear-vs-random-forcing, Eqs. 3–9).

A forcing is the displacement per unit strain of every particle, c (N, d) in λ, in the
configuration's file order. Kinds:

``file``      a table with columns ``cx, cy[, cz]`` (one row per particle, file order;
              glass2epm Parquet, plain Parquet, CSV or TSV).
``gaussian``  a periodic Gaussian random field (Eqs. 4–5), sampled at the particles:
              ⟨C(x)·C(x')⟩ = ℓ²Ξ f_ξ(|x − x'|)/d with f_ξ(r) = e^{−r²/2ξ²}/√(2πξ²),
              the d components independent with covariance ℓ²Ξ f_ξ/d² each. Sampled
              exactly as a sum of the box's Fourier modes q ≠ 0 with spectrum
              S(q) = (ℓ²Ξ/d²)(2πξ²)^{(d−1)/2} e^{−q²ξ²/2} (modes with S < 10⁻¹² S(0) dropped),
              so it is periodic with the covariance summed over images. Ξ = ``amplitude``
              (λ), ℓ = ``ell`` (λ, default 1), ξ = ``xi`` (λ); seeded.
``sine``      c_i = (A sin(2π n y_i / L_y), 0) (n = ``mode``, A = ``amplitude``).
``shear``     c_i = (y_i, 0): AQS. The strain is then carried by the box (Lees–Edwards),
              not by a constraint (:mod:`glass2epm.aqrd.engine`).

The mean over the particles is removed from every field except ``shear`` (ERRATA: a
uniform part is a rigid translation that absorbs the constraint), also for the sampled
sine. 𝔉 (Eq. 7) is measured on the interacting pairs of the configuration,
𝔉 = d⟨|c_i − c_j|²⟩_pairs, and compared with Eq. 7 averaged over the pair distances,
2ℓ²Ξ⟨f_ξ(0) − f_ξ(r_ij)⟩, and with Eq. 9 at the typical contact ℓ_c = √⟨r²⟩. The same
estimator on the shear field gives 𝔉_shear = d⟨y_ij²⟩ (≈ ⟨r²⟩), and κ_𝔉 = 𝔉/𝔉_shear is
the finite-d estimate of Eq. 36's κ = 𝔉/ℓ².
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np

from glass2epm.core import io
from glass2epm.core.io import Configuration
from glass2epm.core.potential import ForceField, pair_data

KINDS = ("file", "gaussian", "sine", "shear")


@dataclass
class Forcing:
    """A forcing field: ``kind``, c (N, d) in λ (None for ``shear``), its parameters."""

    kind: str
    c: np.ndarray | None
    params: dict = field(default_factory=dict)

    @property
    def constrained(self) -> bool:
        """True when the strain is imposed by the constraint ⟨c|u⟩ = 0 (all but shear)."""
        return self.kind != "shear"

    def digest(self) -> str:
        h = hashlib.sha256(self.kind.encode())
        if self.c is not None:
            h.update(np.ascontiguousarray(self.c, dtype=float).tobytes())
        return h.hexdigest()

    def field_at(self, x: np.ndarray) -> np.ndarray:
        """c at positions x ((y, 0) at the given positions for shear)."""
        if self.c is not None:
            return self.c
        out = np.zeros_like(x)
        out[:, 0] = x[:, 1]
        return out


def remove_mean(c: np.ndarray) -> np.ndarray:
    return c - c.mean(axis=0)


def _check(c: np.ndarray, conf: Configuration, what: str) -> np.ndarray:
    if c.shape != (conf.N, conf.dim):
        raise ValueError(f"{what}: forcing field has shape {c.shape}, the configuration needs "
                         f"({conf.N}, {conf.dim}) (one row per particle, file order)")
    if not np.all(np.isfinite(c)):
        bad = int(np.flatnonzero(~np.isfinite(c).all(axis=1))[0])
        raise ValueError(f"{what}: forcing field is not finite at row {bad}")
    c = remove_mean(c)
    if not np.any(c):
        raise ValueError(f"{what}: forcing field is zero after removing its mean (a uniform "
                         "field is a rigid translation)")
    return c


def read_field(path, conf: Configuration) -> Forcing:
    """A forcing table (columns cx, cy[, cz], one row per particle in file order)."""
    names = ["cx", "cy", "cz"][: conf.dim]
    t = io.read_user_table(path, names, "AQRD forcing field")
    c = np.column_stack([np.asarray(t[k], dtype=float) for k in names])
    if c.shape[0] != conf.N:
        raise ValueError(f"{path}: forcing field has {c.shape[0]} rows, the configuration "
                         f"{conf.N} particles (one row per particle, file order)")
    return Forcing("file", _check(c, conf, str(path)), {"path": str(path)})


def sine_field(conf: Configuration, mode: int, amplitude: float = 1.0) -> Forcing:
    """c_i = (A sin(2π n y_i / L_y), 0) at the configuration's positions, mean removed."""
    if int(mode) != mode or mode < 1:
        raise ValueError(f"--mode must be a positive integer, got {mode!r}")
    if not amplitude > 0:
        raise ValueError(f"--amplitude must be positive, got {amplitude!r}")
    Ly = conf.box.h[1, 1]
    y = conf.box.wrap(conf.x)[:, 1]
    c = np.zeros((conf.N, conf.dim))
    c[:, 0] = amplitude * np.sin(2 * np.pi * int(mode) * y / Ly)
    return Forcing("sine", _check(c, conf, "sine"), {"mode": int(mode), "amplitude": float(amplitude)})


def gaussian_spectrum(q2, xi: float, amplitude: float, ell: float, d: int):
    """S(q) per component (λ^{d+2}): the Fourier transform of ℓ²Ξ f_ξ(r)/d² (Eq. 4)."""
    return (ell * ell * amplitude / d**2) * (2 * np.pi * xi * xi) ** ((d - 1) / 2) * np.exp(-0.5 * q2 * xi * xi)


def gaussian_field(conf: Configuration, xi: float, seed: int, amplitude: float = 1.0,
                   ell: float = 1.0) -> Forcing:
    """The periodic Gaussian random field of Eqs. 4–5 at the particles (module docstring)."""
    if not xi > 0:
        raise ValueError(f"--xi must be positive, got {xi!r}")
    if not amplitude > 0 or not ell > 0:
        raise ValueError("amplitude and ell must be positive")
    d, h = conf.dim, conf.box.h
    G = 2 * np.pi * np.linalg.inv(h).T  # columns: reciprocal vectors
    qmax = math.sqrt(2 * math.log(1e12)) / xi
    widths = conf.box.perpendicular_widths()
    mmax = np.ceil(qmax * widths / (2 * np.pi)).astype(int)
    if np.prod(2 * mmax + 1) > 5e7:
        raise ValueError(f"--xi {xi} is too small for this box: {np.prod(2 * mmax + 1):.2g} Fourier modes")
    grids = np.meshgrid(*[np.arange(-m, m + 1) for m in mmax], indexing="ij")
    M = np.stack([g.ravel() for g in grids], axis=1)
    # half space: the first non-zero integer component positive
    first = np.zeros(len(M), dtype=int)
    for a in range(d - 1, -1, -1):
        first = np.where(M[:, a] != 0, M[:, a], first)
    M = M[first > 0]
    q = M @ G.T
    q2 = np.einsum("ij,ij->i", q, q)
    S = gaussian_spectrum(q2, xi, amplitude, ell, d)
    keep = S > 1e-12 * gaussian_spectrum(0.0, xi, amplitude, ell, d)
    q, S = q[keep], S[keep]
    rng = np.random.default_rng(seed)
    coef = rng.standard_normal((2, d, len(q))) * np.sqrt(2 * S / conf.box.volume)
    x = conf.box.wrap(conf.x)
    c = np.zeros((conf.N, d))
    for s in range(0, len(q), 4096):
        ph = x @ q[s:s + 4096].T
        cs, sn = np.cos(ph), np.sin(ph)
        c += cs @ coef[0, :, s:s + 4096].T + sn @ coef[1, :, s:s + 4096].T
    return Forcing("gaussian", _check(c, conf, "gaussian"),
                   {"xi": float(xi), "seed": int(seed), "amplitude": float(amplitude), "ell": float(ell),
                    "modes": int(len(q))})


def shear_field(conf: Configuration) -> Forcing:
    return Forcing("shear", None, {})


def build(conf: Configuration, kind: str, *, xi=None, seed=None, mode=None, amplitude=1.0,
          ell=1.0) -> Forcing:
    """The forcing named by the CLI's ``--forcing``: a path, ``gaussian``, ``sine`` or ``shear``."""
    if kind == "gaussian":
        if xi is None or seed is None:
            raise ValueError("--forcing gaussian needs --xi XI and --seed S")
        return gaussian_field(conf, float(xi), int(seed), float(amplitude), float(ell))
    if kind == "sine":
        if mode is None:
            raise ValueError("--forcing sine needs --mode n")
        return sine_field(conf, mode, float(amplitude))
    if kind == "shear":
        return shear_field(conf)
    return read_field(kind, conf)


def write_field(path, forcing: Forcing, conf: Configuration):
    names = ["cx", "cy", "cz"][: conf.dim]
    c = forcing.field_at(conf.x)
    return io.write_table(path, "aqrd_forcing", {k: c[:, a] for a, k in enumerate(names)},
                          extra={"forcing": forcing.kind, **forcing.params})


# -- 𝔉: the variance of relative displacements on interacting pairs ----------


def f_xi(r, xi):
    """f_ξ(r) = e^{−r²/2ξ²}/√(2πξ²) (1/λ), the paper's normalised Gaussian correlator."""
    xi = np.asarray(xi, dtype=float)
    return np.exp(-0.5 * (np.asarray(r) / xi) ** 2) / np.sqrt(2 * np.pi * xi * xi)


def frak_f_eq9(ell: float, xi, amplitude: float = 1.0):
    """Eq. 9: 𝔉 = 2ℓ²Ξ[f_ξ(0) − f_ξ(ℓ)] = (2/√(2π)) ℓΞ (ℓ/ξ)(1 − e^{−(ℓ/ξ)²/2}) (λ², ℓ = Ξ-unit 1)."""
    xi = np.asarray(xi, dtype=float)
    return 2.0 / math.sqrt(2 * math.pi) * ell * amplitude * (ell / xi) * (1 - np.exp(-0.5 * (ell / xi) ** 2))


def measure_frak_f(conf: Configuration, forcing: Forcing, ff: ForceField | None = None) -> dict:
    """𝔉 on the interacting pairs of ``conf`` (module docstring), with its comparisons.

    Returns {F, F_shear, kappa_F = F/F_shear, ell_c = √⟨r²⟩, pairs, and for a Gaussian
    field F_eq7 (Eq. 7 averaged over the pair distances) and F_eq9 (Eq. 9 at ℓ_c)}.
    """
    ii, jj, rv, lam, r, _ = pair_data(conf, ff, order=0)
    d = conf.dim
    c = forcing.field_at(conf.x)
    if forcing.kind == "shear":
        dc = np.zeros_like(rv)
        dc[:, 0] = rv[:, 1]
    else:
        dc = c[jj] - c[ii]
    out = {
        "pairs": int(len(r)),
        "F": float(d * np.mean(np.einsum("ij,ij->i", dc, dc))),
        "F_shear": float(d * np.mean(rv[:, 1] ** 2)),
        "ell_c": float(np.sqrt(np.mean(r * r))),
    }
    out["kappa_F"] = out["F"] / out["F_shear"]
    if forcing.kind == "gaussian":
        p = forcing.params
        ell, xi, A = p["ell"], p["xi"], p["amplitude"]
        out["F_eq7"] = float(2 * ell * ell * A * np.mean(f_xi(0.0, xi) - f_xi(r, xi)))
        # Eq. 9 with the contact distance as ℓ (the amplitude unit ℓ of Eq. 4 kept apart)
        out["F_eq9"] = float(2 * ell * ell * A * (f_xi(0.0, xi) - f_xi(out["ell_c"], xi)))
    return out
