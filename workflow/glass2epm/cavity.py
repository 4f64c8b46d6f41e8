"""Cavities for local yield stresses (Sec. IV): sites, free regions, cavity stress.

Both local methods — the bond-micromechanics expansion and the explicit frozen
matrix — use the definitions of this module, so they can be compared site by site.

Sites
    A regular grid of spacing ``spacing`` (default 3d, d = (N/V)^{−1/dim} the mean
    interparticle distance); each grid point's site is the particle nearest to it.
Free region
    The particles within ``radius`` (default 5d) of the site particle (minimum
    image). All other particles are frozen: they follow the affine deformation.
Cavity stress
    σ_ab^cav = (1/V_R) Σ_bonds w_b φ'(r_b) r_b,a r_b,b / r_b with V_R = πR² (2D) or
    (4/3)πR³ (3D) and the per-atom-virial weights w_b = 1 for bonds with both ends
    free, ½ for bonds with one free end, 0 otherwise — i.e. the sum of the per-atom
    virial stresses of the free particles over the cavity volume. In ε/λ^d.
Local subsystem
    Computations keep the free particles plus every particle within
    R + r_max + margin of the site (r_max the largest interaction range), in the
    original periodic cell: forces on free particles and all weighted bonds are
    then exact, at a cost independent of N.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .io import Configuration


def mean_spacing(conf: Configuration) -> float:
    """d = (N/V)^{−1/dim}, in λ."""
    return (conf.N / conf.box.volume) ** (-1.0 / conf.dim)


def cavity_volume(radius: float, dim: int) -> float:
    return np.pi * radius**2 if dim == 2 else 4.0 / 3.0 * np.pi * radius**3


def site_particles(conf: Configuration, spacing: float) -> np.ndarray:
    """Indices of the particles nearest to the points of a regular grid (unique, sorted by grid)."""
    if spacing <= 0:
        raise ValueError(f"site spacing must be positive, got {spacing}")
    h = conf.box.h
    widths = np.diag(h)
    ng = np.maximum(1, np.round(widths / spacing).astype(int))
    axes = [(np.arange(k) + 0.5) / k for k in ng]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, conf.dim)
    pts = grid @ h.T
    sites = np.empty(len(pts), dtype=np.int64)
    for k, p in enumerate(pts):
        d = conf.box.minimum_image(conf.x - p)
        sites[k] = int(np.argmin(np.einsum("ij,ij->i", d, d)))
    _, first = np.unique(sites, return_index=True)
    return sites[np.sort(first)]


@dataclass
class Cavity:
    """A free region around a site, embedded in a local subsystem.

    ``index``: indices (into the full configuration) of the subsystem's particles;
    ``free``: boolean mask over the subsystem; ``site``: the site particle (full index);
    ``sub``: the subsystem as a Configuration in the same periodic cell.
    """

    site: int
    radius: float
    index: np.ndarray
    free: np.ndarray
    sub: Configuration

    @property
    def n_free(self) -> int:
        return int(self.free.sum())

    @property
    def free_index(self) -> np.ndarray:
        return self.index[self.free]


def make_cavity(conf: Configuration, site: int, radius: float, margin: float = 0.5) -> Cavity:
    """The cavity of ``radius`` around particle ``site`` and its local subsystem."""
    if radius < 0:
        raise ValueError(f"cavity radius must be non-negative, got {radius}")
    d = conf.box.minimum_image(conf.x - conf.x[site])
    r = np.sqrt(np.einsum("ij,ij->i", d, d))
    reach = radius + conf.model.max_cutoff + margin
    if reach >= 0.5 * conf.box.perpendicular_widths().min():
        # the cavity and its shell span the cell: keep every particle
        index = np.arange(conf.N)
    else:
        index = np.flatnonzero(r <= reach)
    free = r[index] <= radius
    sub = Configuration(conf.x[index], conf.sizes[index], conf.box, conf.model, Tp=conf.Tp,
                        seed=conf.seed, strain=dict(conf.strain))
    return Cavity(int(site), float(radius), index, free, sub)


def bond_weights(ii: np.ndarray, jj: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Per-atom-virial weights of bonds: 1 (both ends free), ½ (one), 0 (none)."""
    return 0.5 * (free[ii].astype(float) + free[jj].astype(float))


def cavity_stress(cav: Cavity, x: np.ndarray | None = None, box=None) -> np.ndarray:
    """σ^cav (d × d, ε/λ^d) of the subsystem at positions x (default: its own)."""
    from .potential import ForceField, pair_table
    from .neighbors import VerletList

    sub = cav.sub
    x = sub.x if x is None else x
    box = sub.box if box is None else box
    m = sub.model
    vl = VerletList(m, skin=0.1)
    vl.build(x, sub.sizes, box)
    ii, jj, rv, lam = pair_table(x, sub.sizes, box.h, vl.start, vl.nbr, m.xc, m.na)
    w = bond_weights(ii, jj, cav.free)
    sel = w > 0
    r = np.sqrt(np.einsum("ij,ij->i", rv[sel], rv[sel]))
    d1 = m.radial_derivatives(r, lam[sel], order=1)[1]
    g = w[sel] * d1 / r
    return np.einsum("p,pa,pb->ab", g, rv[sel], rv[sel]) / cavity_volume(cav.radius, sub.dim)
