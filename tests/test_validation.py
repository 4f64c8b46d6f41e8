"""Bad input is refused before any work: one line naming the file/row/key, exit status 2,
no traceback, no output left (issue: every bad input refused clearly). Also: AQS ends
exactly at the requested strain, plain user tables, exports read by gsd and ASE."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from glass2epm import cli
from glass2epm.core import io
from glass2epm.core.validate import InputError, check_configuration, check_outputs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _lerner(path, conf, rows=None, L=None):
    """Write ``conf`` in the Lerner text format (fractional coordinates)."""
    h = conf.box.h
    s = np.linalg.solve(h, conf.x.T).T % 1.0
    data = np.column_stack([s, conf.sizes]) if rows is None else rows
    L = float(h[0, 0]) if L is None else L
    with open(path, "w") as fh:
        fh.write(f"{L!r} 0 0\n")
        np.savetxt(fh, data, fmt="%.15g")
    return path


def _run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    err = capsys.readouterr().err
    return code, err


def _refused(capsys, tmp_path, out, *argv, match):
    code, err = _run(capsys, *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert match in lines[0], lines[0]
    assert not out.exists()
    return lines[0]


@pytest.fixture
def glass_file(tmp_path, small_glass):
    return io.write_configuration(tmp_path / "glass.parquet", small_glass)


# --- the battery of bad inputs -------------------------------------------------


def test_nan_position_refused(tmp_path, capsys, small_glass):
    rows = np.column_stack([np.linalg.solve(small_glass.box.h, small_glass.x.T).T % 1, small_glass.sizes])
    rows[17, 1] = np.nan
    src = _lerner(tmp_path / "nan.dat", small_glass, rows)
    out = tmp_path / "out.parquet"
    line = _refused(capsys, tmp_path, out, "import-lerner", src, out, match="row 17")
    assert "not finite" in line and "nan.dat" in line


def test_negative_size_refused(tmp_path, capsys, small_glass):
    rows = np.column_stack([np.linalg.solve(small_glass.box.h, small_glass.x.T).T % 1, small_glass.sizes])
    rows[3, 2] = -1.0
    src = _lerner(tmp_path / "neg.dat", small_glass, rows)
    out = tmp_path / "out.parquet"
    _refused(capsys, tmp_path, out, "import-lerner", src, out, match="row 3: size")


def test_truncated_file_refused(tmp_path, capsys, small_glass):
    rows = np.column_stack([np.linalg.solve(small_glass.box.h, small_glass.x.T).T % 1, small_glass.sizes])
    src = _lerner(tmp_path / "cut.dat", small_glass, rows[:200])
    out = tmp_path / "out.parquet"
    line = _refused(capsys, tmp_path, out, "import-lerner", src, out, match="density")
    assert "cut short" in line
    # a half-written last line is named too
    text = src.read_text().splitlines()
    src.write_text("\n".join(text[:-1] + [text[-1].split()[0]]) + "\n")
    _refused(capsys, tmp_path, out, "import-lerner", src, out, match="cut.dat")


def test_overlap_and_duplicate_refused(tmp_path, capsys, small_glass):
    s = np.linalg.solve(small_glass.box.h, small_glass.x.T).T % 1
    rows = np.column_stack([s, small_glass.sizes])
    rows[9, :2] = rows[4, :2]  # a duplicate particle
    src = _lerner(tmp_path / "dup.dat", small_glass, rows)
    out = tmp_path / "out.parquet"
    line = _refused(capsys, tmp_path, out, "import-lerner", src, out, match="rows 4 and 9")
    assert "duplicate" in line
    rows[9, :2] = rows[4, :2] + 0.2 / small_glass.box.h[0, 0]  # 0.2 λ apart: overlapping
    src = _lerner(tmp_path / "ovl.dat", small_glass, rows)
    _refused(capsys, tmp_path, out, "import-lerner", src, out, match="overlapping")


def test_no_particles_and_bad_box_refused(tmp_path, capsys):
    out = tmp_path / "out.parquet"
    p = tmp_path / "empty.dat"
    p.write_text("10 0 0\n")
    _refused(capsys, tmp_path, out, "import-lerner", p, out, match="N = 0")
    p.write_text("0 0 0\n0.5 0.5 1.0\n")
    _refused(capsys, tmp_path, out, "import-lerner", p, out, match="L > 0")


def test_output_equal_to_input_refused(tmp_path, capsys, glass_file):
    before = glass_file.read_bytes()
    code, err = _run(capsys, "aqs", glass_file, "--step", "1e-3", "--strain", "0.01", "-o", glass_file)
    assert code == 2 and "also an input" in err and len(err.strip().splitlines()) == 1
    assert glass_file.read_bytes() == before


def test_unwritable_output_refused_before_work(tmp_path, capsys, glass_file):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = blocker / "series.parquet"
    code, err = _run(capsys, "aqs", glass_file, "--step", "1e-3", "--strain", "0.01", "-o", out)
    assert code == 2 and "cannot write" in err
    with pytest.raises(InputError, match="cannot write"):
        check_outputs([blocker / "a" / "b.parquet"])


def test_huge_cavity_and_liquid_refused(tmp_path, capsys, glass_file, small_glass):
    out = tmp_path / "map.parquet"
    _refused(capsys, tmp_path, out, "yieldmap", glass_file, "--radius", "100", "-o", out, match="--radius")
    liquid = small_glass.copy()
    liquid.x = liquid.x + np.random.default_rng(1).normal(0, 0.05, liquid.x.shape)
    lf = io.write_configuration(tmp_path / "liquid.parquet", liquid)
    _refused(capsys, tmp_path, out, "yieldmap", lf, "-o", out, match="not an inherent state")


def test_absurd_step_refused(tmp_path, capsys, glass_file):
    out = tmp_path / "s.parquet"
    _refused(capsys, tmp_path, out, "aqs", glass_file, "--step", "2", "--strain", "0.5", "-o", out,
             match="too large")


def test_debug_shows_the_traceback(tmp_path, glass_file):
    with pytest.raises(ValueError, match="too large"):
        cli.main(["--debug", "aqs", str(glass_file), "--step", "2", "--strain", "3", "-o",
                  str(tmp_path / "s.parquet")])


def test_reference_configuration_passes(reference_conf):
    check_configuration(reference_conf, "reference")


# --- AQS ends exactly at the requested strain -------------------------------------


def test_aqs_ends_exactly_at_the_target(small_glass):
    from glass2epm.aqs.engine import run_aqs

    full = run_aqs(small_glass, 4e-3, 0.010)
    short = run_aqs(small_glass, 4e-3, 0.008)
    g = full.series["strain"]
    assert g[-1] == 0.010 and len(g) == 4  # 0, 0.004, 0.008, then 0.002 more
    assert full.final.strain["gamma"] == 0.010
    np.testing.assert_array_equal(full.series["sxy"][:3], short.series["sxy"])
    L = small_glass.box.h[1, 1]
    assert full.final.box.h[0, 1] == pytest.approx(0.010 * L, rel=1e-12)


# --- plain user tables --------------------------------------------------------------


def test_epm_reads_plain_thresholds(tmp_path, capsys):
    sy = np.random.default_rng(0).uniform(0.5, 1.5, 400)
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"sigma_y": sy}), plain)
    csv = tmp_path / "plain.csv"
    csv.write_text("sigma_y\n" + "\n".join(f"{float(v)!r}" for v in sy) + "\n")
    outs = []
    for src in (plain, csv):
        out = tmp_path / f"epm-{src.suffix[1:]}.parquet"
        code, err = _run(capsys, "epm", "--thresholds", src, "-L", "8", "--eps-pl", "0.1", "--modulus", "10",
                         "--strain", "0.3", "--seed", "1", "-o", out)
        assert code == 0, err
        outs.append(io.read_table(out).columns)
    for k in outs[0]:
        np.testing.assert_array_equal(outs[0][k], outs[1][k])
    bad = tmp_path / "bad.csv"
    bad.write_text("sy\n1.0\n")
    out = tmp_path / "bad.parquet"
    _refused(capsys, tmp_path, out, "epm", "--thresholds", bad, "-L", "8", "--eps-pl", "0.1", "--modulus", "10",
             "--strain", "0.3", "--seed", "1", "-o", out, match="missing ['sigma_y']")


def test_bands_reads_plain_activity(tmp_path, capsys):
    rng = np.random.default_rng(2)
    x, y = rng.uniform(0, 20, 2000), rng.uniform(0, 20, 2000)
    act = (np.abs(y - 10) < 1.5).astype(float) * 3 + rng.poisson(0.1, 2000)
    plain = tmp_path / "act.parquet"
    pq.write_table(pa.table({"x": x, "y": y, "activity": act}), plain)
    code, err = _run(capsys, "bands", plain, "--box", "20")
    assert code == 0, err
    code, err = _run(capsys, "bands", plain)
    assert code == 2 and "--box" in err


# --- exports that real readers read ---------------------------------------------------


def _sheared(conf, gamma):
    """``conf`` with its cell sheared affinely to γ (tilt reduced internally, as AQS keeps it)."""
    from glass2epm.core.box import Box, deformation

    D = deformation("simple_shear", gamma, conf.dim)
    c = conf.copy()
    c.x = conf.x @ D.T
    c.box = Box(D @ conf.box.h)
    c.strain = {"gamma": gamma, "geometry": "simple_shear", "step": int(round(gamma * 1e4))}
    return c


def test_gsd_export_keeps_the_continuous_tilt(tmp_path, small_glass):
    import gsd.hoomd

    c = _sheared(small_glass, 0.7)
    assert abs(c.box.h[0, 1]) <= 0.5 * c.box.h[0, 0]  # folded inside
    d2 = np.arange(c.N, dtype=float)
    p = io.export(c, tmp_path / "c.gsd", particles={"d2min": d2})
    with gsd.hoomd.open(p) as f:
        fr = f[0]
        Lx, Ly, Lz, xy = fr.configuration.box[:4]
        assert Lz == 0 and fr.configuration.dimensions == 2
        assert xy == pytest.approx(0.7, rel=1e-6)  # continuous: xy = γ, not γ − 1
        assert fr.configuration.step == 7000
        assert fr.log["glass2epm/strain"][0] == pytest.approx(0.7)
        np.testing.assert_array_equal(fr.log["particles/d2min"], d2)
        # positions: the same periodic system (fractional coordinates in the continuous cell)
        h = np.array([[Lx, xy * Ly], [0, Ly]])
        s = np.linalg.solve(h, fr.particles.position[:, :2].T.astype(float)).T
        assert np.all(np.abs(s) <= 0.5 + 1e-6)
        s0 = np.linalg.solve(h, c.x.T).T
        ds = s - s0
        np.testing.assert_allclose(ds - np.round(ds), 0, atol=1e-5)


def test_extxyz_export_for_ovito_and_ase(tmp_path, small_glass):
    from ase.io import read

    c = _sheared(small_glass, 0.6)
    p = io.export(c, tmp_path / "c.extxyz", particles={"sigma_y": np.ones(c.N)})
    a = read(p)
    assert list(a.pbc) == [True, True, False]
    np.testing.assert_allclose(a.arrays["radius"], 0.5 * c.sizes)
    np.testing.assert_allclose(a.arrays["sigma_y"], 1.0)
    assert a.cell[1, 0] == pytest.approx(0.6 * c.box.h[1, 1])  # tilt of the second cell vector
    assert a.info["step"] == 6000 and a.info["strain"] == pytest.approx(0.6)
    assert "pbc=\"T T F\"" in p.read_text().splitlines()[1]


def test_snapshot_folder_becomes_one_trajectory(tmp_path, capsys, small_glass):
    import gsd.hoomd
    from ase.io import read

    snaps = tmp_path / "series.snapshots"
    snaps.mkdir()
    for k, g in enumerate((0.0, 0.3, 0.6, 0.9)):
        io.write_configuration(snaps / f"step-{k:08d}.parquet", _sheared(small_glass, g))
    act = tmp_path / "act.parquet"
    pq.write_table(pa.table({"particle": np.arange(small_glass.N)[::-1], "d2min": np.arange(small_glass.N)[::-1] * 1.0}), act)
    code, err = _run(capsys, "export", snaps, tmp_path / "traj.gsd", "--with", act)
    assert code == 0, err
    with gsd.hoomd.open(tmp_path / "traj.gsd") as f:
        assert len(f) == 4
        assert [fr.configuration.box[3] for fr in f] == pytest.approx([0.0, 0.3, 0.6, 0.9], rel=1e-6)
        np.testing.assert_array_equal(f[2].log["particles/d2min"], np.arange(small_glass.N))
    code, err = _run(capsys, "export", snaps, tmp_path / "traj.extxyz")
    assert code == 0, err
    frames = read(tmp_path / "traj.extxyz", index=":")
    assert len(frames) == 4 and frames[3].cell[1, 0] == pytest.approx(0.9 * small_glass.box.h[1, 1])


def test_bands_takes_the_box_from_an_epm_table(tmp_path, capsys):
    rng = np.random.default_rng(4)
    x, y = rng.uniform(0, 32, 3000), rng.uniform(0, 32, 3000)
    act = (np.abs(x - 16) < 2).astype(float) * 4 + rng.poisson(0.1, 3000)
    p = io.write_table(tmp_path / "epm.parquet", "activity", {"x": x, "y": y, "activity": act},
                       extra={"L": 32, "source": "epm", "length_unit": "block"})
    code, err = _run(capsys, "bands", p)
    assert code == 0, err


def test_report_landing_page(tmp_path):
    """The landing page opens with the key-numbers table, then the figures with captions."""
    from glass2epm.plotting.index import write_index

    table = tmp_path / "comparison.tsv"
    table.write_text("quantity\tthis run\tpaper\neps_pl\t0.12\t0.1\n")
    figs = tmp_path / "figures"
    figs.mkdir()
    (figs / "fig1.png").write_bytes(b"\x89PNG")
    out = write_index(table, [(figs / "fig1.png", "Fig. 1. P(|φ|) <tails>")], tmp_path / "report" / "index.html")
    text = out.read_text()
    assert text.index("Key numbers") < text.index("<table") < text.index("<figure>")
    assert "eps_pl" in text and "../figures/fig1.png" in text and "Fig. 1. P(|φ|) &lt;tails&gt;" in text


@pytest.mark.parametrize("argv, match", [
    (["prepare", "--N", "0", "--Tp", "1", "-o", "{o}"], "--N = 0"),
    (["prepare", "--N", "100", "--Tp", "-1", "-o", "{o}"], "--Tp = -1.0"),
    (["epm", "--thresholds", "{o}", "-L", "1", "--eps-pl", "0.1", "--modulus", "1", "--strain", "1",
      "--seed", "1", "-o", "{o}2"], "--size = 1"),
    (["prepare", "--N", "100", "--Tp", "nan", "-o", "{o}"], "--Tp"),
])
def test_numeric_options_have_ranges(tmp_path, capsys, argv, match):
    out = tmp_path / "o.parquet"
    code, err = _run(capsys, *[a.replace("{o}", str(out)) for a in argv])
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()
