"""Front matter of the study notes (corpus/notes/*.md): parsing and checking.

A note starts with a YAML block between two "---" lines naming its title, topics, the
self-check questions it answers and the catalog works it cites; the Markdown body
follows and starts with "# <title>".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.errors import CorpusError
from corpus.catalog import Paper, find_paper

QUESTION_IDS = tuple(f"SQ{n:02d}" for n in range(1, 13))
_FENCE_RE = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*(?:\n|\Z)", re.DOTALL)
_REF_ID_RE = re.compile(r"(arxiv:\d{4}\.\d{4,5}|url:[0-9a-f]{12})")


@dataclass(frozen=True)
class NoteReference:
    id: str  # a catalog id: "arxiv:1706.03762" or "url:<sha1-12>"
    title: str
    authors: str
    year: int | None  # None only for undated web pages


@dataclass(frozen=True)
class NoteMeta:
    name: str  # file name, "sq01-cnn-vs-mlp.md"
    title: str
    topics: tuple[str, ...]
    answers: tuple[str, ...]  # self-check ids, () for topic notes
    references: tuple[NoteReference, ...]


def _fail(name: str, problem: str) -> CorpusError:
    return CorpusError(f"{name}: {problem}")


def _str_list(name: str, data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(name, f"front matter '{key}' must be a list of strings, got {value!r}")
    return tuple(value)


def _reference(name: str, index: int, raw: Any) -> NoteReference:
    where = f"front matter references[{index}]"
    if not isinstance(raw, dict):
        raise _fail(name, f"{where} must be a mapping with id, title, authors, year")
    missing = [k for k in ("id", "title", "authors", "year") if k not in raw]
    if missing:
        raise _fail(name, f"{where} lacks {', '.join(missing)}")
    ref_id, title, authors, year = raw["id"], raw["title"], raw["authors"], raw["year"]
    if not isinstance(ref_id, str) or not _REF_ID_RE.fullmatch(ref_id):
        raise _fail(name, f"{where} id {ref_id!r} is not 'arxiv:NNNN.NNNNN' or 'url:<12 hex>'")
    for key, value in (("title", title), ("authors", authors)):
        if not isinstance(value, str) or not value.strip():
            raise _fail(name, f"{where} {key} must be a non-empty string")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
        raise _fail(name, f"{where} year must be an integer (or null for undated pages)")
    return NoteReference(ref_id, title.strip(), authors.strip(), year)


def parse_note(text: str, name: str = "<note>") -> tuple[NoteMeta, int]:
    """Parse a note's front matter; return it and the offset where the body starts."""
    fence = _FENCE_RE.match(text)
    if fence is None:
        raise _fail(
            name,
            "no front matter: the file must start with a '---' line, the YAML "
            "block, and a closing '---' line",
        )
    try:
        data = yaml.safe_load(fence.group(1))
    except yaml.YAMLError as exc:
        raise _fail(name, f"front matter is not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise _fail(
            name, "front matter must be a YAML mapping (title, topics, answers, references)"
        )
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise _fail(name, "front matter 'title' must be a non-empty string")
    topics = _str_list(name, data, "topics")
    answers = () if data.get("answers") == [] else _str_list(name, data, "answers")
    unknown = [a for a in answers if a not in QUESTION_IDS]
    if unknown:
        raise _fail(name, f"answers {unknown} are not self-check ids (SQ01..SQ12)")
    raw_refs = data.get("references")
    if not isinstance(raw_refs, list) or not raw_refs:
        raise _fail(name, "front matter 'references' must be a non-empty list")
    references = tuple(_reference(name, i, raw) for i, raw in enumerate(raw_refs))
    body_start = fence.end()
    first_line = text[body_start:].lstrip("\n").split("\n", 1)[0]
    if first_line.strip() != f"# {title.strip()}":
        raise _fail(name, f"body must start with '# {title.strip()}', found {first_line!r}")
    meta = NoteMeta(name, title.strip(), topics, answers, references)
    return meta, body_start


def load_notes(notes_dir: Path) -> list[NoteMeta]:
    """Front matter of every *.md note in `notes_dir`, sorted by file name."""
    if not notes_dir.is_dir():
        raise CorpusError(f"{notes_dir}: study-notes folder not found")
    notes = []
    for path in sorted(notes_dir.glob("*.md")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CorpusError(f"{path}: cannot be read as UTF-8 text ({exc})") from exc
        notes.append(parse_note(text, path.name)[0])
    if not notes:
        raise CorpusError(f"{notes_dir}: holds no study notes (*.md)")
    return notes


def unresolved_references(notes: list[NoteMeta], catalog: list[Paper]) -> list[str]:
    """'note: id' for each cited id that the catalog does not list."""
    return [
        f"{note.name}: {ref.id}"
        for note in notes
        for ref in note.references
        if find_paper(catalog, ref.id) is None
    ]


def check_references(notes: list[NoteMeta], catalog: list[Paper]) -> None:
    """Raise CorpusError unless every cited work is in the catalog."""
    missing = unresolved_references(notes, catalog)
    if missing:
        raise CorpusError(
            "study notes cite works the roadmap does not link to: "
            + "; ".join(missing)
            + " - cite a catalog entry (corpus.catalog.build_catalog) instead"
        )
