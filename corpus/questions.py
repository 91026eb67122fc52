"""The roadmap's 12 self-check questions, parsed from the English original and its Spanish version.

roadmap-en.md asks them in ":pencil: ... answer these questions:" lists after the readings of
three subsections; roadmap-es.txt keeps the same lists after "... debería poder responder estas
preguntas:" but has lost its markdown, so its headings are found by walking its table of
contents. roadmap-ja.txt kept only the lead-in sentences, not the questions, so there is no
Japanese text. Spanish questions are paired with English ones by order within the matching
section; a difference in count is a broken corpus, not something to guess around.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from core.errors import CorpusError
from corpus.text import MD_HEADING_RE

EN_DOC = "roadmap-en.md"
ES_DOC = "roadmap-es.txt"
EXPECTED_COUNT = 12

_EN_INTRO_RE = re.compile(r"^:pencil:.*answer these questions:\s*$")
_ES_INTRO_RE = re.compile(r"deber[ií]a poder responder estas preguntas:\s*$")
_ES_TOC_TITLE = "Tabla de contenido"
_TOC_HEADING = "Table of Content"
_BULLET_RE = re.compile(r"^[-*][ \t]+")
# "- [title](url) [note]"; the title may hold one level of brackets.
_READING_RE = re.compile(
    r"^[-*][ \t]+\[(?P<title>(?:[^\[\]]|\[[^\[\]]*\])+)\]\((?P<url>[^()\s]+)\)"
    r"(?:[ \t]*\[(?P<note>[^\[\]]+)\])?"
)


@dataclass(frozen=True)
class Reading:
    """A link the roadmap lists before a question block: read these to answer it."""

    title: str
    url: str
    note: str | None  # the bracketed remark after the link, e.g. "Original Paper"


@dataclass(frozen=True)
class SelfCheckQuestion:
    """One self-check question with its versions, where they are, and what to read first.

    `source_spans` holds (document name, start, end) of the question text in each file, so
    that `text[start:end]` of that document equals `texts[language]` (bullet excluded).
    """

    id: str  # "SQ01".."SQ12", in document order
    section: tuple[str, ...]  # English heading path, e.g. ("Background Knowledge", "...")
    text_en: str
    texts: dict[str, str]  # language -> question text: "en" and "es"
    source_spans: tuple[tuple[str, int, int], ...]
    readings: tuple[Reading, ...]
    # Practice questions (agent.question_bank) beyond the roadmap's own: "easy", "medium"
    # or "hard", and "practice"; the roadmap's questions are "self-check" without one.
    difficulty: str | None = None
    kind: str = "self-check"


@dataclass(frozen=True)
class _Block:
    heading_index: int  # position of the enclosing heading among the body headings
    section: tuple[str, ...]
    questions: tuple[tuple[str, int, int], ...]  # (text, start, end)
    readings: tuple[Reading, ...]


def _lines(text: str) -> list[tuple[int, str]]:
    """(offset, line without newline) for each line of `text`."""
    out, pos = [], 0
    for line in text.splitlines(keepends=True):
        out.append((pos, line.rstrip("\n")))
        pos += len(line)
    return out


def _bullets(lines: list[tuple[int, str]], i: int) -> tuple[list[tuple[str, int, int]], int]:
    """The bullet items from line i on, as (text, start, end); also the first line after them."""
    items = []
    while i < len(lines) and (m := _BULLET_RE.match(lines[i][1])):
        offset, line = lines[i]
        body = line[m.end() :].rstrip()
        if body:
            items.append((body, offset + m.end(), offset + m.end() + len(body)))
        i += 1
    return items, i


def _parse_en(text: str) -> tuple[list[_Block], int]:
    """Question blocks of the English roadmap and the number of body headings."""
    lines = _lines(text)
    blocks: list[_Block] = []
    h2 = h3 = None
    heading_index = -1
    readings: list[Reading] = []
    i = 0
    while i < len(lines):
        line = lines[i][1]
        if (m := MD_HEADING_RE.match(line)) and len(m.group(1)) in (2, 3):
            title = m.group(2)
            readings = []
            if title != _TOC_HEADING:
                heading_index += 1
                if len(m.group(1)) == 2:
                    h2, h3 = title, None
                else:
                    h3 = title
        elif m := _READING_RE.match(line):
            readings.append(Reading(m.group("title").strip(), m.group("url"), m.group("note")))
        elif _EN_INTRO_RE.match(line):
            items, i = _bullets(lines, i + 1)
            section = tuple(s for s in (h2, h3) if s)
            blocks.append(_Block(heading_index, section, tuple(items), tuple(readings)))
            readings = []  # a later block in the same section has its own readings
            continue
        i += 1
    return blocks, heading_index + 1


def _parse_es(text: str) -> tuple[list[_Block], int]:
    """Question blocks of the Spanish roadmap, located by its table-of-contents headings."""
    lines = _lines(text)
    start = next((k for k, (_, line) in enumerate(lines) if line.strip() == _ES_TOC_TITLE), None)
    if start is None:
        raise CorpusError(f"{ES_DOC}: no '{_ES_TOC_TITLE}' line - restore the shipped file")
    toc_items, i = _bullets(lines, start + 1)
    toc = [item for item, _, _ in toc_items]
    blocks: list[_Block] = []
    matched = 0  # headings are plain lines equal to the next table-of-contents entry
    while i < len(lines):
        line = lines[i][1].strip()
        if matched < len(toc) and line == toc[matched]:
            matched += 1
        elif _ES_INTRO_RE.search(line):
            items, i = _bullets(lines, i + 1)
            blocks.append(_Block(matched - 1, (toc[matched - 1],), tuple(items), ()))
            continue
        i += 1
    return blocks, len(toc)


def _read(path: Path) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError as exc:
        raise CorpusError(f"{path}: missing - restore it from the shipped corpus") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{path}: cannot be read as UTF-8 text ({exc})") from exc


def parse_question_bank(en_text: str, es_text: str) -> list[SelfCheckQuestion]:
    """The self-check questions from the texts of roadmap-en.md and roadmap-es.txt."""
    en_blocks, en_headings = _parse_en(en_text)
    es_blocks, es_headings = _parse_es(es_text)
    total = sum(len(b.questions) for b in en_blocks)
    if total != EXPECTED_COUNT:
        raise CorpusError(
            f"{EN_DOC}: found {total} self-check questions in {len(en_blocks)} ':pencil:' lists, "
            f"expected {EXPECTED_COUNT} - restore the shipped file"
        )
    if en_headings != es_headings:
        raise CorpusError(
            f"{ES_DOC}: table of contents has {es_headings} entries but {EN_DOC} has "
            f"{en_headings} headings - the two files are not versions of one roadmap"
        )
    # A section may hold several lists (Neural Networks has two): pair the k-th of each.
    es_by_heading: dict[int, list[_Block]] = {}
    for candidate in es_blocks:
        es_by_heading.setdefault(candidate.heading_index, []).append(candidate)
    seen: dict[int, int] = {}
    bank: list[SelfCheckQuestion] = []
    for block in en_blocks:
        k = seen.get(block.heading_index, 0)
        seen[block.heading_index] = k + 1
        candidates = es_by_heading.get(block.heading_index, [])
        es_block = candidates[k] if k < len(candidates) else None
        if es_block is None or len(es_block.questions) != len(block.questions):
            found = 0 if es_block is None else len(es_block.questions)
            raise CorpusError(
                f"{ES_DOC}: question list {k + 1} of section {block.section[-1]!r} has {found} "
                f"questions where {EN_DOC} has {len(block.questions)} - cannot pair them; "
                "restore the shipped files"
            )
        for (en, en_start, en_end), (es, es_start, es_end) in zip(
            block.questions, es_block.questions, strict=True
        ):
            bank.append(
                SelfCheckQuestion(
                    id=f"SQ{len(bank) + 1:02d}",
                    section=block.section,
                    text_en=en,
                    texts={"en": en, "es": es},
                    source_spans=((EN_DOC, en_start, en_end), (ES_DOC, es_start, es_end)),
                    readings=block.readings,
                )
            )
    return bank


def load_question_bank(corpus_dir: Path) -> list[SelfCheckQuestion]:
    """The 12 self-check questions of the corpus in `corpus_dir`, SQ01..SQ12 in document order.

    Raises CorpusError when a file is missing or does not yield exactly 12 paired questions.
    """
    corpus_dir = Path(corpus_dir)
    return parse_question_bank(_read(corpus_dir / EN_DOC), _read(corpus_dir / ES_DOC))


def questions_for_section(
    bank: list[SelfCheckQuestion], section_substring: str
) -> list[SelfCheckQuestion]:
    """Questions whose heading path contains `section_substring` (case-insensitive)."""
    needle = section_substring.casefold()
    return [q for q in bank if any(needle in part.casefold() for part in q.section)]


def questions_under(
    bank: list[SelfCheckQuestion], heading_path: tuple[str, ...]
) -> list[SelfCheckQuestion]:
    """Questions asked in the section at `heading_path` or in a section below it.

    >>> q = SelfCheckQuestion("SQ01", ("Background", "Transformers"), "Why?", {}, (), ())
    >>> [len(questions_under([q], p)) for p in [("Background",), ("Background", "Transformers"), ("Diffusion",), ()]]
    [1, 1, 0, 0]
    """
    n = len(heading_path)
    return [q for q in bank if n and q.section[:n] == tuple(heading_path)]
