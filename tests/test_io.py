"""Parquet I/O: round trips, metadata, schema errors, atomic writes, imports/exports."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from glass2epm.core import io
from glass2epm.core.io import SchemaError


def test_configuration_round_trip(tmp_path, reference_conf):
    p = io.write_configuration(tmp_path / "c.parquet", reference_conf)
    c = io.read_configuration(p)
    np.testing.assert_array_equal(c.x, reference_conf.x)
    np.testing.assert_array_equal(c.sizes, reference_conf.sizes)
    np.testing.assert_array_equal(c.box.h, reference_conf.box.h)
    assert c.model == reference_conf.model
    meta = io.read_meta(p)
    assert meta["schema"] == "configuration" and meta["schema_version"] == 1
    assert meta["columns"]["x"] == "lambda"
    assert meta["units"]["stress"] == "epsilon/lambda^d"
    assert meta["model"]["xc"] == 1.5


def test_deterministic_bytes(tmp_path, reference_conf):
    a = io.write_configuration(tmp_path / "a.parquet", reference_conf).read_bytes()
    b = io.write_configuration(tmp_path / "b.parquet", reference_conf).read_bytes()
    assert a == b


def test_wrong_schema_names_file_and_schema(tmp_path):
    p = io.write_json(tmp_path / "x.json", {"a": 1})
    with pytest.raises(SchemaError, match="not a Parquet file"):
        io.read_configuration(p)
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"x": [1.0]}), plain)
    with pytest.raises(SchemaError, match="not a glass2epm file"):
        io.read_configuration(plain)
    other = io.register(io.Schema("test_other", 1, {"a": ""}))
    p2 = io.write_table(tmp_path / "o.parquet", other, {"a": np.arange(3)})
    with pytest.raises(SchemaError, match="expected a 'configuration' file"):
        io.read_configuration(p2)


def test_missing_column_and_version(tmp_path, reference_conf):
    p = io.write_configuration(tmp_path / "c.parquet", reference_conf)
    t = pq.read_table(p)
    md = json.loads(t.schema.metadata[b"glass2epm"])
    bad = t.drop(["size"])
    pq.write_table(bad, tmp_path / "nosize.parquet")
    with pytest.raises(SchemaError, match=r"missing columns \['size'\]"):
        io.read_configuration(tmp_path / "nosize.parquet")
    md["schema_version"] = 99
    pq.write_table(t.replace_schema_metadata({b"glass2epm": json.dumps(md)}), tmp_path / "v.parquet")
    with pytest.raises(SchemaError, match="version 99 is not supported"):
        io.read_configuration(tmp_path / "v.parquet")


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    with pytest.raises(SchemaError):
        io.write_table(tmp_path / "c.parquet", io.CONFIGURATION, {"x": [1.0]})
    assert list(tmp_path.iterdir()) == []


def test_lerner_import(reference_path):
    c = io.read_lerner(reference_path)
    assert c.N == 1024 and c.dim == 2
    assert c.box.h[0, 0] == pytest.approx(39.6911150685467)
    assert c.model.preset == "lerner-poly2d"


def test_lerner_bad_file(tmp_path):
    p = tmp_path / "bad.dat"
    p.write_text("10 0 1\n0.1 0.2\n")
    with pytest.raises(ValueError, match="columns per particle"):
        io.read_lerner(p)


@pytest.mark.parametrize("ext", [".gsd", ".extxyz"])
def test_exports(tmp_path, reference_conf, ext):
    p = io.export(reference_conf, tmp_path / f"c{ext}")
    if ext == ".gsd":
        import gsd.hoomd

        with gsd.hoomd.open(p) as f:
            fr = f[0]
            assert fr.particles.N == 1024
            np.testing.assert_allclose(fr.particles.diameter, reference_conf.sizes, rtol=1e-6)
    else:
        from ase.io import read

        a = read(p)
        assert len(a) == 1024
        np.testing.assert_allclose(a.arrays["size"], reference_conf.sizes)
