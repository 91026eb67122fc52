"""The packages import one way: core <- corpus <- index <- agent <- evals <- ui <- cli.

Each package may import only those before it (lazily inside functions too); `core`
imports nothing of ours. Every package of the checkout must have a place in the order,
so a new one cannot slip past the check. A violation names the module and the import.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ORDER = ("core", "corpus", "index", "agent", "evals", "ui", "cli")


def imported_packages(path: Path) -> set[str]:
    """Top-level names of everything a module imports, lazily inside functions too."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def module_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module name -> the modules of `packages` it imports (at the top or lazily)."""
    paths = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            name = ".".join(path.relative_to(root).with_suffix("").parts)
            paths[name.removesuffix(".__init__")] = path
    graph = {}
    for name, path in paths.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets.add(node.module)
                targets.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = {t for t in targets if t in paths and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of `graph`: its strongly connected parts of two or more modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = [stack.pop()]
            while part[-1] != v:
                part.append(stack.pop())
            if len(part) > 1:
                found.append(sorted(part))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def violations(root: Path, order: tuple[str, ...]) -> list[str]:
    """'path imports name' for every import of a package at or above the importer's
    layer in `order`, other than itself."""
    found = []
    for i, package in enumerate(order):
        forbidden = set(order[i + 1 :])
        for path in sorted((root / package).rglob("*.py")):
            for name in sorted(imported_packages(path) & forbidden):
                found.append(f"{path.relative_to(root)} imports {name}")
    return found


@pytest.mark.unit
def test_imports_point_down_the_layers():
    assert violations(ROOT, ORDER) == []


@pytest.mark.unit
def test_core_imports_nothing_of_ours():
    ours = set(ORDER) | {"bench", "scripts", "tests"}
    found = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / "core").rglob("*.py"))
        for name in sorted(imported_packages(path) & (ours - {"core"}))
    ]
    assert found == []


@pytest.mark.unit
def test_every_package_has_a_layer():
    on_disk = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert on_disk == set(ORDER)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert set(pyproject["tool"]["setuptools"]["packages"]) == set(ORDER)


@pytest.mark.unit
def test_no_module_imports_itself_back():
    assert cycles(module_graph(ROOT, ORDER)) == []


@pytest.mark.unit
def test_the_cycle_check_finds_a_cycle():
    graph = {"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}, "a.w": {"a.x"}}
    assert cycles(graph) == [["a.x", "a.y", "a.z"]]


@pytest.mark.unit
def test_the_layer_check_sees_lazy_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from ui.app import build_app\n    import evals.runner\n")
    assert imported_packages(module) == {"ui", "evals"}


@pytest.mark.unit
def test_the_layer_check_fails_on_an_upward_import(tmp_path):
    for package in ("low", "high"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "low" / "m.py").write_text("import low.other\ndef f():\n    import high.x\n")
    (tmp_path / "high" / "m.py").write_text("from low import m\n")
    assert violations(tmp_path, ("low", "high")) == ["low/m.py imports high"]
