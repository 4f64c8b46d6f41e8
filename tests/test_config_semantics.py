"""How user config files combine with the defaults (glass2epm.core.config): sections merge,
values, lists and free maps are replaced, numeric keys accepted, bad keys one short line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from glass2epm.core.config import ConfigError, assemble, load_yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = load_yaml(ROOT / "config" / "config.yaml")
SCHEMA = load_yaml(ROOT / "workflow" / "schemas" / "config.schema.yaml")


def test_sections_merge_and_free_maps_replace():
    cfg = assemble(DEFAULT, [{"aqs": {"step": 2e-4, "strain_by_N": {10000: 0.5}},
                              "onset": {"Tp": {"richard2023": [8.0, 4.0]}}}], SCHEMA)
    assert cfg["aqs"]["step"] == 2e-4
    assert cfg["aqs"]["strain"] == DEFAULT["aqs"]["strain"]  # untouched keys of the section stay
    assert cfg["aqs"]["strain_by_N"] == {"10000": 0.5}  # numeric key accepted, map replaced
    assert cfg["onset"]["Tp"] == {"richard2023": [8.0, 4.0]}  # the other preset no longer runs


def test_empty_map_clears_the_default():
    assert DEFAULT["swap_mc"]["sweeps_by_Tp"]
    cfg = assemble(DEFAULT, [{"swap_mc": {"sweeps_by_Tp": {}}}], SCHEMA)
    assert cfg["swap_mc"]["sweeps_by_Tp"] == {}
    cfg = assemble(DEFAULT, [{"swap_mc": {"sweeps_by_Tp": {0.4: 1000}}}], SCHEMA)
    assert cfg["swap_mc"]["sweeps_by_Tp"] == {"0.40": 1000}


@pytest.mark.parametrize("layer, match", [
    ({"aqs": {"stepp": 1e-4}}, "unknown config key 'aqs.stepp'; did you mean 'step'?"),
    ({"yeild": {}}, "unknown config key 'yeild'; did you mean 'yield'?"),
    ({"aqs": {"step": "fast"}}, "config key 'aqs.step' = 'fast'"),
    ({"glasses": {"Tp": [0.701, 0.704]}}, "more than two decimals"),
])
def test_bad_keys_get_one_short_line(layer, match):
    with pytest.raises(ConfigError) as err:
        assemble(DEFAULT, [layer], SCHEMA)
    msg = str(err.value)
    assert match in msg and "\n" not in msg and len(msg) < 400


def test_snakemake_reports_an_unknown_key_briefly(tmp_path):
    user = tmp_path / "my.yaml"
    user.write_text(yaml.safe_dump({"aqs": {"stepp": 1e-4}}))
    snakemake = Path(sys.executable).with_name("snakemake")
    r = subprocess.run([str(snakemake), "-n", "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
                        "--configfile", str(user), "--cores", "1"], capture_output=True, text=True,
                       env={**os.environ}, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert "unknown config key 'aqs.stepp'; did you mean 'step'?" in out
    assert len(out.splitlines()) < 40, out
