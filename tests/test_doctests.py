"""The worked examples in the pure modules' docstrings are tests too."""

import doctest
import importlib

import pytest

MODULES = [
    "agent.answer_guards",
    "agent.citations",
    "agent.context",
    "agent.grader_llm",
    "agent.question_match",
    "agent.scoring",
    "agent.spaced_repetition",
    "agent.tutor",
    "core.jsonl",
    "core.settings",
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
