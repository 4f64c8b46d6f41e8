"""The thermal EPM on the FFT lattice (Baron & Biroli Sec. II; Ozawa & Biroli's model), no applied strain.

A run (:func:`run_thermal`):

1. stresses start Gaussian with standard deviation σ_c (App. E);
2. equilibration: ``equil_events_per_site`` relaxations per site, the activity Γ_eq measured over
   their second half sets the time unit of what follows, τ_est = 1/Γ_eq;
3. measurement: ``n_origins`` time origins spaced by ``origin_spacing``·τ_est; for each, the time
   of every site's first relaxation after it. The run goes on until the persistence of the last
   origin is below ``p_stop`` (or ``max_events_per_site`` is reached: then τ_α may be undefined);
4. analysis: persistence p(t) (mean over origins of the fraction of sites not yet relaxed),
   τ_α with p(τ_α) = 1/e, χ₄(t) = N Var_origins[p_o(t)], the four-point structure factor of the
   persistence field at τ_α, S₄(q) = ⟨|δn_q|²⟩/N, and ξ from an Ornstein–Zernike fit
   S₄(q) = B + A/(1 + ξ²q²), B = e^{−1}(1 − e^{−1}) the exact value for independent sites, over the
   shells with q ≤ ``q_fit`` (1/block).

Kick conventions and the sampling algorithm: :mod:`glass2epm.thermal.kinetics`. Time in units of
τ, lengths in blocks, stresses in σ_c's unit. The lattice's own mean-field parameters (Eq. A5),
α_lat = ½⟨δσ²⟩ Σ_{r≠0}⟨K'_ψ(r)²⟩_ψ and m_lat = ¼⟨δσ²⟩ Σ_nn⟨K'_ψ²⟩_ψ, are reported with the
measured ⟨δσ²⟩, so the lattice can be set beside the mean-field solver at its own α.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from scipy.fft import irfft2, rfft2

from glass2epm.epm.propagator import oriented_kernels
from glass2epm.thermal import kinetics as kin

KICKS = {"fixed": 0, "random": 1, "mean-field": 2}


@dataclass(frozen=True)
class ThermalParams:
    """One thermal-EPM run. Defaults: the paper's σ_c = σ₀ = K = τ = 1, a = 1.5."""

    L: int
    T: float
    seed: int = 0
    kicks: str = "random"            # fixed | random | mean-field (fully connected, variance 2α/N)
    alpha: float = 0.11              # kick variance 2α/N of the fully connected mode only
    a: float = 1.5
    sigma_c: float = 1.0
    sigma0: float = 1.0
    K: float = 1.0
    tau: float = 1.0
    equil_events_per_site: float = 20.0
    n_origins: int = 16
    origin_spacing: float = 1.0      # in units of τ_est = 1/Γ_eq
    p_stop: float = 0.05
    max_events_per_site: float = 2000.0
    margin: float = -1.0             # rate-bound window m; < 0: min(0.8, max(1e-3, 3T)) (speed only: exact for any m)
    near: int = 8                    # R: the near square max(|dx|, |dy|) ≤ R is kicked at once (blocks)
    cell: int = 16                   # width of the far-field bound cells (the largest divisor of L ≤ cell)
    q_fit: float = 1.0              # S₄(q) shells with q ≤ q_fit (1/block) enter the ξ fit

    def __post_init__(self):
        if self.L < 4:
            raise ValueError(f"thermal EPM: L must be >= 4, got {self.L}")
        if self.kicks not in KICKS:
            raise ValueError(f"thermal EPM: kicks must be one of {sorted(KICKS)}, got {self.kicks!r}")
        for name in ("T", "alpha", "a", "sigma_c", "sigma0", "K", "tau", "equil_events_per_site",
                     "origin_spacing", "max_events_per_site"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"thermal EPM: {name} must be a finite number > 0, got {v!r}")
        if not 0 < self.p_stop < math.exp(-1):
            raise ValueError(f"thermal EPM: p_stop must lie in (0, 1/e), got {self.p_stop}")
        if self.near < 1 or self.cell < 1:
            raise ValueError(f"thermal EPM: near and cell must be >= 1, got {self.near}, {self.cell}")
        if self.n_origins < 2:
            raise ValueError(f"thermal EPM: n_origins must be >= 2 (χ₄ is a variance), got {self.n_origins}")

    @property
    def rates(self) -> kin.Rates:
        return kin.Rates(float(self.T), float(self.a), float(self.sigma_c), float(self.sigma0), float(self.K),
                         float(self.tau))

    @property
    def window(self) -> float:
        return self.margin if self.margin > 0 else min(0.8, max(1e-3, 3.0 * self.T))


#: deferred relaxations held at most between two flushes
PENDING_CAPACITY = 4096


def _cell_width(L: int, want: int) -> int:
    """The largest divisor of L not above ``want`` (coarse cells tile the lattice)."""
    return max(d for d in range(1, min(want, L) + 1) if L % d == 0)


def _far_tables(K: np.ndarray, R: int, W: int, b: int):
    """Near kernel W² (offsets dx, dy ∈ [−R, W − 1 − R], flat (dx + R)·W + dy + R, 0 on site), far
    kernel (zero on the near square, flat) and its per-cell maxima M[p, D]: max over the sites of
    the cell at offset D of |K_far(r_i − r_j)| for a source j at place p = (px, py) in its own cell
    (rows: p = px·b + py; columns: D = DX·(L/b) + DY)."""
    L = K.shape[0]
    idx = (np.arange(W) - R) % L
    near = np.zeros((L, L), bool)
    near[np.ix_(idx, idx)] = True
    far = np.where(near, 0.0, K)
    kn = np.ascontiguousarray(K[np.ix_(idx, idx)])
    kn[R, R] = 0.0
    nc = L // b
    A = np.abs(far)
    M = np.empty((b * b, nc * nc))
    for px in range(b):
        for py in range(b):
            shifted = np.roll(A, (px, py), axis=(0, 1))  # shifted[x, y] = |K_far|(x − px, y − py)
            M[px * b + py] = shifted.reshape(nc, b, nc, b).max(axis=(1, 3)).ravel()
    return np.ascontiguousarray(kn.ravel()), np.ascontiguousarray(far.ravel()), np.ascontiguousarray(M.ravel())


def make_kicks(p: ThermalParams, table=None, thr_table=None, kscale: float = 0.0) -> kin.Kicks:
    """The kick record; ``table`` (renewal stresses) and ``thr_table`` (their paired thresholds,
    with K_i = ``kscale``·√σ_c,i) replace the draws from y(σ) and the uniform σ_c when given."""
    L = p.L
    N = L * L
    table = np.zeros(0) if table is None else np.ascontiguousarray(np.asarray(table, float))
    thr_table = np.zeros(0) if thr_table is None else np.ascontiguousarray(np.asarray(thr_table, float))
    if thr_table.size and thr_table.size != table.size:
        raise ValueError(f"thermal EPM: {thr_table.size} renewal thresholds for {table.size} renewal stresses")
    if p.kicks == "mean-field":
        z, zc = np.zeros(1), np.zeros((1, 1), complex)
        return kin.Kicks(2, 0.0, 0.0, math.sqrt(2 * p.alpha / N), table, thr_table, float(kscale),
                         0, 1, z, z, 1, 0, z, z, z, z, zc, zc)
    ka, kb, kc = oriented_kernels(L)
    if L <= 2 * p.near + 2:  # the whole lattice is near: every kick at once, nothing deferred
        R, W = (L - 1) // 2, L
    else:
        R, W = p.near, 2 * p.near + 1
    b = _cell_width(L, p.cell)
    na, kaf, ma = _far_tables(ka, R, W, b)
    nc, kcf, mc = _far_tables(kc, R, W, b)
    ncell = L // b if np.any(kaf != 0) else 0
    ha = rfft2(kaf.reshape(L, L))
    hc = rfft2(kcf.reshape(L, L))
    return kin.Kicks(KICKS[p.kicks], float(ka[0, 0]), float(kb[0, 0]), 0.0, table, thr_table, float(kscale),
                     R, W, na, nc, b, ncell, kaf, kcf, ma, mc, ha, hc)


def new_state(sigma, L, tally, thr=None, kfac=None, cell: int = 1) -> kin.LatticeState:
    """The lattice state; ``cell``: the coarse-cell width of the kicks (``Kicks.cell``)."""
    N = L * L
    thr = np.zeros(0) if thr is None else np.ascontiguousarray(thr, float)
    kfac = np.zeros(0) if kfac is None else np.ascontiguousarray(kfac, float)
    cap = PENDING_CAPACITY
    return kin.LatticeState(np.ascontiguousarray(sigma, float), np.zeros(N), np.zeros(N), np.zeros(kin.tree_size(N)),
                            np.zeros(N, np.int64), tally, thr, kfac, np.zeros((L // cell) ** 2),
                            np.zeros(cap, np.int64), np.zeros(cap, np.int64), np.zeros(cap), np.zeros(cap))


def flush(st: kin.LatticeState, kicks: kin.Kicks, rates: kin.Rates, L: int) -> None:
    """Apply the deferred kicks to every site: the far fields Σ_k Δ_k(w_a K_af + w_c K_cf)(r − r_k)
    of the deferred relaxations by one FFT convolution (numpy's conventions, as the propagator's:
    ``Kicks.Ha``, ``Kicks.Hc`` are the real-FFTs of the far kernels) and the uniform c₀ΣΔ; then
    re-reference the sites that left their window (kinetics module docstring)."""
    tal = st.tally[0]
    if tal["npend"] == 0 and tal["shift"] == 0.0:
        return
    far = _NO_FAR
    if tal["npend"]:
        grid = np.empty((2, L, L))
        kin.scatter_pending(st, grid)
        if kicks.mode == 1:
            spec = rfft2(grid, axes=(-2, -1))
            spec[0] *= kicks.Ha
            spec[0] += spec[1] * kicks.Hc
            spec = spec[0]
        else:
            spec = rfft2(grid[0]) * kicks.Ha
        far = irfft2(spec, s=(L, L)).ravel()
    kin.apply_deferred(st, far, rates)


_NO_FAR = np.zeros(0)


def advance(st: kin.LatticeState, kicks: kin.Kicks, rates: kin.Rates, L: int, t_end: float, max_events: int,
            pers: kin.Persistence, series: kin.Series) -> int:
    """Run the lattice (:func:`glass2epm.thermal.kinetics.run_lattice`) to time ``t_end`` or by
    ``max_events`` relaxations, flushing the deferred kicks whenever the kernel asks; the stored
    stresses are exact on return. Returns 0 (t_end reached) or 1 (max_events reached)."""
    tal = st.tally
    start = int(tal[0]["events"])
    while True:
        left = max_events - (int(tal[0]["events"]) - start)
        code = kin.run_lattice(st, kicks, rates, L, t_end, left, pers, series) if left > 0 else 1
        flush(st, kicks, rates, L)
        if code != 2:
            return code


def kernel_moments(p: ThermalParams, n_angles: int = 64) -> tuple[float, float]:
    """(Σ_{r≠0}⟨K'_ψ(r)²⟩_ψ, Σ_nn⟨K'_ψ²⟩_ψ) of the normalised kick kernel (per unit drop)."""
    L = p.L
    N = L * L
    if p.kicks == "mean-field":
        return 2 * p.alpha / N * (N - 1), 0.0
    ka, kb, kc = oriented_kernels(L)
    psis = [0.0] if p.kicks == "fixed" else (np.arange(n_angles) + 0.5) * np.pi / n_angles
    tot = nn = 0.0
    for psi in psis:
        ca = math.cos(2 * psi) ** 2
        k = ca * ka + (1 - ca) * kb + math.sin(4 * psi) * kc
        k = k + (1 + k[0, 0]) / (N - 1)
        k[0, 0] = 0.0
        k2 = k * k
        tot += k2.sum()
        nn += k2[1, 0] + k2[-1, 0] + k2[0, 1] + k2[0, -1]
    return tot / len(psis), nn / len(psis)


def _snapshot(st):
    return {k: st.tally[0][k].item() for k in kin.TALLY.names}


def _oz_fit(q, s4, q_fit, L, modes) -> float:
    """ξ of S₄(q) = B + A/(1 + ξ²q²) over q ≤ ``q_fit``, with the uncorrelated background fixed at its
    exact value B = p(1 − p) = e^{−1}(1 − e^{−1}) (independent sites at p = 1/e); each shell weighted by
    its relative error 1/√(modes·origins) (|δn_q|² is exponentially distributed). nan when the
    smallest-q shell does not exceed B by 3 standard errors (no measurable correlation), when the
    fit fails, or when ξ ≥ L/2 (not resolved by the box)."""
    from scipy.optimize import curve_fit

    B = math.exp(-1) * (1 - math.exp(-1))
    sel = q <= q_fit
    err = s4 / np.sqrt(modes)
    # no excess over the background at the smallest q beyond 3 standard errors: nothing to fit
    if sel.sum() < 2 or s4[0] - B < 3 * err[0]:
        return math.nan
    f = lambda x, A, xi: B + A / (1 + (xi * x) ** 2)
    try:
        (A, xi), _ = curve_fit(f, q[sel], s4[sel], p0=(max(s4[0] - B, 1e-3), 1.0),
                               sigma=err[sel],
                               bounds=([0.0, 0.0], [np.inf, float(L)]))
    except (RuntimeError, ValueError):
        return math.nan
    return float(xi) if A > 0 and xi < 0.5 * L else math.nan


def persistence_analysis(first: np.ndarray, horizon: float, L: int, q_fit: float = 1.0, n_t: int = 120):
    """p(t), χ₄(t), τ_α, S₄(q) at τ_α and ξ from first-relaxation times ``first`` (n_o, N).

    ξ: Ornstein–Zernike form with the exact uncorrelated background (:func:`_oz_fit`) fitted to the
    shell-averaged S₄ over q ≤ ``q_fit`` (1/block)."""
    n_o, N = first.shape
    positive = first[np.isfinite(first) & (first > 0)]
    t_lo = max(float(np.quantile(positive, 0.001)) if positive.size else horizon * 1e-4, horizon * 1e-6)
    t = np.geomspace(t_lo, horizon, n_t)
    srt = np.sort(first, axis=1)
    p_o = np.stack([1.0 - np.searchsorted(srt[o], t, side="right") / N for o in range(n_o)])
    p = p_o.mean(axis=0)
    chi4 = N * p_o.var(axis=0, ddof=1)
    tau_alpha = math.nan
    below = np.flatnonzero(p <= math.exp(-1))
    if below.size and below[0] > 0:
        k = below[0]
        # log-linear interpolation of ln p against ln t between the bracketing points
        x0, x1 = math.log(t[k - 1]), math.log(t[k])
        y0, y1 = math.log(max(p[k - 1], 1e-300)), math.log(max(p[k], 1e-300))
        tau_alpha = math.exp(x0 + (-1.0 - y0) * (x1 - x0) / (y1 - y0)) if y1 != y0 else t[k]
    xi, s4 = math.nan, None
    if math.isfinite(tau_alpha):
        n = (first > tau_alpha).astype(float).reshape(n_o, L, L)
        n -= n.mean(axis=(1, 2), keepdims=True)
        s4_grid = (np.abs(np.fft.fft2(n)) ** 2).mean(axis=0) / N
        k = np.fft.fftfreq(L) * L
        kk = np.sqrt(k[:, None] ** 2 + k[None, :] ** 2)
        shells = np.rint(kk).astype(int)
        qs, vals, modes = [], [], []
        for sh in range(1, L // 2):
            sel = shells == sh
            if sel.any():
                qs.append(2 * np.pi * kk[sel].mean() / L)
                vals.append(s4_grid[sel].mean())
                modes.append(sel.sum() * n_o)
        s4 = (np.array(qs), np.array(vals))
        xi = _oz_fit(s4[0], s4[1], q_fit, L, np.array(modes))
    persistent = (first > tau_alpha).mean(axis=0) if math.isfinite(tau_alpha) else np.full(N, np.nan)
    return {"t": t, "p": p, "chi4": chi4, "tau_alpha": tau_alpha, "chi4_max": float(np.nanmax(chi4)),
            "t_chi4_max": float(t[int(np.nanargmax(chi4))]), "xi": xi, "s4": s4, "persistent": persistent}


def run_thermal(p: ThermalParams, table=None, log=None, thr_table=None, kscale: float = 0.0) -> dict:
    """One thermal-EPM run (module docstring). Returns a dict with the summary numbers and the
    arrays ``persistence`` (t, p, chi4), ``series`` (t, activity), ``blocks`` (relaxations,
    persistent fraction at τ_α), ``s4`` (q, S₄).

    ``table``: renewal stresses instead of draws from y(σ). With ``thr_table`` (paired row by row
    with ``table``) every block carries its own threshold σ_c,i and prefactor K_i = ``kscale``·√σ_c,i
    (the particle bridge, :mod:`glass2epm.thermal.bridge`): blocks start from random table rows and
    a relaxation redraws the row."""
    L = p.L
    N = L * L
    kin.seed_numba(int(p.seed))
    rng = np.random.default_rng(p.seed)
    kicks = make_kicks(p, table, thr_table, kscale)
    rates = p.rates
    tally = kin.new_tally(p.window)
    if kicks.thr_table.size:
        rows = rng.integers(0, kicks.table.size, N)
        st = new_state(kicks.table[rows], L, tally, kicks.thr_table[rows], kscale * np.sqrt(kicks.thr_table[rows]),
                       cell=kicks.cell)
    else:
        st = new_state(rng.normal(0.0, p.sigma_c, N), L, tally, cell=kicks.cell)
    kin.init_lattice(st, rates)
    no_pers = kin.Persistence(np.zeros(0), np.zeros((0, N)))
    no_series = kin.Series(0.0, 1.0, np.zeros(0, np.int64))
    wall0 = time.perf_counter()
    half = max(1, int(0.5 * p.equil_events_per_site * N))
    advance(st, kicks, rates, L, np.inf, half, no_pers, no_series)
    a = _snapshot(st)
    advance(st, kicks, rates, L, np.inf, half, no_pers, no_series)
    b = _snapshot(st)
    gamma_eq = (b["events"] - a["events"]) / (N * (b["t"] - a["t"]))
    tau_est = 1.0 / gamma_eq
    t_start = b["t"]
    st.tally[0]["next_sample"] = t_start
    st.tally[0]["sample_dt"] = 0.125 * tau_est  # ⟨|σ|⟩, ⟨σ²⟩: the state at fixed times
    origins = t_start + p.origin_spacing * tau_est * np.arange(p.n_origins)
    pers = kin.Persistence(origins, np.full((p.n_origins, N), np.inf))
    bin_dt = 0.25 * tau_est
    series = kin.Series(t_start, bin_dt, np.zeros(int(4 * (p.n_origins * p.origin_spacing + 200)) + 1, np.int64))
    budget = int(p.max_events_per_site * N)
    used = 0
    while used < budget:
        chunk = min(N, budget - used)
        advance(st, kicks, rates, L, np.inf, chunk, pers, series)
        used += chunk
        if st.tally[0]["t"] > origins[-1] and np.mean(np.isinf(pers.first[-1])) < p.p_stop:
            break
    wall = time.perf_counter() - wall0
    c = _snapshot(st)
    span = c["t"] - t_start
    events = c["events"] - b["events"]
    activity = events / (N * span)
    mean_abs = c["sample_abs"] / (N * max(c["n_samples"], 1))
    mean_sq = c["sample_sq"] / (N * max(c["n_samples"], 1))
    drop2 = c["sum_drop2"] / max(c["events"], 1)
    horizon = c["t"] - origins[-1]
    ana = persistence_analysis(pers.first, horizon, L, p.q_fit)
    k_tot, k_nn = kernel_moments(p)
    nbins = min(series.counts.size, int(span / bin_dt))
    out = {
        **{k: v for k, v in asdict(p).items()},
        "margin_used": p.window,
        "activity": activity, "activity_equilibration": gamma_eq, "mean_abs_sigma": mean_abs,
        "mean_sq_sigma": mean_sq, "mean_sq_drop": drop2,
        "alpha_lattice": 0.5 * drop2 * k_tot if p.kicks != "mean-field" else p.alpha,
        "m_lattice": 0.25 * drop2 * k_nn,
        "tau_alpha": ana["tau_alpha"], "tau_alpha_activity": ana["tau_alpha"] * activity,
        "chi4_max": ana["chi4_max"], "t_chi4_max": ana["t_chi4_max"], "xi": ana["xi"],
        "events": int(c["events"]), "events_measured": int(events), "proposals": int(c["proposals"]),
        "acceptance": c["events"] / max(c["proposals"], 1), "refreshes_per_event": c["refreshes"] / max(c["events"], 1),
        "wall_s": wall, "relaxations_per_s": c["events"] / wall, "time_span": span,
        "converged": bool(math.isfinite(ana["tau_alpha"])),
        "persistence": {"t": ana["t"], "p": ana["p"], "chi4": ana["chi4"]},
        "series": {"t": t_start + bin_dt * (np.arange(nbins) + 0.5),
                   "activity": series.counts[:nbins] / (N * bin_dt)},
        "blocks": {"x": np.repeat(np.arange(L), L), "y": np.tile(np.arange(L), L), "relaxations": st.count.copy(),
                   "persistent_fraction": ana["persistent"]},
        "s4": ana["s4"],
    }
    if log is not None:
        log.info("thermal EPM L=%d T=%g %s: Γ=%.4g τ_α=%.4g ξ=%.3g, %d events, %.3g relaxations/s",
                 L, p.T, p.kicks, activity, ana["tau_alpha"], ana["xi"], c["events"], out["relaxations_per_s"])
    return out
