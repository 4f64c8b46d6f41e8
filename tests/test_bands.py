"""Tests of glass2epm.bands.detect on synthetic activity maps with imposed bands
(Sec. V B, App. D): orientation, position (within a bin), width (within 15 %),
isotropic fields → "none", two bands, w(γ)/w(L) fits, and the CLI."""

import json

import numpy as np
import pytest

from glass2epm.bands import detect as B
from glass2epm.bands import growth as G
from glass2epm import cli
from glass2epm.core import io
from glass2epm.core.box import Box

FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


def particle_field(L=80.0, N=6000, orient="x", centres=(30.0,), shape="gauss", s=4.0, W=10.0,
                   bg=0.2, amp=3.0, seed=0):
    """Random particle positions; activity ~ Poisson(bg + amp g(d)) with d the
    periodic distance across the band (y for a band along x)."""
    rng = np.random.default_rng(seed)
    x, y = rng.random(N) * L, rng.random(N) * L
    lam = np.full(N, bg)
    u = y if orient == "x" else x
    for c in centres:
        d = (u - c + L / 2) % L - L / 2
        lam += amp * (np.exp(-(d**2) / (2 * s * s)) if shape == "gauss" else (np.abs(d) < W / 2))
    return x, y, rng.poisson(lam).astype(float)


def periodic_dist(a, b, L):
    return abs((a - b + L / 2) % L - L / 2)


@pytest.mark.parametrize("orient", ["x", "y"])
@pytest.mark.parametrize(
    "shape,centre,true_width",
    [("gauss", 30.0, FWHM_PER_SIGMA * 4.0), ("hat", 52.3, 10.0), ("gauss", 0.7, FWHM_PER_SIGMA * 4.0),
     ("hat", 78.0, 12.0)],  # the last two straddle the periodic boundary
)
def test_imposed_band_is_found(orient, shape, centre, true_width):
    L = 80.0
    x, y, a = particle_field(L, orient=orient, centres=(centre,), shape=shape, W=true_width,
                             seed=int(centre * 10))
    r = B.detect_band(x, y, a, L, seed=1)
    assert r.orientation == orient
    assert r.n_bands == 1
    assert periodic_dist(r.position, centre, L) <= r.bin_width
    assert r.width == pytest.approx(true_width, rel=0.15)
    # the profile across the band is P(y) for a band along x
    assert r.profile.axis == ("y" if orient == "x" else "x")
    # width_std: the second moment, s for a Gaussian, W/√12 for a top-hat (looser)
    expected_std = true_width / FWHM_PER_SIGMA if shape == "gauss" else true_width / np.sqrt(12)
    assert r.width_std == pytest.approx(expected_std, rel=0.35)
    # centred profile: maximum at d ≈ 0
    d, v = r.centered()
    assert abs(d[np.nanargmax(v)]) <= 1.5 * r.bin_width
    assert np.all(np.diff(d) > 0) and d.min() >= -L / 2 and d.max() < L / 2


def test_width_in_scaled_units_and_json():
    x, y, a = particle_field(seed=3)
    r = B.detect_band(x, y, a, 80.0, scale=2.0)
    d = r.to_dict()
    assert d["width_scaled"] == pytest.approx(r.width / 2.0)
    json.dumps(d)  # plain JSON types only


@pytest.mark.parametrize("seed", range(4))
def test_isotropic_fields_give_none(seed):
    L, N = 80.0, 6000
    rng = np.random.default_rng(40 + seed)
    x, y = rng.random(N) * L, rng.random(N) * L
    # Poisson noise
    r = B.detect_band(x, y, rng.poisson(0.5, N).astype(float), L, seed=seed)
    assert r.orientation == "none" and r.n_bands == 0 and r.width is None
    # clustered but isotropic: Gaussian blobs of activity at random places
    lam = np.full(N, 0.2)
    for cx, cy in rng.random((40, 2)) * L:
        dx = (x - cx + L / 2) % L - L / 2
        dy = (y - cy + L / 2) % L - L / 2
        lam += 2.0 * np.exp(-(dx**2 + dy**2) / (2 * 3.0**2))
    r = B.detect_band(x, y, rng.poisson(lam).astype(float), L, seed=seed)
    assert r.orientation == "none", r.test


def test_band_beats_clustered_background():
    """A band on top of isotropic clusters is still found."""
    L, N = 80.0, 6000
    x, y, a = particle_field(L, N, orient="y", centres=(20.0,), amp=2.0, seed=5)
    rng = np.random.default_rng(6)
    lam = np.zeros(N)
    for cx, cy in rng.random((30, 2)) * L:
        dx = (x - cx + L / 2) % L - L / 2
        dy = (y - cy + L / 2) % L - L / 2
        lam += 2.0 * np.exp(-(dx**2 + dy**2) / (2 * 3.0**2))
    r = B.detect_band(x, y, a + rng.poisson(lam), L)
    assert r.orientation == "y"
    assert periodic_dist(r.position, 20.0, L) <= r.bin_width


def test_two_bands():
    L = 80.0
    x, y, a = particle_field(L, orient="x", centres=(20.0, 62.0), seed=7)
    r = B.detect_band(x, y, a, L)
    assert r.orientation == "x" and r.n_bands == 2
    found = sorted(b.position for b in r.bands)
    assert periodic_dist(found[0], 20.0, L) <= r.bin_width
    assert periodic_dist(found[1], 62.0, L) <= r.bin_width
    for b in r.bands:
        assert b.width == pytest.approx(FWHM_PER_SIGMA * 4.0, rel=0.15)
    # one band only: one
    x, y, a = particle_field(L, orient="x", centres=(20.0,), seed=7)
    assert B.detect_band(x, y, a, L).n_bands == 1


def test_epm_lattice_blocks():
    """Blocks on an L×L lattice at integer coordinates: one bin per block,
    centred on the block; a 1-block band has width 1 and sits on its row, a
    5-block band (straddling the boundary) has width 5."""
    L = 48
    i, j = np.meshgrid(np.arange(L), np.arange(L), indexing="ij")
    rng = np.random.default_rng(0)
    for off in (0.0, 0.5):  # blocks at integer or half-integer coordinates
        x, y = i.ravel() + off, j.ravel() + off
        assert B.default_bin_width(x, y, L) == 1.0
        for rows, centre in (([17], 17.0), ([46, 47, 0, 1, 2], 0.0)):
            lam = np.where(np.isin(j.ravel(), rows), 6.0, 0.1)
            a = rng.poisson(lam).astype(float)
            r = B.detect_band(x, y, a, L)
            assert r.orientation == "x" and r.bin_width == 1.0
            assert r.width == pytest.approx(len(rows), rel=0.15)
            assert periodic_dist(r.position, centre + off, L) <= 0.25
            # transposed map: band along y
            assert B.detect_band(y, x, a, L).orientation == "y"


def test_profile_matches_plain_reference():
    """P(y) = mean activity per particle in each slab, by a plain loop."""
    L = 20.0
    rng = np.random.default_rng(1)
    x, y = rng.random(500) * L - 5.0, rng.random(500) * L + 13.0  # not wrapped
    a = rng.integers(0, 5, 500).astype(float)
    g = B.activity_grid(x, y, a, L, bin_width=2.5)
    p = g.profile("y")
    assert p.coord.size == 8
    yw = y % L
    for k in range(8):
        sel = (yw >= 2.5 * k) & (yw < 2.5 * (k + 1))
        assert p.value[k] == pytest.approx(a[sel].mean())
        assert p.count[k] == sel.sum()
    px = g.profile("x")
    xw = x % L
    sel = (xw >= 5.0) & (xw < 7.5)
    assert px.value[2] == pytest.approx(a[sel].mean())


def test_wrap_positions_agrees_with_box_wrap():
    """Lees–Edwards: the wrapped positions are those of the sheared cell."""
    box = Box.square(30.0, 2, gamma=0.3)
    rng = np.random.default_rng(2)
    r = rng.normal(0, 40, (200, 2))
    ref = box.wrap(r)
    xw, yw = B.wrap_positions(r[:, 0], r[:, 1], 30.0, tilt=box.h[0, 1])
    s_ref = np.linalg.solve(box.h, ref.T).T
    assert np.allclose(yw, ref[:, 1])
    assert np.allclose(xw, s_ref[:, 0] * 30.0)


def test_center_profile_roll():
    coord = np.arange(10) + 0.5
    val = np.arange(10.0)
    d, v = B.center_profile(coord, val, 9.5, 10.0)
    assert np.allclose(d, np.arange(-5, 5))
    assert v[5] == 9.0 and v[6] == 0.0  # bin 0 sits just right of the centre 9.5 (periodic)


def test_forced_orientation_and_track_band_growth():
    """w(γ): bands of imposed width s ∝ γ^0.25 are tracked (orientation from the
    last map) and the fitted exponent's CI contains 0.25."""
    L = 100.0
    gammas = np.array([0.2, 0.5, 1.0, 2.0, 5.0, 10.0])
    s = 4.0 * gammas**0.25  # ≥ 2.7 bins: well resolved (module docstring: binning)
    fields = [particle_field(L, N=12000, orient="x", centres=(40.0,), s=si, amp=4.0, seed=k)
              for k, si in enumerate(s)]
    res = G.track_band(fields, L, bin_width=1.0)
    assert all(r.orientation == "x" for r in res)
    w = np.array([r.width for r in res])
    assert np.allclose(w, FWHM_PER_SIGMA * s, rtol=0.15)
    g = G.fit_width(gammas, w)
    assert g.fit.contains(0.25)
    assert abs(g.fit.b - 0.25) < 0.03


def test_fit_width_scaling_with_replicates():
    Ls = np.array([20.0, 40.0, 80.0, 160.0])
    rng = np.random.default_rng(3)
    exact = G.fit_width(Ls, 0.8 * Ls**0.68)
    assert exact.fit.b == pytest.approx(0.68, abs=1e-12)
    reps = [0.8 * Lv**0.68 * (1 + 0.05 * rng.standard_normal(6)) for Lv in Ls]
    f = G.fit_width(Ls, reps)
    assert f.w_err is not None and np.all(f.n_rep == 6)
    assert f.fit.contains(0.68)


# ----------------------------------------------------------------------------- files / CLI


def run_cli(argv, capsys):
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_end_to_end(tmp_path, capsys):
    L = 80.0
    x, y, a = particle_field(L, orient="y", centres=(77.0,), shape="hat", W=8.0, seed=9)
    path = B.write_activity(tmp_path / "act.parquet", x, y, a, box_side=L)
    rc, out, err = run_cli(["bands", str(path)], capsys)
    assert rc == 0, err
    assert len(out.strip().splitlines()) == 1
    d = json.loads(out)
    for k in ("orientation", "position", "width", "n_bands"):
        assert k in d
    assert d["orientation"] == "y" and d["n_bands"] == 1
    assert periodic_dist(d["position"], 77.0, L) <= d["bin_width"]
    assert d["width"] == pytest.approx(8.0, rel=0.15)

    # box from box.h metadata (written with io.write_table directly)
    p2 = io.write_table(tmp_path / "b.parquet", "activity", {"x": x, "y": y, "activity": a},
                        box=Box.square(L))
    rc, out, _ = run_cli(["bands", str(p2), "--bin", "4"], capsys)
    assert rc == 0 and json.loads(out)["bin_width"] == pytest.approx(4.0)

    # no box anywhere: clear error, exit 2; --box fixes it
    p3 = io.write_table(tmp_path / "c.parquet", "activity", {"x": x, "y": y, "activity": a})
    rc, out, err = run_cli(["bands", str(p3)], capsys)
    assert rc == 2 and "box" in err and "c.parquet" in err
    rc, out, _ = run_cli(["bands", str(p3), "--box", str(L)], capsys)
    assert rc == 0 and json.loads(out)["orientation"] == "y"

    # isotropic field → none
    rng = np.random.default_rng(1)
    p4 = B.write_activity(tmp_path / "d.parquet", x, y, rng.poisson(0.3, x.size), box_side=L)
    rc, out, _ = run_cli(["bands", str(p4)], capsys)
    assert rc == 0 and json.loads(out)["orientation"] == "none"
    assert json.loads(out)["n_bands"] == 0 and json.loads(out)["width"] is None


def test_cli_accepts_other_schemas_with_the_columns(tmp_path, capsys):
    other = io.register(io.Schema("test-bands-other", 1, {"x": "lambda", "y": "lambda", "activity": "count",
                                                           "extra_col": ""}))
    x, y, a = particle_field(seed=11)
    p = io.write_table(tmp_path / "o.parquet", other, {"x": x, "y": y, "activity": a, "extra_col": a * 0},
                       extra={"box_side": 80.0})
    rc, out, _ = run_cli(["bands", str(p)], capsys)
    assert rc == 0 and json.loads(out)["orientation"] == "x"
    # a file without the columns: exit 2 naming what is missing
    p2 = io.write_table(tmp_path / "n.parquet", other, {"x": x, "y": y, "activity": a, "extra_col": a})
    import pyarrow.parquet as pq

    t = pq.read_table(p2).drop(["activity"])
    pq.write_table(t, tmp_path / "m.parquet")
    rc, _, err = run_cli(["bands", str(tmp_path / "m.parquet"), "--box", "80"], capsys)
    assert rc == 2 and "activity" in err
    rc, _, err = run_cli(["bands", str(tmp_path / "missing.parquet")], capsys)
    assert rc == 2


def test_band_stage_commands_match_task_functions(tmp_path, capsys):
    """`glass2epm band-profiles` / `band-growth` write what the rule's task functions write,
    and a band growing as 8 + 40 γ (in λ) gives a positive growth exponent."""
    import json as _json

    from glass2epm.bands import tasks
    from glass2epm.core.schemas import ACTIVITY_SERIES

    L = 60.0
    paths = []
    for r in range(2):
        cols = {k: [] for k in ACTIVITY_SERIES.columns}
        for k, g in enumerate((0.05, 0.1, 0.15, 0.2)):
            x, y, a = particle_field(L=L, N=3000, s=(8.0 + 40 * g) / FWHM_PER_SIGMA, centres=(25.0,), seed=10 * r + k)
            for c, v in zip(("strain", "x", "y", "activity"), (np.full(x.size, g), x, y, a)):
                cols[c].append(v)
        p = tmp_path / f"r{r}.parquet"
        io.write_table(p, ACTIVITY_SERIES, {k: np.concatenate(v) for k, v in cols.items()},
                       extra={"box_side": L, "scale": 1.0})
        paths.append(str(p))
    tasks.band_profiles(paths, tmp_path / "w_task.parquet", tmp_path / "p_task.parquet")
    assert cli.main(["band-profiles", *paths, "--widths", str(tmp_path / "w_cli.parquet"),
                     "--profiles", str(tmp_path / "p_cli.parquet")]) == 0
    for name in ("w", "p"):
        a, b = io.read_table(tmp_path / f"{name}_task.parquet"), io.read_table(tmp_path / f"{name}_cli.parquet")
        for c in a.columns:
            assert np.array_equal(np.asarray(a[c]), np.asarray(b[c]))
    assert cli.main(["band-growth", str(tmp_path / "w_cli.parquet"), "--tp", "0.5",
                     "-o", str(tmp_path / "growth.json")]) == 0
    out = _json.loads((tmp_path / "growth.json").read_text())
    assert out["Tp"] == 0.5 and out["particles"]["exponent"] > 0
    ret = tasks.band_growth(tmp_path / "w_task.parquet", [], 0.5, tmp_path / "g2.json")
    assert _json.loads((tmp_path / "g2.json").read_text()) == out == {**ret, "units": io.UNITS}
