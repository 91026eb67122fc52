"""The worked examples in the modules' docstrings are tests too: every module of ours
whose source holds one (`>>> `) runs them."""

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "corpus", "index", "agent", "evals", "ui", "cli")


def _modules_with_examples() -> list[str]:
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if ">>> " in path.read_text(encoding="utf-8"):
                rel = path.relative_to(ROOT).with_suffix("")
                names.append(".".join(p for p in rel.parts if p != "__init__"))
    return names


MODULES = _modules_with_examples()


def test_the_pure_modules_are_found():
    for name in ("agent.citations", "index.fusion", "agent.learning_path", "index.chroma"):
        assert name in MODULES


@pytest.mark.unit
@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module)
    assert result.attempted > 0, f"{name} has '>>> ' but no example doctest can run"
    assert result.failed == 0
