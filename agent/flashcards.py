"""Flashcards: every question of the bank (the self-check questions with their study notes'
short answers, the practice questions with their reference answers) and its readings, as
an Anki deck (.apkg, written with genanki) or as CSV, and a check of a CSV brought back.

The pure part builds cards from the question bank and the notes' text, renders them as
CSV text or a genanki package, and compares a CSV's rows with the shipped cards; the
I/O part reads the corpus and the learner database and writes files atomically (a
temporary file beside the target, renamed into place).

The deck and its note type have fixed ids and each note's guid comes from its question
id, so importing a new export into Anki updates the same deck and notes instead of
adding copies. Importing a CSV back applies nothing: the shipped questions and notes
are the reference, so a row that differs is reported, never written anywhere
(`agent.flashcard_import`).
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from core.errors import ConfigError, CorpusError, InputError
from core.settings import Settings
from corpus.questions import SelfCheckQuestion
from corpus.text import MD_HEADING_RE, SECTION_SEP, section_label

Format = Literal["apkg", "csv"]
FORMATS: tuple[Format, ...] = ("apkg", "csv")

# Fixed, so that every export is the same deck and note type to Anki (never change them).
DECK_ID = 1_917_130_417
MODEL_ID = 1_917_130_418
DECK_NAME = "Roadmap Tutor::Self-check questions"
MODEL_NAME = "Roadmap Tutor self-check"
GUID_SALT = "roadmap-tutor-self-check"

CSV_COLUMNS = ("question_id", "section", "question", "answer", "readings", "note")


@dataclass(frozen=True)
class Flashcard:
    question_id: str
    section: str  # the heading path, "Background Knowledge > Neural Networks"
    question: str
    answer: str  # the study note's short answer ("" when no note answers it)
    readings: tuple[str, ...]  # "title <url>", in the roadmap's order
    note: str  # the study note's file name ("" when none)

    def csv_row(self) -> list[str]:
        return [
            self.question_id,
            self.section,
            self.question,
            self.answer,
            "\n".join(self.readings),
            self.note,
        ]


@dataclass(frozen=True)
class ExportResult:
    path: str
    format: Format
    cards: int
    learner: str | None  # None: every question (--all), no learner's schedule used
    question_ids: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "cards": self.cards,
            "learner": self.learner,
            "question_ids": list(self.question_ids),
        }


# ------------------------------------------------------------------ pure


def short_answer(note_text: str) -> str:
    """The paragraphs under a study note's "## Short answer" heading, joined into one
    text (a line break inside a paragraph becomes a space); "" when it has none."""
    heads = [(len(m.group(1)), m) for m in MD_HEADING_RE.finditer(note_text)]
    at = next(
        (i for i, (lvl, m) in enumerate(heads) if lvl == 2 and m.group(2) == "Short answer"), None
    )
    if at is None:
        return ""
    end = next((m.start() for lvl, m in heads[at + 1 :] if lvl <= 2), len(note_text))
    body = note_text[heads[at][1].end() : end]
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n[ \t]*\n", body)]
    return "\n\n".join(p for p in paragraphs if p)


def reading_text(title: str, url: str) -> str:
    return f"{title} <{url}>"


def build_cards(
    bank: Sequence[SelfCheckQuestion],
    notes: dict[str, tuple[str, str]],
    only: Iterable[str] | None = None,
) -> list[Flashcard]:
    """A card per question of `bank` (in bank order), or per question id in `only`.
    `notes` maps a question id to (note file name, the note's short answer)."""
    wanted = None if only is None else set(only)
    cards = []
    for q in bank:
        if wanted is not None and q.id not in wanted:
            continue
        name, answer = notes.get(q.id, ("", ""))
        cards.append(
            Flashcard(
                question_id=q.id,
                section=section_label(q.section),
                question=q.text_en,
                answer=answer,
                readings=tuple(reading_text(r.title, r.url) for r in q.readings),
                note=name,
            )
        )
    return cards


def cards_csv(cards: Sequence[Flashcard]) -> str:
    """The cards as CSV text: a header of CSV_COLUMNS, then a row per card (the readings
    one per line inside their cell)."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for card in cards:
        writer.writerow(card.csv_row())
    return buf.getvalue()


def _html(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def _reading_html(reading: str) -> str:
    m = re.fullmatch(r"(.*) <(\S+)>", reading, re.DOTALL)
    if m is None:
        return html.escape(reading)
    title, url = m.groups()
    return f'<a href="{html.escape(url)}">{html.escape(title)}</a>'


def anki_model() -> Any:
    import genanki

    return genanki.Model(
        MODEL_ID,
        MODEL_NAME,
        fields=[
            {"name": "QuestionId"},
            {"name": "Question"},
            {"name": "Answer"},
            {"name": "Readings"},
            {"name": "Section"},
        ],
        templates=[
            {
                "name": "Question > answer",
                "qfmt": '<div class="section">{{Section}}</div>'
                '<div class="question">{{Question}}</div>',
                "afmt": '{{FrontSide}}<hr id="answer"><div class="answer">{{Answer}}</div>'
                '{{#Readings}}<div class="readings"><b>Read</b><br>{{Readings}}</div>'
                "{{/Readings}}",
            }
        ],
        css=(
            ".card { font-family: sans-serif; font-size: 18px; text-align: left; }\n"
            ".section { color: #666; font-size: 14px; margin-bottom: 8px; }\n"
            ".readings { margin-top: 12px; font-size: 14px; }\n"
        ),
        sort_field_index=0,
    )


def anki_package(cards: Sequence[Flashcard]) -> Any:
    """The cards as a genanki Package: one deck (DECK_ID), one note per card whose guid
    is derived from its question id, so a re-import updates the notes it made before."""
    import genanki

    model = anki_model()
    deck = genanki.Deck(DECK_ID, DECK_NAME)
    for card in cards:
        deck.add_note(
            genanki.Note(
                model=model,
                fields=[
                    html.escape(card.question_id),
                    _html(card.question),
                    _html(card.answer),
                    "<br>".join(_reading_html(r) for r in card.readings),
                    html.escape(card.section),
                ],
                guid=genanki.guid_for(GUID_SALT, card.question_id),
                tags=[_tag(card.section)] if card.section else [],
            )
        )
    return genanki.Package(deck)


def _tag(section: str) -> str:
    """An Anki tag (no spaces) naming the card's section."""
    last = section.split(SECTION_SEP)[-1]
    return "roadmap::" + re.sub(r"[^0-9A-Za-z]+", "-", last).strip("-").lower()


# ------------------------------------------------------------------ I/O


def load_note_answers(notes_dir: Path) -> dict[str, tuple[str, str]]:
    """Question id -> (note file name, short answer), from the study notes' front matter
    (`answers`) and their "Short answer" section."""
    from corpus.notes_meta import parse_note

    notes_dir = Path(notes_dir)
    if not notes_dir.is_dir():
        raise CorpusError(f"{notes_dir}: study-notes folder not found")
    out: dict[str, tuple[str, str]] = {}
    for path in sorted(notes_dir.glob("*.md")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CorpusError(f"{path}: cannot be read as UTF-8 text ({exc})") from exc
        meta, body = parse_note(text, path.name)
        answer = short_answer(text[body:])
        for qid in meta.answers:
            out.setdefault(qid, (path.name, answer))
    return out


def shipped_cards(settings: Settings) -> list[Flashcard]:
    """A card for every question of the bank: a self-check question's back is its study
    note's short answer, a practice question's its reference answer."""
    from agent.question_bank import load_bank_with_answers

    corpus = settings.corpus.dir
    bank, references = load_bank_with_answers(corpus, settings.grading.rubrics_dir)
    answers = load_note_answers(corpus / "notes")
    for qid, reference in references.items():
        answers.setdefault(qid, ("", reference))
    return build_cards(bank, answers)


def due_question_ids(settings: Settings, learner: str) -> list[str]:
    """What practice offers the learner now (`agent.practice.due_now`: due reviews, then
    new questions of unlocked sections). Without a learner database yet, that is the new
    questions of the sections open to a beginner, and no database is created."""
    from agent.practice import beginner_questions, due_now, open_progress
    from agent.question_bank import load_settings_bank
    from core.limits import check_profile

    learner = check_profile(learner, settings.limits.max_profile_chars)
    bank = load_settings_bank(settings)
    if not settings.learner_db.is_file():
        return [q.id for q in beginner_questions(settings, bank)]
    with open_progress(settings, bank) as store:
        return [d.question_id for d in due_now(settings, store, bank, learner)]


def format_for(path: Path, fmt: str | None) -> Format:
    """The export format: as given, else from the file's extension."""
    value = fmt if fmt is not None else Path(path).suffix.lstrip(".").lower()
    if value not in FORMATS:
        given = f"the format {fmt!r}" if fmt is not None else f"the extension of {path}"
        raise InputError(f"{given} is not one of {', '.join(FORMATS)}: give --format apkg|csv")
    return value


def _check_target(path: Path) -> None:
    # No mkdir: a typo in the folder should not create folders (as progress --export).
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder")
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path}: the folder {path.parent} does not exist")


def _atomic_write(path: Path, write: Any) -> None:
    """`write(tmp_path)` into a temporary file beside `path`, then rename it into place:
    a reader never sees half a file, and a failed write leaves the old one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_cards(cards: Sequence[Flashcard], path: Path, fmt: Format) -> Path:
    """Write `cards` to `path` as an Anki package or CSV, atomically."""
    path = Path(path)
    _check_target(path)
    if fmt == "apkg":
        package = anki_package(cards)
        _atomic_write(path, lambda tmp: package.write_to_file(str(tmp)))
    else:
        text = cards_csv(cards)
        _atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline=""))
    return path


def export_flashcards(
    settings: Settings,
    out: Path,
    fmt: str | None = None,
    *,
    due_only: bool = True,
    learner: str | None = None,
) -> ExportResult:
    """Export the learner's due questions (`due_only`), or every question, as flashcards
    to `out`. `learner` defaults to grading.profile; it is ignored for every question."""
    out = Path(out)
    chosen = format_for(out, fmt)
    _check_target(out)
    cards = shipped_cards(settings)
    who = None
    if due_only:
        who = learner if learner is not None else settings.grading.profile
        due = due_question_ids(settings, who)
        order = {qid: i for i, qid in enumerate(due)}
        cards = sorted(
            (c for c in cards if c.question_id in order), key=lambda c: order[c.question_id]
        )
    try:
        write_cards(cards, out, chosen)
    except OSError as exc:
        raise ConfigError(f"cannot write {out}: {exc}") from exc
    return ExportResult(str(out), chosen, len(cards), who, tuple(c.question_id for c in cards))


def export_deck_download(settings: Settings, profile: str) -> Path:
    """Export `profile`'s due questions as an Anki deck under the data dir's exports
    folder, for the web app to offer; returns its path. The file is named by a hash of the
    learner, so a name never becomes part of a path, and a learner's new export replaces
    their last one (atomically)."""
    import hashlib

    from core.limits import check_profile

    learner = check_profile(profile, settings.limits.max_profile_chars)
    exports = settings.index.data_dir / "exports"
    exports.mkdir(parents=True, exist_ok=True)  # the app's own folder
    digest = hashlib.sha1(learner.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    out = exports / f"flashcards-{digest}.apkg"
    return Path(export_flashcards(settings, out, "apkg", learner=learner).path)
