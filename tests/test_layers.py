"""The packages import one way: corpus <- index <- agent <- evals <- ui (tutor/ still holds
both the core settings and errors and the CLI shell: issue 13 splits it; until then it is
left out). A violation names the module and the import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ORDER = ("corpus", "index", "agent", "evals", "ui")


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


@pytest.mark.unit
def test_imports_point_down_the_layers():
    violations = []
    for i, package in enumerate(ORDER):
        above = set(ORDER[i + 1 :])
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in sorted(imported_packages(path) & above):
                violations.append(f"{path.relative_to(ROOT)} imports {name}")
    assert violations == []


@pytest.mark.unit
def test_the_layer_check_sees_lazy_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from ui.app import build_app\n    import evals.runner\n")
    assert imported_packages(module) == {"ui", "evals"}
