"""Structural predictors of plasticity, head to head (issue 22, part 4).

For one glass (an inherent state at γ = 0) the candidates are evaluated per particle:

* ``grad_rho``     |∇ρ_ℓ| (spectral gradient of the coarse-grained density, read at the particle);
* ``dev_stress``   the local deviatoric stress of σ_ℓ, √(((σ_xx − σ_yy)/2)² + σ_xy²);
* ``flux``         Π_ℓ/δγ, the inter-scale flux of an elastic shear step δγ (Eq. 5) from the glass
                   (:mod:`glass2epm.fields.flux`): energy handed below ℓ where the glass is about to yield;
* ``roughness``    −ξ₂^loc, minus the local (windowed) regularity exponent of ρ_ℓ
                   (:func:`glass2epm.fields.structure.local_exponent_map`): Hernández-García's
                   criterion puts plasticity where the density is least regular;
* ``weak_bond``, ``weak_frozen``   −σ_Y of the bond and frozen-matrix yield maps (low σ_Y: weak).

Each is oriented so that a larger score predicts plasticity. The target is the next plastic activity
of the AQS run that starts from this glass: the D²min (Falk–Langer, :mod:`glass2epm.aqs.activity`)
of the first snapshot window whose largest D²min passes the activity threshold, and the non-affine
displacement over that window (the next event's, at the snapshot resolution); a particle is
"active" when it is among the top ``top_fraction`` of the target. Scores: Spearman's rank
correlation with D²min and the ROC-AUC for the active set, with bootstrap CIs over particles
(:func:`score_predictors`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from glass2epm.fields.coarse import coarse_fields
from glass2epm.fields.structure import local_exponent_map

PREDICTORS = ("flux", "grad_rho", "dev_stress", "roughness", "weak_bond", "weak_frozen")


def _at_particles(grid2d: np.ndarray, conf) -> np.ndarray:
    """Bilinear interpolation of a periodic grid field (on the cell's fractional grid) at the particles."""
    n = grid2d.shape[0]
    f = (conf.x @ np.linalg.inv(conf.box.h).T) % 1.0 * n
    i0 = np.floor(f).astype(int)
    t = f - i0
    i1 = (i0 + 1) % n
    i0 %= n
    g = grid2d
    return ((1 - t[:, 0]) * (1 - t[:, 1]) * g[i0[:, 0], i0[:, 1]] + t[:, 0] * (1 - t[:, 1]) * g[i1[:, 0], i0[:, 1]]
            + (1 - t[:, 0]) * t[:, 1] * g[i0[:, 0], i1[:, 1]] + t[:, 0] * t[:, 1] * g[i1[:, 0], i1[:, 1]])


def field_predictors(conf, ell: float, n: int, window: int, r1: float, r2: float, fields: dict | None = None) -> dict:
    """The field-based predictors of one configuration (2D, rectangular cell), per particle;
    ``fields``: its :func:`~glass2epm.fields.coarse.coarse_fields` at (ℓ, n) when already computed."""
    if conf.dim != 2:
        raise ValueError("field predictors: 2D configurations only")
    f = fields if fields is not None else coarse_fields(conf, ell, n)
    rho = f["rho"].reshape(n, n)
    L = np.diag(conf.box.h)
    k = [2 * np.pi * np.fft.fftfreq(n, d=L[a] / n) for a in range(2)]
    KX, KY = np.meshgrid(*k, indexing="ij")
    rq = np.fft.fft2(rho)
    gx = np.fft.ifft2(1j * KX * rq).real
    gy = np.fft.ifft2(1j * KY * rq).real
    dev = np.sqrt((0.5 * (f["sxx"] - f["syy"])) ** 2 + f["sxy"] ** 2).reshape(n, n)
    spacing = float(L.max()) / n
    loc = local_exponent_map(f["rho"], n, spacing, r1, r2, window)
    from glass2epm.fields.flux import elastic_step, flux_fields

    dgamma = 1e-4
    step, _ = elastic_step(conf, dgamma)
    pi = flux_fields(conf, step, ell, n)["Pi"].reshape(n, n) / dgamma
    frac = (conf.x @ np.linalg.inv(conf.box.h).T) % 1.0
    B = loc.shape[0]
    wi = np.minimum((frac * n // window).astype(int), B - 1)
    return {"flux": _at_particles(pi, conf), "grad_rho": _at_particles(np.hypot(gx, gy), conf),
            "dev_stress": _at_particles(dev, conf),
            "roughness": -loc[wi[:, 0], wi[:, 1]]}


def next_plastic_window(snapshot_dir, threshold: float, rcut_factor: float) -> dict:
    """D²min of the first window between consecutive AQS snapshots whose largest D²min passes
    ``threshold`` (λ², mean over neighbours): the glass's next plastic activity. When none does
    (a run too short), the window with the largest D²min, with ``plastic`` False."""
    from glass2epm.aqs.activity import d2min, default_rcut
    from glass2epm.core import io
    from glass2epm.fields.flux import displacement

    files = sorted(Path(snapshot_dir).glob("step-*.parquet"))
    if len(files) < 2:
        raise ValueError(f"{snapshot_dir}: need at least two AQS snapshots, found {len(files)}")
    prev = io.read_configuration(files[0], check=False)
    rcut = default_rcut(prev.N, prev.box, rcut_factor)
    best = None
    for path in files[1:]:
        cur = io.read_configuration(path, check=False)
        d2, _ = d2min(prev.x, prev.box, cur.x, cur.box, rcut)
        u = displacement(prev, cur)
        E = (cur.box.h - prev.box.h) @ np.linalg.inv(prev.box.h)
        na = u - prev.x @ E.T
        na -= na.mean(axis=0)
        found = {"d2min": d2, "nonaffine": np.sqrt(np.einsum("ij,ij->i", na, na)),
                 "strain_from": float(prev.strain.get("gamma", math.nan)),
                 "strain_to": float(cur.strain.get("gamma", math.nan)), "plastic": bool(d2.max() > threshold)}
        if found["plastic"]:
            return found
        if best is None or d2.max() > best["d2min"].max():
            best = found
        prev = cur
    # no window passes the threshold within the run: the most non-affine one, flagged plastic = False
    return best


def _ranks(a):
    from scipy.stats import rankdata

    return rankdata(a)


def _auc(score, label):
    pos = label.sum()
    neg = label.size - pos
    if pos == 0 or neg == 0:
        return math.nan
    r = _ranks(score)
    return float((r[label].sum() - pos * (pos + 1) / 2) / (pos * neg))


def _spearman(a, b):
    ra, rb = _ranks(a), _ranks(b)
    return float(np.corrcoef(ra, rb)[0, 1])


def score_predictors(table: dict, top_fraction: float, n_boot: int = 500, seed: int = 0,
                     target: str = "d2min") -> list[dict]:
    """Spearman ρ (score vs the ``target`` column: D²min, or the non-affine displacement) and ROC-AUC
    (score vs the top ``top_fraction`` of the target, per glass) for every predictor column of ``table``
    (pooled particles of several glasses: column ``glass``), with 95 % bootstrap CIs over glasses'
    particles (resampled within each glass)."""
    glass = np.asarray(table["glass"])
    d2 = np.asarray(table[target], float)
    label = np.zeros(d2.size, bool)
    for g in np.unique(glass):
        sel = glass == g
        cut = np.quantile(d2[sel], 1 - top_fraction)
        label[sel] = d2[sel] >= cut
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(glass == g) for g in np.unique(glass)]
    boots = [np.concatenate([rng.choice(ix, ix.size) for ix in groups]) for _ in range(n_boot)]
    out = []
    for name in PREDICTORS:
        if name not in table:
            continue
        s = np.asarray(table[name], float)
        ok = np.isfinite(s)
        if ok.sum() < 10:
            continue
        sp = _spearman(s[ok], d2[ok])
        auc = _auc(s[ok], label[ok])
        bs, ba = [], []
        for b in boots:
            b = b[ok[b]]
            bs.append(_spearman(s[b], d2[b]))
            ba.append(_auc(s[b], label[b]))
        out.append({"predictor": name, "target": target, "spearman": sp, "spearman_lo": float(np.nanpercentile(bs, 2.5)),
                    "spearman_hi": float(np.nanpercentile(bs, 97.5)), "auc": auc,
                    "auc_lo": float(np.nanpercentile(ba, 2.5)), "auc_hi": float(np.nanpercentile(ba, 97.5)),
                    "n": int(ok.sum())})
    return out
