"""Workflow hygiene in CI: `snakemake --lint` reports nothing, `snakefmt --check` passes."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_snakemake_lint_is_clean():
    r = subprocess.run([str(BIN / "snakemake"), "--lint"], cwd=ROOT, capture_output=True, text=True)
    out = r.stdout + r.stderr
    assert "Lints for" not in out, out[-4000:]
    assert r.returncode == 0, out[-4000:]


def test_snakefmt_check():
    rules = sorted(str(p) for p in (ROOT / "workflow" / "rules").glob("*.smk"))
    r = subprocess.run([str(BIN / "snakefmt"), "--check", "Snakefile", *rules], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def _restricted_params():
    """{(rule, script): {param: keys}} for the params a rule passes as `keys(section, ...)`."""
    import re

    found = {}
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"^rule ", smk.read_text(), flags=re.M)[1:]:
            rule = block.split(":", 1)[0]
            script = re.search(r'script:\s*"\.\./scripts/(\w+)\.py"', block)
            params = {name: set(re.findall(r'"(\w+)"', args)[1:])
                      for name, args in re.findall(r"(\w+)=keys\(([^)]*)\)", block)}
            if script and params:
                found[(rule, script.group(1))] = params
    return found


def _script_key_reads(path):
    """{param: keys read} of a rule script: `snakemake.params.NAME["key"]`, directly or
    through a local name bound to `snakemake.params.NAME`."""
    import ast

    tree = ast.parse(path.read_text())

    def param_of(node):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                and node.value.attr == "params" and isinstance(node.value.value, ast.Name)
                and node.value.value.id == "snakemake"):
            return node.attr
        return None

    alias = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            pairs = [(node.targets[0], node.value)]
            if isinstance(node.targets[0], ast.Tuple) and isinstance(node.value, ast.Tuple):
                pairs = list(zip(node.targets[0].elts, node.value.elts))
            for t, v in pairs:
                if isinstance(t, ast.Name) and param_of(v):
                    alias[t.id] = param_of(v)
    reads = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            name = param_of(node.value) or (isinstance(node.value, ast.Name) and alias.get(node.value.id))
            if name:
                reads.setdefault(name, set()).add(node.slice.value)
    return reads


def test_rules_pass_exactly_the_config_keys_their_script_reads():
    """A rule's params are its rerun trigger: a key its job does not read would rerun it
    needlessly when edited, a key it reads but is not passed fails the job."""
    found = _restricted_params()
    assert len(found) >= 8, found
    for (rule, script), params in found.items():
        reads = _script_key_reads(ROOT / "workflow" / "scripts" / f"{script}.py")
        for name, passed in params.items():
            assert reads.get(name) == passed, (rule, name, passed, reads.get(name))


def test_no_rule_passes_a_whole_config_section():
    import re

    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        whole = re.findall(r'^\s+\w+=config\["\w+"\],\s*$', smk.read_text(), flags=re.M)
        assert not whole, (smk.name, whole)


def test_report_captions_render_without_rst_warnings():
    """Every caption of workflow/report/ is valid reStructuredText once its Jinja fields are
    filled: a bare |x| (an absolute value) is an undefined substitution to docutils, which
    Snakemake's --report printed as an error (fields.rst, thermal_bridge.rst)."""
    import io
    import re

    from docutils.core import publish_string

    captions = sorted((ROOT / "workflow" / "report").glob("*.rst"))
    assert captions
    for path in captions:
        text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "x", path.read_text())
        err = io.StringIO()
        publish_string(text, writer="html", settings_overrides={"report_level": 2, "warning_stream": err})
        assert not err.getvalue(), f"{path.name}: {err.getvalue()}"
