"""The worked examples in the pure modules' docstrings are tests too."""

import doctest
import importlib

import pytest

MODULES = [
    "agent.citations",
    "agent.context",
    "agent.question_match",
    "agent.tutor",
    "core.settings",
    "corpus.glosses",
    "corpus.questions",
    "evals.retrieval",
    "evals.question_match",
    "evals.report",
    "index.expansion",
    "index.fusion",
    "index.lexical",
    "ui.render",
]


@pytest.mark.unit
@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
