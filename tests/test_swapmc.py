"""SWAP Monte Carlo (prepare/): sampling, local energy changes, determinism, equilibration, tasks."""

import itertools
import math

import numpy as np
import pytest

from glass2epm.core import io
from glass2epm.prepare import swapmc
from glass2epm.core.box import Box
from glass2epm.core.io import Configuration
from glass2epm.core.model import Model
from glass2epm.core.potential import ForceField

LERNER = Model.from_preset("lerner-poly2d")


def full_energy_ref(x, sizes, box, model):
    """Total energy by the independent route: a fresh ForceField (its own per-pair list).

    A fresh one each time: a ForceField's per-pair list is not rebuilt when sizes change.
    """
    return ForceField(model).compute(np.asarray(x, float), np.asarray(sizes, float), box)[0]


def batch_z(samples_onehot, expected, n_batches=20):
    """|z| per category of batch-means estimates against expected probabilities."""
    b = np.array_split(samples_onehot, n_batches)
    means = np.array([blk.mean(axis=0) for blk in b])
    se = means.std(axis=0, ddof=1) / math.sqrt(n_batches)
    m = samples_onehot.mean(axis=0)
    # floor the standard error with the binomial one (a batch std of 0 for a rare bin)
    binom = np.sqrt(expected * (1 - expected) / len(samples_onehot))
    return np.abs(m - expected) / np.maximum(se, binom)


@pytest.fixture(scope="module")
def liquid2d():
    conf = swapmc.random_liquid(LERNER, 300, seed=11)
    c, _ = swapmc.run_swap_mc(conf, 1.0, 60, seed=2, tune_sweeps=20, check_equilibration=False)
    return c


# ----------------------------------------------------------------------------
# exact sampling on tiny systems


def test_swap_moves_sample_boltzmann_over_size_permutations():
    """Fixed positions, swaps only: frequencies of the 24 size assignments of 4 particles
    match exp(−U/T)/Z with U from the independent ForceField route."""
    box = Box.square(10.0)
    x = np.array([[5.0, 5.0], [6.6, 5.2], [5.5, 6.7], [7.0, 6.9]])
    lam = np.array([1.0, 1.3, 1.7, 2.2])
    T = 1.5
    perms = list(itertools.permutations(range(4)))
    U = np.array([full_energy_ref(x, lam[list(p)], box, LERNER) for p in perms])
    assert U.max() - U.min() > 3 * T  # the test has contrast
    w = np.exp(-(U - U.min()) / T)
    expected = w / w.sum()
    # includes swaps of mutually interacting particles (all pairs here are within 2.8 λ)
    conf = Configuration(x, lam, box, LERNER)
    mc = swapmc.SwapMC(conf, T, seed=5, p_swap=1.0, resort_every=0)
    index = {tuple(lam[list(p)]): k for k, p in enumerate(perms)}
    n = 30000
    hits = np.zeros((n, len(perms)))
    for s in range(n):
        mc.sweep(2)
        hits[s, index[tuple(mc.sizes)]] = 1.0
    np.testing.assert_array_equal(mc.x, x)  # no displacement was made
    z = batch_z(hits, expected)
    assert z.max() < 5.0 and (z**2).sum() < 3 * len(perms), (z, hits.mean(0), expected)
    # power: the same samples are far from the distribution at another temperature
    w2 = np.exp(-(U - U.min()) / (1.5 * T))
    assert (batch_z(hits, w2 / w2.sum()) ** 2).sum() > 8 * len(perms)


def test_displacement_moves_sample_pair_distance_distribution():
    """Two particles, displacements only: the min-image distance r has density
    ∝ 2πr exp(−φ(r)/T) for r < L/2, with φ from Model.radial_derivatives (independent of
    the kernel). Compared on r < 2.4 (the interacting range and some free space)."""
    L = 8.0
    box = Box.square(L)
    lam = np.array([1.0, 1.5])
    x = np.array([[2.0, 2.0], [3.5, 2.5]])
    T = 1.0
    mc = swapmc.SwapMC(Configuration(x, lam, box, LERNER), T, seed=3, p_swap=0.0, step=10.0)
    assert mc.step > 0.3
    lij = LERNER.pair_size(lam[0], lam[1])
    rmax = 2.4
    edges = np.concatenate([[0.0], np.arange(0.9, rmax + 1e-9, 0.1)])

    def expected_at(temp):
        rr = np.linspace(1e-3, rmax, 100001)
        phi = LERNER.radial_derivatives(rr, lij, order=0)[0]
        dens = 2 * np.pi * rr * np.exp(-phi / temp)
        cdf = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(rr))])
        e = np.diff(np.interp(edges, rr, cdf))
        return e / e.sum()

    samples = []
    for _ in range(100000):
        mc.sweep(30)
        d = box.minimum_image((mc.x[1] - mc.x[0])[None, :])[0]
        r = np.hypot(*d)
        if r < rmax:
            samples.append(r)
    samples = np.array(samples)
    assert len(samples) > 15000
    onehot = np.zeros((len(samples), len(edges) - 1))
    onehot[np.arange(len(samples)), np.searchsorted(edges, samples, side="right") - 1] = 1.0
    nb = onehot.shape[1]
    z = batch_z(onehot, expected_at(T))
    assert z.max() < 5.0 and (z**2).sum() < 3 * nb, (z, onehot.mean(0), expected_at(T))
    # power: a 50 % wrong temperature is detected
    assert (batch_z(onehot, expected_at(1.5 * T)) ** 2).sum() > 8 * nb


# ----------------------------------------------------------------------------
# local energy changes against full recomputation


def _check_local_deltas(conf, seed, n_moves=25):
    mc = swapmc.SwapMC(conf, 1.0, seed=seed, skin=0.6)
    mc.rebuild()
    x = mc.x.copy()
    lam = mc.sizes.copy()
    box, model = conf.box, conf.model
    e0 = full_energy_ref(x, lam, box, model)
    assert mc.full_energy() == pytest.approx(e0, rel=1e-12)
    rng = np.random.default_rng(seed)
    d = conf.dim
    scale = max(1.0, abs(e0) / conf.N)
    for _ in range(n_moves):
        i = int(rng.integers(conf.N))
        disp = 0.5 * mc.skin * (rng.random(d) - 0.5)
        x1 = x.copy()
        x1[i] += disp
        de_ref = full_energy_ref(x1, lam, box, model) - e0
        assert mc.delta_displacement(i, disp) == pytest.approx(de_ref, rel=1e-8, abs=1e-9 * scale)
        np.testing.assert_array_equal(mc.x, x)  # evaluating does not move
    # swaps: random pairs, and pairs that interact with each other
    ii, jj, _, _ = ForceField(model).pairs(x, lam, box)
    interacting = [(a, b) for a, b in zip(ii, jj) if abs(lam[a] - lam[b]) > 0.2][:n_moves]
    assert len(interacting) >= 5
    pairs = [tuple(rng.choice(conf.N, 2, replace=False)) for _ in range(n_moves)] + interacting
    for i, j in pairs:
        lam1 = lam.copy()
        lam1[[i, j]] = lam[[j, i]]
        de_ref = full_energy_ref(x, lam1, box, model) - e0
        assert mc.delta_swap(i, j) == pytest.approx(de_ref, rel=1e-8, abs=1e-9 * scale)
        assert mc.delta_swap(j, i) == pytest.approx(de_ref, rel=1e-8, abs=1e-9 * scale)


def test_local_energy_change_2d(liquid2d):
    _check_local_deltas(liquid2d, seed=1)


def test_local_energy_change_2d_lees_edwards(liquid2d):
    conf = liquid2d.copy()
    conf.box = Box(np.array([[conf.box.h[0, 0], 0.37 * conf.box.h[0, 0]], [0.0, conf.box.h[1, 1]]]))
    _check_local_deltas(conf, seed=2)


def test_local_energy_change_3d():
    model = Model.from_preset("richard2023", dim=3)
    conf = swapmc.random_liquid(model, 300, seed=4, push_off_sweeps=30)
    _check_local_deltas(conf, seed=3)


def test_local_energy_change_generic_exponent():
    """β ≠ 10 / q ≠ 3 take the generic (branching) kernels."""
    model = Model(preset="custom", dim=2, beta=12, q=2, xc=1.4, na=0.1, lam_min=1.0, lam_max=2.0,
                  density=0.7)
    conf = swapmc.random_liquid(model, 250, seed=6, push_off_sweeps=30)
    _check_local_deltas(conf, seed=4)


def test_naive_swap_including_the_ij_pair_would_be_wrong(liquid2d):
    """The (i, j) pair must be left out of a swap's ΔU: evaluating it with one size
    already exchanged gives a different (wrong) number for an interacting pair."""
    x, lam, box = liquid2d.x, liquid2d.sizes, liquid2d.box
    ii, jj, rv, lij = ForceField(LERNER).pairs(x, lam, box)
    k = int(np.argmax(np.abs(lam[ii] - lam[jj])))
    i, j = int(ii[k]), int(jj[k])
    mc = swapmc.SwapMC(liquid2d, 1.0, seed=0)
    # find the same particles after the spatial re-ordering
    pos = {o: n for n, o in enumerate(mc.order)}
    de = mc.delta_swap(pos[i], pos[j])
    r2 = (rv[k] ** 2).sum()
    wrong_pair = LERNER.pair_size(lam[j], lam[j])  # i's new size with j's old one
    phi = LERNER.radial_derivatives(np.sqrt([r2]), np.array([lij[k]]), 0)[0, 0]
    phi_wrong = LERNER.radial_derivatives(np.sqrt([r2]), np.array([wrong_pair]), 0)[0, 0]
    assert abs(phi_wrong - phi) > 1e-3
    lam1 = lam.copy()
    lam1[[i, j]] = lam[[j, i]]
    e0 = full_energy_ref(x, lam, box, LERNER)
    assert de == pytest.approx(full_energy_ref(x, lam1, box, LERNER) - e0, rel=1e-8, abs=1e-9)


# ----------------------------------------------------------------------------
# runs


def test_determinism_and_record_every_invariance(tmp_path):
    conf = swapmc.random_liquid(LERNER, 100, seed=21)
    kw = dict(T=1.0, sweeps=200, tune_sweeps=30, check_equilibration=False)
    a, ra = swapmc.run_swap_mc(conf, seed=9, record_every=5, **kw)
    b, rb = swapmc.run_swap_mc(conf, seed=9, record_every=5, **kw)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.sizes, b.sizes)
    for c in ra.series:
        np.testing.assert_array_equal(ra.series[c], rb.series[c])
    # the written series is byte-identical too: no wall-clock figures in its metadata
    pa = swapmc.write_series(tmp_path / "a.parquet", ra, a)
    pb = swapmc.write_series(tmp_path / "b.parquet", rb, b)
    assert open(pa, "rb").read() == open(pb, "rb").read()
    # the trajectory does not depend on how often it is recorded
    c, rc = swapmc.run_swap_mc(conf, seed=9, record_every=13, **kw)
    np.testing.assert_array_equal(a.x, c.x)
    np.testing.assert_array_equal(a.sizes, c.sizes)
    assert rc.energy_tracked == ra.energy_tracked
    # another seed gives another trajectory
    d, rd = swapmc.run_swap_mc(conf, seed=10, record_every=5, **kw)
    assert np.abs(d.x - a.x).max() > 0.1
    # the generator itself: same seed, same numbers
    np.testing.assert_array_equal(swapmc.uniforms(swapmc.rng_state(3), 100),
                                  swapmc.uniforms(swapmc.rng_state(3), 100))
    u = swapmc.uniforms(swapmc.rng_state(4), 100000)
    assert 0.0 <= u.min() and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.005
    # and it is xoshiro256** (plain-Python reference, Blackman & Vigna)
    M = (1 << 64) - 1
    st = [int(v) for v in swapmc.rng_state(5)]

    def rotl(v, k):
        return ((v << k) | (v >> (64 - k))) & M

    ref = []
    for _ in range(20):
        out = rotl((st[1] * 5) & M, 7) * 9 & M
        t = (st[1] << 17) & M
        st[2] ^= st[0]
        st[3] ^= st[1]
        st[1] ^= st[2]
        st[0] ^= st[3]
        st[2] ^= t
        st[3] = rotl(st[3], 45)
        ref.append((out >> 11) * 2.0**-53)
    np.testing.assert_array_equal(swapmc.uniforms(swapmc.rng_state(5), 20), ref)


def test_equilibration_check_fails_for_short_low_T_run():
    conf = swapmc.random_liquid(LERNER, 64, seed=1)
    with pytest.raises(RuntimeError) as exc:
        swapmc.run_swap_mc(conf, 0.2, 300, seed=3)
    msg = str(exc.value)
    assert "T_p = 0.2" in msg and "300 sweeps" in msg and "tau >" in msg and "Run at least" in msg
    err = exc.value
    assert isinstance(err, swapmc.EquilibrationError)
    assert not err.result.equilibrated and err.result.tau_lower_bound > 270
    # without the check the same run returns, flagged
    _, res = swapmc.run_swap_mc(conf, 0.2, 300, seed=3, check_equilibration=False)
    assert not res.equilibrated and res.message == msg


def test_assess_equilibration_on_synthetic_series():
    t = np.arange(0, 10001, 20.0)
    mid = 5000
    fs_mid = np.where(t >= mid, np.exp(-(t - mid) / 100.0), np.nan)
    v = swapmc.assess_equilibration(t, np.exp(-t / 100.0), fs_mid, mid, 10000)
    assert v["ok"] and v["tau"] == pytest.approx(100, rel=0.02)
    assert v["tau_mid"] == pytest.approx(100, rel=0.02)
    # too slow: τ = 2000 > 1000
    v = swapmc.assess_equilibration(t, np.exp(-t / 2000.0), fs_mid, mid, 10000)
    assert not v["ok"] and not v["ageing"] and v["tau"] == pytest.approx(2000, rel=0.02)
    # never relaxes: stretched exponential with τ = 10⁵, β = 0.5 → bound ≤ τ, ≥ the run
    v = swapmc.assess_equilibration(t, np.exp(-np.sqrt(t / 1e5)), fs_mid, mid, 10000)
    assert not v["ok"] and math.isnan(v["tau"]) and 1e4 <= v["tau_lower_bound"] <= 1e5
    # ageing: fast from the start, five times slower from the middle
    v = swapmc.assess_equilibration(t, np.exp(-t / 100.0),
                                    np.where(t >= mid, np.exp(-(t - mid) / 500.0), np.nan), mid, 10000)
    assert v["ageing"] and not v["ok"] and v["tau_mid"] == pytest.approx(500, rel=0.02)


def test_equilibration_check_passes_at_high_T(tmp_path):
    conf = swapmc.random_liquid(LERNER, 64, seed=1)
    progress = []
    out, res = swapmc.run_swap_mc(conf, 2.0, 4000, seed=3, progress=lambda s, d: progress.append((s, d)))
    assert res.equilibrated and res.tau < 0.1 * res.production_sweeps
    assert res.tau_mid < 3 * res.tau  # time-translation invariant
    assert out.Tp == 2.0 and out.N == 64
    s = res.series
    prod = s["phase"] == 1
    # F_s decays, MSD grows, both from the production origin
    assert s["fs"][prod][0] == 1.0 and s["fs"][prod][-1] < 0.2
    assert s["msd"][prod][-1] > 1.0
    assert 0.25 < np.nanmean(s["acc_disp"][prod]) < 0.55
    assert np.nanmean(s["acc_swap"][prod]) > 0.05
    assert np.all(np.diff(s["step"][prod]) == 0)  # the step is fixed in production
    assert progress and progress[-1][0] == 4000
    # positions come out wrapped in the cell
    sfrac = np.linalg.solve(out.box.h, out.x.T).T
    assert sfrac.min() >= 0 and sfrac.max() < 1
    # the series round-trips through the registered schema
    p = swapmc.write_series(tmp_path / "series.parquet", res, out)
    t = io.read_table(p, "swapmc_series")
    np.testing.assert_array_equal(t["fs"], s["fs"])
    np.testing.assert_array_equal(t["fs_mid"], s["fs_mid"])
    assert t.meta["extra"]["equilibrated"] is True


def test_tracked_energy_matches_full_recomputation():
    """ΔU accumulated over a hot run (particles move several skins: many list rebuilds)
    equals the energy recomputed from scratch by the independent route."""
    conf = swapmc.random_liquid(LERNER, 150, seed=8)
    out, res = swapmc.run_swap_mc(conf, 4.0, 1500, seed=4, tune_sweeps=50, check_equilibration=False)
    assert res.rebuilds > 20
    assert res.series["msd"][-1] > 2 * res.extra["skin"] ** 2  # rms displacement > skin
    e_ref = full_energy_ref(out.x, out.sizes, out.box, LERNER)
    # tracked incrementally over 1450 production sweeps (≈ 2·10⁵ trials), no resync
    assert res.energy_tracked == pytest.approx(e_ref, rel=1e-10)
    assert res.energy_recomputed == pytest.approx(e_ref, rel=1e-12)
    assert res.series["energy_per_particle"][-1] == pytest.approx(e_ref / out.N, rel=1e-10)
    # sizes are only permuted, never changed
    np.testing.assert_array_equal(np.sort(out.sizes), np.sort(conf.sizes))


def test_random_liquid_and_errors():
    conf = swapmc.random_liquid(LERNER, 200, seed=5)
    assert conf.N == 200 and conf.box.volume == pytest.approx(200 / LERNER.density)
    np.testing.assert_allclose(np.sort(conf.sizes), np.sort(LERNER.sizes(200)))
    assert full_energy_ref(conf.x, conf.sizes, conf.box, LERNER) / 200 < 50  # overlaps removed
    raw = swapmc.random_liquid(LERNER, 200, seed=5, push_off_sweeps=0, sizes="random")
    assert raw.sizes.min() >= LERNER.lam_min and raw.sizes.max() <= LERNER.lam_max
    with pytest.raises(ValueError, match="cell too small"):
        swapmc.SwapMC(swapmc.random_liquid(LERNER, 20, seed=1, push_off_sweeps=0), 1.0, 0)
    bad = conf.copy()
    bad.sizes = bad.sizes * 1.5
    with pytest.raises(ValueError, match="outside the model"):
        swapmc.SwapMC(bad, 1.0, 0)
    with pytest.raises(ValueError, match="temperature"):
        swapmc.SwapMC(conf, 0.0, 0)


def test_prepare_tasks_match_direct_calls(tmp_path):
    """The stage's task functions (CLI and rule scripts) give what the library calls give."""
    from glass2epm.mechanics.minimize import minimize
    from glass2epm.prepare.tasks import equilibrate_liquid, minimise_liquid

    kw = dict(preset="lerner-poly2d", dim=2, N=64, Tp=2.0, seed=3, sizes="quantile")
    conf, res = equilibrate_liquid(**kw, sweeps=40, tune_sweeps=10, p_swap=0.2, check=False,
                                   liquid_path=tmp_path / "liquid.parquet",
                                   series_path=tmp_path / "series.parquet")
    liquid = swapmc.random_liquid(LERNER, 64, seed=3)
    ref, rres = swapmc.run_swap_mc(liquid, 2.0, 50, seed=3, tune_sweeps=10, check_equilibration=False)
    np.testing.assert_array_equal(conf.x, ref.x)
    np.testing.assert_array_equal(res.series["energy_per_particle"], rres.series["energy_per_particle"])
    np.testing.assert_array_equal(io.read_configuration(tmp_path / "liquid.parquet").x, ref.x)
    glass, _ = minimise_liquid(tmp_path / "liquid.parquet", glass_path=tmp_path / "glass.parquet",
                               summary_path=tmp_path / "min.json")
    np.testing.assert_array_equal(glass.x, minimize(ref)[0].x)
    assert (tmp_path / "min.json").exists() and (tmp_path / "series.parquet").exists()


def test_checkpoint_resume_is_bitwise(tmp_path):
    """Killed mid-run (in tuning and in production) and resumed from the checkpoint: the
    liquid and the series are bitwise those of an uninterrupted run."""
    conf = swapmc.random_liquid(LERNER, 120, seed=4)
    kw = dict(T=1.0, sweeps=300, tune_sweeps=40, seed=11, record_every=7, check_equilibration=False)
    ref, rref = swapmc.run_swap_mc(conf, **kw)

    class Kill(RuntimeError):
        pass

    for stop in (21, 180):  # a tuning record, a production record
        ck = tmp_path / f"ck{stop}.npz"

        def kill(sweep, info, stop=stop):
            if sweep >= stop:
                raise Kill

        with pytest.raises(Kill):
            swapmc.run_swap_mc(conf, checkpoint=ck, checkpoint_seconds=0.0, progress=kill,
                               progress_interval=0.0, **kw)
        assert ck.exists()
        out, res = swapmc.run_swap_mc(conf, checkpoint=ck, checkpoint_seconds=0.0, **kw)
        assert not ck.exists()  # removed at the end
        np.testing.assert_array_equal(out.x, ref.x)
        np.testing.assert_array_equal(out.sizes, ref.sizes)
        for c in rref.series:
            np.testing.assert_array_equal(res.series[c], rref.series[c], err_msg=c)
        assert res.energy_tracked == rref.energy_tracked
        # the rate counts only this process's trials, those after the checkpoint, which
        # precedes the kill (it counted the earlier ones too)
        total = rref.extra["trials_per_second"] * rref.elapsed_s
        here = res.extra["trials_per_second"] * res.elapsed_s
        assert total == pytest.approx(300 * 120, rel=1e-9)
        assert (1 - stop / 300) * total * (1 - 1e-9) <= here < 0.99 * total
    # a checkpoint of other arguments is refused, naming the file
    ck = tmp_path / "other.npz"
    with pytest.raises(Kill):
        swapmc.run_swap_mc(conf, checkpoint=ck, checkpoint_seconds=0.0, progress_interval=0.0,
                           progress=lambda s, i: (_ for _ in ()).throw(Kill()) if s > 50 else None, **kw)
    with pytest.raises(ValueError, match="other arguments"):
        swapmc.run_swap_mc(conf, checkpoint=ck, **{**kw, "seed": 12})


def test_parallel_chains_equal_single_runs(tmp_path):
    """Chains on 2 threads give, per seed, bitwise the result of a single run."""
    from glass2epm.prepare.tasks import equilibrate_liquid, equilibrate_liquids

    common = dict(preset="lerner-poly2d", dim=2, N=150, Tp=1.0, sizes="quantile", sweeps=120,
                  tune_sweeps=20, p_swap=0.2, check=False)
    runs = equilibrate_liquids([3, 4, 5], threads=2, **common)
    for seed, (conf, res) in zip([3, 4, 5], runs):
        one, r1 = equilibrate_liquid(seed=seed, **common)
        np.testing.assert_array_equal(conf.x, one.x)
        np.testing.assert_array_equal(conf.sizes, one.sizes)
        np.testing.assert_array_equal(res.series["energy_per_particle"], r1.series["energy_per_particle"])
    with pytest.raises(ValueError, match="distinct"):
        equilibrate_liquids([3, 3], **common)
