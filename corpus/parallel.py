"""Linking chunks that are versions of one passage in several documents.

Rule (precision over recall; a chunk gets a `parallel_id` only when its counterpart
is certain):

1. Self-check lists: the k-th self-check chunk of a translation (manifest
   `translation_of`) and the k-th of its original share an id, provided both documents
   have the same number of self-check chunks and the two chunks hold the same number
   of questions. Id: "<original>#self-check-<k>".
2. Sections of a translation whose headings come from its table of contents
   (roadmap-es.txt): the i-th section of the translation and the i-th section of the
   original (its Markdown headings after the TOC, same count required) are the same
   section; when each holds exactly one chunk besides self-check chunks, those two
   chunks share an id "<original>#section-<i>". Longer sections are not paired chunk
   by chunk: their chunk boundaries fall in different places.
3. Papers: a chunk of a document presenting another (llm-reading-list-fr.txt presents
   llm-paper-notes-en.md) that holds exactly one arXiv id and is the first chunk of its
   section shares an id with the chunk of the presented document that holds that same
   arXiv id alone, if each side has exactly one such chunk. Id: "arxiv:<id>".
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Sequence

from corpus.records import Chunk, SourceDocument

_ARXIV_RE = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})", re.IGNORECASE)


def arxiv_ids(text: str) -> set[str]:
    return set(_ARXIV_RE.findall(text))


def _sections(chunks: list[Chunk]) -> list[list[Chunk]]:
    """Chunks grouped by consecutive section path, TOC section dropped, in order."""
    groups: list[list[Chunk]] = []
    for chunk in chunks:
        if groups and groups[-1][0].section == chunk.section:
            groups[-1].append(chunk)
        else:
            groups.append([chunk])
    return [g for g in groups if g[0].section and not _is_toc(g[0].section[-1])]


def _is_toc(title: str) -> bool:
    return " ".join(title.lower().split()) in {
        "tabla de contenido",
        "table of contents",
        "table of content",
    }


def _self_check_links(
    orig: list[Chunk], trans: list[Chunk], original_name: str, links: dict[str, str]
) -> None:
    a = [c for c in orig if "self_check" in c.extra]
    b = [c for c in trans if "self_check" in c.extra]
    if not a or len(a) != len(b):
        return
    for k, (x, y) in enumerate(zip(a, b, strict=True), start=1):
        if x.extra["self_check"] == y.extra["self_check"]:
            links[x.id] = links[y.id] = f"{original_name}#self-check-{k}"


def _section_links(
    orig: list[Chunk], trans: list[Chunk], original_name: str, links: dict[str, str]
) -> None:
    a, b = _sections(orig), _sections(trans)
    if not a or len(a) != len(b):
        return
    for i, (x, y) in enumerate(zip(a, b, strict=True), start=1):
        xs = [c for c in x if "self_check" not in c.extra]
        ys = [c for c in y if "self_check" not in c.extra]
        if len(xs) == 1 and len(ys) == 1:
            links[xs[0].id] = links[ys[0].id] = f"{original_name}#section-{i}"


def _paper_links(orig: list[Chunk], trans: list[Chunk], links: dict[str, str]) -> None:
    def singles(chunks: list[Chunk], first_only: bool) -> dict[str, list[Chunk]]:
        found: dict[str, list[Chunk]] = defaultdict(list)
        seen_sections: set[tuple[str, ...]] = set()
        for c in chunks:
            first = c.section not in seen_sections
            seen_sections.add(c.section)
            ids = arxiv_ids(c.text)
            if len(ids) == 1 and (first or not first_only):
                found[ids.pop()].append(c)
        return found

    a, b = singles(orig, False), singles(trans, True)
    for arxiv, xs in a.items():
        ys = b.get(arxiv, [])
        if len(xs) == 1 and len(ys) == 1:
            links[xs[0].id] = links[ys[0].id] = f"arxiv:{arxiv}"


def link_parallel_versions(chunks: list[Chunk], docs: Sequence[SourceDocument]) -> list[Chunk]:
    """Return `chunks` in the same order with `parallel_id` set where the rule applies."""
    by_source: dict[str, list[Chunk]] = defaultdict(list)
    for c in chunks:
        by_source[c.source].append(c)
    links: dict[str, str] = {}
    for doc in docs:
        original = doc.translation_of
        if not original or original not in by_source or doc.name not in by_source:
            continue
        orig, trans = by_source[original], by_source[doc.name]
        if doc.kind == "roadmap":
            _self_check_links(orig, trans, original, links)
            _section_links(orig, trans, original, links)
        else:
            _paper_links(orig, trans, links)
    return [dataclasses.replace(c, parallel_id=links[c.id]) if c.id in links else c for c in chunks]
