"""Glass properties at an inherent state: energy, stress, pressure, elastic moduli.

Units: energy ε, stress and moduli ε/λ^d, forces ε/λ.

Elastic moduli follow Sec. II C. For an affine deformation generator A and a
stress component selected by B, the relaxed (athermal, fixed-box-shape)
derivative is (Eq. 16 at γ = 0)

    dσ_B/dγ = (1/V) [ H:(B x)(A x) + H:(B x)·ẋ + J·(B A x) ],   H·ẋ = −H·(A x)   (Eq. 5)

with every contraction evaluated on pair separation vectors (Lees–Edwards
aware), never on absolute positions. For simple shear in the xy plane
(A = B = x̂ŷ) this is the shear modulus of Eq. (19); its first term alone is the
Born (affine) modulus. The bulk modulus is Eq. (22): K = [Tr σ_η − d Tr σ₀]/d²
with A = B = I (dilation by the true strain η).
"""

from __future__ import annotations

import numpy as np

from glass2epm.core.box import deformation_generator
from glass2epm.core import contractions as C
from glass2epm.mechanics.hessian import HessianSolver, assemble, pair_data
from glass2epm.core.io import Configuration
from glass2epm.core.potential import ForceField



def compute_properties(conf: Configuration, threads: int = 1) -> dict:
    """All properties of the ``glass2epm properties`` command (one JSON object)."""
    ff = ForceField(conf.model, threads=threads)
    e, forces, stress = ff.compute(conf.x, conf.sizes, conf.box)
    n, d = conf.N, conf.dim
    V = conf.box.volume
    ii, jj, rv, lam, r, der = pair_data(conf, ff, order=2)
    first, second = C.first_second_all(r, der[1], der[2])
    H = assemble(ii, jj, rv, r, der[1], der[2], n)
    solver = HessianSolver(H, n, d)

    def modulus(A, B):
        a = C.apply_matrix(A, rv)  # A·x_ι
        b = C.apply_matrix(B, rv)  # B·x_ι
        Ka = C.bond_hv(rv, first, second, a)  # K_ι·(A x_ι), Eq. (B7)
        born = np.einsum("ij,ij->", b, Ka) + np.einsum("i,ij,ij->", first, rv, rv @ (B @ A).T)
        Xi_a = C.scatter(ii, jj, Ka, n)  # H·(A x)
        Xi_b = C.scatter(ii, jj, C.bond_hv(rv, first, second, b), n)  # H·(B x)
        xdot = -solver.solve(Xi_a)  # Eq. (5)
        nonaffine = np.einsum("ij,ij->", Xi_b, xdot)
        return born / V, (born + nonaffine) / V

    Ass = deformation_generator("simple_shear", d)
    mu_born, mu = modulus(Ass, Ass)
    I = np.eye(d)
    _, trs_eta = modulus(I, I)  # (1/V) d(J·x)/dη = Tr σ_η
    K = (trs_eta - d * np.trace(stress)) / d**2

    names = "xyz"[:d]
    st = {names[a] + names[b]: float(stress[a, b]) for a in range(d) for b in range(a, d)}
    st = {k: st[k] for k in (["xx", "yy", "xy"] if d == 2 else ["xx", "yy", "zz", "xy", "xz", "yz"])}
    return {
        "N": int(n),
        "dim": int(d),
        "density": float(n / V),
        "energy_per_particle": float(e / n),
        "pressure": float(-np.trace(stress) / d),
        "stress": st,
        "shear_modulus": float(mu),
        "shear_modulus_born": float(mu_born),
        "bulk_modulus": float(K),
        "max_force": float(np.abs(forces).max()),
        "n_pairs": int(len(ii)),
        "rattlers": int((~solver.active).sum()),
        "preset": conf.model.preset,
        "Tp": conf.Tp,
        "seed": conf.seed,
    }
