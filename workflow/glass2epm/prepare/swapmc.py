"""SWAP Monte Carlo for the polydisperse model (paper Sec. II A / Appendix A, ref. [60]).

Units: energy ε, length λ (the smallest particle size), temperature ε/k_B; time in
*sweeps* (one sweep = N trial moves).

Glass samples are prepared by equilibrating a liquid at the parent temperature T_p
with SWAP Monte Carlo (Ninarello, Berthier & Coslovich, PRX 7, 021039 (2017)),
before a quench to T = 0 (Appendix A). A trial move is, with probability ``p_swap``,
the exchange of the sizes λ_i, λ_j of two random particles, otherwise the
displacement of one random particle by a vector uniform in a square (cube) of side
``step``. Both proposals are symmetric, so the Metropolis rule
min(1, exp(−ΔU/T)) gives the Boltzmann distribution of the pair model Eq. (A2)
with the non-additive pair sizes of Eq. (A4).

ΔU is *local*: only the pairs involving the moved particle(s) are visited.
For a swap of i and j, λ_ij is symmetric in (λ_i, λ_j), so the (i, j) pair itself
keeps its energy: it is left out of both sums (otherwise it would be evaluated with
the wrong pair size).

Neighbours. A swap changes pair cutoffs x_c λ_ij, so the Verlet list holds every
partner within the *largest* cutoff x_c λ_max + skin (full lists, :func:`glass2epm.core.neighbors.packed_lists`);
a move of i scans only the part of its list that can interact with a particle of
i's size (size classes, see ``_level_radii``). Positions are wrapped into the cell
only at list builds; ``xoff`` keeps the unwrapped trajectory (the MSD needs it). The
list stays valid while every pair satisfies d_i + d_k ≤ skin (d = displacement since
the build); the kernel keeps the running maximum d_max of accepted displacements
and, before evaluating a displacement of i to a point at distance d_new from its
reference, checks d_new + d_max ≤ skin. If not, it restores the random-number
state, rebuilds the lists (inside numba) and replays the same trial. The whole loop
of trials, list rebuilds included, runs in one numba call per chunk of sweeps; the
trajectory does not depend on how the run is chunked. The cell must satisfy
x_c λ_max + skin < half its smallest perpendicular width.

Randomness: xoshiro256** with its state carried in an array (seeded from
``numpy.random.SeedSequence(seed)``): same arguments and seed → bitwise the same
trajectory, independent of ``record_every``.

Equilibration is measured, not assumed: after a step-size tuning phase the
production run records the energy per particle, acceptance rates, the mean squared
displacement and the self-intermediate scattering function F_s(k, t) at
k = 2π/⟨λ⟩, both with the centre-of-mass drift removed (MC random-walks the centre
of mass). τ is the number of sweeps until F_s < 1/e; the run fails
(:class:`EquilibrationError`, a RuntimeError) when τ exceeds a tenth of the production
run.
"""


from __future__ import annotations

import math
import time

import numpy as np

from glass2epm.core.box import Box
from glass2epm.core.io import Configuration, write_table
from glass2epm.core.model import Model
from glass2epm.core.schemas import SWAPMC_SERIES
from glass2epm.prepare.equilibration import (  # noqa: F401  (re-exported)
    EquilibrationError, SwapMCResult, _first_crossing, assess_equilibration)
from glass2epm.prepare.kernels import (  # noqa: F401  (re-exported)
    ListSpec, MoveParams, MCState, PackedLists, PairModel, _mc_run, com_corrected_observables,
    delta_energy_displacement, delta_energy_swap, full_energy)
from glass2epm.prepare.mclists import (  # noqa: F401  (re-exported)
    DEFAULT_SKIN, N_LEVELS, _level_radii, _rebuild, _wrap_into_cell, image_shifts)
from glass2epm.prepare.rng import rng_state, uniforms  # noqa: F401  (re-exported)



class SwapMC:
    """The state of a SWAP MC run: positions, sizes, neighbour lists, random state.

    Parameters
    ----------
    conf : starting configuration (positions in λ; any cell, Lees–Edwards included).
    T : temperature in ε/k_B.
    seed : integer seed of the xoshiro256** generator.
    p_swap : probability that a trial is a size swap (1 → swaps only, 0 → no swaps).
    step : side of the displacement square/cube in λ (capped at skin/2).
    skin : Verlet skin in λ; reduced automatically in small cells so that
        x_c λ_max + skin stays below half the cell width.
    resort_every : re-sort particles spatially (cache locality) at a list rebuild once
        this many sweeps have passed since the last sort (0: never). Particle order in
        the output is the sorted one (identities are meaningless under swaps);
        ``order[k]`` is the input index of particle k.
    """

    def __init__(self, conf: Configuration, T: float, seed: int, p_swap: float = 0.2,
                 step: float = 0.1, skin: float | None = None, resort_every: float = 50.0):
        if not T > 0:
            raise ValueError(f"temperature must be positive, got T = {T}")
        if not 0.0 <= p_swap <= 1.0:
            raise ValueError(f"p_swap must be in [0, 1], got {p_swap}")
        if conf.N < 2:
            raise ValueError("SWAP MC needs at least 2 particles")
        if conf.N >= 2**26:
            raise ValueError(f"SWAP MC packs particle indices in 26 bits: N = {conf.N} is too large")
        self.model: Model = conf.model
        m = self.model
        tol = 1e-9 * m.lam_max
        if conf.sizes.min() < m.lam_min - tol or conf.sizes.max() > m.lam_max + tol:
            raise ValueError(
                f"particle sizes span [{conf.sizes.min():.6g}, {conf.sizes.max():.6g}] λ, outside the "
                f"model's [{m.lam_min}, {m.lam_max}]: the neighbour lists assume λ_max bounds them"
            )
        self.box = Box(conf.box.h.copy())
        self.T = float(T)
        self.p_swap = float(p_swap)
        self.seed = int(seed)
        rc = m.max_cutoff
        half_w = 0.5 * self.box.perpendicular_widths().min()
        max_skin = 0.999 * (half_w - rc)
        if max_skin < 0.02:
            raise ValueError(
                f"cell too small for SWAP MC: half its width ({half_w:.3f} λ) must exceed the "
                f"largest cutoff x_c λ_max = {rc:.3f} λ plus a skin (use more particles)"
            )
        if skin is None:
            skin = DEFAULT_SKIN[m.dim]
        if not skin > 0:
            raise ValueError(f"skin must be positive, got {skin}")
        self.skin = float(min(skin, max_skin))
        self.rlist = rc + self.skin
        self.resort_every = float(resort_every)
        n = conf.N
        self.x = np.ascontiguousarray(conf.x, dtype=float).copy()
        self.sizes = np.ascontiguousarray(conf.sizes, dtype=float).copy()
        self.xoff = np.zeros_like(self.x)
        self.x0 = np.concatenate([self.x, self.x], axis=1)  # two time origins, side by side
        self.order = np.arange(n, dtype=np.int64)
        self.rng = rng_state(seed)
        self.st = np.zeros(6)
        self.info = np.zeros(3, dtype=np.int64)  # rebuilds, trials, trials at last sort
        self._coeffs = np.ascontiguousarray(m.coeffs, dtype=float)
        self._lam_lo, self._inv_dl, self._radii2 = _level_radii(m, self.skin)
        self.shifts = image_shifts(self.box.h)
        self.step = step
        self.xref = self.x.copy()
        self._pm = PairModel.of(float(m.xc) * float(m.xc), float(m.na), int(m.half_beta), self._coeffs)
        self._state = MCState(self.x, self.xoff, self.sizes, self.x0, self.order, self.xref, self.rng,
                              self.st, self.info)
        self._rebuild(resort=self.resort_every > 0)
        self.resync_energy()

    # -- properties ---------------------------------------------------------
    @property
    def N(self) -> int:
        return self.x.shape[0]

    @property
    def step(self) -> float:
        return self._step

    @step.setter
    def step(self, value: float):
        # capped at skin/2: a trial right after a rebuild never needs another one
        self._step = float(min(max(value, 1e-6), 0.5 * self.skin))

    @property
    def energy(self) -> float:
        """Tracked total energy U (ε), updated by ΔU of accepted moves."""
        return float(self.st[0])

    @property
    def trials(self) -> int:
        return int(self.info[1])

    @property
    def rebuilds(self) -> int:
        return int(self.info[0])

    @property
    def sweeps_done(self) -> float:
        return self.trials / self.N

    @property
    def start(self) -> np.ndarray:
        """Packed list: i's entries are ``ent[start[i]:start[i+1]]``."""
        return self._lists.start

    @property
    def ent(self) -> np.ndarray:
        """Packed list entries j·32 + image code."""
        return self._lists.ent

    @property
    def ends(self) -> np.ndarray:
        """``ends[i, m]``: end of i's list prefix for size class m."""
        return self._lists.ends

    # -- list ---------------------------------------------------------------
    def _rebuild(self, resort: bool = False):
        if resort:
            self.info[2] = self.info[1]
        start, ent, ends = _rebuild(self.x, self.xoff, self.sizes, self.x0, self.order, self.box.h,
                                    self.rlist, self._radii2, resort)
        self._lists = PackedLists(start, ent, ends, self.shifts, self._lam_lo, self._inv_dl)
        self.xref[:] = self.x
        self.st[1] = 0.0
        self.info[0] += 1

    def rebuild(self) -> None:
        """Rebuild the neighbour list now (it is rebuilt automatically when needed)."""
        self._rebuild()

    # -- checkpoint ---------------------------------------------------------
    _STATE = ("x", "xoff", "sizes", "x0", "order", "xref", "rng", "st", "info")

    def state(self) -> dict:
        """Everything the trajectory depends on (arrays): positions, sizes, offsets, time
        origins, order, list reference, random state, counters, step and the lists."""
        out = {"mc_" + k: getattr(self, k).copy() for k in self._STATE}
        out.update(mc_step=np.array(self._step), mc_start=self._lists.start.copy(),
                   mc_ent=self._lists.ent.copy(), mc_ends=self._lists.ends.copy())
        return out

    def restore(self, st: dict) -> None:
        """Continue from :meth:`state` (same model, cell, T, p_swap and skin): bitwise the
        same trajectory as the run that wrote it."""
        for k in self._STATE:
            a = getattr(self, k)
            b = st["mc_" + k]
            if a.shape != b.shape or a.dtype != b.dtype:
                raise ValueError(f"SWAP MC checkpoint: {k} has shape {b.shape} {b.dtype}, "
                                 f"expected {a.shape} {a.dtype}")
            a[...] = b  # in place: the numba state record holds these arrays
        self._step = float(st["mc_step"])
        self._lists = PackedLists(st["mc_start"].copy(), st["mc_ent"].copy(), st["mc_ends"].copy(),
                                  self.shifts, self._lam_lo, self._inv_dl)

    def delta_displacement(self, i: int, disp) -> float:
        """ΔU (ε) of displacing particle i by ``disp`` (λ), as the kernel computes it."""
        disp = np.asarray(disp, dtype=float)
        if np.linalg.norm(disp) > 0.5 * self.skin:
            raise ValueError(f"displacement {np.linalg.norm(disp):.3g} λ exceeds half the skin")
        if np.linalg.norm(self.x[i] + disp - self.xref[i]) + self.st[1] > self.skin:
            self._rebuild()
        return float(delta_energy_displacement(int(i), disp, self.x, self.sizes, self._lists, self._pm))

    def delta_swap(self, i: int, j: int) -> float:
        """ΔU (ε) of exchanging the sizes of particles i and j, as the kernel computes it."""
        if i == j:
            raise ValueError("a swap needs two different particles")
        return float(delta_energy_swap(int(i), int(j), self.x, self.sizes, self._lists, self._pm))

    def full_energy(self) -> float:
        """U (ε) recomputed over all pairs."""
        return float(full_energy(self.x, self.sizes, self._lists, self._pm))

    def resync_energy(self) -> float:
        """Replace the tracked energy by a full recomputation; returns the old − new difference."""
        e = self.full_energy()
        diff = self.st[0] - e
        self.st[0] = e
        return float(diff)

    # -- moves --------------------------------------------------------------
    def run_trials(self, n: int) -> None:
        """``n`` trial moves, all inside one numba call (list rebuilds included)."""
        resort_trials = int(self.resort_every * self.N) if self.resort_every > 0 else 0
        self._lists = _mc_run(self._state, self._lists, self._pm,
                              MoveParams(self.p_swap, self._step, self.T, self.skin),
                              ListSpec(self.box.h, self.rlist, self._radii2, resort_trials), int(n))

    def sweep(self, n: int = 1) -> None:
        """``n`` sweeps of N trial moves each."""
        self.run_trials(int(n) * self.N)

    def counters(self) -> np.ndarray:
        """[displacements tried, accepted, swaps tried, accepted] since the start."""
        return self.st[2:6].copy()

    # -- observables --------------------------------------------------------
    def unwrapped(self) -> np.ndarray:
        """Unwrapped positions (λ): continuous in time since the start of the run."""
        return self.x + self.xoff

    def mark_origin(self, slot: int = 0) -> None:
        """Take the current positions as time origin ``slot`` (0 or 1) of MSD and F_s."""
        d = self.x.shape[1]
        self.x0[:, slot * d:(slot + 1) * d] = self.unwrapped()

    def observables(self, k: float, slot: int = 0) -> tuple[float, float]:
        """(MSD in λ², F_s(k)) since :meth:`mark_origin` (``slot``), centre-of-mass drift removed."""
        d = self.x.shape[1]
        x0 = np.ascontiguousarray(self.x0[:, slot * d:(slot + 1) * d])
        msd, fs = com_corrected_observables(self.unwrapped(), x0, float(k))
        return float(msd), float(fs)

    def configuration(self, **kw) -> Configuration:
        """The current state as a Configuration (positions wrapped into the cell)."""
        return Configuration(self.box.wrap(self.x), self.sizes.copy(), Box(self.box.h.copy()),
                             self.model, **kw)


# ----------------------------------------------------------------------------
# runs


def run_swap_mc(conf: Configuration, T: float, sweeps: int, seed: int, p_swap: float = 0.2,
                tune_sweeps: int | None = None, record_every: int | None = None,
                check_equilibration: bool = True, progress=None, step: float = 0.1,
                skin: float | None = None, target_acceptance: float = 0.4, tau_fraction: float = 0.1,
                aging_factor: float = 3.0, progress_interval: float = 10.0, checkpoint=None,
                checkpoint_seconds: float = 600.0):
    """Equilibrate ``conf`` at temperature T (ε/k_B) with SWAP Monte Carlo.

    Phases: ``tune_sweeps`` sweeps (default max(10, min(1000, sweeps // 10))) in which the
    displacement step is adapted towards ``target_acceptance``, then a production run of
    ``sweeps − tune_sweeps`` sweeps at fixed step, during which MSD and F_s(k = 2π/⟨λ⟩)
    (centre-of-mass drift removed) are measured from the start of production. A row is
    recorded every ``record_every`` sweeps (default ≈ 500 rows in production).

    Fails with :class:`EquilibrationError` (a RuntimeError) when ``check_equilibration``
    and the relaxation time τ (F_s < 1/e) exceeds ``tau_fraction`` of the production run,
    or when the system still ages: τ measured from the middle of production exceeds
    ``aging_factor`` × τ from its start (or is not reached in the second half).
    ``progress(sweep, dict)`` is called at the first and last record and at most every
    ``progress_interval`` seconds of wall time; the dict holds the recorded values, the
    trial rate ``trials_per_s``, ``total_sweeps`` and the estimated time left ``eta_s`` (s).

    ``checkpoint``: an ``.npz`` path. The whole state (the :meth:`SwapMC.state` arrays, the
    records so far and the position in the schedule of blocks) is written there atomically
    every ``checkpoint_seconds`` of wall time (at block ends: a tuning block or a record
    interval), and a run finding a checkpoint written with the same arguments and input
    continues from it: the result is bitwise that of an uninterrupted run. It is removed
    at the end.

    Returns (final Configuration with Tp = T, :class:`SwapMCResult`). Particles come out
    in a spatially sorted order (identities are meaningless under swaps).
    """
    sweeps = int(sweeps)
    if sweeps < 2:
        raise ValueError(f"sweeps must be >= 2, got {sweeps}")
    if tune_sweeps is None:
        tune_sweeps = max(10, min(1000, sweeps // 10))
    tune_sweeps = int(tune_sweeps)
    if not 0 <= tune_sweeps < sweeps:
        raise ValueError(f"tune_sweeps must be in [0, sweeps), got {tune_sweeps} for {sweeps} sweeps")
    prod = sweeps - tune_sweeps
    if record_every is None:
        record_every = max(1, prod // 500)
    record_every = int(record_every)
    if record_every < 1:
        raise ValueError(f"record_every must be >= 1, got {record_every}")

    t_start = time.perf_counter()
    mc = SwapMC(conf, T, seed, p_swap=p_swap, step=step, skin=skin)
    N = mc.N
    k = 2.0 * math.pi / float(np.mean(mc.sizes))
    rows = {c: [] for c in SWAPMC_SERIES.columns}
    # trials0: trials already done when this process started (a resumed run), for the rates
    last = {"c": mc.counters(), "progress": -np.inf, "trials0": 0}

    nan = float("nan")

    def record(sweep, phase, msd, fs, msd_mid=nan, fs_mid=nan, force_progress=False):
        c = mc.counters()
        dc = c - last["c"]
        last["c"] = c
        acc_d = dc[1] / dc[0] if dc[0] > 0 else nan
        acc_s = dc[3] / dc[2] if dc[2] > 0 else nan
        vals = dict(sweep=sweep, phase=phase, energy_per_particle=mc.energy / N, acc_disp=acc_d,
                    acc_swap=acc_s, msd=msd, fs=fs, msd_mid=msd_mid, fs_mid=fs_mid, step=mc.step)
        for key, v in vals.items():
            rows[key].append(v)
        now = time.perf_counter()
        if progress is not None and (force_progress or now - last["progress"] >= progress_interval):
            last["progress"] = now
            done = mc.trials - last["trials0"]
            rate = done / max(now - t_start, 1e-12)
            progress(sweep, {**vals, "rebuilds": mc.rebuilds, "trials_per_s": rate if done else nan,
                             "total_sweeps": sweeps, "eta_s": (sweeps - sweep) * N / rate if done else nan})

    # -- checkpoint -------------------------------------------------------------
    tune_block = max(1, int(math.ceil(2000 / N)))
    mid = prod // 2
    loop = {"phase": 0, "s": 0, "next_rec": record_every}
    ck = None if checkpoint is None else _Checkpoint(
        checkpoint, checkpoint_seconds, conf,
        dict(T=float(T), sweeps=sweeps, tune_sweeps=tune_sweeps, seed=int(seed), p_swap=float(p_swap),
             record_every=record_every, step=float(step), skin=mc.skin,
             target_acceptance=float(target_acceptance)))
    if ck is not None and ck.exists():
        st = ck.read()
        mc.restore(st)
        last["trials0"] = mc.trials
        for c in rows:
            rows[c] = list(st["rows_" + c])
        last["c"] = st["last_c"].copy()
        loop = {k: int(v) for k, v in zip(("phase", "s", "next_rec"), st["loop"])}
    else:
        record(0, 0, nan, nan, force_progress=True)

    def block_done():
        if ck is not None:
            ck.maybe_write(mc, rows, last["c"], loop)

    # -- tuning phase ---------------------------------------------------------
    # the step is adapted after every block of ≥ 2000 trials; block boundaries do not
    # depend on record_every, so neither does the trajectory
    if loop["phase"] == 0:
        s, next_rec = loop["s"], loop["next_rec"]
        while s < tune_sweeps:
            nxt = min(s + tune_block, tune_sweeps)
            c0 = mc.counters()
            mc.sweep(nxt - s)
            s = nxt
            c1 = mc.counters() - c0
            if c1[0] > 0:
                acc = c1[1] / c1[0]
                mc.step = mc.step * min(1.5, max(0.67, acc / target_acceptance))
            # overlapping starts have huge energies: keep the tracked value exact here
            mc.resync_energy()
            if s >= next_rec or s == tune_sweeps:
                record(s, 0, nan, nan)
                next_rec = (s // record_every + 1) * record_every
            loop.update(s=s, next_rec=next_rec)
            block_done()
        # -- production -------------------------------------------------------------
        # two time origins: the start and the middle of production. In equilibrium both
        # give the same τ; a system still ageing relaxes more slowly from the later one.
        mc.resync_energy()
        mc.mark_origin(0)
        record(tune_sweeps, 1, 0.0, 1.0)
        loop.update(phase=1, s=0, next_rec=0)
        block_done()
    s = loop["s"]
    while s < prod:
        nxt = min(s + record_every, prod)
        if s < mid < nxt:
            nxt = mid
        mc.sweep(nxt - s)
        s = nxt
        if s == mid:
            mc.mark_origin(1)
        msd, fs = mc.observables(k, 0)
        msd2, fs2 = mc.observables(k, 1) if s >= mid else (nan, nan)
        record(tune_sweeps + s, 1, msd, fs, msd2, fs2, force_progress=(s == prod))
        loop["s"] = s
        if s < prod:
            block_done()
    elapsed = time.perf_counter() - t_start

    series = {c: np.asarray(v, dtype=np.int64 if c in ("sweep", "phase") else float)
              for c, v in rows.items()}
    pm = series["phase"] == 1
    tp = series["sweep"][pm] - tune_sweeps
    fsp = series["fs"][pm]
    tau_msd = _first_crossing(tp, series["msd"][pm], 1.0, below=False)
    v = assess_equilibration(tp, fsp, series["fs_mid"][pm], mid, prod, tau_fraction, aging_factor,
                             record_every)
    tau, tau_mid, tau_lb, ok, ageing = (v["tau"], v["tau_mid"], v["tau_lower_bound"], v["ok"],
                                        v["ageing"])
    limit = tau_fraction * prod
    if ok:
        msg = (f"equilibrated: tau = {tau:.4g} sweeps (from mid-run: {tau_mid:.4g}) <= "
               f"{tau_fraction:g} x {prod} production sweeps at T_p = {T:g}")
    elif ageing:
        need = int(math.ceil(max(tau_mid if math.isfinite(tau_mid) else prod - mid, tau)
                             / tau_fraction))
        mid_txt = (f"{tau_mid:.4g}" if math.isfinite(tau_mid)
                   else f"> {prod - mid} (F_s from there stays above 1/e)")
        msg = (f"SWAP MC at T_p = {T:g} (N = {N}) is not equilibrated: the run has {sweeps} sweeps "
               f"({tune_sweeps} tuning + {prod} production) and relaxes with tau = {tau:.4g} "
               f"sweeps from the start of production, but tau = {mid_txt} sweeps from its "
               f"middle (> {aging_factor:g}x: still ageing). Run at least ~{need} production "
               f"sweeps (sweeps >= {need + tune_sweeps}) or raise T_p.")
    else:
        need = int(math.ceil(tau_lb / tau_fraction))
        if math.isfinite(tau):
            what = f"the relaxation time tau = {tau:.4g} sweeps"
        else:
            what = (f"the relaxation time tau > {tau_lb:.4g} sweeps (lower bound: F_s(k={k:.3f}) "
                    f"only decayed to {fsp[-1]:.3f} > 1/e)")
        msg = (f"SWAP MC at T_p = {T:g} (N = {N}) is not equilibrated: the run has {sweeps} sweeps "
               f"({tune_sweeps} tuning + {prod} production), but {what} exceeds {tau_fraction:g} "
               f"of the production run ({limit:.4g} sweeps). Run at least ~{need} production "
               f"sweeps (sweeps >= {need + tune_sweeps}) or raise T_p.")
    tried = mc.counters()
    e_rec = mc.full_energy()
    result = SwapMCResult(
        series=series, T=float(T), N=N, sweeps=sweeps, tune_sweeps=tune_sweeps,
        production_sweeps=prod, p_swap=float(p_swap), step=mc.step, k=k, seed=int(seed), tau=tau,
        tau_lower_bound=tau_lb, tau_msd=tau_msd, tau_mid=tau_mid, equilibrated=ok, message=msg,
        rebuilds=mc.rebuilds, energy_tracked=mc.energy, energy_recomputed=e_rec, elapsed_s=elapsed,
        extra={"acc_disp": float(tried[1] / tried[0]) if tried[0] else None,
               "acc_swap": float(tried[3] / tried[2]) if tried[2] else None,
               "trials_per_second": (mc.trials - last["trials0"]) / max(elapsed, 1e-12), "skin": mc.skin},
    )
    out = mc.configuration(
        Tp=float(T), seed=int(seed), strain=dict(conf.strain),
        provenance={**conf.provenance, "generator": "swap_mc", "swap_mc": {
            "T": float(T), "sweeps": sweeps, "tune_sweeps": tune_sweeps, "p_swap": float(p_swap),
            "seed": int(seed), "step": mc.step, "tau": None if not math.isfinite(tau) else tau}},
        extra=dict(conf.extra),
    )
    if ck is not None:
        ck.remove()
    if check_equilibration and not ok:
        raise EquilibrationError(msg, result=result, conf=out)
    return out, result


class _Checkpoint:
    """The ``.npz`` checkpoint of one :func:`run_swap_mc` call, tied to its arguments and input."""

    VERSION = 1

    def __init__(self, path, seconds: float, conf: Configuration, args: dict):
        import hashlib
        import json
        from pathlib import Path

        self.path = Path(path)
        self.seconds = float(seconds)
        hsh = hashlib.sha256()
        for a in (conf.x, conf.sizes, conf.box.h):
            hsh.update(np.ascontiguousarray(a, dtype=float).tobytes())
        hsh.update(json.dumps(conf.model.to_dict(), sort_keys=True).encode())
        self.meta = json.dumps({"version": self.VERSION, "input": hsh.hexdigest(), "args": args}, sort_keys=True)
        self.last = time.perf_counter()

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> dict:
        import json

        from glass2epm.core.io import read_checkpoint

        st = read_checkpoint(self.path, "SWAP MC")
        if str(st.get("meta")) != self.meta:
            have = json.loads(str(st.get("meta", "{}")))
            raise ValueError(f"{self.path}: SWAP MC checkpoint written for other arguments or another "
                             f"input ({have.get('args')}); delete it to start afresh")
        return st

    def maybe_write(self, mc: SwapMC, rows: dict, last_c, loop: dict) -> None:
        now = time.perf_counter()
        if now - self.last < self.seconds:
            return
        from glass2epm.core.io import write_checkpoint

        data = {"meta": np.array(self.meta), "loop": np.array([loop["phase"], loop["s"], loop["next_rec"]]),
                "last_c": np.asarray(last_c), **mc.state()}
        for c, v in rows.items():
            data["rows_" + c] = np.asarray(v, dtype=np.int64 if c in ("sweep", "phase") else float)
        write_checkpoint(self.path, data)
        self.last = time.perf_counter()

    def remove(self) -> None:
        if self.path.exists():
            self.path.unlink()


#: wall-clock entries of SwapMCResult.summary(): printed by the CLI, never written to a file
_TIMING_KEYS = ("elapsed_s", "trials_per_second")


def write_series(path, result: SwapMCResult, conf: Configuration):
    """Write the time series of a run as a ``swapmc_series`` Parquet file."""
    # wall-clock figures (elapsed time, trial rate) go to the log, not into the file: the same
    # inputs must give byte-identical tables
    extra = {k: v for k, v in result.summary().items() if k not in _TIMING_KEYS}
    return write_table(path, SWAPMC_SERIES, result.series, model=conf.model, box=conf.box,
                       strain=conf.strain, seed=result.seed,
                       provenance={"generator": "swap_mc"}, extra=extra)


def random_liquid(model: Model, N: int, seed: int, sizes: str = "quantile",
                  push_off_sweeps: int = 50, T_push: float = 5.0) -> Configuration:
    """N particles at uniformly random positions in a square/cubic cell at the model density.

    ``sizes``: ``"quantile"`` (the deterministic composition of :meth:`Model.sizes`) or
    ``"random"`` (i.i.d. draws). Random points overlap, with huge IPL energies
    ((λ/r)^10 ~ 10^20 for the closest pairs). Metropolis handles them (any move that
    removes an overlap is accepted), but the tracked energy would lose all precision:
    unless ``push_off_sweeps`` = 0, the overlaps are first removed by that many sweeps of
    displacement-only MC at the high temperature ``T_push`` (ε/k_B) with an adapted step
    (the energy is recomputed after each). The result is a hot liquid, to be equilibrated
    at the target T with :func:`run_swap_mc`.
    """
    if N < 2:
        raise ValueError(f"need N >= 2 particles, got {N}")
    rng = np.random.default_rng(seed)
    box = Box.square(model.box_side(N), model.dim)
    lam = model.sizes(N, method=sizes, rng=rng)
    x = rng.random((N, model.dim)) @ box.h.T
    conf = Configuration(x, lam, box, model, Tp=None, seed=int(seed),
                         provenance={"generator": "random_liquid", "sizes": sizes,
                                     "push_off_sweeps": int(push_off_sweeps), "T_push": T_push})
    if push_off_sweeps <= 0:
        return conf
    mc = SwapMC(conf, T_push, seed=int(rng.integers(2**62)), p_swap=0.0, step=0.2)
    for _ in range(int(push_off_sweeps)):
        c0 = mc.counters()
        mc.sweep(1)
        c1 = mc.counters() - c0
        if c1[0] > 0:
            mc.step = mc.step * min(1.5, max(0.67, (c1[1] / c1[0]) / 0.4))
        mc.resync_energy()
    out = mc.configuration(Tp=None, seed=int(seed), provenance=conf.provenance)
    return out
