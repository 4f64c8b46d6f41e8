"""Figures 3-9 from small synthetic inputs: files written, clear errors on bad inputs.

Set GLASS2EPM_FIGCHECK=/some/dir to keep the rendered PNGs there for a look.
"""

import os
from pathlib import Path

import numpy as np
import pytest

from glass2epm.core import io
from glass2epm.core.schemas import D2MIN_ACTIVITY
from glass2epm.core.schemas import AQS_SERIES
from glass2epm.core.schemas import ACTIVITY_SERIES, BAND_PROFILES, BAND_WIDTHS
from glass2epm.core.box import Box
from glass2epm.core.schemas import EPM_SERIES
from glass2epm.core.schemas import EPM_CURVES
from glass2epm.core.schemas import BAND_SIZE, CAVITY_BONDS, CAVITY_CURVES, CAVITY_PARTICLES, EPM_COMPARE, EPM_STEADY, EXPANSION_CHECK, YIELD_COMPARE
from glass2epm.core.model import Model
from glass2epm.plotting.fig3 import plot_fig3
from glass2epm.plotting.fig4 import plot_fig4
from glass2epm.plotting.fig5 import particle_mean_curve, plot_fig5
from glass2epm.plotting.fig6 import plot_fig6
from glass2epm.plotting.fig7 import plot_fig7
from glass2epm.plotting.fig8 import plot_fig8
from glass2epm.plotting.fig9 import plot_fig9
from glass2epm.core.schemas import YIELD_BLOCKS, YIELD_MAP

MODEL = Model.from_preset("lerner-poly2d")
TPS = (0.7, 0.4, 0.2)


@pytest.fixture
def outdir(tmp_path):
    d = os.environ.get("GLASS2EPM_FIGCHECK")
    if d:
        Path(d).mkdir(parents=True, exist_ok=True)
        return Path(d)
    return tmp_path


def check_outputs(png, pdf):
    for p in (png, pdf):
        assert Path(p).exists(), p
        assert Path(p).stat().st_size > 1000, (p, Path(p).stat().st_size)


def write_partial(path, schema, cols, drop, **meta):
    """A file of ``schema``'s name and version that lacks the columns in ``drop``."""
    keep = {k: v for k, v in cols.items() if k not in drop}
    sub = io.Schema(schema.name, schema.version, {k: u for k, u in schema.columns.items() if k not in drop},
                    needs_model=schema.needs_model, needs_box=schema.needs_box)
    return io.write_table(path, sub, keep, **meta)


# ----------------------------------------------------------------------------- Fig. 3

S0, MU0, C2, C3 = 0.3, 10.0, -100.0, -4000.0  # yields at γ = 0.05 (σ ≈ 0.59) and γ = -0.1


def cubic(g):
    return S0 + MU0 * g + C2 * g**2 / 2 + C3 * g**3 / 6


def fig3_inputs(tmp):
    rng = np.random.default_rng(3)
    a = 1.2
    pts = [(i * a + (j % 2) * a / 2, j * a * np.sqrt(3) / 2) for i in range(-9, 10) for j in range(-9, 10)]
    xy = np.array(pts) + rng.normal(0, 0.08, (len(pts), 2))
    r = np.hypot(*xy.T)
    xy = xy[r < 9.0]
    r = np.hypot(*xy.T)
    n = len(xy)
    size = rng.uniform(1.0, 1.4, n)
    free = r < 6.0
    # a quadrupolar non-affine field plus noise, zero on frozen particles
    th = np.arctan2(xy[:, 1], xy[:, 0])
    ux = np.where(free, 0.3 * np.cos(2 * th) * np.cos(th) + rng.normal(0, 0.05, n), 0.0)
    uy = np.where(free, -0.3 * np.cos(2 * th) * np.sin(th) + rng.normal(0, 0.05, n), 0.0)
    P = {"x": xy[:, 0], "y": xy[:, 1], "size": size, "free": free, "ux": ux, "uy": uy}
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    i, j = np.nonzero(np.triu(d < 1.5 * a, 1))
    w = 0.5 * (free[i].astype(float) + free[j].astype(float))
    B = {"i": i, "j": j, "weight": w}
    ge = np.linspace(-0.12, 0.08, 201)
    gf = np.arange(0.0, 0.056, 0.002)
    gb = -np.arange(0.0, 0.106, 0.002)
    cols = {"strain": [], "stress": [], "kind": [], "direction": []}
    for g, kind, dirs in ((ge, "expansion", np.where(ge >= 0, "forward", "backward")),
                          (gf, "frozen", np.full(gf.size, "forward")), (gb, "frozen", np.full(gb.size, "backward"))):
        s = cubic(g) if kind == "expansion" else cubic(g) * (1 - 2.0 * g**2) + rng.normal(0, 0.005, g.size)
        cols["strain"] += list(g)
        cols["stress"] += list(s)
        cols["kind"] += [kind] * g.size
        cols["direction"] += list(dirs)
    ex = {"sigma0": S0, "mu0": MU0, "sigma_y_forward": float(cubic(0.05)), "sigma_y_backward": float(cubic(-0.1)),
          "radius": 6.0}
    pp = io.write_table(tmp / "cav_particles.parquet", CAVITY_PARTICLES, P, extra={"radius": 6.0})
    pb = io.write_table(tmp / "cav_bonds.parquet", CAVITY_BONDS, B)
    pc = io.write_table(tmp / "cav_curves.parquet", CAVITY_CURVES, cols, extra=ex)
    return pp, pb, pc, (P, B, cols, ex)


def test_fig3(tmp_path, outdir):
    pp, pb, pc, _ = fig3_inputs(tmp_path)
    png, pdf = outdir / "fig3.png", outdir / "fig3.pdf"
    info = plot_fig3(pp, pb, pc, png, pdf)
    check_outputs(png, pdf)
    assert info["sigma0"] == S0 and info["mu0"] == MU0
    # the marked yield points sit on the expansion curve at its extrema (γ = 0.05, -0.1)
    assert info["yield_points"]["F"][0] == pytest.approx(0.05, abs=0.002)
    assert info["yield_points"]["B"][0] == pytest.approx(-0.1, abs=0.002)
    assert info["n_free"] + info["n_frozen"] == len(io.read_table(pp)["x"])


def test_fig3_missing_column(tmp_path):
    pp, pb, pc, (P, B, C, ex) = fig3_inputs(tmp_path)
    bad = write_partial(tmp_path / "bad.parquet", CAVITY_PARTICLES, P, ["ux"])
    with pytest.raises(ValueError, match=r"Fig\. 3.*bad\.parquet.*'ux'"):
        plot_fig3(bad, pb, pc, tmp_path / "x.png")
    bad = write_partial(tmp_path / "badc.parquet", CAVITY_CURVES, C, ["kind"], extra=ex)
    with pytest.raises(ValueError, match=r"Fig\. 3c.*badc\.parquet.*'kind'"):
        plot_fig3(pp, pb, bad, tmp_path / "x.png")
    # a file of another schema is refused with the figure named
    with pytest.raises(ValueError, match=r"Fig\. 3a.*cavity_bonds"):
        plot_fig3(pp, pc, pc, tmp_path / "x.png")


def test_fig3_bad_bond_index(tmp_path):
    pp, pb, pc, (P, B, C, ex) = fig3_inputs(tmp_path)
    B = dict(B, j=np.asarray(B["j"]) + 10_000)
    bad = io.write_table(tmp_path / "bonds.parquet", CAVITY_BONDS, B)
    with pytest.raises(ValueError, match="bond indices"):
        plot_fig3(pp, bad, pc, tmp_path / "x.png")


# ----------------------------------------------------------------------------- Fig. 4

def mean_sy(Tp):
    return 1.6 - 1.2 * Tp  # stable glasses: larger σ_Y


def fig4_inputs(tmp):
    rng = np.random.default_rng(4)
    n = 400
    L = MODEL.box_side(n)
    box = Box.square(L)
    maps, blocks = {}, {}
    for Tp in TPS:
        x = rng.random((n, 2)) * L
        sy = rng.gamma(6.0, mean_sy(Tp) / 6.0, n) * (1 + 0.3 * np.sin(2 * np.pi * x[:, 0] / L))
        sy[rng.random(n) < 0.02] = np.nan
        maps[Tp] = io.write_table(tmp / f"map_{Tp}.parquet", YIELD_MAP,
                                  {"x": x[:, 0], "y": x[:, 1], "sigma_y": sy, "sigma_y_backward": sy * 1.1},
                                  model=MODEL, box=box, extra={"Tp": Tp, "method": "bond"})
        for method, scale, shape in (("bond", 1.0, 5.0), ("frozen", 0.95, 9.0)):
            files = []
            for s in range(2):
                nb = 100
                bx, by = np.divmod(np.arange(nb), 10)
                v = rng.gamma(shape, scale * mean_sy(Tp) / shape, nb)
                files.append(io.write_table(
                    tmp / f"blocks_{method}_{Tp}_{s}.parquet", YIELD_BLOCKS,
                    {"bx": bx, "by": by, "x": (bx + 0.5) * L / 10, "y": (by + 0.5) * L / 10, "sigma_y": v,
                     "sigma_y_backward": v, "n_particles": np.full(nb, 4)}, model=MODEL, box=box))
            blocks[(method, Tp)] = files
    cols = {k: [] for k in YIELD_COMPARE.columns}
    for Tp in TPS:
        for method, var in (("bond", 0.09), ("frozen", 0.05)):
            m = mean_sy(Tp) * (1.0 if method == "bond" else 0.95)
            for k, v in (("Tp", Tp), ("method", method), ("mean", m), ("mean_lo", m - 0.02), ("mean_hi", m + 0.02),
                         ("variance", var * m), ("variance_lo", var * m * 0.9), ("variance_hi", var * m * 1.1),
                         ("n_blocks", 200), ("discarded_fraction", 0.01), ("unassigned_fraction", 0.0)):
                cols[k].append(v)
    comp = io.write_table(tmp / "yield_compare.parquet", YIELD_COMPARE, cols)
    return maps, comp, blocks, cols


def test_fig4(tmp_path, outdir):
    maps, comp, blocks, _ = fig4_inputs(tmp_path)
    png, pdf = outdir / "fig4.png", outdir / "fig4.pdf"
    info = plot_fig4(maps, comp, blocks, png, pdf)
    check_outputs(png, pdf)
    assert sorted(info["maps"]) == sorted(TPS)
    assert info["maps"][0.7]["fraction_without_value"] > 0  # NaN particles kept (drawn grey)
    # pooled block means follow the inputs: larger σ_Y for the more stable glass
    assert info["blocks"]["bond@0.2"]["mean"] > info["blocks"]["bond@0.7"]["mean"]
    assert info["blocks"]["bond@0.2"]["n"] == 200


def test_fig4_missing_column(tmp_path):
    maps, comp, blocks, cols = fig4_inputs(tmp_path)
    bad = write_partial(tmp_path / "cmp_bad.parquet", YIELD_COMPARE, cols, ["variance_hi"])
    with pytest.raises(ValueError, match=r"Fig\. 4c-d.*cmp_bad\.parquet.*variance_hi"):
        plot_fig4(maps, bad, blocks, tmp_path / "x.png")


# ----------------------------------------------------------------------------- Fig. 5

def aqs_series(path, rng, Tp, n=1024, gmax=0.3, dg=0.002):
    L = MODEL.box_side(n)
    g = np.arange(0.0, gmax + 1e-12, dg)
    mu, ss = 10.0, 0.8
    peak = ss * (1 + 2.0 * (0.7 - Tp))
    s = np.empty_like(g)
    for k, x in enumerate(g):
        el = mu * x
        s[k] = el if el < peak else ss + (peak - ss) * np.exp(-(x - peak / mu) / 0.03)
    s += rng.normal(0, 0.03, g.size)
    cols = {"strain": g, "sxx": -s * 0.1 - 5, "syy": s * 0.1 - 5, "sxy": s, "pressure": np.full(g.size, 5.0),
            "energy_per_particle": 1 + 0.01 * g, "force_evaluations": np.arange(g.size) * 10,
            "event": rng.random(g.size) < 0.1}
    return io.write_table(path, AQS_SERIES, cols, model=MODEL, box=Box.square(L), extra={"Tp": Tp})


def epm_curve(path, Tp, frozen=False):
    g = np.linspace(0, 0.3, 301)
    ss = 0.8
    peak = ss * (1 + (1.8 if not frozen else 1.6) * (0.7 - Tp))
    s = np.where(10 * g < peak, 10 * g, ss + (peak - ss) * np.exp(-(g - peak / 10) / 0.04))
    return io.write_table(path, EPM_CURVES, {"strain": g, "stress_mean": s, "stress_std": 0.05 + 0 * g,
                                             "n": np.full(g.size, 8)})


def fig5_inputs(tmp):
    rng = np.random.default_rng(5)
    part = [aqs_series(tmp / f"aqs07_{k}.parquet", rng, 0.7) for k in range(3)]
    # an EPM saw-tooth: elastic rise (μ = 10), drops at events
    g, sb, sa, s = [0.0], [0.0], [0.0], 0.0
    gg = 0.0
    while gg < 0.3:
        dg = rng.exponential(0.004)
        gg += dg
        before = s + 10 * dg
        drop = 0.0 if before < 0.7 else rng.exponential(0.04) * (1 + 3 * (before > 0.85))
        s = before - drop
        g.append(gg), sb.append(before), sa.append(s)
    epm = io.write_table(tmp / "epm_series.parquet", EPM_SERIES,
                         {"strain": np.array(g), "stress": np.array(sa), "stress_before": np.array(sb),
                          "avalanche_size": np.ones(len(g), int), "rounds": np.ones(len(g), int)})
    st = {"source": [], "size": [], "stress": []}
    for src, sizes in (("particles", (1024, 4096)), ("epm", (20, 40))):
        for k, n in enumerate(sizes):
            v = rng.normal(0.8, 0.06 / (k + 1), 300)
            st["source"] += [src] * v.size
            st["size"] += [n] * v.size
            st["stress"] += list(v)
    steady = io.write_table(tmp / "steady.parquet", EPM_STEADY, st)
    curves = {}
    for Tp in TPS:
        curves[("particles", Tp)] = [aqs_series(tmp / f"aqs_{Tp}_{k}.parquet", rng, Tp, gmax=0.3 - 0.02 * k)
                                     for k in range(2)]
        curves[("epm_bond", Tp)] = epm_curve(tmp / f"curve_bond_{Tp}.parquet", Tp)
        curves[("epm_frozen", Tp)] = epm_curve(tmp / f"curve_frozen_{Tp}.parquet", Tp, frozen=True)
    cc = {k: [] for k in EPM_COMPARE.columns}
    for Tp in TPS:
        for src, f in (("particles", 2.0), ("epm_bond", 1.8), ("epm_frozen", 1.6)):
            for k, v in (("Tp", Tp), ("source", src), ("size", 500 if src == "particles" else 4),
                         ("peak_stress", 0.8 * (1 + f * (0.7 - Tp))), ("peak_err", 0.02),
                         ("peak_strain", 0.1), ("sample_peak_stress", 0.9 * (1 + f * (0.7 - Tp))),
                         ("steady_stress", 0.8), ("steady_err", 0.01)):
                cc[k].append(v)
    comp = io.write_table(tmp / "epm_compare.parquet", EPM_COMPARE, cc)
    return part, epm, steady, curves, comp, st


def test_fig5(tmp_path, outdir):
    part, epm, steady, curves, comp, _ = fig5_inputs(tmp_path)
    png, pdf = outdir / "fig5.png", outdir / "fig5.pdf"
    info = plot_fig5(part, epm, steady, curves, comp, png, pdf)
    check_outputs(png, pdf)
    # the dashed σ_s line is the mean of the particle samples at the drawn N = 1024
    st = io.read_table(steady)
    sel = (st["source"] == "particles") & (st["size"] == 1024)
    assert info["sigma_s_particles"] == pytest.approx(float(np.mean(st["stress"][sel])))
    assert info["peak"]["epm_bond"][0.2] > info["peak"]["epm_bond"][0.7]


def test_fig5_mean_curve_is_average_of_interpolated_series(tmp_path):
    g1 = np.linspace(0, 0.2, 11)
    g2 = np.linspace(0, 0.1, 7)
    paths = []
    for k, (g, f) in enumerate(((g1, lambda x: 2 * x), (g2, lambda x: 4 * x + 0.1))):
        n = g.size
        paths.append(io.write_table(
            tmp_path / f"s{k}.parquet", AQS_SERIES,
            {"strain": g + 1.0, "sxx": 0 * g, "syy": 0 * g, "sxy": f(g), "pressure": 0 * g,
             "energy_per_particle": 0 * g, "force_evaluations": np.zeros(n, int), "event": np.zeros(n, bool)},
            model=MODEL, box=Box.square(10.0)))
    grid, mean, n = particle_mean_curve(paths, n_grid=5)
    assert n == 2
    assert grid[-1] == pytest.approx(0.1)  # common range; strain counted from each start
    np.testing.assert_allclose(mean, 0.5 * (2 * grid + 4 * grid + 0.1))


def test_fig5_missing_column(tmp_path):
    part, epm, steady, curves, comp, st = fig5_inputs(tmp_path)
    bad = write_partial(tmp_path / "steady_bad.parquet", EPM_STEADY, st, ["size"])
    with pytest.raises(ValueError, match=r"Fig\. 5.*steady_bad\.parquet.*'size'"):
        plot_fig5(part, epm, bad, curves, comp, tmp_path / "x.png")
    with pytest.raises(ValueError, match="unknown source"):
        plot_fig5(part, epm, steady, {("lammps", 0.7): part}, comp, tmp_path / "x.png")


# ----------------------------------------------------------------------------- Fig. 6

def fig6_inputs(tmp):
    rng = np.random.default_rng(6)
    n = 900
    L = MODEL.box_side(n)
    part, epm = {}, {}
    for Tp in TPS:
        x = rng.random((n, 2)) * L
        band = np.abs(x[:, 1] - L / 2) < (L / 2 if Tp == 0.7 else (0.25 if Tp == 0.4 else 0.1) * L)
        p = np.where(band, 0.6, 0.05)
        fa = np.where(rng.random(n) < p, rng.uniform(0.01, 0.2, n), np.nan)
        part[Tp] = io.write_table(tmp / f"d2min_{Tp}.parquet", D2MIN_ACTIVITY,
                                  {"x": x[:, 0], "y": x[:, 1], "activity": np.isfinite(fa).astype(int),
                                   "first_active_strain": fa, "d2min_last": rng.random(n) * 0.02},
                                  box=Box.square(L), extra={"Tp": Tp})
        Lb = 12
        cols = {k: [] for k in ACTIVITY_SERIES.columns}
        for g in (0.06, 0.12, 0.2):
            i, j = np.meshgrid(np.arange(Lb), np.arange(Lb), indexing="ij")
            w = {0.7: 6, 0.4: 2, 0.2: 1}[Tp]
            a = (np.abs(j - Lb // 2) < w) * rng.poisson(1 + 10 * g, i.shape) + (rng.random(i.shape) < 0.05)
            cols["strain"] += [g] * a.size
            cols["x"] += list(i.ravel().astype(float))
            cols["y"] += list(j.ravel().astype(float))
            cols["activity"] += list(a.ravel())
        epm[Tp] = io.write_table(tmp / f"epm_act_{Tp}.parquet", ACTIVITY_SERIES, cols, extra={"box_side": Lb})
    return part, epm


def test_fig6(tmp_path, outdir):
    part, epm = fig6_inputs(tmp_path)
    png, pdf = outdir / "fig6.png", outdir / "fig6.pdf"
    info = plot_fig6(part, epm, 0.12, png, pdf)
    check_outputs(png, pdf)
    # the snapshot closest to 0.12 is drawn; activity fractions follow the inputs
    assert all(v["strain"] == 0.12 for v in info["epm"].values())
    assert info["epm"][0.7]["active_fraction"] > info["epm"][0.2]["active_fraction"]
    t = io.read_table(part[0.4])
    fa = t["first_active_strain"]
    assert info["particles"][0.4]["active_fraction"] == pytest.approx(np.mean(np.isfinite(fa) & (fa <= 0.12)))


def test_fig6_missing_column(tmp_path):
    part, epm = fig6_inputs(tmp_path)
    t = io.read_table(part[0.2])
    cols = dict(t.columns)
    bad = write_partial(tmp_path / "d2_bad.parquet", D2MIN_ACTIVITY, cols, ["first_active_strain"], box=t.box)
    with pytest.raises(ValueError, match=r"Fig\. 6.*d2_bad\.parquet.*first_active_strain"):
        plot_fig6({**part, 0.2: bad}, epm, 0.12, tmp_path / "x.png")


def test_fig6_one_row_only(tmp_path, outdir):
    part, _ = fig6_inputs(tmp_path)
    png = tmp_path / "fig6_part.png"
    info = plot_fig6(part, {}, 0.12, png, tmp_path / "fig6_part.pdf")
    check_outputs(png, tmp_path / "fig6_part.pdf")
    assert info["epm"] == {}


# ----------------------------------------------------------------------------- Fig. 7

def band_files(tmp, tag, strains, w_of_g, L, rng, scale=1.0):
    prof = {k: [] for k in BAND_PROFILES.columns}
    wid = {k: [] for k in BAND_WIDTHS.columns}
    d = np.linspace(-L / 2, L / 2, 41)
    for g in strains:
        w = w_of_g(g)
        P = 0.05 + min(1.0, 0.3 * g) * np.exp(-0.5 * (d / (w / 2.355)) ** 2) + rng.normal(0, 0.005, d.size)
        prof["strain"] += [g] * d.size
        prof["d"] += list(d)
        prof["profile"] += list(P)
        wm = w * (1 + rng.normal(0, 0.03))
        for k, v in (("strain", g), ("orientation", "x"), ("position", L / 2), ("width", wm * scale),
                     ("width_scaled", wm), ("n_bands", 1), ("contrast", 5.0)):
            wid[k].append(v)
    pp = io.write_table(tmp / f"prof_{tag}.parquet", BAND_PROFILES, prof)
    pw = io.write_table(tmp / f"wid_{tag}.parquet", BAND_WIDTHS, wid)
    return pp, pw, wid


PARTICLE_STRAINS = (0.18, 0.36, 0.72, 1.43, 2.83, 5.61, 11.12)
EPM_STRAINS = (0.2, 0.6, 1, 2, 6, 10, 20, 60, 100)


def fig7_inputs(tmp):
    rng = np.random.default_rng(7)
    pprof, pwid, eprof, ewid = {}, {}, {}, {}
    for Tp, c in ((0.4, 8.0), (0.2, 4.0)):
        pprof[Tp], pwid[Tp], _ = band_files(tmp, f"p{Tp}", PARTICLE_STRAINS, lambda g: c * g**0.25, 200.0, rng,
                                            scale=1.24)
        for L in (40, 128):
            p, w, wid = band_files(tmp, f"e{Tp}_{L}", EPM_STRAINS, lambda g: 0.3 * c * g**0.5, float(L), rng)
            ewid[(L, Tp)] = w
            if L == 128:
                eprof[Tp] = p
    return pprof, pwid, eprof, ewid, wid


def test_fig7(tmp_path, outdir):
    pprof, pwid, eprof, ewid, _ = fig7_inputs(tmp_path)
    png, pdf = outdir / "fig7.png", outdir / "fig7.pdf"
    info = plot_fig7(pprof, pwid, eprof, ewid, png, pdf)
    check_outputs(png, pdf)
    # the fitted growth exponents recover the synthetic ones (0.25 particles, 0.5 EPM)
    for v in info["particle_growth"].values():
        assert v["b_ci"][0] < 0.25 < v["b_ci"][1]
    for v in info["epm_growth"].values():
        assert v["b"] == pytest.approx(0.5, abs=0.05)
    assert len(info["epm_profiles"][0.2]) == 8  # at most 8 of the 9 strains drawn


def test_fig7_not_computed(tmp_path, outdir):
    pprof, pwid, _, _, _ = fig7_inputs(tmp_path)
    png, pdf = tmp_path / "fig7_partial.png", tmp_path / "fig7_partial.pdf"
    info = plot_fig7(pprof, pwid, {}, {}, png, pdf)
    check_outputs(png, pdf)
    assert "epm_growth" not in info and "particle_growth" in info
    info = plot_fig7({}, {}, {}, {}, png, pdf)
    assert info == {}


def test_fig7_missing_column(tmp_path):
    pprof, pwid, eprof, ewid, wid = fig7_inputs(tmp_path)
    bad = write_partial(tmp_path / "wid_bad.parquet", BAND_WIDTHS, wid, ["n_bands"])
    with pytest.raises(ValueError, match=r"Fig\. 7d.*wid_bad\.parquet.*n_bands"):
        plot_fig7(pprof, pwid, eprof, {**ewid, (40, 0.2): bad}, tmp_path / "x.png")


# ----------------------------------------------------------------------------- Fig. 8

COEF = {"simple_shear": {"sxy": {"c0": 0.02, "c1": 12.0, "c2": -150.0, "c3": 900.0},
                         "pressure": {"c0": 5.0, "c1": 0.0, "c2": 40.0, "c3": 0.0}},
        "dilation": {"sxy": {"c0": 0.02, "c1": -0.04, "c2": 3.0, "c3": -5.0},
                     "pressure": {"c0": 5.0, "c1": 60.0, "c2": 400.0, "c3": 1000.0}}}


def fig8_cols():
    g = np.linspace(0, 0.05, 51)
    cols = {"geometry": [], "strain": [], "sxy": [], "pressure": []}
    for geo, c in COEF.items():
        cols["geometry"] += [geo] * g.size
        cols["strain"] += list(g)
        for obs in ("sxy", "pressure"):
            k = c[obs]
            cols[obs] += list(k["c0"] + k["c1"] * g + k["c2"] * g**2 / 2 + k["c3"] * g**3 / 6)
    return cols


def test_fig8(tmp_path, outdir):
    p = io.write_table(tmp_path / "check.parquet", EXPANSION_CHECK, fig8_cols(), extra={"coefficients": COEF})
    png, pdf = outdir / "fig8.png", outdir / "fig8.pdf"
    info = plot_fig8(p, png, pdf)
    check_outputs(png, pdf)
    # AQS data are the cubic: the second-order curve is closer than the linear one
    for v in info.values():
        assert v["max_dev_quadratic"] < v["max_dev_linear"]


def test_fig8_missing_inputs(tmp_path):
    cols = fig8_cols()
    bad = write_partial(tmp_path / "check_bad.parquet", EXPANSION_CHECK, cols, ["pressure"],
                        extra={"coefficients": COEF})
    with pytest.raises(ValueError, match=r"Fig\. 8.*check_bad\.parquet.*'pressure'"):
        plot_fig8(bad, tmp_path / "x.png")
    p = io.write_table(tmp_path / "nocoef.parquet", EXPANSION_CHECK, cols,
                       extra={"coefficients": {"simple_shear": COEF["simple_shear"]}})
    with pytest.raises(ValueError, match=r"Fig\. 8.*'dilation'"):
        plot_fig8(p, tmp_path / "x.png")


# ----------------------------------------------------------------------------- Fig. 9

ALPHA = 0.65


def fig9_inputs(tmp):
    rng = np.random.default_rng(9)
    sizes = (2500, 10000, 40000, 90000)
    profiles = {}
    cols = {k: [] for k in BAND_SIZE.columns}
    cols["Tp"] = []
    for n in sizes:
        L = np.sqrt(n)  # in d
        for Tp, c in ((0.4, 1.5), (0.2, 1.0)):
            w = c * L**ALPHA * (1 + rng.normal(0, 0.02))
            for k, v in (("source", "particles"), ("size", n), ("box", L), ("strain", 0.15), ("width", w),
                         ("width_err", 0.03 * w), ("Tp", Tp)):
                cols[k].append(v)
        d = np.linspace(-L / 2, L / 2, 41) * 1.24
        w = L**ALPHA * 1.24
        P = 0.05 + 0.5 * np.exp(-0.5 * (d / (w / 2.355)) ** 2)
        profiles[n] = io.write_table(tmp / f"prof9_{n}.parquet", BAND_PROFILES,
                                     {"strain": np.full(d.size, 0.15), "d": d, "profile": P})
    table = io.write_table(tmp / "band_size.parquet", BAND_SIZE, cols)
    return profiles, table, cols


def test_fig9(tmp_path, outdir):
    profiles, table, _ = fig9_inputs(tmp_path)
    png, pdf = outdir / "fig9.png", outdir / "fig9.pdf"
    info = plot_fig9(profiles, table, png, pdf)
    check_outputs(png, pdf)
    assert set(info["alpha"]) == {"particles@0.4", "particles@0.2"}
    for v in info["alpha"].values():
        assert v["ci"][0] < ALPHA < v["ci"][1]
        assert v["n"] == 4


def test_fig9_missing_column(tmp_path):
    profiles, table, cols = fig9_inputs(tmp_path)
    bad = write_partial(tmp_path / "size_bad.parquet", BAND_SIZE, cols, ["width_err"])
    with pytest.raises(ValueError, match=r"Fig\. 9b.*size_bad\.parquet.*width_err"):
        plot_fig9(profiles, bad, tmp_path / "x.png")
