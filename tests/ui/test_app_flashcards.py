"""The Progress tab's flashcards download: its handler, taken from the built app."""

from __future__ import annotations

import sqlite3
import zipfile

import pytest

pytestmark = pytest.mark.unit


def handler(demo, name):
    fns = [f.fn for f in demo.fns.values() if getattr(f.fn, "__name__", "") == name]
    assert len(fns) == 1, name
    return fns[0]


def test_the_progress_tab_offers_the_learners_due_questions_as_an_anki_deck(tmp_path):
    from agent.practice import open_progress
    from core.settings import load_settings
    from corpus.questions import load_question_bank
    from ui.app import build_app

    settings = load_settings(overrides={"index.data_dir": tmp_path / "data"}, environ={})
    with open_progress(settings, load_question_bank(settings.corpus.dir)) as store:
        store.record_attempt("ana", "SQ01", "answer", "correct", 5, {}, section="x")
    demo = build_app(settings, start=False)
    do_deck = handler(demo, "do_deck")

    path = do_deck("ana")
    assert path.endswith(".apkg") and path.startswith(str(settings.index.data_dir / "exports"))
    with zipfile.ZipFile(path) as z:
        (tmp_path / "c.anki2").write_bytes(z.read("collection.anki2"))
    db = sqlite3.connect(tmp_path / "c.anki2")
    ids = [r[0].split("\x1f")[0] for r in db.execute("SELECT flds FROM notes")]
    db.close()
    # What practice offers ana: the open sections' new questions, SQ01 done (and not due).
    from agent.practice import beginner_questions
    from agent.question_bank import load_settings_bank

    beginner = [q.id for q in beginner_questions(settings, load_settings_bank(settings))]
    assert ids == [q for q in beginner if q != "SQ01"] and "SQ01" in beginner
    assert do_deck("ana") == path  # a new export replaces the learner's last one
    assert do_deck("../../etc") != path  # a name never becomes a path
    assert {p.parent for p in (settings.index.data_dir / "exports").iterdir()} == {
        settings.index.data_dir / "exports"
    }

    import gradio as gr

    with pytest.raises(gr.Error, match="profile"):
        do_deck("x" * 1000)
