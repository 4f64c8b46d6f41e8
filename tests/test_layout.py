"""The package layout rules of the README's architecture section, checked on the source.

* no import cycle between the package's modules, counting imports inside functions;
* no module over 900 lines;
* every sub-package of the pipeline exists and has a docstring.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "workflow" / "glass2epm"
MAX_LINES = 900
STAGES = ("core", "mechanics", "prepare", "aqs", "yieldstress", "epm", "thermal", "fields", "qlm", "bands", "analysis",
          "aqrd", "plotting", "commands")


def _modules() -> dict[str, Path]:
    mods = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = list(p.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = p
    return mods


def import_graph() -> dict[str, set[str]]:
    """Module → the package modules it imports (anywhere in its body)."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        is_pkg = path.name == "__init__.py"
        base = name.split(".") if is_pkg else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    root = ".".join(base[: len(base) - (node.level - 1)])
                    mod = f"{root}.{node.module}" if node.module else root
                else:
                    mod = node.module or ""
                targets = [mod] + [f"{mod}.{a.name}" for a in node.names]
            for t in targets:
                # the longest prefix that is a package module
                parts = t.split(".")
                while parts and ".".join(parts) not in mods:
                    parts.pop()
                if parts and ".".join(parts) != name:
                    graph[name].add(".".join(parts))
    return graph


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_finds_a_cycle():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(g) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    graph = import_graph()
    assert len(graph) > 40
    # packages import nothing but their own docstring: an edge into a package is an edge into __init__
    assert _cycles(graph) == []


def test_no_module_over_the_line_limit():
    long = {m: len(p.read_text().splitlines()) for m, p in _modules().items()}
    over = {m: n for m, n in long.items() if n > MAX_LINES}
    assert not over, f"modules over {MAX_LINES} lines: {over}"


@pytest.mark.parametrize("stage", STAGES)
def test_stage_subpackages_exist_with_docstrings(stage):
    init = PKG / stage / "__init__.py"
    assert init.exists(), f"missing sub-package {stage}"
    assert ast.get_docstring(ast.parse(init.read_text())), f"{stage}/__init__.py has no docstring"


def test_readme_architecture_lists_every_module():
    """The README's architecture section matches the tree: every module is named there."""
    import re

    text = (PKG.parents[1] / "README.md").read_text()
    section = text[text.index("## Architecture"):]
    section = section[: section.index("\n## ", 5)]
    missing = []
    for p in sorted(PKG.rglob("*.py")):
        if p.name == "__init__.py" or p.parent.name == "commands":
            continue
        if p.parent.name == "plotting" and re.match(r"fig\d|onset", p.stem):
            continue  # "one module per figure"
        if p.name not in section:
            missing.append(str(p.relative_to(PKG)))
    assert not missing, f"modules missing from the README's architecture section: {missing}"
    for stage in STAGES:
        assert f"{stage}/" in section, stage


@pytest.mark.parametrize("marker, home", [
    ("alpha *= 0.99", "glass2epm.mechanics.minimize"),  # the FIRE step (Bitzek 2006)
    ("(d2 - f1) * (ir * ir)", "glass2epm.core.contractions"),  # (second), Eq. B2
])
def test_one_home_for_shared_mechanics(marker, home):
    """The FIRE update and the Eq. B2 prefactor are written once (issue: one mechanics core)."""
    where = sorted(m for m, p in _modules().items() if marker in p.read_text())
    assert where == [home]


MAX_KERNEL_ARGS = 12


def test_kernels_take_named_state_not_long_argument_lists():
    """No numba kernel of the package takes more than MAX_KERNEL_ARGS positional parameters
    (issue: records or small tuples instead of 15–33 positional arguments)."""
    long = []
    for mod, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and any(
                    "jit" in ast.unparse(d) for d in node.decorator_list):
                if len(node.args.args) > MAX_KERNEL_ARGS:
                    long.append(f"{mod}.{node.name} ({len(node.args.args)})")
    assert not long, f"kernels with more than {MAX_KERNEL_ARGS} positional parameters: {long}"


@pytest.mark.parametrize("marker, home", [
    ("def packed_lists(", "glass2epm.core.neighbors"),  # SWAP MC's lists: with the one neighbour query
    ("def cell_coord(", "glass2epm.core.cells"),
    ("def cell_stencil(", "glass2epm.core.cells"),
    ("def affine_force_rows(", "glass2epm.mechanics.linear_response"),  # Ξ of Eq. 5, global and restricted
])
def test_one_neighbour_query_and_one_eq5(marker, home):
    """The cell binning, SWAP MC's packed lists and the right-hand side of Eq. 5 live in one
    module each; no other module bins particles into cells by itself."""
    where = sorted(m for m, p in _modules().items() if marker in p.read_text())
    assert where == [home]
    import re

    counting = re.compile(r"cstart\[.+ \+ 1\] \+= 1|argsort\(cid")
    binning = sorted(m for m, p in _modules().items() if counting.search(p.read_text()))
    assert binning == ["glass2epm.core.cells"], binning
