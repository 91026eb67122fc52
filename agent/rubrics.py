"""Rubrics: the reviewable answer key of a self-check question, and where it is read from.

A rubric file (`evals/rubrics/<question_id>.json`) names the key points of a full answer
and the misconceptions to watch for; every key point quotes the study note it comes from,
and the quote is located (file, section, character span) when the rubric is loaded, so a
rubric that drifts from its notes is an error naming the file and field. A reference answer
given instead of a rubric becomes a rubric whose key points are its sentences.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import EvalDataError, InputError
from core.paths import REPO_ROOT
from corpus.text import heading_spans, section_at, split_sentences, tokenize

DEFAULT_CORPUS_DIR = REPO_ROOT / "corpus"


@dataclass(frozen=True)
class SourceRef:
    """Where a key point comes from: `text[start:end]` of `source` equals `excerpt`."""

    source: str  # path relative to the corpus folder, e.g. "notes/sq01-cnn-vs-mlp.md"
    section: str
    start: int
    end: int
    excerpt: str


@dataclass(frozen=True)
class KeyPoint:
    id: str
    text: str
    source: SourceRef | None
    weight: float = 1.0
    label: str = ""  # a few words naming the idea, safe to show before it is answered
    guiding_question: str = ""  # level-1 hint


@dataclass(frozen=True)
class Misconception:
    id: str
    claim: str
    correction: str
    cues: tuple[str, ...]  # case-insensitive regexes that signal the claim in an answer
    source: SourceRef | None = None


@dataclass(frozen=True)
class Rubric:
    question_id: str
    question: str
    key_points: tuple[KeyPoint, ...]
    misconceptions: tuple[Misconception, ...] = ()
    section: tuple[str, ...] = ()
    from_reference: bool = False


def quote_pattern(quote: str, flags: int = 0, whole_words: bool = False) -> re.Pattern[str]:
    """A quote as a pattern that matches it across any whitespace: quotes are written on
    one line, the notes wrap lines anywhere. `whole_words` keeps it from starting or ending
    inside a word."""
    body = r"\s+".join(re.escape(w) for w in quote.split())
    return re.compile(rf"(?<!\w){body}(?!\w)" if whole_words else body, flags)


def _section_at(text: str, offset: int) -> str:
    """The innermost heading at `offset` of a note ("" before the first)."""
    path = section_at(heading_spans(text), offset)
    return path[-1] if path else ""


def locate_quote(
    corpus_dir: Path, file: str, quote: str, section: str | None, where: str
) -> SourceRef:
    """The span of `quote` (whitespace-insensitive) in `corpus_dir/file`, checked against
    the section it is said to be in. `where` names the rubric field for error messages."""
    path = Path(corpus_dir) / file
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise EvalDataError(f"{where}: source file {file} not found in {corpus_dir}") from exc
    m = quote_pattern(quote).search(text) if quote.strip() else None
    if m is None:
        raise EvalDataError(
            f"{where}.quote: {quote[:60]!r} is not in {file} - copy the exact words from the note"
        )
    found = _section_at(text, m.start())
    if section and found != section:
        raise EvalDataError(
            f"{where}.section: the quote is under {found!r} in {file}, not {section!r}"
        )
    return SourceRef(file, found, m.start(), m.end(), m.group(0))


def _field(obj: Any, name: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, dict) or name not in obj:
        raise EvalDataError(f"{where}: missing field {name!r}")
    value = obj[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise EvalDataError(f"{where}.{name}: expected {getattr(kind, '__name__', kind)}")
    return value


def _source(obj: dict[str, Any], corpus_dir: Path, where: str) -> SourceRef:
    src = _field(obj, "source", dict, where)
    return locate_quote(
        corpus_dir,
        _field(src, "file", str, f"{where}.source"),
        _field(src, "quote", str, f"{where}.source"),
        src.get("section"),
        f"{where}.source",
    )


def parse_rubric(data: Any, corpus_dir: Path, name: str) -> Rubric:
    """A Rubric from the decoded JSON of one rubric file (`name` is used in errors)."""
    if not isinstance(data, dict):
        raise EvalDataError(f"{name}: expected a JSON object")
    qid = _field(data, "question_id", str, name)
    kps_raw = _field(data, "key_points", list, name)
    if not kps_raw:
        raise EvalDataError(f"{name}.key_points: at least one key point is needed")
    kps = []
    for i, kp in enumerate(kps_raw):
        where = f"{name}.key_points[{i}]"
        weight = _field(kp, "weight", (int, float), where) if "weight" in kp else 1.0
        if weight <= 0:
            raise EvalDataError(f"{where}.weight: must be positive")
        kps.append(
            KeyPoint(
                id=_field(kp, "id", str, where),
                text=_field(kp, "text", str, where),
                source=_source(kp, corpus_dir, where),
                weight=float(weight),
                label=str(kp.get("label", "")),
                guiding_question=str(kp.get("guiding_question", "")),
            )
        )
    mcs = []
    for i, mc in enumerate(data.get("misconceptions", [])):
        where = f"{name}.misconceptions[{i}]"
        cues = _field(mc, "cues", list, where)
        for j, cue in enumerate(cues):
            try:
                re.compile(cue)
            except (re.error, TypeError) as exc:
                raise EvalDataError(f"{where}.cues[{j}]: not a valid regex ({exc})") from exc
        mcs.append(
            Misconception(
                id=_field(mc, "id", str, where),
                claim=_field(mc, "claim", str, where),
                correction=str(mc.get("correction", "")),
                cues=tuple(cues),
                source=_source(mc, corpus_dir, where) if "source" in mc else None,
            )
        )
    return Rubric(
        question_id=qid,
        question=_field(data, "question", str, name),
        key_points=tuple(kps),
        misconceptions=tuple(mcs),
        section=tuple(data.get("section", ())),
    )


def load_rubric(rubrics_dir: Path, question_id: str, corpus_dir: Path | None = None) -> Rubric:
    """Read `<rubrics_dir>/<question_id>.json`; quotes are located in `corpus_dir`
    (default: the shipped corpus). Raises EvalDataError naming the file and field."""
    path = Path(rubrics_dir) / f"{question_id}.json"
    if not path.is_file():
        raise EvalDataError(
            f"no rubric for {question_id}: {path} does not exist (grading.rubrics_dir)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EvalDataError(f"{path}: not valid JSON ({exc})") from exc
    rubric = parse_rubric(data, corpus_dir or DEFAULT_CORPUS_DIR, path.name)
    if rubric.question_id != question_id:
        raise EvalDataError(
            f"{path.name}.question_id: says {rubric.question_id!r}, file name says {question_id!r}"
        )
    return rubric


# A reference answer's sentences become key points, and the "points" grader asks the
# model about each: more than this is refused rather than graded for minutes.
MAX_REFERENCE_POINTS = 12


def rubric_from_reference(question: str, reference: str, question_id: str = "REF") -> Rubric:
    """A rubric whose key points are the sentences of a reference answer (calibration sets)."""
    kps = []
    pos = 0
    for sent in split_sentences(reference) or [reference.strip()]:
        start = reference.find(sent, pos)
        start = max(start, 0)
        pos = start + len(sent)
        if not tokenize(sent):
            continue
        ref = SourceRef("reference", "", start, start + len(sent), sent)
        kps.append(KeyPoint(f"{question_id}.{len(kps) + 1}", sent, ref, 1.0, label=sent[:40]))
    if not kps:
        raise EvalDataError("the reference answer is empty")
    if len(kps) > MAX_REFERENCE_POINTS:
        raise InputError(
            f"the reference answer has {len(kps)} sentences; at most {MAX_REFERENCE_POINTS} "
            "are graded as key points: shorten it to the points that matter"
        )
    return Rubric(question_id, question, tuple(kps), from_reference=True)
