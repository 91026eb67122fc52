"""The paper catalog: every link of the English originals, with where it is listed.

Study notes may only cite what the roadmap or the paper notes link to; the catalog is
the list they are checked against, and the tutor uses it to turn a reference id into a
title and a working URL.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import CorpusError
from corpus.text import heading_spans, section_at, section_label

CATALOG_SOURCES = ("roadmap-en.md", "llm-paper-notes-en.md")

# Link text may hold one level of brackets ("[[DAIR.AI] Prompt Engineering Guide](...)")
# and may wrap over a line break; the negative look-behind drops images.
_LINK_RE = re.compile(r"(?<!!)\[((?:[^\[\]]|\[[^\[\]]*\])+)\]\(\s*([^()\s]+)\s*\)")
# "[Original Paper]" right after a link, but not "[text](url)", which is the next link.
_NOTE_RE = re.compile(r"[ \t]*\[([^\[\]\n]+)\](?!\()")
_ARXIV_RE = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})(?:v\d+)?", re.IGNORECASE)
_PENCIL = ":pencil:"
_BULLET_RE = re.compile(r"^\s*[-*]\s+(.+?)\s*$")


@dataclass(frozen=True)
class Paper:
    """One linked work (paper, tutorial, blog, repository), deduplicated by id."""

    id: str  # "arxiv:1706.03762" or "url:<first 12 hex of sha1(url)>"
    title: str
    url: str
    arxiv_id: str | None
    sections: tuple[str, ...]  # heading paths, outermost first, joined by " > "
    sources: tuple[str, ...]  # corpus file names
    note: str | None = None  # "[Original Paper]" annotation after the link, brackets dropped
    self_check: tuple[str, ...] = field(default_factory=tuple)  # "SQ07", ...


@dataclass(frozen=True)
class SelfCheckBlock:
    """One ":pencil:" question list of the roadmap and the readings it follows."""

    section: str
    question_ids: tuple[str, ...]
    questions: tuple[str, ...]
    start: int  # offset of the first reading the block covers
    end: int  # offset of the ":pencil:" line


def arxiv_id_of(url: str) -> str | None:
    """The arXiv id in an abs/pdf URL, version suffix dropped ("1911.02150v1" -> "1911.02150")."""
    match = _ARXIV_RE.search(url)
    return match.group(1) if match else None


def paper_id(url: str) -> str:
    """Stable id of a linked work: its arXiv id when it has one, else a hash of the URL."""
    arxiv = arxiv_id_of(url)
    if arxiv is not None:
        return f"arxiv:{arxiv}"
    return "url:" + hashlib.sha1(url.encode("utf-8")).hexdigest()[:12]


def self_check_blocks(text: str) -> list[SelfCheckBlock]:
    """The roadmap's question lists, numbered SQ01.. in document order.

    A block covers the readings between the previous block (or its section's heading)
    and its own ":pencil:" line: that is how the roadmap pairs readings with questions.
    """
    spans = heading_spans(text)
    blocks: list[SelfCheckBlock] = []
    number = 0
    previous_end = 0
    for pencil in re.finditer(re.escape(_PENCIL), text):
        section = section_label(section_at(spans, pencil.start()))
        heading_starts = [start for start, _ in spans if start <= pencil.start()]
        start = max(previous_end, heading_starts[-1] if heading_starts else 0)
        questions: list[str] = []
        lines = text[pencil.end() :].split("\n")[1:]
        for line in lines:
            if not line.strip():
                if questions:
                    break
                continue
            bullet = _BULLET_RE.match(line)
            if bullet is None:
                break
            questions.append(bullet.group(1))
        ids = tuple(f"SQ{number + k + 1:02d}" for k in range(len(questions)))
        number += len(questions)
        blocks.append(SelfCheckBlock(section, ids, tuple(questions), start, pencil.start()))
        previous_end = pencil.end()
    return blocks


@dataclass
class _Entry:
    id: str
    title: str
    url: str
    arxiv_id: str | None
    note: str | None
    sections: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    self_check: set[str] = field(default_factory=set)


def _links(text: str) -> list[tuple[int, str, str, str | None]]:
    """(offset, title, url, note) of each external link in `text`."""
    found = []
    for match in _LINK_RE.finditer(text):
        url = match.group(2).strip()
        if url.startswith("#"):
            continue
        title = " ".join(match.group(1).split())
        note_match = _NOTE_RE.match(text, match.end())
        note = " ".join(note_match.group(1).split()) if note_match else None
        found.append((match.start(), title, url, note))
    return found


def parse_links(text: str, source: str) -> list[Paper]:
    """Every external link of one Markdown document, one Paper per occurrence."""
    spans = heading_spans(text)
    blocks = self_check_blocks(text)
    papers = []
    for offset, title, url, note in _links(text):
        ids = tuple(qid for b in blocks if b.start <= offset < b.end for qid in b.question_ids)
        section = section_label(section_at(spans, offset))
        papers.append(
            Paper(
                id=paper_id(url),
                title=title,
                url=url,
                arxiv_id=arxiv_id_of(url),
                sections=(section,) if section else (),
                sources=(source,),
                note=note,
                self_check=ids,
            )
        )
    return papers


def merge_papers(papers: list[Paper]) -> list[Paper]:
    """Deduplicate by id in order of first appearance; the first title, URL and note win."""
    entries: dict[str, _Entry] = {}
    for paper in papers:
        entry = entries.get(paper.id)
        if entry is None:
            entry = _Entry(paper.id, paper.title, paper.url, paper.arxiv_id, paper.note)
            entries[paper.id] = entry
        if entry.note is None and paper.note is not None:
            entry.note = paper.note
        for section in paper.sections:
            if section not in entry.sections:
                entry.sections.append(section)
        for source in paper.sources:
            if source not in entry.sources:
                entry.sources.append(source)
        entry.self_check.update(paper.self_check)
    return [
        Paper(
            id=e.id,
            title=e.title,
            url=e.url,
            arxiv_id=e.arxiv_id,
            sections=tuple(e.sections),
            sources=tuple(e.sources),
            note=e.note,
            self_check=tuple(sorted(e.self_check)),
        )
        for e in entries.values()
    ]


def build_catalog(corpus_dir: Path) -> list[Paper]:
    """The catalog of roadmap-en.md then llm-paper-notes-en.md, in order of first link."""
    papers: list[Paper] = []
    for name in CATALOG_SOURCES:
        path = corpus_dir / name
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise CorpusError(
                f"{path}: missing; the paper catalog is built from {', '.join(CATALOG_SOURCES)}"
                " - restore it from the shipped corpus"
            ) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise CorpusError(f"{path}: cannot be read as UTF-8 text ({exc})") from exc
        papers.extend(parse_links(text, name))
    return merge_papers(papers)


def find_paper(catalog: list[Paper], ref_id: str) -> Paper | None:
    """The entry for a reference: a catalog id, a bare arXiv id or a URL; None if unlisted."""
    ref = ref_id.strip()
    if not ref.startswith(("arxiv:", "url:")):
        ref = f"arxiv:{ref}" if re.fullmatch(r"\d{4}\.\d{4,5}", ref) else paper_id(ref)
    return next((paper for paper in catalog if paper.id == ref), None)
