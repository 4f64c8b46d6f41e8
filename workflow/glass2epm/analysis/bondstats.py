"""Statistics of bond-level expansion coefficients (Sec. III, Fig. 1).

Pooled over the samples of one parent temperature:

* P(|φ_nγ|), n = 1, 2, 3, as log-binned densities;
* tail exponents by maximum likelihood with confidence intervals, against
  Eq. (23): P(|φ_nγ|) ~ |φ_nγ|^{−(7+4(n−1))/(2+4(n−1))}, i.e. −7/2, −11/6, −3/2
  (ERRATA: the Fig. 1 caption's −2/7 means −7/2);
* the tail prefactor A_g of P(|φ_γ|) ≈ A_g |φ_γ|^{−7/2} with the exponent fixed
  at its theory value, over a common tail range [x_min, ∞) shared by all T_p, and
  its ratio to the high-T_p plateau A_∞ (Fig. 1c).

Coefficients φ_nγ are in ε; densities in 1/ε.
"""

from __future__ import annotations

import logging

import numpy as np

from glass2epm.analysis import stats
from glass2epm.core import io
from glass2epm.core.schemas import BOND_HISTOGRAMS, BOND_PREFACTORS, BONDS

log = logging.getLogger("glass2epm")

THEORY_ALPHA = {1: 7.0 / 2.0, 2: 11.0 / 6.0, 3: 3.0 / 2.0}  # P ~ x^-alpha (Eq. 23)
COLUMNS = {1: "phi_g", 2: "phi_gg", 3: "phi_ggg"}


def pooled(tables, order: int) -> np.ndarray:
    """|φ_nγ| pooled over bond tables (each an io.Table of schema ``bonds``)."""
    col = COLUMNS[order]
    return np.concatenate([np.abs(np.asarray(t[col], float)) for t in tables])


def distributions(tables, per_decade: float = 8.0, min_tail: int = 50, seed: int = 0):
    """Histograms and tail fits for n = 1, 2, 3; returns (histogram columns, fit dicts)."""
    cols = {k: [] for k in BOND_HISTOGRAMS.columns}
    fits = {}
    for n in (1, 2, 3):
        x = pooled(tables, n)
        x = x[x > 0]
        if x.size < 10:
            raise ValueError(f"too few bonds ({x.size}) for statistics of order {n}")
        h = stats.log_histogram(x, per_decade=per_decade)
        m = h.mask
        cols["order"].extend([n] * int(m.sum()))
        cols["center"].extend(h.centers[m])
        cols["density"].extend(h.density[m])
        cols["density_err"].extend(h.density_err[m])
        cols["count"].extend(h.counts[m])
        tail = stats.powerlaw_tail(x, "ks", min_tail=min(min_tail, max(10, x.size // 20)), seed=seed)
        fits[n] = {**tail.to_dict(), "theory_alpha": THEORY_ALPHA[n],
                   "theory_in_ci": tail.contains(THEORY_ALPHA[n]), "n_bonds": int(x.size)}
    return {k: np.asarray(v) for k, v in cols.items()}, fits


def prefactors(pools: dict, xmin: float | None = None, plateau: int = 1, conf: float = 0.95):
    """A_g(T_p) for P(|φ_γ|) ≈ A_g |φ_γ|^{−7/2} and A_g/A_∞.

    ``pools``: {T_p: array of |φ_γ|}. ``xmin`` (common to all T_p) defaults to the
    KS-chosen tail start of the highest T_p. A_∞ is the geometric mean of A over the
    ``plateau`` highest T_p (the high-temperature plateau); the ratio's interval
    combines both log standard errors.
    """
    if not pools:
        raise ValueError("no bond pools given")
    temps = sorted(pools, reverse=True)
    if xmin is None:
        top = pools[temps[0]]
        xmin = stats.choose_xmin(top[top > 0], min_tail=min(50, max(10, top.size // 20))).xmin
    alpha = THEORY_ALPHA[1]
    est = {T: stats.tail_prefactor(pools[T][pools[T] > 0], alpha, xmin, n_total=pools[T].size,
                                   conf=conf) for T in temps}
    top = temps[: max(1, min(plateau, len(temps)))]
    logA_inf = float(np.mean([np.log(est[T].A) for T in top]))
    se_inf = float(np.sqrt(np.mean([est[T].log_se ** 2 for T in top]) / len(top)))
    z = float(__import__("scipy.stats").stats.norm.ppf(0.5 + conf / 2))
    cols = {k: [] for k in BOND_PREFACTORS.columns}
    for T in sorted(temps):
        e = est[T]
        r = np.exp(np.log(e.A) - logA_inf)
        se = np.sqrt(e.log_se**2 + se_inf**2)
        cols["Tp"].append(T)
        cols["A"].append(e.A)
        cols["A_lo"].append(e.ci[0])
        cols["A_hi"].append(e.ci[1])
        cols["ratio"].append(r)
        cols["ratio_lo"].append(r * np.exp(-z * se))
        cols["ratio_hi"].append(r * np.exp(z * se))
        cols["n_bonds"].append(e.n_total)
    return {k: np.asarray(v) for k, v in cols.items()}, {"xmin": float(xmin), "alpha": alpha,
                                                          "plateau_Tp": top}


# -----------------------------------------------------------------------------
# task functions of the rules bond_statistics and bond_prefactors


def bond_statistics(bonds, Tp: float, histograms_out, fits_out) -> dict:
    """P(|φ_nγ|) pooled over the ``bonds`` tables of one T_p and the tail exponents against
    Eq. (23): writes the ``bond_histograms`` table and the fits JSON; returns the fits."""
    tables = [io.read_table(p, BONDS) for p in bonds]
    hist, fits = distributions(tables)
    for n, f in fits.items():
        log.info("order %d: alpha = %.3f [%.3f, %.3f] (theory %.3f), x_min = %.3g, n_tail = %d",
                 n, f["alpha"], f["ci"][0], f["ci"][1], f["theory_alpha"], f["xmin"], f["n_tail"])
    io.write_table(histograms_out, BOND_HISTOGRAMS, hist, extra={"Tp": float(Tp), "fits": fits})
    io.write_json(fits_out, {"Tp": float(Tp), "samples": len(tables), "fits": fits})
    return fits


def bond_prefactors(bonds, output) -> dict:
    """Tail prefactor A_g(T_p) of P(|φ_γ|) and A_g/A_∞ (Fig. 1c) from ``bonds`` tables of
    several T_p (read from their metadata): writes the ``bond_prefactors`` table."""
    pools = {}
    for path in bonds:
        t = io.read_table(path, BONDS)
        pools.setdefault(float(t.meta["extra"]["Tp"]), []).append(pooled([t], 1))
    pools = {T: np.concatenate(v) for T, v in pools.items()}
    cols, info = prefactors(pools)
    log.info("prefactors %s; %s", cols, info)
    io.write_table(output, BOND_PREFACTORS, cols, extra=info)
    return cols
