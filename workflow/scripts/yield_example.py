"""Rule `yield_example`: one cavity for Fig. 3 — geometry, non-affine field, expansion against
frozen-matrix curves (forward and backward)."""

import numpy as np

from glass2epm.core import io
from glass2epm.yieldstress import bond, maps as yieldmap
from glass2epm.yieldstress.cavity import mean_spacing, site_particles
from glass2epm.core.schemas import CAVITY_BONDS, CAVITY_CURVES, CAVITY_PARTICLES
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    y = snakemake.params.y
    conf = io.read_configuration(snakemake.input[0])
    d = mean_spacing(conf)
    radius = y["radius"] * d
    sites = site_particles(conf, y["spacing"] * d)
    centre = conf.box.h @ np.full(conf.dim, 0.5)
    dist = np.linalg.norm(conf.box.minimum_image(conf.x[sites] - centre), axis=1)
    site = int(sites[np.argmin(dist)])
    comp = yieldmap.site_comparison(conf, site, radius, y["geometry"], y["component"], step=y["frozen_step"],
                                    max_strain=y["frozen_max_strain"])
    ex = bond.CavityExpansion(conf, site, radius, y["geometry"], y["component"])
    sub, cav = ex.cavity.sub, ex.cavity
    rel = sub.box.minimum_image(sub.x - conf.x[site])
    xdot = np.asarray(ex.ex.xdot)
    io.write_table(snakemake.output.particles, CAVITY_PARTICLES,
                   {"x": rel[:, 0], "y": rel[:, 1], "size": sub.sizes, "free": cav.free,
                    "ux": xdot[:, 0], "uy": xdot[:, 1]}, extra={"site": site, "radius": radius})
    ps = ex.ex.ps
    keep = ex.weights > 0
    io.write_table(snakemake.output.bonds, CAVITY_BONDS,
                   {"i": ps.ii[keep], "j": ps.jj[keep], "weight": ex.weights[keep]})
    rows = {"strain": [], "stress": [], "kind": [], "direction": []}
    e = comp["expansion"]
    for direction, sel in (("forward", e["strain"] >= 0), ("backward", e["strain"] <= 0)):
        rows["strain"] += list(e["strain"][sel])
        rows["stress"] += list(e["stress"][sel])
        rows["kind"] += ["expansion"] * int(sel.sum())
        rows["direction"] += [direction] * int(sel.sum())
    for direction in ("forward", "backward"):
        fc = comp[f"frozen_{direction}"]
        rows["strain"] += list(fc["strain"])
        rows["stress"] += list(fc["stress"])
        rows["kind"] += ["frozen"] * len(fc["strain"])
        rows["direction"] += [direction] * len(fc["strain"])
    extra = {"site": site, "sigma0": comp["sigma0"], "mu0": comp["mu0"],
             "sigma_y_forward": {"bond": e["sigma_y"], "frozen": comp["frozen_forward"]["sigma_y"]},
             "sigma_y_backward": {"bond": e["sigma_y_backward"], "frozen": comp["frozen_backward"]["sigma_y"]},
             "gamma_y_forward": e["gamma_y"], "gamma_y_backward": e["gamma_y_backward"]}
    log.info("%s", extra)
    io.write_table(snakemake.output.curves, CAVITY_CURVES, {k: np.asarray(v) for k, v in rows.items()}, extra=extra)
