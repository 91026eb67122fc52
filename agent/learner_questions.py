"""A learner's own practice questions, kept in the learner database beside their attempts.

`tutor practice generate` adds them (`agent.question_generation` checks each one first);
the learner lists, edits and deletes them, and grades answers to them like any question of
the bank: each becomes a `SelfCheckQuestion` of kind "generated" under the section
"My files > <document>", with a rubric whose key points quote the passage they came from.
They belong to one profile; nobody else sees them.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from agent.progress_schema import now_iso
from agent.rubrics import KeyPoint, Rubric, SourceRef
from core.errors import InputError
from corpus.questions import SelfCheckQuestion

MY_FILES = "My files"
MAX_PER_PROFILE = 500  # a bound on what one learner's bank may hold


@dataclass(frozen=True)
class GeneratedPoint:
    text: str
    quote: str  # as found in the passage, whitespace collapsed
    start: int  # of the quote in the passage text
    end: int
    support: float


@dataclass(frozen=True)
class GeneratedQuestion:
    id: str  # "GQ-" and 8 hex digits
    question: str
    points: tuple[GeneratedPoint, ...]
    doc: str  # the ingested document's name
    chunk_id: str
    section: str  # heading path of the passage, outer > inner
    language: str
    passage: str  # the passage as the model read it (links reduced to their titles)
    passage_start: int  # the passage's span in the document (`Chunk.start`, `Chunk.end`)
    passage_end: int


@dataclass(frozen=True)
class LearnerQuestion:
    profile: str
    question: GeneratedQuestion
    created_at: str
    edited_at: str | None


def _points_json(points: tuple[GeneratedPoint, ...]) -> str:
    return json.dumps(
        [
            {"text": p.text, "quote": p.quote, "start": p.start, "end": p.end, "support": p.support}
            for p in points
        ],
        ensure_ascii=False,
    )


def _row(profile: str, r: tuple) -> LearnerQuestion:  # type: ignore[type-arg]
    qid, question, points, doc, chunk_id, section, language, passage, start, end = r[:10]
    created, edited = r[10:]
    return LearnerQuestion(
        profile=profile,
        question=GeneratedQuestion(
            id=qid,
            question=question,
            points=tuple(
                GeneratedPoint(p["text"], p["quote"], p["start"], p["end"], p["support"])
                for p in json.loads(points)
            ),
            doc=doc,
            chunk_id=chunk_id,
            section=section,
            language=language,
            passage=passage,
            passage_start=start,
            passage_end=end,
        ),
        created_at=created,
        edited_at=edited,
    )


_COLUMNS = (
    "id, question, key_points, doc, chunk_id, section, language, passage, passage_start, "
    "passage_end, created_at, edited_at"
)


def question_sections(db: sqlite3.Connection, profile: str) -> list[tuple[str, str]]:
    """(id, section label) of the profile's questions, as progress groups them."""
    rows = db.execute(
        "SELECT id, doc FROM generated_questions WHERE profile = ? ORDER BY created_at, id",
        (profile,),
    )
    return [(qid, doc_label(doc)) for qid, doc in rows]


def list_questions(db: sqlite3.Connection, profile: str) -> list[LearnerQuestion]:
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM generated_questions WHERE profile = ? ORDER BY created_at, id",
        (profile,),
    )
    return [_row(profile, r) for r in rows]


def add_questions(
    db: sqlite3.Connection, profile: str, questions: list[GeneratedQuestion]
) -> list[str]:
    """Insert new questions (an id already there is left as it is); returns ids added."""
    have = db.execute(
        "SELECT COUNT(*) FROM generated_questions WHERE profile = ?", (profile,)
    ).fetchone()[0]
    if have + len(questions) > MAX_PER_PROFILE:
        raise InputError(
            f"profile {profile!r} holds {have} generated questions; adding {len(questions)} "
            f"would pass the limit of {MAX_PER_PROFILE}: delete some first"
        )
    added = []
    now = now_iso()
    for q in questions:
        cur = db.execute(
            "INSERT OR IGNORE INTO generated_questions (profile, id, question, key_points, doc, "
            "chunk_id, section, language, passage, passage_start, passage_end, created_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                profile,
                q.id,
                q.question,
                _points_json(q.points),
                q.doc,
                q.chunk_id,
                q.section,
                q.language,
                q.passage,
                q.passage_start,
                q.passage_end,
                now,
            ),
        )
        if cur.rowcount:
            added.append(q.id)
    return added


def _require(db: sqlite3.Connection, profile: str, qid: str) -> LearnerQuestion:
    row = db.execute(
        f"SELECT {_COLUMNS} FROM generated_questions WHERE profile = ? AND id = ?",
        (profile, qid),
    ).fetchone()
    if row is None:
        raise InputError(
            f"profile {profile!r} has no generated question {qid}: see `tutor practice list`"
        )
    return _row(profile, row)


def edit_question(
    db: sqlite3.Connection,
    profile: str,
    qid: str,
    question: str | None = None,
    points: list[str] | None = None,
) -> LearnerQuestion:
    """Reword the question or its key points (as many points as it has, in order); the
    quotes and passage stay, so the rubric still says where each point is taught."""
    current = _require(db, profile, qid)
    new_q = current.question.question if question is None else " ".join(question.split())
    if not new_q:
        raise InputError("the question is empty")
    old_points = current.question.points
    if points is not None:
        texts = [" ".join(p.split()) for p in points]
        if len(texts) != len(old_points) or not all(texts):
            raise InputError(
                f"{qid} has {len(old_points)} key points: give that many, none empty"
            )
        old_points = tuple(
            GeneratedPoint(t, p.quote, p.start, p.end, p.support)
            for t, p in zip(texts, old_points, strict=True)
        )
    db.execute(
        "UPDATE generated_questions SET question = ?, key_points = ?, edited_at = ? "
        "WHERE profile = ? AND id = ?",
        (new_q, _points_json(old_points), now_iso(), profile, qid),
    )
    return _require(db, profile, qid)


def delete_question(db: sqlite3.Connection, profile: str, qid: str) -> None:
    _require(db, profile, qid)
    db.execute("DELETE FROM generated_questions WHERE profile = ? AND id = ?", (profile, qid))


# ------------------------------------------------------------------ as bank questions


def doc_label(doc: str) -> str:
    """A learner document's short name (ingested files are named by their full path)."""
    return Path(doc).name or doc


def as_bank_question(q: GeneratedQuestion) -> SelfCheckQuestion:
    return SelfCheckQuestion(
        id=q.id,
        section=(MY_FILES, doc_label(q.doc)),
        text_en=q.question,
        texts={q.language.split("-")[0] or "en": q.question},
        source_spans=(),
        readings=(),
        kind="generated",
    )


def as_rubric(q: GeneratedQuestion) -> Rubric:
    """The rubric the grader scores an answer with: one key point per checked point,
    each quoting its passage."""
    return Rubric(
        question_id=q.id,
        question=q.question,
        key_points=tuple(
            KeyPoint(
                id=f"{q.id}.{i}",
                text=p.text,
                # The passage's span in the document: what a level-2 hint points to.
                source=SourceRef(q.doc, q.section, q.passage_start, q.passage_end, p.quote),
                label=f"key point {i} of the passage",
                guiding_question=(
                    f"What does your file {doc_label(q.doc)}"
                    f"{f' (section {q.section})' if q.section else ''} say that answers this?"
                ),
            )
            for i, p in enumerate(q.points, 1)
        ),
        section=(MY_FILES, doc_label(q.doc)),
    )
