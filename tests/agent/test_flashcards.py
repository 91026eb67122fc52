"""Flashcards: cards from the shipped bank and notes, the Anki package read back as the
zip + SQLite collection it is, CSV round trips, and the import check that applies nothing."""

from __future__ import annotations

import csv
import html
import io
import sqlite3
import zipfile

import pytest

from agent.flashcard_import import compare_csv, import_flashcards_csv
from agent.flashcards import (
    CSV_COLUMNS,
    DECK_ID,
    MODEL_ID,
    build_cards,
    cards_csv,
    export_flashcards,
    shipped_cards,
    short_answer,
    write_cards,
)
from agent.practice import beginner_questions, open_progress
from agent.question_bank import load_settings_bank
from core.errors import ConfigError, InputError
from core.settings import load_settings
from corpus.questions import load_question_bank

pytestmark = pytest.mark.unit


@pytest.fixture
def settings(tmp_path):
    return load_settings(overrides={"index.data_dir": tmp_path / "data"}, environ={})


def load_practice_reference(settings, qid):
    import json

    path = settings.grading.rubrics_dir / f"{qid}.json"
    return json.loads(path.read_text(encoding="utf-8"))["reference_answer"]


def read_apkg(path):
    """(decks JSON, models JSON, notes as (guid, fields list, tags)) of an .apkg file."""
    import json

    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        assert "collection.anki2" in z.namelist()
        db_path = path.with_suffix(".anki2")
        db_path.write_bytes(z.read("collection.anki2"))
    db = sqlite3.connect(db_path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        decks, models = db.execute("SELECT decks, models FROM col").fetchone()
        notes = [
            (guid, flds.split("\x1f"), tags.split())
            for guid, flds, tags in db.execute("SELECT guid, flds, tags FROM notes ORDER BY id")
        ]
        cards = db.execute("SELECT COUNT(*), COUNT(DISTINCT did) FROM cards").fetchone()
    finally:
        db.close()
    return json.loads(decks), json.loads(models), notes, cards


def test_short_answer_is_the_section_under_its_heading():
    text = (
        "# Title\n\n## Short answer\n\nFirst line\ncontinues here.\n\nSecond paragraph.\n\n"
        "## Details\n\nNot this.\n"
    )
    assert short_answer(text) == "First line continues here.\n\nSecond paragraph."
    assert short_answer("# Title\n\n## Details\n\nx\n") == ""


def test_every_question_of_the_bank_gets_an_answer_and_its_readings(settings):
    cards = shipped_cards(settings)
    bank = load_settings_bank(settings)
    assert [c.question_id for c in cards] == [q.id for q in bank] and len(cards) >= 90
    for card in cards:
        assert card.answer, card
        assert card.readings and all("<http" in r for r in card.readings), card
        if card.question_id.startswith("SQ"):  # the study note's short answer
            assert card.note.startswith(card.question_id.lower()), card
    practice = next(c for c in cards if c.question_id.startswith("PQ-"))
    assert practice.answer.startswith(
        load_practice_reference(settings, practice.question_id)[:40].replace("\n", " ")
    )
    sq03 = next(c for c in cards if c.question_id == "SQ03")
    assert sq03.answer.startswith("Both are gated recurrent cells")
    assert "\n" not in sq03.answer  # a paragraph's line breaks are spaces on a card


def test_apkg_opens_as_a_valid_package_with_the_notes_fields(settings, tmp_path):
    out = tmp_path / "deck.apkg"
    result = export_flashcards(settings, out, "apkg", due_only=False)
    total = len(load_settings_bank(settings))
    assert result.cards == total and result.format == "apkg" and result.learner is None
    decks, models, notes, (n_cards, n_decks) = read_apkg(out)
    assert str(DECK_ID) in decks and decks[str(DECK_ID)]["name"].startswith("Roadmap Tutor")
    assert str(MODEL_ID) in models
    assert [f["name"] for f in models[str(MODEL_ID)]["flds"]] == [
        "QuestionId",
        "Question",
        "Answer",
        "Readings",
        "Section",
    ]
    assert len(notes) == total and n_cards == total and n_decks == 1
    cards = {c.question_id: c for c in shipped_cards(settings)}
    for _guid, fields, tags in notes:
        card = cards[fields[0]]
        assert html.unescape(fields[1]) == card.question
        assert html.unescape(fields[2].replace("<br>", "\n")) == card.answer
        assert fields[4] == html.escape(card.section)
        assert fields[3].count("<a href=") == len(card.readings)
        assert tags and tags[0].startswith("roadmap::")
    # Re-exports are the same deck and notes to Anki: same ids and guids every time.
    again = tmp_path / "again.apkg"
    export_flashcards(settings, again, "apkg", due_only=False)
    assert [n[0] for n in read_apkg(again)[2]] == [n[0] for n in notes]
    assert len({n[0] for n in notes}) == total


def test_csv_round_trip_reports_every_row_unchanged(settings, tmp_path):
    out = tmp_path / "cards.csv"
    result = export_flashcards(settings, out, due_only=False)  # format from the extension
    ids = [q.id for q in load_settings_bank(settings)]
    assert result.format == "csv" and result.cards == len(ids)
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == len(ids) + 1
    report = import_flashcards_csv(settings, out)
    assert report.ok and report.rows == len(ids) and report.applied == 0
    assert list(report.unchanged) == ids
    assert "nothing to apply" in report.message


def test_an_edited_csv_is_reported_and_not_applied(settings, tmp_path):
    cards = shipped_cards(settings)
    text = cards_csv(cards)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    rows[3][3] = "My own, better answer."  # SQ03's answer, line 4 of the file
    rows.append(["SQ99", "x", "y", "z", "", ""])  # not a shipped question
    rows.append(["SQ01", "dup"])  # wrong cell count
    rows.append(["SQ02", *rows[2][1:]])  # SQ02 again
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows(rows)
    path = tmp_path / "edited.csv"
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")
    before = path.read_bytes()
    report = import_flashcards_csv(settings, path)
    assert not report.ok and report.applied == 0
    assert [(d.question_id, d.fields) for d in report.changed] == [("SQ03", ("answer",))]
    # Lines count the readings' line breaks inside quoted cells.
    assert report.changed[0].line == 1 + 1 + len(cards[0].readings) + len(cards[1].readings)
    bad = {b.message.split()[0]: b for b in report.bad}
    assert "'SQ99'" in bad and "2" in bad and "SQ02" in bad
    assert "not applied" in report.message and "nothing was changed" in report.message
    assert path.read_bytes() == before
    assert shipped_cards(settings) == cards  # the notes are as shipped


def test_bad_input_is_a_clear_error(settings, tmp_path):
    with pytest.raises(InputError, match="no such file"):
        import_flashcards_csv(settings, tmp_path / "nope.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("question_id,answer\nSQ01,caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        import_flashcards_csv(settings, latin)
    other = tmp_path / "other.csv"
    other.write_text("name,score\nana,3\n", encoding="utf-8")
    with pytest.raises(InputError, match="question_id"):
        import_flashcards_csv(settings, other)
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="empty"):
        import_flashcards_csv(settings, empty)
    with pytest.raises(InputError, match="does not exist"):
        export_flashcards(settings, tmp_path / "no-such-dir" / "x.apkg")
    with pytest.raises(InputError, match="not one of"):
        export_flashcards(settings, tmp_path / "x.txt")
    with pytest.raises(InputError, match="folder"):
        export_flashcards(settings, tmp_path, "csv")
    with pytest.raises(ConfigError):
        export_flashcards(settings, tmp_path / "x.csv", learner="")


def test_due_export_follows_the_learners_schedule_and_path(settings, tmp_path):
    bank = load_settings_bank(settings)
    open_now = [q.id for q in beginner_questions(settings, bank)]
    assert "SQ03" in open_now and 0 < len(open_now) < len(bank)  # the path locks the rest
    out = tmp_path / "due.csv"
    first = export_flashcards(settings, out, learner="ana")
    assert first.cards == len(open_now) and first.learner == "ana"
    assert list(first.question_ids) == open_now
    assert not settings.learner_db.exists()  # reading the schedule created nothing
    with open_progress(settings, bank) as store:
        store.record_attempt("ana", "SQ03", "answer", "correct", 5, {}, section="x")
    due = export_flashcards(settings, out, learner="ana")
    assert due.cards == len(open_now) - 1 and "SQ03" not in due.question_ids
    assert export_flashcards(settings, out, learner="ben").cards == len(open_now)


def test_writes_are_atomic(settings, tmp_path, monkeypatch):
    out = tmp_path / "cards.csv"
    out.write_text("the old file", encoding="utf-8")
    cards = build_cards(load_question_bank(settings.corpus.dir), {})

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr("agent.flashcards.os.replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_cards(cards, out, "csv")
    assert out.read_text(encoding="utf-8") == "the old file"
    assert [p.name for p in tmp_path.iterdir()] == ["cards.csv"]  # no temp file left


def test_compare_csv_ignores_edge_blanks_and_line_endings(settings):
    cards = shipped_cards(settings)
    text = cards_csv(cards).replace("\r\n", "\n")
    assert compare_csv(text, cards).ok
