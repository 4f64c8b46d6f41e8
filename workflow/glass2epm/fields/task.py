"""Task functions of the fields stage (issue 22); the CLI and the rule scripts call these."""

from __future__ import annotations

import logging

import numpy as np

from glass2epm.core import io, schemas
from glass2epm.fields.coarse import COMPONENTS, coarse_fields

_log = logging.getLogger(__name__)


def fields_stage(config_path, out, *, ell: float, grid: int, log=_log) -> dict:
    """ρ_ℓ and σ_ℓ of one configuration file on an n^d grid, written as a 'fields' table.
    Returns the box means (density and stress) for the summary line."""
    conf = io.read_configuration(config_path)
    f = coarse_fields(conf, float(ell), int(grid))
    d = conf.dim
    cols = {k: f[k] for k in ("x", "y", "z")[:d]}
    cols["rho"] = f["rho"]
    for c in COMPONENTS[d]:
        cols[c] = f[c]
    io.write_table(out, schemas.FIELDS, cols, model=conf.model, box=conf.box, strain=conf.strain, seed=conf.seed,
                   extra={"ell": float(ell), "grid": int(grid), "source": str(config_path)})
    V = abs(float(np.linalg.det(conf.box.h)))
    summary = {"N": conf.N, "ell": float(ell), "grid": int(grid), "rho_mean": float(f["rho"].mean()),
               "N_over_V": conf.N / V, **{f"{c}_mean": float(f[c].mean()) for c in COMPONENTS[d]}}
    log.info("fields %s: %s", config_path, summary)
    return summary


def predictors_stage(glass, yield_bond, yield_frozen, snapshots, out, *, ell: float, grid: int, window: int,
                     r1: float, r2: float, r_range, threshold: float, rcut: float, log=_log) -> dict:
    """Per-particle predictors of one glass and the D²min of its next plastic window ('field_predictors'),
    with the density's structure-function exponents ξ_q (and CIs) in the metadata."""
    from glass2epm.fields.predict import field_predictors, next_plastic_window
    from glass2epm.fields.structure import scaling_exponents

    conf = io.read_configuration(glass)
    f = coarse_fields(conf, ell, grid)
    pred = field_predictors(conf, ell, grid, window, r1, r2, fields=f)
    for name, path in (("weak_bond", yield_bond), ("weak_frozen", yield_frozen)):
        t = io.read_table(path, schemas.YIELD_MAP)
        sy = np.asarray(t["sigma_y"], float)
        if sy.size != conf.N:
            raise ValueError(f"{path}: {sy.size} rows for a glass of {conf.N} particles")
        pred[name] = -sy
    nxt = next_plastic_window(snapshots, threshold, rcut)
    from pathlib import Path

    from glass2epm.fields.flux import balance

    snaps = sorted(Path(snapshots).glob("step-*.parquet"))
    bal = balance(io.read_configuration(snaps[0], check=False), io.read_configuration(snaps[1], check=False), ell,
                  grid) if len(snaps) >= 2 else {}
    # the structure-function exponents along the AQS path (point estimates at every snapshot)
    from glass2epm.fields.coarse import density_field
    from glass2epm.fields.structure import structure_functions

    path = []
    for snap in snaps:
        c = io.read_configuration(snap, check=False)
        rho_s = density_field(c.x, c.box.h, ell, grid)
        sp = float(np.max(np.linalg.norm(c.box.h, axis=0))) / grid
        r, S = structure_functions(rho_s, grid, sp)
        sel = (r >= r_range[0]) & (r <= r_range[1])
        path.append([float(c.strain.get("gamma", np.nan))]
                    + [float(np.polyfit(np.log(r[sel]), np.log(S[q][sel]), 1)[0]) for q in range(S.shape[0])])
    spacing = float(np.max(np.diag(conf.box.h))) / grid
    ex = scaling_exponents(f["rho"], grid, spacing, r_range, n_boot=200)
    cols = {"particle": np.arange(conf.N), **pred, "d2min": nxt["d2min"], "nonaffine": nxt["nonaffine"]}
    extra = {"ell": ell, "grid": grid, "window": window, "r1": r1, "r2": r2, "strain_from": nxt["strain_from"],
             "strain_to": nxt["strain_to"], "plastic_window": nxt["plastic"], "xi_q": ex["xi"].tolist(), "xi_q_lo": ex["xi_lo"].tolist(),
             "xi_q_hi": ex["xi_hi"].tolist(), "q": ex["q"].tolist(), "r_range": list(r_range),
             "balance_first_window": bal, "xi_q_along_aqs": path}
    io.write_table(out, schemas.FIELD_PREDICTORS, cols, model=conf.model, box=conf.box, seed=conf.seed, extra=extra)
    if not nxt["plastic"]:
        log.warning("%s: no AQS window passes the activity threshold; the most non-affine one is the target",
                    snapshots)
    log.info("predictors %s: next plastic window γ %.3g → %.3g, ξ_q %s", glass, nxt["strain_from"], nxt["strain_to"],
             np.round(ex["xi"], 3).tolist())
    return extra


def scores_stage(tables, out, *, Tp: float, top_fraction: float, n_boot: int, log=_log) -> list[dict]:
    """Pool the glasses of one T_p and score every predictor ('predictor_scores')."""
    from glass2epm.fields.predict import PREDICTORS, score_predictors

    pooled = {k: [] for k in (*PREDICTORS, "d2min", "nonaffine", "glass")}
    xi, along = [], []
    for g, path in enumerate(tables):
        t = io.read_table(path, schemas.FIELD_PREDICTORS)
        for k in (*PREDICTORS, "d2min", "nonaffine"):
            pooled[k].append(np.asarray(t[k], float))
        pooled["glass"].append(np.full(len(t["d2min"]), g))
        xi.append(t.meta["extra"]["xi_q"])
        along.append(t.meta["extra"].get("xi_q_along_aqs") or [])
    pooled = {k: np.concatenate(v) for k, v in pooled.items()}
    rows = [r for target in ("d2min", "nonaffine")
            for r in score_predictors(pooled, top_fraction, n_boot=n_boot, target=target)]
    cols = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    cols["Tp"] = np.full(len(rows), float(Tp))
    xi = np.array(xi)
    io.write_table(out, schemas.PREDICTOR_SCORES, cols,
                   extra={"top_fraction": top_fraction, "glasses": len(tables), "xi_q_mean": xi.mean(axis=0).tolist(),
                          "xi_q_sem": (xi.std(axis=0, ddof=1) / np.sqrt(len(xi))).tolist() if len(xi) > 1 else None,
                          "xi_q_along_aqs": along})
    for r in rows:
        log.info("T_p %s %s vs %s: Spearman %.3f [%.3f, %.3f], AUC %.3f [%.3f, %.3f]", Tp, r["predictor"], r["target"], r["spearman"],
                 r["spearman_lo"], r["spearman_hi"], r["auc"], r["auc_lo"], r["auc_hi"])
    return rows
