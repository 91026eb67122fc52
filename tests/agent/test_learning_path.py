"""The learning path: the shipped path file against the shipped roadmap, its checks, and
what practice offers a learner as sections unlock (real bank, real SQLite store)."""

from __future__ import annotations

import json

import pytest

from agent.learning_path import (
    PATH_FILE,
    Prerequisites,
    build_path,
    load_prerequisites,
    open_items,
    parse_prerequisites,
    section_path,
)
from agent.practice import due_now, next_question, open_progress, path_for, section_of
from agent.progress import DueItem, SectionMastery
from agent.question_bank import load_settings_bank
from agent.rubrics import DEFAULT_CORPUS_DIR
from core.errors import EvalDataError
from core.settings import load_settings
from corpus.questions import SelfCheckQuestion

NN = "Background Knowledge > Neural Networks Inference and Training"
TR = "Background Knowledge > Transformer Architecture"

SECTIONS = ["A", "A > B", "A > C"]


def _q(qid: str, *section: str) -> SelfCheckQuestion:
    return SelfCheckQuestion(qid, section, f"question {qid}", {}, (), ())


# ------------------------------------------------------------------ the file's checks


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"A": [], "A > B": [], "A > C": [], "Z": []}, "'Z' is not a section of the roadmap"),
        ({"A": [], "A > B": ["Q"], "A > C": []}, "needs 'Q', which is not a section"),
        ({"A": [], "A > B": []}, "sections missing from the path: A > C"),
        ({"A": [], "A > B": ["A > B"], "A > C": []}, "lists itself"),
        ({"A": ["A > C"], "A > B": ["A"], "A > C": ["A > B"]}, "go round in a circle"),
    ],
)
def test_a_path_file_that_does_not_fit_the_roadmap_is_refused_by_name(sections, message):
    with pytest.raises(EvalDataError, match=message):
        parse_prerequisites({"sections": sections}, SECTIONS, "path.json")


def test_a_path_file_with_a_wrong_field_names_the_field():
    with pytest.raises(EvalDataError, match="path.json: field 'sections.A'"):
        parse_prerequisites({"sections": {"A": "B"}}, SECTIONS, "path.json")
    with pytest.raises(EvalDataError, match="field 'extra'"):
        parse_prerequisites({"sections": {}, "extra": 1}, SECTIONS, "path.json")


def test_the_shipped_path_lists_every_roadmap_section_of_the_bank_in_order(tmp_path):
    settings = load_settings(overrides={"index.data_dir": tmp_path}, environ={})
    path = load_prerequisites(settings.grading.rubrics_dir, DEFAULT_CORPUS_DIR)
    bank = load_settings_bank(settings)
    sections = [section_path(q) for q in bank]
    assert set(sections) <= set(path.order)
    # The bank is in the roadmap's order, and so is the path.
    firsts = list(dict.fromkeys(sections))
    assert firsts == [s for s in path.order if s in set(firsts)]
    assert path.needs[TR] == (NN,)


# ------------------------------------------------------------------ pure logic

PATH = Prerequisites(order=("A", "A > B", "A > C"), needs={"A": (), "A > B": ("A",), "A > C": ()})
BANK = [_q("Q1", "A"), _q("Q2", "A"), _q("Q3", "A", "B"), _q("Q4", "A", "C")]
LABELS = {"A": "A", "A > B": "B", "A > C": "C"}


def _mastery(section: str, questions: int, mastered: int) -> SectionMastery:
    return SectionMastery(section, questions, mastered, mastered, 4.0 if mastered else None, 0)


def test_a_section_unlocks_once_its_prerequisite_is_mastered_enough():
    fresh = build_path(PATH, BANK, [], LABELS, unlock_at=0.5)
    assert [(s.section, s.unlocked, s.waiting_for) for s in fresh] == [
        ("A", True, ()),
        ("A > B", False, ("A",)),
        ("A > C", True, ()),
    ]
    assert fresh[0].questions == 2 and fresh[0].mastery == 0.0
    half = build_path(PATH, BANK, [_mastery("A", 2, 1)], LABELS, unlock_at=0.5)
    assert half[1].unlocked and half[0].mastery == 0.5
    # Stricter: one of two mastered is not enough.
    assert not build_path(PATH, BANK, [_mastery("A", 2, 1)], LABELS, unlock_at=0.75)[1].unlocked


def test_a_prerequisite_without_questions_holds_nobody_back():
    steps = build_path(PATH, [_q("Q3", "A", "B")], [], LABELS, unlock_at=0.5)
    assert steps[0].questions == 0 and steps[0].mastery == 1.0
    assert steps[1].unlocked


def test_reviews_stay_open_and_new_questions_of_locked_sections_wait():
    steps = build_path(PATH, BANK, [], LABELS, unlock_at=0.5)
    due = [
        DueItem("Q3", "B", "2026-12-01", 1, 2.5, 2),  # a review: came back due
        DueItem("Q1", "A", "2026-12-01", 0, 2.5, None),
        DueItem("Q3b", "B", "2026-12-01", 0, 2.5, None),  # not in the bank: open
        DueItem("Q4", "C", "2026-12-01", 0, 2.5, None),
    ]
    bank = [*BANK, _q("Q5", "A", "B")]
    due.append(DueItem("Q5", "B", "2026-12-01", 0, 2.5, None))  # new, locked
    assert [d.question_id for d in open_items(due, steps, bank)] == ["Q3", "Q1", "Q3b", "Q4"]


# ------------------------------------------------------------------ with a real store


@pytest.mark.integration
def test_practice_offers_the_next_section_once_the_first_is_mastered(tmp_path):
    settings = load_settings(overrides={"index.data_dir": tmp_path / "data"}, environ={})
    bank = load_settings_bank(settings)
    nn = [q for q in bank if section_path(q) == NN]
    tr = {q.id for q in bank if section_path(q) == TR}
    assert len(nn) >= 4 and tr
    with open_progress(settings, bank) as store:
        fresh = {d.question_id for d in due_now(settings, store, bank, "ann")}
        assert {q.id for q in nn} <= fresh and not fresh & tr
        # Naming a section is the learner's choice: its questions come, locked or not.
        named = {d.question_id for d in due_now(settings, store, bank, "ann", "Transformer")}
        assert tr <= named
        need = -(-len(nn) * settings.grading.unlock_mastery // 1)  # ceil
        for q in nn[: int(need) - 1]:
            store.record_attempt("ann", q.id, "answer", "correct", 5, {}, section_of(q))
        assert not {d.question_id for d in due_now(settings, store, bank, "ann")} & tr
        q = nn[int(need) - 1]
        store.record_attempt("ann", q.id, "answer", "correct", 5, {}, section_of(q))
        assert tr <= {d.question_id for d in due_now(settings, store, bank, "ann")}
        first = next_question(settings, store, bank, "ann")
        assert first is not None and first.id in {n.id for n in nn[int(need) :]}
    steps = {s.section: s for s in path_for(settings, "ann")}
    assert steps[TR].unlocked and steps[NN].mastered == need
    assert not {s.section: s for s in path_for(settings, "bob")}[TR].unlocked


def test_another_corpus_has_no_path(tiny_settings):
    assert path_for(tiny_settings, "ann") == []


def test_a_broken_shipped_path_file_is_a_clear_error(tmp_path):
    rubrics = tmp_path / "rubrics"
    rubrics.mkdir()
    (rubrics / PATH_FILE).write_text(json.dumps({"sections": {"Nope": []}}), encoding="utf-8")
    with pytest.raises(EvalDataError, match="path.json: 'Nope' is not a section"):
        load_prerequisites(rubrics, DEFAULT_CORPUS_DIR)
