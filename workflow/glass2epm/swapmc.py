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

Neighbours. A swap changes pair cutoffs x_c λ_ij, so the Verlet list is built with
the *largest* cutoff x_c λ_max + skin (``VerletList(per_pair=False, full=True)``).
Positions are never wrapped inside the run (they are the unwrapped trajectory; the
MSD needs it). The list stays valid while every listed pair satisfies
d_i + d_k ≤ skin (d = displacement since the build); the kernel keeps the running
maximum d_max of accepted displacements and, before evaluating a displacement of i
to a point at distance d_new from its reference, checks d_new + d_max ≤ skin. If not,
it restores the random-number state, returns to Python, the list is rebuilt, and the
same trial is replayed: the trajectory does not depend on when the list is rebuilt
relative to Python chunks. The cell must satisfy (cutoff + 2·skin) < half its width.

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
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from .box import Box, min_image_2d, min_image_3d
from .io import Configuration, Schema, register, write_table
from .model import Model, pair_size
from .neighbors import VerletList, spatial_order

SWAPMC_SERIES = register(
    Schema(
        "swapmc_series",
        1,
        {
            "sweep": "sweeps",
            "phase": "",  # 0 = step-size tuning, 1 = production
            "energy_per_particle": "epsilon",
            "acc_disp": "",
            "acc_swap": "",
            "msd": "lambda^2",
            "fs": "",
            "step": "lambda",
        },
        needs_model=True,
        needs_box=True,
        description="SWAP MC time series: one row per record; acceptance rates over the "
        "interval since the previous record; msd and F_s(k=2π/<λ>) relative to the "
        "start of production with the centre-of-mass drift removed (NaN while tuning)",
    )
)


class EquilibrationError(RuntimeError):
    """The run was too short to equilibrate at this temperature.

    ``result`` and ``conf`` hold what was computed, so a caller can still write them.
    """

    def __init__(self, message, result=None, conf=None):
        super().__init__(message)
        self.result = result
        self.conf = conf


# ----------------------------------------------------------------------------
# random numbers: xoshiro256** (Blackman & Vigna), state = 4 uint64 in an array


@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << k) | (x >> (np.uint64(64) - k))


@njit(cache=True, inline="always")
def _next_u64(s):
    result = _rotl(s[1] * np.uint64(5), np.uint64(7)) * np.uint64(9)
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], np.uint64(45))
    return result


@njit(cache=True, inline="always")
def _uniform(s):
    """A double uniform in [0, 1) (53 random bits)."""
    return float(_next_u64(s) >> np.uint64(11)) * 1.1102230246251565e-16


def rng_state(seed: int) -> np.ndarray:
    """The xoshiro256** state for an integer seed (via numpy's SeedSequence)."""
    st = np.random.SeedSequence(int(seed)).generate_state(4, dtype=np.uint64)
    if not st.any():
        st[0] = 1
    return st


@njit(cache=True)
def uniforms(state, n):
    """n uniform doubles from the generator (advances ``state``); for tests."""
    out = np.empty(n)
    for k in range(n):
        out[k] = _uniform(state)
    return out


# ----------------------------------------------------------------------------
# pair energy in u = (r / λ_ij)², no sqrt and no pow (Eq. A2)


@njit(cache=True, inline="always")
def _phi(u, hb, coeffs):
    """φ(u)/ε = u^{−β/2} + Σ_l c_2l u^l inside the cutoff (Eq. A2 with u = (r/λ_ij)²)."""
    inv = 1.0 / u
    if hb == 5:
        i2 = inv * inv
        ipl = i2 * i2 * inv
    else:
        ipl = 1.0
        b = inv
        e = hb
        while e > 0:
            if e & 1:
                ipl *= b
            b *= b
            e >>= 1
    nq = coeffs.shape[0]
    if nq == 4:
        poly = coeffs[0] + u * (coeffs[1] + u * (coeffs[2] + u * coeffs[3]))
    else:
        poly = coeffs[nq - 1]
        for l in range(nq - 2, -1, -1):
            poly = poly * u + coeffs[l]
    return ipl + poly


# ----------------------------------------------------------------------------
# local energy changes


@njit(cache=True, inline="always")
def _ddisp2(i, ddx, ddy, x, sizes, h, start, nbr, xc2, na, hb, coeffs):
    xi = x[i, 0]
    yi = x[i, 1]
    li = sizes[i]
    de = 0.0
    for p in range(start[i], start[i + 1]):
        j = nbr[p]
        # the current separation is within cutoff + 2 skin < half the cell: its
        # minimum image is the physical separation, and the trial separation is
        # that vector minus the displacement (see module docstring)
        dx, dy = min_image_2d(x[j, 0] - xi, x[j, 1] - yi, h)
        lj = sizes[j]
        lij = pair_size(li, lj, na)
        l2 = lij * lij
        rc2 = xc2 * l2
        r2o = dx * dx + dy * dy
        ex = dx - ddx
        ey = dy - ddy
        r2n = ex * ex + ey * ey
        if r2o < rc2:
            de -= _phi(r2o / l2, hb, coeffs)
        if r2n < rc2:
            de += _phi(r2n / l2, hb, coeffs)
    return de


@njit(cache=True, inline="always")
def _ddisp3(i, ddx, ddy, ddz, x, sizes, h, start, nbr, xc2, na, hb, coeffs):
    xi = x[i, 0]
    yi = x[i, 1]
    zi = x[i, 2]
    li = sizes[i]
    de = 0.0
    for p in range(start[i], start[i + 1]):
        j = nbr[p]
        dx, dy, dz = min_image_3d(x[j, 0] - xi, x[j, 1] - yi, x[j, 2] - zi, h)
        lj = sizes[j]
        lij = pair_size(li, lj, na)
        l2 = lij * lij
        rc2 = xc2 * l2
        r2o = dx * dx + dy * dy + dz * dz
        ex = dx - ddx
        ey = dy - ddy
        ez = dz - ddz
        r2n = ex * ex + ey * ey + ez * ez
        if r2o < rc2:
            de -= _phi(r2o / l2, hb, coeffs)
        if r2n < rc2:
            de += _phi(r2n / l2, hb, coeffs)
    return de


@njit(cache=True, inline="always")
def _dsize(i, lo, ln, skip, x, sizes, h, start, nbr, xc2, na, hb, coeffs):
    """Energy change of i's pairs (except with ``skip``) when λ_i goes lo → ln."""
    d = x.shape[1]
    de = 0.0
    for p in range(start[i], start[i + 1]):
        k = nbr[p]
        if k == skip:
            continue
        if d == 2:
            dx, dy = min_image_2d(x[k, 0] - x[i, 0], x[k, 1] - x[i, 1], h)
            r2 = dx * dx + dy * dy
        else:
            dx, dy, dz = min_image_3d(x[k, 0] - x[i, 0], x[k, 1] - x[i, 1], x[k, 2] - x[i, 2], h)
            r2 = dx * dx + dy * dy + dz * dz
        lk = sizes[k]
        lo2 = pair_size(lo, lk, na)
        lo2 *= lo2
        ln2 = pair_size(ln, lk, na)
        ln2 *= ln2
        if r2 < xc2 * lo2:
            de -= _phi(r2 / lo2, hb, coeffs)
        if r2 < xc2 * ln2:
            de += _phi(r2 / ln2, hb, coeffs)
    return de


@njit(cache=True)
def delta_energy_displacement(i, disp, x, sizes, h, start, nbr, xc, na, hb, coeffs):
    """ΔU (ε) of moving particle i by ``disp`` (local: i's listed pairs only)."""
    xc2 = xc * xc
    if x.shape[1] == 2:
        return _ddisp2(i, disp[0], disp[1], x, sizes, h, start, nbr, xc2, na, hb, coeffs)
    return _ddisp3(i, disp[0], disp[1], disp[2], x, sizes, h, start, nbr, xc2, na, hb, coeffs)


@njit(cache=True)
def delta_energy_swap(i, j, x, sizes, h, start, nbr, xc, na, hb, coeffs):
    """ΔU (ε) of exchanging λ_i and λ_j; the (i, j) pair keeps its energy (λ_ij symmetric)."""
    xc2 = xc * xc
    li = sizes[i]
    lj = sizes[j]
    return _dsize(i, li, lj, j, x, sizes, h, start, nbr, xc2, na, hb, coeffs) + _dsize(
        j, lj, li, i, x, sizes, h, start, nbr, xc2, na, hb, coeffs
    )


@njit(cache=True)
def full_energy(x, sizes, h, start, nbr, xc, na, hb, coeffs):
    """Total energy U (ε) over a full list (each pair counted twice, halved)."""
    n, d = x.shape
    xc2 = xc * xc
    e = 0.0
    for i in range(n):
        li = sizes[i]
        for p in range(start[i], start[i + 1]):
            j = nbr[p]
            if d == 2:
                dx, dy = min_image_2d(x[j, 0] - x[i, 0], x[j, 1] - x[i, 1], h)
                r2 = dx * dx + dy * dy
            else:
                dx, dy, dz = min_image_3d(x[j, 0] - x[i, 0], x[j, 1] - x[i, 1], x[j, 2] - x[i, 2], h)
                r2 = dx * dx + dy * dy + dz * dz
            lij = pair_size(li, sizes[j], na)
            l2 = lij * lij
            if r2 < xc2 * l2:
                e += _phi(r2 / l2, hb, coeffs)
    return 0.5 * e


# ----------------------------------------------------------------------------
# the trial-move loop


@njit(cache=True)
def _mc_trials(x, sizes, h, start, nbr, xref, rng, n_trials, p_swap, step, T, xc, na, hb,
               coeffs, skin, st):
    """Run up to ``n_trials`` trial moves in place.

    ``st`` = [energy, d_max, disp_tried, disp_acc, swap_tried, swap_acc] is updated.
    Returns the number of trials done; fewer than asked means the Verlet list must be
    rebuilt before the next trial (whose random numbers have been given back).
    """
    n, d = x.shape
    xc2 = xc * xc
    beta = 1.0 / T
    energy = st[0]
    dmax = st[1]
    nd = st[2]
    ad = st[3]
    ns = st[4]
    acs = st[5]
    nm1 = float(n - 1)
    fn = float(n)
    done = n_trials
    for t in range(n_trials):
        s0 = rng[0]
        s1 = rng[1]
        s2 = rng[2]
        s3 = rng[3]
        if _uniform(rng) < p_swap:
            i = int(_uniform(rng) * fn)
            j = int(_uniform(rng) * nm1)
            if j >= i:
                j += 1
            li = sizes[i]
            lj = sizes[j]
            de = _dsize(i, li, lj, j, x, sizes, h, start, nbr, xc2, na, hb, coeffs) + _dsize(
                j, lj, li, i, x, sizes, h, start, nbr, xc2, na, hb, coeffs
            )
            ns += 1.0
            if de <= 0.0 or _uniform(rng) < math.exp(-de * beta):
                sizes[i] = lj
                sizes[j] = li
                energy += de
                acs += 1.0
        else:
            i = int(_uniform(rng) * fn)
            ddx = step * (_uniform(rng) - 0.5)
            ddy = step * (_uniform(rng) - 0.5)
            ddz = 0.0
            if d == 3:
                ddz = step * (_uniform(rng) - 0.5)
            ex = x[i, 0] + ddx - xref[i, 0]
            ey = x[i, 1] + ddy - xref[i, 1]
            dn2 = ex * ex + ey * ey
            if d == 3:
                ez = x[i, 2] + ddz - xref[i, 2]
                dn2 += ez * ez
            lim = skin - dmax
            if dn2 > lim * lim:
                # the list may miss a pair at the trial position: give the random
                # numbers back and ask for a rebuild
                rng[0] = s0
                rng[1] = s1
                rng[2] = s2
                rng[3] = s3
                done = t
                break
            if d == 2:
                de = _ddisp2(i, ddx, ddy, x, sizes, h, start, nbr, xc2, na, hb, coeffs)
            else:
                de = _ddisp3(i, ddx, ddy, ddz, x, sizes, h, start, nbr, xc2, na, hb, coeffs)
            nd += 1.0
            if de <= 0.0 or _uniform(rng) < math.exp(-de * beta):
                x[i, 0] += ddx
                x[i, 1] += ddy
                if d == 3:
                    x[i, 2] += ddz
                energy += de
                ad += 1.0
                if dn2 > dmax * dmax:
                    dmax = math.sqrt(dn2)
    st[0] = energy
    st[1] = dmax
    st[2] = nd
    st[3] = ad
    st[4] = ns
    st[5] = acs
    return done


@njit(cache=True)
def com_corrected_observables(x, x0, k):
    """(MSD, F_s(k)) of displacements x − x0 with their mean (centre of mass) removed.

    MSD = ⟨|Δr_i − ⟨Δr⟩|²⟩ in λ²; F_s = ⟨cos(k (Δr_{i,a} − ⟨Δr_a⟩))⟩ over particles and the
    d Cartesian directions (k in λ⁻¹). ``x`` and ``x0`` are unwrapped positions.
    """
    n, d = x.shape
    com = np.zeros(d)
    for i in range(n):
        for a in range(d):
            com[a] += x[i, a] - x0[i, a]
    for a in range(d):
        com[a] /= n
    msd = 0.0
    fs = 0.0
    for i in range(n):
        for a in range(d):
            u = x[i, a] - x0[i, a] - com[a]
            msd += u * u
            fs += math.cos(k * u)
    return msd / n, fs / (n * d)


# ----------------------------------------------------------------------------


class SwapMC:
    """The state of a SWAP MC run: unwrapped positions, sizes, list, random state.

    Parameters
    ----------
    conf : starting configuration (positions in λ; any cell, Lees–Edwards included).
    T : temperature in ε/k_B.
    seed : integer seed of the xoshiro256** generator.
    p_swap : probability that a trial is a size swap (1 → swaps only, 0 → no swaps).
    step : side of the displacement square/cube in λ (capped at ``skin``).
    skin : Verlet skin in λ; reduced automatically in small cells so that
        cutoff + 2·skin stays below half the cell width.
    resort_every : re-sort particles spatially (cache locality) at a list rebuild once
        this many sweeps have passed since the last sort (0: never). Particle order in
        the output is the sorted one (identities are meaningless under swaps).
    """

    def __init__(self, conf: Configuration, T: float, seed: int, p_swap: float = 0.2,
                 step: float = 0.1, skin: float = 0.5, resort_every: float = 50.0):
        if not T > 0:
            raise ValueError(f"temperature must be positive, got T = {T}")
        if not 0.0 <= p_swap <= 1.0:
            raise ValueError(f"p_swap must be in [0, 1], got {p_swap}")
        if conf.N < 2:
            raise ValueError("SWAP MC needs at least 2 particles")
        self.model: Model = conf.model
        self.box = Box(conf.box.h.copy())
        self.T = float(T)
        self.p_swap = float(p_swap)
        self.seed = int(seed)
        rc = self.model.max_cutoff
        half_w = 0.5 * self.box.perpendicular_widths().min()
        max_skin = 0.999 * (half_w - rc) / 2.0
        if max_skin < 0.02:
            raise ValueError(
                f"cell too small for SWAP MC: half its width ({half_w:.3f} λ) must exceed the "
                f"largest cutoff x_c λ_max = {rc:.3f} λ plus twice a skin (use more particles)"
            )
        self.skin = float(min(skin, max_skin))
        self.vlist = VerletList(self.model, skin=self.skin, per_pair=False, full=True)
        self.resort_every = float(resort_every)
        self.x = np.ascontiguousarray(conf.x, dtype=float).copy()
        self.sizes = np.ascontiguousarray(conf.sizes, dtype=float).copy()
        self.x0 = self.x.copy()
        self.order = np.arange(conf.N)  # original index of each current particle
        self.rng = rng_state(seed)
        self.st = np.zeros(6)
        self.trials = 0
        self.rebuilds = 0
        self._sorted_at = -np.inf
        self._coeffs = np.ascontiguousarray(self.model.coeffs, dtype=float)
        self.step = step
        self._rebuild()
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
        # capped at the skin: a trial right after a rebuild never needs another one
        self._step = float(min(max(value, 1e-6), self.skin))

    @property
    def energy(self) -> float:
        """Tracked total energy U (ε), updated by ΔU of accepted moves."""
        return float(self.st[0])

    @property
    def sweeps_done(self) -> float:
        return self.trials / self.N

    # -- list ---------------------------------------------------------------
    def _rebuild(self):
        if self.resort_every > 0 and self.sweeps_done - self._sorted_at >= self.resort_every:
            perm = spatial_order(self.x, self.box)
            self.x = np.ascontiguousarray(self.x[perm])
            self.sizes = np.ascontiguousarray(self.sizes[perm])
            self.x0 = np.ascontiguousarray(self.x0[perm])
            self.order = self.order[perm]
            self._sorted_at = self.sweeps_done
        self.vlist.build(self.x, self.sizes, self.box)
        self.start = self.vlist.start
        self.nbr = self.vlist.nbr.astype(np.int32)
        self.xref = self.x.copy()
        self.st[1] = 0.0
        self.rebuilds += 1

    def full_energy(self) -> float:
        """U (ε) recomputed over all pairs."""
        m = self.model
        return float(full_energy(self.x, self.sizes, self.box.h, self.start, self.nbr, m.xc, m.na,
                                 m.half_beta, self._coeffs))

    def resync_energy(self) -> float:
        """Replace the tracked energy by a full recomputation; returns the old − new difference."""
        e = self.full_energy()
        diff = self.st[0] - e
        self.st[0] = e
        return float(diff)

    # -- moves --------------------------------------------------------------
    def run_trials(self, n: int) -> None:
        """``n`` trial moves (rebuilding the list whenever the kernel asks)."""
        n = int(n)
        m = self.model
        done = 0
        while done < n:
            k = _mc_trials(self.x, self.sizes, self.box.h, self.start, self.nbr, self.xref, self.rng,
                           n - done, self.p_swap, self._step, self.T, m.xc, m.na, m.half_beta,
                           self._coeffs, self.skin, self.st)
            done += k
            self.trials += k
            if done < n:
                self._rebuild()

    def sweep(self, n: int = 1) -> None:
        """``n`` sweeps of N trial moves each."""
        self.run_trials(int(n) * self.N)

    def counters(self) -> np.ndarray:
        """[displacements tried, accepted, swaps tried, accepted] since the start."""
        return self.st[2:6].copy()

    # -- observables --------------------------------------------------------
    def mark_origin(self) -> None:
        """Take the current positions as the time origin of MSD and F_s."""
        self.x0 = self.x.copy()

    def observables(self, k: float) -> tuple[float, float]:
        """(MSD in λ², F_s(k)) since :meth:`mark_origin`, centre-of-mass drift removed."""
        msd, fs = com_corrected_observables(self.x, self.x0, float(k))
        return float(msd), float(fs)

    def configuration(self, **kw) -> Configuration:
        """The current state as a Configuration (positions wrapped into the cell)."""
        return Configuration(self.box.wrap(self.x), self.sizes.copy(), Box(self.box.h.copy()),
                             self.model, **kw)


# ----------------------------------------------------------------------------
# runs


@dataclass
class SwapMCResult:
    """Time series and equilibration diagnostics of :func:`run_swap_mc`.

    ``series``: dict of equal-length arrays with the ``swapmc_series`` columns. ``tau``:
    sweeps until F_s(k) < 1/e in production (NaN if never); ``tau_lower_bound``: a lower
    bound on τ when it was not reached (assuming a stretched exponential, exponent ≤ 1);
    ``tau_msd``: sweeps until MSD > 1 λ² (NaN if never).
    """

    series: dict
    T: float
    N: int
    sweeps: int
    tune_sweeps: int
    production_sweeps: int
    p_swap: float
    step: float
    k: float
    seed: int
    tau: float
    tau_lower_bound: float
    tau_msd: float
    equilibrated: bool
    message: str
    rebuilds: int
    energy_tracked: float
    energy_recomputed: float
    elapsed_s: float
    extra: dict = field(default_factory=dict)

    def summary(self) -> dict:
        prod = self.series["phase"] == 1
        e = self.series["energy_per_particle"][prod]
        half = len(e) // 2
        out = {
            k: getattr(self, k)
            for k in ("T", "N", "sweeps", "tune_sweeps", "production_sweeps", "p_swap", "step", "k",
                      "seed", "tau", "tau_lower_bound", "tau_msd", "equilibrated", "message",
                      "rebuilds", "energy_tracked", "energy_recomputed", "elapsed_s")
        }
        out["acc_disp"] = self.extra.get("acc_disp")
        out["acc_swap"] = self.extra.get("acc_swap")
        out["energy_per_particle_mean"] = float(e[half:].mean()) if len(e) else float("nan")
        out["energy_per_particle_drift"] = (
            float(e[half:].mean() - e[:half].mean()) if half > 0 else float("nan")
        )
        out["trials_per_second"] = self.extra.get("trials_per_second")
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}


def _first_crossing(t, y, level, below: bool):
    """First t where y crosses ``level`` (linear interpolation), NaN if never."""
    for n in range(len(y)):
        hit = y[n] < level if below else y[n] > level
        if hit:
            if n == 0:
                return float(t[0])
            t0, t1, y0, y1 = t[n - 1], t[n], y[n - 1], y[n]
            return float(t0 + (level - y0) * (t1 - t0) / (y1 - y0))
    return float("nan")


def run_swap_mc(conf: Configuration, T: float, sweeps: int, seed: int, p_swap: float = 0.2,
                tune_sweeps: int | None = None, record_every: int | None = None,
                check_equilibration: bool = True, progress=None, step: float = 0.1,
                skin: float = 0.5, target_acceptance: float = 0.4, tau_fraction: float = 0.1,
                progress_interval: float = 10.0):
    """Equilibrate ``conf`` at temperature T (ε/k_B) with SWAP Monte Carlo.

    Phases: ``tune_sweeps`` sweeps (default max(10, min(1000, sweeps // 10))) in which the
    displacement step is adapted towards ``target_acceptance``, then a production run of
    ``sweeps − tune_sweeps`` sweeps at fixed step, during which MSD and F_s(k = 2π/⟨λ⟩)
    (centre-of-mass drift removed) are measured from the start of production. A row is
    recorded every ``record_every`` sweeps (default ≈ 500 rows in production).

    Fails with :class:`EquilibrationError` (a RuntimeError) when ``check_equilibration``
    and the relaxation time τ (F_s < 1/e) exceeds ``tau_fraction`` of the production run.
    ``progress(sweep, dict)`` is called at the first and last record and at most every
    ``progress_interval`` seconds of wall time.

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
    last = {"c": mc.counters(), "progress": -np.inf}

    def record(sweep, phase, msd, fs, force_progress=False):
        c = mc.counters()
        dc = c - last["c"]
        last["c"] = c
        acc_d = dc[1] / dc[0] if dc[0] > 0 else float("nan")
        acc_s = dc[3] / dc[2] if dc[2] > 0 else float("nan")
        vals = dict(sweep=sweep, phase=phase, energy_per_particle=mc.energy / N, acc_disp=acc_d,
                    acc_swap=acc_s, msd=msd, fs=fs, step=mc.step)
        for key, v in vals.items():
            rows[key].append(v)
        now = time.perf_counter()
        if progress is not None and (force_progress or now - last["progress"] >= progress_interval):
            last["progress"] = now
            progress(sweep, {**vals, "rebuilds": mc.rebuilds,
                             "trials_per_s": mc.trials / max(now - t_start, 1e-12)})

    # -- tuning phase ---------------------------------------------------------
    tune_block = max(1, int(math.ceil(2000 / N)))
    s = 0
    record(0, 0, float("nan"), float("nan"), force_progress=True)
    while s < tune_sweeps:
        nxt = min(s + tune_block, tune_sweeps, (s // record_every + 1) * record_every)
        c0 = mc.counters()
        mc.sweep(nxt - s)
        s = nxt
        c1 = mc.counters() - c0
        if c1[0] > 0:
            acc = c1[1] / c1[0]
            mc.step = mc.step * min(1.5, max(0.67, acc / target_acceptance))
        # overlapping starts have huge energies: keep the tracked value exact here
        mc.resync_energy()
        if s % record_every == 0 or s == tune_sweeps:
            record(s, 0, float("nan"), float("nan"))
    # -- production -------------------------------------------------------------
    mc.resync_energy()
    mc.mark_origin()
    record(tune_sweeps, 1, 0.0, 1.0)
    s = 0
    while s < prod:
        nxt = min(s + record_every, prod)
        mc.sweep(nxt - s)
        s = nxt
        msd, fs = mc.observables(k)
        record(tune_sweeps + s, 1, msd, fs, force_progress=(s == prod))
    elapsed = time.perf_counter() - t_start

    series = {c: np.asarray(v, dtype=np.int64 if c in ("sweep", "phase") else float)
              for c, v in rows.items()}
    pm = series["phase"] == 1
    tp = series["sweep"][pm] - tune_sweeps
    fsp = series["fs"][pm]
    tau = _first_crossing(tp, fsp, math.exp(-1.0), below=True)
    tau_msd = _first_crossing(tp, series["msd"][pm], 1.0, below=False)
    if math.isfinite(tau):
        tau_lb = tau
    else:
        f_end = float(fsp[-1])
        tau_lb = float(prod) / max(-math.log(f_end), 1e-12) if 0.0 < f_end < 1.0 else float("inf")
        tau_lb = max(tau_lb, float(prod))
    limit = tau_fraction * prod
    ok = math.isfinite(tau) and tau <= limit
    if ok:
        msg = (f"equilibrated: tau = {tau:.4g} sweeps <= {tau_fraction:g} x {prod} production "
               f"sweeps at T_p = {T:g}")
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
        tau_lower_bound=tau_lb, tau_msd=tau_msd, equilibrated=ok, message=msg,
        rebuilds=mc.rebuilds, energy_tracked=mc.energy, energy_recomputed=e_rec, elapsed_s=elapsed,
        extra={"acc_disp": float(tried[1] / tried[0]) if tried[0] else None,
               "acc_swap": float(tried[3] / tried[2]) if tried[2] else None,
               "trials_per_second": mc.trials / max(elapsed, 1e-12), "skin": mc.skin},
    )
    out = mc.configuration(
        Tp=float(T), seed=int(seed), strain=dict(conf.strain),
        provenance={**conf.provenance, "generator": "swap_mc", "swap_mc": {
            "T": float(T), "sweeps": sweeps, "tune_sweeps": tune_sweeps, "p_swap": float(p_swap),
            "seed": int(seed), "step": mc.step, "tau": None if not math.isfinite(tau) else tau}},
        extra=dict(conf.extra),
    )
    if check_equilibration and not ok:
        raise EquilibrationError(msg, result=result, conf=out)
    return out, result


def write_series(path, result: SwapMCResult, conf: Configuration):
    """Write the time series of a run as a ``swapmc_series`` Parquet file."""
    return write_table(path, SWAPMC_SERIES, result.series, model=conf.model, box=conf.box,
                       strain=conf.strain, seed=result.seed,
                       provenance={"generator": "swap_mc"}, extra=result.summary())


def random_liquid(model: Model, N: int, seed: int, sizes: str = "quantile",
                  push_off_sweeps: int = 20, T_push: float = 5.0) -> Configuration:
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
