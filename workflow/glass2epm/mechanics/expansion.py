"""Non-linear strain expansions along the athermal quasistatic path (paper Sec. II).

For an affine deformation D(γ) = exp(γA) (box h → D h, positions x → D x, see
:func:`glass2epm.core.box.deformation_generator`) followed by relaxation, the
positions obey dx/dγ = A·x + ẋ (Eq. 2), where the non-affine velocity ẋ is a
periodic particle field. Force balance along the path (H·d₁ = 0, ERRATA) gives,
with *one* Cholesky factorisation of the Hessian H reused three times,

    H·ẋ  = −H·(A·x)                                  (Eq. 5)
    H·ẍ  = −[T:d₁d₁ + H·(A·d₁)]                       (Eq. 11)
    H·x⃛  = −[M⋮d₁d₁d₁ + 3 T:d₁d₂ + H·(A·d₂)]          (Eq. 12)

    d₁ = A·x + ẋ,  d₂ = A·d₁ + ẍ,  d₃ = A·d₂ + x⃛       (Eqs. 2, 9, 10).

A·x is not periodic, so the d_n are kept as **pair fields**: on each pair ι,
d_n,ι = Aⁿ·x_ι + (p_n,j − p_n,i), where x_ι is the minimum-image separation and
p₁ = ẋ, p₂ = A·p₁ + ẍ, p₃ = A·p₂ + x⃛ are periodic particle fields.

The coefficients C_n = dⁿO/dγⁿ|₀ of an observable follow Eqs. (7)–(8):

* energy (Eq. 13): U_γ = J·d₁, U_γγ = H:d₁d₁ + J·d₂,
  U_γγγ = T⋮d₁d₁d₁ + 3H:d₁d₂ + J·d₃; the same expressions per pair give the bond
  coefficients φ_γ, φ_γγ, φ_γγγ of φ_ι(γ) along the path (Eq. 14 and higher
  orders);
* stress (Eqs. 15–18): O_B = J·(B·x) = V σ_B with σ_ab for B = âb̂; O_B's
  derivatives use Eqs. (B13)–(B15) inside Eqs. (7)–(8), and the volume
  V(γ) = V₀ e^{γ tr A} (Appendix C) adds the terms
  σ⁽ⁿ⁾ = (1/V₀) Σ_k C(n,k) (−tr A)^{n−k} O⁽ᵏ⁾ (Eqs. C1–C2 and their third-order
  extension); the pressure is P = −tr σ / d.

Moduli: μ = σ_xy,γ under simple shear (Eq. 19) and
K = [Tr σ_η − d Tr σ₀]/d² with Tr σ_η = O_I⁽¹⁾/V₀ under dilation (Eqs. 21–22),
i.e. K = −(1/d) dP/dη.

Units: energy ε, length λ; stress, pressure and moduli ε/λ^d; strains are
dimensionless (the dilation strain is the true strain η, L → L e^η); bond
coefficients φ_γ… are in ε.
"""

from __future__ import annotations

from math import comb

import numpy as np

from glass2epm.core import contractions as C
from glass2epm.core.runtime import numba_threads
from glass2epm.core.box import deformation_generator
from glass2epm.core.pairs import PairSet
from glass2epm.mechanics.hessian import HessianSolver, assemble
from glass2epm.mechanics.linear_response import affine_force
from glass2epm.core.io import Configuration, read_table, write_table
from glass2epm.core.schemas import BONDS, BOND_FIELD


OBSERVABLES = ("energy", "pressure", "sxx", "syy", "szz", "sxy", "sxz", "syz")




def generator(deformation, dim: int) -> np.ndarray:
    """A = dD/dγ for a named deformation, or a d×d matrix given directly."""
    if isinstance(deformation, str):
        return deformation_generator(deformation, dim)
    A = np.asarray(deformation, dtype=float)
    if A.shape != (dim, dim):
        raise ValueError(f"deformation generator must be {dim}x{dim}, got shape {A.shape}")
    return A


def stress_selector(observable: str, dim: int) -> np.ndarray:
    """B = âb̂ for an observable name 'sab' (a, b in x, y, z)."""
    if len(observable) != 3 or observable[0] != "s" or any(c not in "xyz"[:dim] for c in observable[1:]):
        raise ValueError(
            f"unknown observable {observable!r} in {dim}D; use energy, pressure or s<ab> "
            f"with a, b in {'xyz'[:dim]} (e.g. sxy)"
        )
    B = np.zeros((dim, dim))
    B["xyz".index(observable[1]), "xyz".index(observable[2])] = 1.0
    return B


class Expansion:
    """Strain expansion of a force-balanced configuration along the AQS path.

    Parameters
    ----------
    conf : the configuration (an inherent state: forces ≈ 0).
    deformation : "simple_shear", "pure_shear", "dilation" or a d×d generator A.
    order : highest order (1, 2 or 3) of the coefficients needed.
    ff : optional :class:`~glass2epm.core.potential.ForceField` (its list settings).
    pairs : optional precomputed :class:`~glass2epm.core.pairs.PairSet`.
    solver : optional :class:`~glass2epm.mechanics.hessian.HessianSolver` of this configuration
        (the one factorisation used by every solve).
    threads : numba threads for the pair kernels.
    refine : iterative-refinement steps per solve (0: plain Cholesky solve).

    Attributes
    ----------
    A : the generator. ``ps``: the pair table. ``solver``.
    xdot, xddot, xdddot : ẋ, ẍ, x⃛ (N, d), periodic, zero mean (λ).
    d : [None, d₁, d₂, d₃] as pair fields (M, d) (λ).
    p : [None, p₁, p₂, p₃] periodic particle parts of d_n (d_n,ι = Aⁿx_ι + Δp_n).
    V0 : volume; ``trA``: tr A (V(γ) = V₀ e^{γ trA}).
    """

    def __init__(self, conf: Configuration, deformation="simple_shear", order: int = 3, ff=None,
                 pairs: PairSet | None = None, solver: HessianSolver | None = None,
                 threads: int | None = 1, refine: int = 0):
        if order not in (1, 2, 3):
            raise ValueError(f"order must be 1, 2 or 3, got {order}")
        self.conf = conf
        self.order = int(order)
        self.threads = threads
        self.deformation = deformation if isinstance(deformation, str) else "custom"
        n, d = conf.N, conf.dim
        self.A = generator(deformation, d)
        self.trA = float(np.trace(self.A))
        self.V0 = conf.box.volume
        self.refine = int(refine)
        with numba_threads(threads):
            self.ps = ps = pairs if pairs is not None else PairSet.from_configuration(conf, ff)
            if solver is None:
                H = assemble(ps.ii, ps.jj, ps.rv, ps.r, ps.derivs[1], ps.derivs[2], n)
                solver = HessianSolver(H, n, d)
            self.solver = solver
            self._path()
        self._bond = None

    # ------------------------------------------------------------------
    def _solve(self, b):
        """u with H·u = b (pair-difference Hessian, translations removed)."""
        u = self.solver.solve(b)
        for _ in range(self.refine):
            res = b - self.ps.scatter(C.bond_hv(self.ps.rv, self.ps.first, self.ps.second, self.ps.diff(u)))
            u = u + self.solver.solve(res)
        return u

    def _path(self):
        ps, A = self.ps, self.A
        rv, pre = ps.rv, ps.pre
        ax = C.apply_matrix(A, rv)  # A·x_ι
        # Eq. (5): H·ẋ = −H·(A x)
        self.xdot = self._solve(-affine_force(ps.ii, ps.jj, rv, pre[0], pre[1], A, ps.n))
        d1 = ax + ps.diff(self.xdot)
        self.d = [None, d1]
        self.p = [None, self.xdot]
        self.xddot = self.xdddot = None
        if self.order >= 2:
            # Eq. (11): H·ẍ = −[T:d₁d₁ + H·(A d₁)]
            self.xddot = self._solve(-ps.scatter(C.path_rhs(rv, pre, A, d1, d1, 2)))
            d2 = C.apply_matrix(A, d1) + ps.diff(self.xddot)
            self.d.append(d2)
            self.p.append(C.apply_matrix(A, self.xdot) + self.xddot)
        if self.order >= 3:
            # Eq. (12): H·x⃛ = −[M⋮d₁d₁d₁ + 3 T:d₁d₂ + H·(A d₂)]
            self.xdddot = self._solve(-ps.scatter(C.path_rhs(rv, pre, A, d1, d2, 3)))
            self.d.append(C.apply_matrix(A, d2) + ps.diff(self.xdddot))
            self.p.append(C.apply_matrix(A, self.p[2]) + self.xdddot)

    def _fields(self):
        """d₁, d₂, d₃ for the fused kernels (unused orders as d₁, never read)."""
        d = self.d
        return d[1], d[2] if self.order >= 2 else d[1], d[3] if self.order >= 3 else d[1]

    def _need(self, order):
        order = self.order if order is None else int(order)
        if not 0 <= order <= self.order:
            raise ValueError(f"order {order} not available: this expansion was built to order {self.order}")
        return order

    # ------------------------------------------------------------------
    def bond_coefficients(self, order: int | None = None):
        """Per-pair φ_ι and its strain derivatives along the path, shape (order+1, M), in ε.

        Row 0: φ; row 1: φ_γ = J·d₁ (Eq. 14); row 2: φ_γγ = H:d₁d₁ + J·d₂;
        row 3: φ_γγγ = T⋮d₁d₁d₁ + 3H:d₁d₂ + J·d₃ (Eq. 13 per bond).
        """
        order = self._need(order)
        if self._bond is None:
            with numba_threads(self.threads):
                rows = C.bond_energy_series(self.ps.rv, self.ps.pre, *self._fields(), self.order)
            self._bond = np.concatenate([self.ps.derivs[:1], rows])
        return self._bond[: order + 1]

    def energy(self, order: int | None = None) -> np.ndarray:
        """[U, U_γ, U_γγ, U_γγγ] of the whole system (Eq. 13), in ε."""
        return np.array([np.sum(row) for row in self.bond_coefficients(order)])

    def observable(self, B, order: int | None = None) -> np.ndarray:
        """[O, O⁽¹⁾, O⁽²⁾, O⁽³⁾] of O_B = J·(B·x) (Eq. 15, fixed volume factor left out), in ε.

        O⁽¹⁾ = ∂O·d₁; O⁽²⁾ = ∂²O:d₁d₁ + ∂O·d₂; O⁽³⁾ = ∂³O⋮d₁d₁d₁ + 3∂²O:d₁d₂ + ∂O·d₃
        (Eqs. 7–8 with B13–B15), i.e. V₀ × the brackets of Eqs. (16)–(18).
        """
        order = self._need(order)
        B = self.ps._matrix(B)
        with numba_threads(self.threads):
            rows = C.bond_obs_series(self.ps.rv, self.ps.pre, B, *self._fields(), order)
        return np.array([np.sum(row) for row in rows])

    def volume_factor(self, values: np.ndarray) -> np.ndarray:
        """dⁿ/dγⁿ [O(γ)/V(γ)] from dᵏO/dγᵏ, with V = V₀ e^{γ trA} (Appendix C)."""
        s = self.trA
        out = np.empty(len(values))
        for n in range(len(values)):
            out[n] = sum(comb(n, k) * (-s) ** (n - k) * values[k] for k in range(n + 1)) / self.V0
        return out

    def stress(self, B, order: int | None = None) -> np.ndarray:
        """[σ_B, dσ_B/dγ, d²σ_B/dγ², d³σ_B/dγ³] with σ_B = O_B/V (Eqs. 15–18, C1–C2), ε/λ^d."""
        return self.volume_factor(self.observable(B, order))

    def pressure(self, order: int | None = None) -> np.ndarray:
        """[P, dP/dγ, …] with P = −tr σ/d (Eqs. C1–C2 and the third order), ε/λ^d."""
        d = self.conf.dim
        return -self.stress(np.eye(d), order) / d

    def coefficients(self, observable: str, order: int | None = None) -> dict:
        """{c0, c1, …}: value and total strain derivatives of a named observable.

        ``energy`` is per particle (ε); ``pressure`` P = −tr σ/d; ``sab`` the
        stress component σ_ab (ε/λ^d).
        """
        if observable == "energy":
            vals = self.energy(order) / self.conf.N
        elif observable == "pressure":
            vals = self.pressure(order)
        else:
            vals = self.stress(stress_selector(observable, self.conf.dim), order)
        return {f"c{k}": float(v) for k, v in enumerate(vals)}

    # ------------------------------------------------------------------
    def bond_field(self) -> np.ndarray:
        """Σ over each particle's bonds of φ_γ·φ_γγ (Fig. 2), shape (N,), in ε²."""
        if self.order < 2:
            raise ValueError("the φ_γ·φ_γγ field needs an expansion of order ≥ 2")
        b = self.bond_coefficients(2)
        return self.ps.per_particle(b[1] * b[2])

    def eq19(self) -> float:
        """(1/V₀)[H:(A·x)(A·x) + H:(A·x)·ẋ] (Eq. 19; μ for simple shear), ε/λ^d."""
        ps = self.ps
        ax = ps.affine(self.A)
        born = C.hvu(ps, ax, ax, kind="pair")
        nonaffine = float(np.sum(C.hv(ps, ax, kind="pair") * self.xdot))
        return (born + nonaffine) / self.V0


# ----------------------------------------------------------------------------
# convenience functions


def expand(conf: Configuration, deformation: str = "simple_shear", observable: str = "sxy",
           order: int = 3, threads: int | None = 1) -> dict:
    """{c0, …, c_order} of ``observable`` along the AQS path of ``deformation``."""
    if observable not in ("energy", "pressure"):
        stress_selector(observable, conf.dim)  # fail before the (costly) solves
    return Expansion(conf, deformation, order=order, threads=threads).coefficients(observable, order)


def shear_modulus(conf: Configuration, threads: int | None = 1) -> float:
    """μ = dσ_xy/dγ under simple shear (Eqs. 16, 19), ε/λ^d."""
    ex = Expansion(conf, "simple_shear", order=1, threads=threads)
    return float(ex.stress(stress_selector("sxy", conf.dim), 1)[1])


def bulk_modulus(conf: Configuration, threads: int | None = 1) -> float:
    """K = [Tr σ_η − d Tr σ₀]/d² under dilation by the true strain η (Eqs. 21–22), ε/λ^d."""
    d = conf.dim
    ex = Expansion(conf, "dilation", order=1, threads=threads)
    O = ex.observable(np.eye(d), 1)
    return float((O[1] / ex.V0 - d * O[0] / ex.V0) / d**2)


def write_bonds(path, ex: Expansion, provenance: dict | None = None):
    """Write the bond coefficients (schema ``bonds``) of an order-3 expansion."""
    if ex.order < 3:
        raise ValueError("the 'bonds' table needs an expansion of order 3")
    b = ex.bond_coefficients(3)
    conf = ex.conf
    return write_table(
        path, BONDS,
        {"i": ex.ps.ii, "j": ex.ps.jj, "r": ex.ps.r, "phi_g": b[1], "phi_gg": b[2], "phi_ggg": b[3]},
        model=conf.model, box=conf.box, strain=conf.strain, seed=conf.seed,
        provenance={"module": "expansion", **(provenance or {})},
        extra={"deformation": ex.deformation, "A": ex.A, "Tp": conf.Tp},
    )


def write_bond_field(path, ex: Expansion, provenance: dict | None = None):
    """Write the per-particle Σ φ_γ·φ_γγ field (schema ``bond_field``)."""
    conf = ex.conf
    names = "xyz"[: conf.dim]
    cols = {names[a]: conf.x[:, a] for a in range(conf.dim)}
    cols["phi_g_phi_gg"] = ex.bond_field()
    return write_table(
        path, BOND_FIELD, cols,
        model=conf.model, box=conf.box, strain=conf.strain, seed=conf.seed,
        provenance={"module": "expansion", **(provenance or {})},
        extra={"deformation": ex.deformation, "A": ex.A, "Tp": conf.Tp},
    )


def read_bonds(path):
    """Read a ``bonds`` table (an :class:`~glass2epm.core.io.Table`)."""
    return read_table(path, BONDS)


def aqs_check(conf: Configuration, strain: float = 0.05, step: float = 1e-3, threads: int = 1):
    """Fig. 8 data: explicit AQS σ_xy and P under simple shear and dilation, with the expansions.

    Returns (columns of the ``expansion_check`` schema, coefficients
    {geometry: {"sxy": {c0..c3}, "pressure": {c0..c3}}}). The AQS is the independent
    route; agreement at small strain is the check of Appendix C.
    """
    from glass2epm.aqs.engine import run_aqs

    cols = {"geometry": [], "strain": [], "sxy": [], "pressure": []}
    coeffs = {}
    for geometry in ("simple_shear", "dilation"):
        ex = Expansion(conf, deformation=geometry, order=3, threads=threads)
        coeffs[geometry] = {obs: ex.coefficients(obs) for obs in ("sxy", "pressure")}
        res = run_aqs(conf, step=step, strain_max=strain, geometry=geometry, snapshot_every=0,
                      threads=threads, confirm_events=False)
        s = res.series
        n = len(s["strain"])
        cols["geometry"] += [geometry] * n
        cols["strain"] += list(np.asarray(s["strain"], float) - float(s["strain"][0]))
        cols["sxy"] += list(np.asarray(s["sxy"], float))
        cols["pressure"] += list(np.asarray(s["pressure"], float))
    return {k: np.asarray(v) for k, v in cols.items()}, coeffs
