"""Local yield-stress maps (Sec. IV, Figs. 3–4): yield points, site tables, maps.

The expansion of each cavity's stress is :mod:`glass2epm.yieldstress.bond` (bond
micromechanics) or :mod:`glass2epm.yieldstress.frozen` (explicit frozen matrix).

Yield from the expansion (:func:`yield_roots`)
    σ(γ) = σ₀ + c1 γ + c2 γ²/2 + c3 γ³/6. Forward: γ_Y = smallest positive root of
    dσ/dγ = c1 + c2 γ + c3 γ²/2, σ_Y = σ(γ_Y). Backward: γ_Y^B = largest negative
    root, σ_Y^B = σ(γ_Y^B) (usually negative for simple shear). A site without such
    a root is discarded in that direction and counted.

Maps (:func:`build_map`)
    Sites on a grid of spacing 3d (:func:`glass2epm.yieldstress.cavity.site_particles`). Each
    particle receives the lowest σ_Y of all cavities whose free region contains it
    (forward), and separately the lowest |σ_Y^B| (backward); particles covered by no
    valid cavity get NaN and are counted (``fraction_without_value``). The residual
    strength Δσ_Y = σ_Y − σ₀ of each cavity (distance to its forward yield point from
    its own prestress) is mapped the same way, independently (the lowest Δσ_Y over the
    covering cavities), as column ``residual``: the EPM's ``threshold: residual``. Block map:
    L_blocks = round(L_a/ξ) blocks along each cell vector (ξ = 5d, the EPM block
    size), a particle belongs to the block of its fractional coordinates (squares for
    an unsheared cell), and the block value is the **mean of the values of its
    particles that have one** (``n_particles`` counts them; NaN if none).

Site tables (schema ``yield_sites``) have the same columns for both methods; the
``discarded`` column is a bit mask: 1 = no forward yield, 2 = no backward yield,
4 = the free–free Hessian is not positive definite (no expansion; 1|2 set too).
The frozen-matrix method (:mod:`glass2epm.yieldstress.frozen`) has no c2, c3 (NaN).

Units: λ for lengths, ε/λ^d for stresses and moduli; strains dimensionless.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from glass2epm.core.pairs import PairSet
from glass2epm.core.io import Configuration, read_table, write_table
from glass2epm.core.runtime import numba_threads
from glass2epm.yieldstress.bond import CavityExpansion, bond_sites
from glass2epm.yieldstress.cavity import free_sets, mean_spacing, site_particles
from glass2epm.yieldstress.frozen import chunk_sites, frozen_site_curve, frozen_sites
from glass2epm.core.schemas import YIELD_MAP, YIELD_SITES, YIELD_BLOCKS


DISCARD_FORWARD = 1
DISCARD_BACKWARD = 2
DISCARD_FAILED = 4


# ----------------------------------------------------------------------------
# yield from the cubic


def yield_roots(c1, c2, c3):
    """Forward and backward yield strains of σ(γ) = σ₀ + c1γ + c2γ²/2 + c3γ³/6.

    Roots of dσ/dγ = c1 + c2γ + (c3/2)γ² (numerically stable quadratic formula;
    linear when c3 = 0). Returns (gamma_forward, gamma_backward): the smallest
    positive root and the largest negative root, NaN where there is none (a root at
    exactly 0 counts as neither). Arrays broadcast.
    """
    c1, c2, c3 = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (c1, c2, c3)))
    a = 0.5 * c3
    b = c2
    c = c1
    r1 = np.full(c1.shape, np.nan)
    r2 = np.full(c1.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        quad = a != 0
        disc = b * b - 4.0 * a * c
        real = quad & (disc >= 0)
        sq = np.sqrt(np.where(real, disc, 0.0))
        q = -0.5 * (b + np.where(b >= 0, sq, -sq))
        r1 = np.where(real, q / a, r1)
        r2 = np.where(real & (q != 0), c / q, np.where(real, q / a, r2))
        lin = (~quad) & (b != 0)
        r1 = np.where(lin, -c / b, r1)
    roots = np.stack([r1, r2])
    pos = np.where(roots > 0, roots, np.inf).min(axis=0)
    neg = np.where(roots < 0, roots, -np.inf).max(axis=0)
    return np.where(np.isfinite(pos), pos, np.nan), np.where(np.isfinite(neg), neg, np.nan)


def cubic(coefficients, gamma):
    """σ(γ) = c0 + c1γ + c2γ²/2 + c3γ³/6 (coefficients broadcast along the last axis)."""
    c = np.asarray(coefficients, dtype=float)
    g = np.asarray(gamma, dtype=float)
    return c[..., 0] + c[..., 1] * g + c[..., 2] * g**2 / 2 + c[..., 3] * g**3 / 6


# ----------------------------------------------------------------------------
# site tables


SITE_COLUMNS = ("site", "x", "y", "sigma0", "mu0", "c2", "c3", "sigma_y", "gamma_y",
                "sigma_y_backward", "gamma_y_backward", "discarded")


@dataclass
class SiteTable:
    """One row per cavity (schema ``yield_sites``) and the parameters that made it.

    ``columns``: dict of equal-length arrays (``SITE_COLUMNS``, plus ``z`` in 3D and
    ``n_free``, and ``steps``/``steps_backward`` for the frozen method); ``params``:
    method, radius, spacing, geometry, component, d (and step, max_strain for frozen).
    """

    columns: dict
    params: dict

    def __len__(self):
        return int(len(self.columns["site"]))

    def __getitem__(self, k):
        return self.columns[k]

    @classmethod
    def concatenate(cls, tables) -> "SiteTable":
        """Chunk tables of the same map (same parameters) into one, sorted by site order
        of the grid (``order`` column if present, else site index)."""
        tables = list(tables)
        if not tables:
            raise ValueError("no site tables to merge")
        ref = tables[0].params
        for t in tables[1:]:
            diff = {k for k in set(ref) | set(t.params) if k not in ("chunk",)
                    and not _same(ref.get(k), t.params.get(k))}
            if diff:
                raise ValueError(f"site tables were made with different parameters: {sorted(diff)}")
        cols = {k: np.concatenate([np.asarray(t.columns[k]) for t in tables]) for k in tables[0].columns}
        site = cols["site"]
        if np.unique(site).size != site.size:
            raise ValueError("site tables overlap: a site appears in more than one chunk")
        key = cols["order"] if "order" in cols else site
        o = np.argsort(key, kind="stable")
        params = {k: v for k, v in ref.items() if k != "chunk"}
        return cls({k: v[o] for k, v in cols.items()}, params)


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (np.isnan(a) and np.isnan(b))
    return a == b


def _site_positions(conf, sites):
    names = "xyz"[: conf.dim]
    x = conf.box.wrap(conf.x[sites])
    return {names[a]: x[:, a] for a in range(conf.dim)}


def bond_table(conf: Configuration, sites, radius: float, geometry: str = "simple_shear",
               component="xy", spacing: float | None = None, threads: int | None = None,
               pairs: PairSet | None = None, free=None, order=None) -> SiteTable:
    """Site table of the bond-micromechanics method (see :func:`bond_sites`, :func:`yield_roots`)."""
    sites = np.ascontiguousarray(sites, dtype=np.int64)
    res = bond_sites(conf, sites, radius, geometry, component, threads=threads, pairs=pairs,
                     free=free)
    c = res.coefficients
    gf, gb = yield_roots(c[:, 1], c[:, 2], c[:, 3])
    sf = cubic(c, np.nan_to_num(gf))
    sb = cubic(c, np.nan_to_num(gb))
    disc = (np.isnan(gf) * DISCARD_FORWARD + np.isnan(gb) * DISCARD_BACKWARD
            + (~res.ok) * DISCARD_FAILED).astype(np.int8)
    cols = {"site": sites, **_site_positions(conf, sites),
            "sigma0": c[:, 0], "mu0": c[:, 1], "c2": c[:, 2], "c3": c[:, 3],
            "sigma_y": np.where(np.isnan(gf), np.nan, sf), "gamma_y": gf,
            "sigma_y_backward": np.where(np.isnan(gb), np.nan, sb), "gamma_y_backward": gb,
            "discarded": disc, "n_free": res.n_free.astype(np.int64),
            "order": np.arange(sites.size) if order is None else np.asarray(order, dtype=np.int64)}
    params = _params(conf, "bond", radius, spacing, geometry, component)
    return SiteTable(cols, params)


def frozen_table(conf: Configuration, sites, radius: float, geometry: str = "simple_shear",
                 component="xy", spacing: float | None = None, step: float = 1e-3,
                 max_strain: float = 0.3, drop_tol: float = 1e-6, ftol: float = 1e-10,
                 threads: int | None = None, order=None, chunk: str | None = None) -> SiteTable:
    """Site table of the frozen-matrix method (:func:`glass2epm.yieldstress.frozen.frozen_sites`); c2, c3 NaN."""

    sites = np.ascontiguousarray(sites, dtype=np.int64)
    r = frozen_sites(conf, sites, radius, geometry, component, step=step, max_strain=max_strain,
                     drop_tol=drop_tol, ftol=ftol, threads=threads)
    failed = (r.status == 2).any(axis=1)
    disc = ((r.status[:, 0] != 0) * DISCARD_FORWARD + (r.status[:, 1] != 0) * DISCARD_BACKWARD
            + failed * DISCARD_FAILED).astype(np.int8)
    nan = np.full(sites.size, np.nan)
    cols = {"site": sites, **_site_positions(conf, sites),
            "sigma0": r.sigma0, "mu0": r.mu0, "c2": nan, "c3": nan.copy(),
            "sigma_y": r.sigma_y, "gamma_y": r.gamma_y,
            "sigma_y_backward": r.sigma_y_backward, "gamma_y_backward": r.gamma_y_backward,
            "discarded": disc, "n_free": r.n_free.astype(np.int64),
            "steps": r.steps[:, 0].copy(), "steps_backward": r.steps[:, 1].copy(),
            "order": np.arange(sites.size) if order is None else np.asarray(order, dtype=np.int64)}
    params = _params(conf, "frozen", radius, spacing, geometry, component)
    params.update(step=float(step), max_strain=float(max_strain), drop_tol=float(drop_tol),
                  ftol=float(ftol))
    if chunk is not None:
        params["chunk"] = chunk
    return SiteTable(cols, params)


def _params(conf, method, radius, spacing, geometry, component):
    d = mean_spacing(conf)
    comp = component if isinstance(component, str) else np.asarray(component).tolist()
    if isinstance(comp, str) and comp.startswith("s") and len(comp) == 3:
        comp = comp[1:]
    return {"method": method, "radius": float(radius), "radius_d": float(radius) / d,
            "spacing": None if spacing is None else float(spacing),
            "spacing_d": None if spacing is None else float(spacing) / d,
            "geometry": geometry if isinstance(geometry, str) else "custom",
            "component": comp, "d": d, "dim": conf.dim}


# ----------------------------------------------------------------------------
# maps


@njit(cache=True)
def _assign_min(fstart, fidx, values, n):
    """Per particle: the lowest finite value over the sites whose free list holds it."""
    out = np.full(n, np.inf)
    for s in range(values.shape[0]):
        v = values[s]
        if not np.isfinite(v):
            continue
        for q in range(fstart[s], fstart[s + 1]):
            p = fidx[q]
            if v < out[p]:
                out[p] = v
    for p in range(n):
        if out[p] == np.inf:
            out[p] = np.nan
    return out


def assign_particles(conf: Configuration, sites, radius: float, values, free=None) -> np.ndarray:
    """Each particle's lowest value over the cavities (``sites``, free regions of
    ``radius``) that contain it; NaN for particles in no cavity with a finite value."""
    sites = np.ascontiguousarray(sites, dtype=np.int64)
    fstart, fidx = free if free is not None else free_sets(conf, sites, radius)
    values = np.ascontiguousarray(values, dtype=float)
    if values.shape != sites.shape:
        raise ValueError(f"need one value per site: {values.shape} values for {sites.size} sites")
    return _assign_min(fstart, fidx, values, conf.N)


def block_counts(conf: Configuration, block: float) -> np.ndarray:
    """Blocks per cell vector: L_blocks = max(1, round(L_a/ξ))."""
    if not block > 0:
        raise ValueError(f"block size must be positive, got {block}")
    return np.maximum(1, np.round(np.diag(conf.box.h) / block).astype(np.int64))


def _block_index(conf: Configuration, nb) -> np.ndarray:
    """Flat index (bx slowest) of the block of each particle's fractional coordinates."""
    s = np.linalg.solve(conf.box.h, conf.x.T).T
    s -= np.floor(s)
    k = np.minimum((s * nb).astype(np.int64), nb - 1)
    return np.ravel_multi_index(tuple(k.T), tuple(nb))


def coarse_grain(conf: Configuration, values, block: float, flat=None) -> dict:
    """Block map of a per-particle field: blocks of the fractional coordinates
    (round(L_a/ξ) per cell vector), value = mean over the block's particles with a
    finite value, ``n_particles`` their number (NaN value if none). ``flat``: the
    particles' block indices if already known (:func:`_block_index`).

    Returns columns bx, by[, bz] (block indices), x, y[, z] (block centres, λ), value,
    n_particles — one row per block, bx slowest.
    """
    values = np.asarray(values, dtype=float)
    if values.shape != (conf.N,):
        raise ValueError(f"need one value per particle ({conf.N}), got shape {values.shape}")
    nb = block_counts(conf, block)
    dim = conf.dim
    if flat is None:
        flat = _block_index(conf, nb)
    ok = np.isfinite(values)
    tot = int(np.prod(nb))
    cnt = np.bincount(flat[ok], minlength=tot)
    sm = np.bincount(flat[ok], weights=values[ok], minlength=tot)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, sm / np.maximum(cnt, 1), np.nan)
    idx = np.stack(np.unravel_index(np.arange(tot), tuple(nb)), axis=1)
    centres = ((idx + 0.5) / nb) @ conf.box.h.T
    out = {f"b{'xyz'[a]}": idx[:, a] for a in range(dim)}
    out.update({"xyz"[a]: centres[:, a] for a in range(dim)})
    out["value"] = mean
    out["n_particles"] = cnt
    return out


@dataclass
class YieldMap:
    """A local yield-stress map: per particle, per block, and the site table.

    ``sigma_y`` (N,): lowest forward σ_Y over the covering cavities; ``sigma_y_backward``
    (N,): lowest |σ_Y^B|; ``residual`` (N,): lowest σ_Y − σ₀; ``blocks``: columns of schema ``yield_blocks``; ``sites``:
    the :class:`SiteTable`; ``info``: parameters and counts (fractions without value,
    discarded sites, block size ξ, …).
    """

    sigma_y: np.ndarray
    sigma_y_backward: np.ndarray
    blocks: dict
    sites: SiteTable
    info: dict
    residual: np.ndarray | None = None


def build_map(conf: Configuration, table: SiteTable, block: float | None = None,
              free=None) -> YieldMap:
    """Per-particle and block maps from a site table (either method).

    ``block``: ξ in λ (default 5d). The free regions are recomputed from the
    configuration and the table's radius (the definitions of :mod:`glass2epm.yieldstress.cavity`).
    """
    radius = float(table.params["radius"])
    sites = np.asarray(table["site"], dtype=np.int64)
    d = mean_spacing(conf)
    xi = 5.0 * d if block is None else float(block)
    free = free if free is not None else free_sets(conf, sites, radius)
    fwd = assign_particles(conf, sites, radius, table["sigma_y"], free)
    bwd = assign_particles(conf, sites, radius, np.abs(table["sigma_y_backward"]), free)
    res = assign_particles(conf, sites, radius,
                           np.asarray(table["sigma_y"], float) - np.asarray(table["sigma0"], float), free)
    flat = _block_index(conf, block_counts(conf, xi))
    bf = coarse_grain(conf, fwd, xi, flat)
    bb = coarse_grain(conf, bwd, xi, flat)
    blocks = {k: v for k, v in bf.items() if k not in ("value", "n_particles")}
    blocks.update(sigma_y=bf["value"], sigma_y_backward=bb["value"], n_particles=bf["n_particles"],
                  n_particles_backward=bb["n_particles"],
                  residual=coarse_grain(conf, res, xi, flat)["value"])
    disc = np.asarray(table["discarded"])
    info = dict(table.params)
    info.update(
        block=xi, block_d=xi / d, blocks_per_side=block_counts(conf, xi).tolist(),
        n_sites=int(sites.size), n_discarded_forward=int(np.count_nonzero(disc & DISCARD_FORWARD)),
        n_discarded_backward=int(np.count_nonzero(disc & DISCARD_BACKWARD)),
        n_failed=int(np.count_nonzero(disc & DISCARD_FAILED)),
        fraction_without_value=float(np.mean(np.isnan(fwd))),
        fraction_without_value_backward=float(np.mean(np.isnan(bwd))),
        N=int(conf.N),
    )
    return YieldMap(fwd, bwd, blocks, table, info, res)


def site_list(conf: Configuration, spacing: float) -> np.ndarray:
    """The site particles of a map (grid of ``spacing`` λ; :func:`glass2epm.yieldstress.cavity.site_particles`)."""
    return site_particles(conf, spacing)


def bond_map(conf: Configuration, radius: float | None = None, spacing: float | None = None,
             geometry: str = "simple_shear", component="xy", block: float | None = None,
             threads: int | None = None) -> YieldMap:
    """The complete bond-micromechanics map: sites on a grid (default spacing 3d), cavities
    of radius R (default 5d), forward and backward yield from one cubic per site."""
    d = mean_spacing(conf)
    radius = 5.0 * d if radius is None else float(radius)
    spacing = 3.0 * d if spacing is None else float(spacing)
    with numba_threads(threads):
        sites = site_particles(conf, spacing)
        free = free_sets(conf, sites, radius)
        table = bond_table(conf, sites, radius, geometry, component, spacing, threads=None,
                           free=free)
        return build_map(conf, table, block, free)


def frozen_map(conf: Configuration, radius: float | None = None, spacing: float | None = None,
               geometry: str = "simple_shear", component="xy", block: float | None = None,
               step: float = 1e-3, max_strain: float = 0.3, threads: int | None = None,
               **kw) -> YieldMap:
    """The complete frozen-matrix map (every site in this process; see :func:`merge` for
    chunked runs)."""
    d = mean_spacing(conf)
    radius = 5.0 * d if radius is None else float(radius)
    spacing = 3.0 * d if spacing is None else float(spacing)
    with numba_threads(threads):
        sites = site_particles(conf, spacing)
        table = frozen_table(conf, sites, radius, geometry, component, spacing, step=step,
                             max_strain=max_strain, **kw)
        return build_map(conf, table, block)


def frozen_chunk(conf: Configuration, k: int, K: int, radius: float | None = None,
                 spacing: float | None = None, geometry: str = "simple_shear", component="xy",
                 step: float = 1e-3, max_strain: float = 0.3, threads: int | None = None,
                 **kw) -> SiteTable:
    """Frozen-matrix site table of chunk k (0-based) of K of the map's sites."""

    d = mean_spacing(conf)
    radius = 5.0 * d if radius is None else float(radius)
    spacing = 3.0 * d if spacing is None else float(spacing)
    with numba_threads(threads):
        sites = site_particles(conf, spacing)
        order = chunk_sites(np.arange(sites.size), k, K)
        return frozen_table(conf, sites[order], radius, geometry, component, spacing, step=step,
                            max_strain=max_strain, order=order, chunk=f"{k}/{K}", **kw)


def merge(conf: Configuration, tables, block: float | None = None) -> YieldMap:
    """Gather chunk site tables (from :func:`frozen_chunk` or files read with
    :func:`read_sites`) into the map; checks that they share their parameters, do not
    overlap and cover the map's sites (when their spacing is known)."""
    table = SiteTable.concatenate(tables)
    sp = table.params.get("spacing")
    if sp is not None:
        want = site_particles(conf, sp)
        got = np.asarray(table["site"])
        if got.size != want.size or not np.array_equal(np.sort(got), np.sort(want)):
            missing = np.setdiff1d(want, got).size
            raise ValueError(f"site tables do not cover the map: {missing} of {want.size} sites "
                             "missing (all K chunks are needed)")
    return build_map(conf, table, block)


# ----------------------------------------------------------------------------
# files


def _paths(path):
    from pathlib import Path

    path = Path(path)
    stem = path.name[: -len(".parquet")] if path.name.endswith(".parquet") else path.name
    return path, path.with_name(stem + ".sites.parquet"), path.with_name(stem + ".blocks.parquet")


def write_sites(path, conf: Configuration, table: SiteTable, provenance: dict | None = None):
    """Write a site table (schema ``yield_sites``)."""
    cols = {k: np.asarray(v) for k, v in table.columns.items()}
    return write_table(path, YIELD_SITES, cols, model=conf.model, box=conf.box, strain=conf.strain,
                       seed=conf.seed, provenance={"module": "yieldmap", **(provenance or {})},
                       extra={**table.params, "Tp": conf.Tp})


def read_sites(path) -> SiteTable:
    """Read a ``yield_sites`` file back as a :class:`SiteTable`."""
    t = read_table(path, YIELD_SITES)
    params = {k: v for k, v in (t.meta.get("extra") or {}).items() if k != "Tp"}
    return SiteTable(dict(t.columns), params)


def write_map(path, conf: Configuration, ymap: YieldMap, provenance: dict | None = None):
    """Write MAP.parquet (``yield_map``), MAP.sites.parquet and MAP.blocks.parquet.
    Returns the three paths."""
    p_map, p_sites, p_blocks = _paths(path)
    names = "xyz"[: conf.dim]
    x = conf.box.wrap(conf.x)
    cols = {names[a]: x[:, a] for a in range(conf.dim)}
    cols.update(sigma_y=ymap.sigma_y, sigma_y_backward=ymap.sigma_y_backward)
    if ymap.residual is not None:
        cols["residual"] = ymap.residual
    meta = dict(model=conf.model, box=conf.box, strain=conf.strain, seed=conf.seed,
                provenance={"module": "yieldmap", **(provenance or {})})
    extra = {**ymap.info, "Tp": conf.Tp}
    write_table(p_map, YIELD_MAP, cols, extra=extra, **meta)
    write_table(p_sites, YIELD_SITES, {k: np.asarray(v) for k, v in ymap.sites.columns.items()},
                extra=extra, **meta)
    write_table(p_blocks, YIELD_BLOCKS, ymap.blocks, extra=extra, **meta)
    return p_map, p_sites, p_blocks


def read_map(path):
    """(map table, site table, block table) of a map written by :func:`write_map`."""
    p_map, p_sites, p_blocks = _paths(path)
    return read_table(p_map, YIELD_MAP), read_table(p_sites, YIELD_SITES), read_table(p_blocks, YIELD_BLOCKS)


# ----------------------------------------------------------------------------
# comparison helpers (Figs. 3-4)


def site_comparison(conf: Configuration, site: int, radius: float | None = None,
                    geometry: str = "simple_shear", component="xy", step: float = 1e-3,
                    max_strain: float = 0.3, n_points: int = 201) -> dict:
    """Fig. 3(c): one cavity's cubic σ(γ) against its frozen-matrix curves.

    Returns a dict: ``frozen_forward``/``frozen_backward`` ({strain, stress, sigma_y,
    gamma_y, yielded}), ``expansion`` ({strain, stress} on a grid spanning both curves,
    coefficients c0..c3, forward/backward yield strain and stress), and
    ``sigma0``/``mu0`` of both methods.
    """

    d = mean_spacing(conf)
    radius = 5.0 * d if radius is None else float(radius)
    ex = CavityExpansion(conf, site, radius, geometry, component)
    c = ex.coefficients
    gf, gb = yield_roots(c[1], c[2], c[3])
    curves = {}
    for name, direction in (("frozen_forward", 1), ("frozen_backward", -1)):
        fc = frozen_site_curve(conf, site, radius, geometry, component, direction, step, max_strain)
        curves[name] = {"strain": fc.strain, "stress": fc.stress, "sigma_y": fc.sigma_y,
                        "gamma_y": fc.gamma_y, "yielded": fc.yielded, "mu0": fc.extra["mu0"]}
    lo = min(curves["frozen_backward"]["strain"].min(), np.nan_to_num(gb, nan=0.0))
    hi = max(curves["frozen_forward"]["strain"].max(), np.nan_to_num(gf, nan=0.0))
    g = np.linspace(lo, hi, n_points)
    return {
        "site": int(site), "radius": radius,
        "expansion": {"strain": g, "stress": ex.stress(g), "coefficients": c,
                      "gamma_y": float(gf), "sigma_y": float(ex.stress(gf)) if np.isfinite(gf) else np.nan,
                      "gamma_y_backward": float(gb),
                      "sigma_y_backward": float(ex.stress(gb)) if np.isfinite(gb) else np.nan},
        **curves,
        "sigma0": {"bond": float(c[0]), "frozen": float(curves["frozen_forward"]["stress"][0])},
        "mu0": {"bond": float(c[1]), "frozen": curves["frozen_forward"]["mu0"]},
    }


def yield_distribution(values, bins=40, log: bool = False, range_=None) -> dict:
    """P(σ_Y) of finite values: linear bins (``np.histogram`` density) or log bins
    (:func:`glass2epm.analysis.stats.log_histogram`, ``bins`` per decade)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise ValueError("no finite yield stresses to histogram")
    if log:
        from glass2epm.analysis.stats import log_histogram

        h = log_histogram(v, per_decade=float(bins), absolute=False)
        return {"centers": h.centers, "density": h.density, "error": h.density_err,
                "edges": h.edges, "counts": h.counts, "n": int(h.n_total),
                "n_nonpositive": int(h.n_nonpositive)}
    dens, edges = np.histogram(v, bins=bins, range=range_, density=True)
    counts, _ = np.histogram(v, bins=edges)
    width = np.diff(edges)
    return {"centers": 0.5 * (edges[1:] + edges[:-1]), "density": dens,
            "error": np.sqrt(counts) / (v.size * width), "edges": edges, "counts": counts,
            "n": int(v.size)}


def yield_statistics(values, conf: float = 0.95, n_boot: int = 2000, seed: int = 0) -> dict:
    """Mean and variance of the finite values with bootstrap CIs (stats.mean_ci /
    variance_ci). ``values``: an array, or a list of arrays (one per sample: whole
    samples are resampled)."""
    from glass2epm.analysis.stats import mean_ci, variance_ci

    if isinstance(values, (list, tuple)):
        vals = [np.asarray(v, dtype=float)[np.isfinite(v)] for v in values]
    else:
        v = np.asarray(values, dtype=float)
        vals = v[np.isfinite(v)]
    m = mean_ci(vals, conf=conf, n_boot=n_boot, seed=seed)
    s = variance_ci(vals, conf=conf, n_boot=n_boot, seed=seed)
    return {"mean": m.to_dict(), "variance": s.to_dict()}


def compare_maps(bond: YieldMap, frozen: YieldMap, level: str = "blocks", seed: int = 0) -> dict:
    """Fig. 4(b–d) numbers for one configuration: statistics of σ_Y of both methods
    (``level``: "blocks" — the paper's coarse-grained maps —, "particles" or "sites"),
    the variance ratio bond/frozen, and the site-by-site scatter table (sites common
    to both tables)."""
    def pick(m: YieldMap):
        if level == "blocks":
            return m.blocks["sigma_y"]
        if level == "particles":
            return m.sigma_y
        if level == "sites":
            return np.asarray(m.sites["sigma_y"])
        raise ValueError(f"level must be 'blocks', 'particles' or 'sites', got {level!r}")

    sb = yield_statistics(pick(bond), seed=seed)
    sf = yield_statistics(pick(frozen), seed=seed)
    return {"level": level, "bond": sb, "frozen": sf,
            "variance_ratio": sb["variance"]["value"] / sf["variance"]["value"],
            "mean_ratio": sb["mean"]["value"] / sf["mean"]["value"],
            "scatter": scatter_table(bond.sites, frozen.sites)}


def scatter_table(bond: SiteTable, frozen: SiteTable) -> dict:
    """Site-by-site table over the sites of both tables: σ₀, μ₀, σ_Y, γ_Y, σ_Y^B, γ_Y^B
    of each method (columns suffixed _bond / _frozen)."""
    sb = np.asarray(bond["site"])
    sf = np.asarray(frozen["site"])
    common, ib, jf = np.intersect1d(sb, sf, return_indices=True)
    out = {"site": common}
    for k in ("sigma0", "mu0", "sigma_y", "gamma_y", "sigma_y_backward", "gamma_y_backward"):
        out[k + "_bond"] = np.asarray(bond[k])[ib]
        out[k + "_frozen"] = np.asarray(frozen[k])[jf]
    return out
