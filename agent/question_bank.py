"""The whole question bank: the roadmap's 12 self-check questions and the practice questions.

A practice question is one rubric file `PQ-<section-slug>-<n>.json` in the rubrics folder
(grading.rubrics_dir), in the format of the self-check rubrics plus what a question needs
besides its rubric: the roadmap section it practises (a heading path of roadmap-en.md), a
difficulty, its readings (catalog ids of works the roadmap or the paper notes link to) and
a reference answer. Loading one checks everything it cites: every key point's quote must
be found verbatim (whitespace aside) in its corpus document or study note, every reading
and every reference of its study note must be in the paper catalog, and its reference
answer must not be empty. A file that fails is refused with its name and the key point or
field at fault; nothing is skipped silently.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.rubrics import DEFAULT_CORPUS_DIR, Rubric, locate_quote, parse_rubric
from core.errors import EvalDataError
from core.settings import Settings
from corpus.catalog import Paper, build_catalog, find_paper
from corpus.notes_meta import parse_note
from corpus.questions import EN_DOC, Reading, SelfCheckQuestion, load_question_bank
from corpus.text import heading_spans, section_label

PRACTICE_GLOB = "PQ-*.json"
log = logging.getLogger(__name__)
_ID_PATTERN = r"^PQ-[a-z0-9]+(?:-[a-z0-9]+)*-[0-9]+$"


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file: str
    section: str | None = None
    quote: str = Field(min_length=1)


class _KeyPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    label: str = Field(min_length=1)
    text: str = Field(min_length=1)
    guiding_question: str = Field(min_length=1)
    weight: float = Field(default=1.0, gt=0)
    source: _Source


class _Misconception(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    claim: str
    correction: str
    cues: list[str]
    source: _Source | None = None


class PracticeQuestionFile(BaseModel):
    """The schema of one practice-question rubric file."""

    model_config = ConfigDict(extra="forbid")
    question_id: str = Field(pattern=_ID_PATTERN)
    question: str = Field(min_length=10)
    section: list[str] = Field(min_length=1, max_length=2)
    difficulty: Literal["easy", "medium", "hard"]
    readings: list[str] = Field(min_length=1)  # catalog ids
    note: str | None = None  # "notes/<name>.md", the study note that teaches the answer
    reference_answer: str = Field(min_length=20)
    key_points: list[_KeyPoint] = Field(min_length=2)
    misconceptions: list[_Misconception] = []


def roadmap_sections(corpus_dir: Path) -> dict[tuple[str, ...], int]:
    """Heading path -> position, for the headings of roadmap-en.md in document order."""
    # roadmap-en.md starts with an HTML <h1>, so its "##" headings are the top level.
    text = (corpus_dir / EN_DOC).read_text(encoding="utf-8")
    paths = [path for _, path in heading_spans(text) if path[0] != "Table of Content"]
    return {path: i for i, path in enumerate(paths)}


def _check_note(note: str, corpus_dir: Path, catalog: list[Paper], where: str) -> None:
    path = corpus_dir / note
    if not note.startswith("notes/") or not path.is_file():
        raise EvalDataError(f"{where}.note: {note!r} is not a study note in {corpus_dir}/notes")
    meta, _ = parse_note(path.read_text(encoding="utf-8"), path.name)
    for ref in meta.references:
        if find_paper(catalog, ref.id) is None:
            raise EvalDataError(
                f"{where}.note: {note} cites {ref.id}, which the paper catalog cannot resolve"
            )


def parse_practice_question(
    data: Any,
    corpus_dir: Path,
    catalog: list[Paper],
    sections: dict[tuple[str, ...], int],
    name: str,
) -> tuple[SelfCheckQuestion, Rubric]:
    """The question and its rubric from one decoded file; EvalDataError names what is wrong."""
    try:
        spec = PracticeQuestionFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise EvalDataError(f"{name}.{loc}: {first['msg']}") from exc
    for i, kp in enumerate(spec.key_points):
        try:
            locate_quote(corpus_dir, kp.source.file, kp.source.quote, kp.source.section, name)
        except EvalDataError as exc:
            raise EvalDataError(
                f"{name}: key point {kp.id} (key_points[{i}]) cites a quote that is not in "
                f"the corpus or notes: {exc}"
            ) from exc
    rubric = parse_rubric(data, corpus_dir, name)
    if tuple(spec.section) not in sections:
        raise EvalDataError(
            f"{name}.section: {section_label(spec.section)!r} is not a heading path of {EN_DOC}"
        )
    readings = []
    for i, ref in enumerate(spec.readings):
        paper = find_paper(catalog, ref)
        if paper is None:
            raise EvalDataError(
                f"{name}.readings[{i}]: {ref!r} is not in the paper catalog "
                "(cite a work that roadmap-en.md or llm-paper-notes-en.md links to)"
            )
        readings.append(Reading(paper.title, paper.url, paper.note))
    if spec.note is not None:
        _check_note(spec.note, corpus_dir, catalog, name)
    question = SelfCheckQuestion(
        id=spec.question_id,
        section=tuple(spec.section),
        text_en=spec.question,
        texts={"en": spec.question},
        source_spans=(),
        readings=tuple(readings),
        difficulty=spec.difficulty,
        kind="practice",
    )
    return question, rubric


def load_practice_questions(
    rubrics_dir: Path, corpus_dir: Path
) -> list[tuple[SelfCheckQuestion, Rubric, str]]:
    """(question, rubric, reference answer) of every PQ-*.json in `rubrics_dir`, in the
    roadmap's order of sections."""
    rubrics_dir, corpus_dir = Path(rubrics_dir), Path(corpus_dir)
    paths = sorted(rubrics_dir.glob(PRACTICE_GLOB))
    if not paths:
        return []
    catalog = build_catalog(corpus_dir)
    sections = roadmap_sections(corpus_dir)
    out: list[tuple[SelfCheckQuestion, Rubric, str]] = []
    seen: set[str] = set()
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise EvalDataError(f"{path}: not valid JSON ({exc})") from exc
        question, rubric = parse_practice_question(data, corpus_dir, catalog, sections, path.name)
        if f"{question.id}.json" != path.name:
            raise EvalDataError(
                f"{path.name}.question_id: says {question.id!r}, the file name disagrees"
            )
        if question.id in seen:
            raise EvalDataError(f"{path.name}: question id {question.id} is used twice")
        seen.add(question.id)
        out.append((question, rubric, data["reference_answer"]))
    # In the roadmap's order of sections, then by number within a section.
    out.sort(key=lambda item: (sections[item[0].section], int(item[0].id.rsplit("-", 1)[1])))
    return out


def load_bank_with_answers(
    corpus_dir: Path, rubrics_dir: Path
) -> tuple[list[SelfCheckQuestion], dict[str, str]]:
    """The bank (`load_bank`) and the practice questions' reference answers by id (the
    self-check questions' answers are their study notes' short answers)."""
    questions = load_question_bank(corpus_dir)
    if Path(corpus_dir).resolve() != DEFAULT_CORPUS_DIR.resolve():
        log.info("practice questions left out: %s is not the shipped corpus", corpus_dir)
        return questions, {}
    practice = load_practice_questions(rubrics_dir, corpus_dir)
    return [*questions, *(q for q, _, _ in practice)], {q.id: ref for q, _, ref in practice}


def load_bank(corpus_dir: Path, rubrics_dir: Path) -> list[SelfCheckQuestion]:
    """The self-check questions (SQ01..SQ12) then the practice questions.

    The practice questions quote the shipped corpus and practise its roadmap's sections,
    so they belong to it: over another corpus (corpus.dir pointing elsewhere, as the tests'
    tiny corpora do) the bank is that corpus's self-check questions, and the log says so.
    Over the shipped corpus every practice file must load, or loading fails."""
    return load_bank_with_answers(corpus_dir, rubrics_dir)[0]


def load_settings_bank(settings: Settings) -> list[SelfCheckQuestion]:
    """The whole bank of the configured corpus and rubrics folder."""
    return load_bank(settings.corpus.dir, settings.grading.rubrics_dir)
