"""Where the sections of the plain-text documents begin.

Markdown files carry `#` headings; the plain texts do not, so each kind has its own
finder: the table of contents of roadmap-es.txt (`toc_headings`, levels taken from the
English original's `markdown_outline`), title-like lines of the two Chinese files
(`guessed_headings`), and the paper entries of llm-reading-list-fr.txt (`fr_entries`).
Each returns line numbers mapped to the section path they open.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from corpus.text import MD_HEADING_RE, stack_path
from corpus.units import BULLET_RE, is_bullet, text_lines

_TOC_TITLES = ("tabla de contenido", "table of contents", "table of content", "índice")
_FR_ENTRY_RE = re.compile(r"^\*(auteur|source)\s*:")
_FR_TITLE_MAX = 200


def _norm(s: str) -> str:
    return " ".join(s.lower().split())


def _heading_like(line: str) -> bool:
    s = line.strip()
    return bool(s) and len(s) <= 80 and not is_bullet(line) and s[-1] not in ".:?!,;"


def toc_headings(text: str, outline: Sequence[int] | None = None) -> dict[int, tuple[str, ...]]:
    """Heading lines of a plain text whose table of contents lists its sections.

    The TOC is the bullet list after a "Tabla de contenido" line. Each TOC item is
    matched, in order, to the next heading-like line equal to it or, failing that, to
    the most similar one (difflib ratio >= 0.5) before the next item's exact match:
    machine translation rendered some headings differently in the TOC and the body.
    `outline` gives each item's level (the original's outline); without it, or if its
    length differs, all sections are level 1.
    """
    lines = [line.text for line in text_lines(text)]
    toc_at = next((i for i, s in enumerate(lines) if _norm(s) in _TOC_TITLES), None)
    if toc_at is None:
        return {}
    items, j = [], toc_at + 1
    while j < len(lines) and is_bullet(lines[j]):
        items.append(BULLET_RE.sub("", lines[j]).strip())
        j += 1
    levels = list(outline) if outline is not None and len(outline) == len(items) else None
    heads: dict[int, tuple[str, ...]] = {toc_at: (lines[toc_at].strip(),)}
    stack: list[tuple[int, str]] = []
    pos = j

    def exact(item: str, start: int, stop: int) -> int | None:
        return next(
            (
                k
                for k in range(start, stop)
                if _heading_like(lines[k]) and _norm(lines[k]) == _norm(item)
            ),
            None,
        )

    for n, item in enumerate(items):
        stop = len(lines)
        for later in items[n + 1 :]:
            found = exact(later, pos, len(lines))
            if found is not None:
                stop = found
                break
        at = exact(item, pos, stop)
        if at is None:
            scored = [
                (difflib.SequenceMatcher(None, _norm(item), _norm(lines[k])).ratio(), -k)
                for k in range(pos, stop)
                if _heading_like(lines[k])
            ]
            best = max(scored, default=(0.0, 0))
            at = -best[1] if best[0] >= 0.5 else None
        if at is None:
            continue
        level = levels[n] if levels else 1
        heads[at] = stack_path(stack, level, lines[at].strip())
        pos = at + 1
    return heads


def markdown_outline(text: str, skip_toc: bool = True) -> list[int]:
    """Levels (1 = shallowest) of a Markdown text's headings, the TOC heading left out."""
    found = [
        (len(m.group(1)), m.group(2))
        for m in (MD_HEADING_RE.match(line) for line in text.split("\n"))
        if m
    ]
    if skip_toc:
        found = [(lvl, t) for lvl, t in found if _norm(t) not in _TOC_TITLES]
    if not found:
        return []
    top = min(lvl for lvl, _ in found)
    return [lvl - top + 1 for lvl, _ in found]


_CJK_END = "。！？；!?"


def guessed_headings(text: str) -> dict[int, tuple[str, ...]]:
    """Title-like lines of the Chinese files (flat, one level).

    A heading is a line of 2-40 characters with no sentence or clause punctuation, no
    citation mark ("[12]"), not a bullet, a URL or a figure caption, followed by another
    line, and whose previous non-blank line is complete (ends a sentence, a bracket or a
    URL) or itself a heading: lost formulas left fragments like "由" or "给出,其中" that
    must not open sections.
    """
    lines = [line.text.strip() for line in text_lines(text)]
    nonblank = [i for i, s in enumerate(lines) if s]
    heads: dict[int, tuple[str, ...]] = {}
    for n, i in enumerate(nonblank):
        s = lines[i]
        if re.match(r"\d{1,2}、\S", s) and len(s) <= 40:  # "1、視覺理解"
            heads[i] = (s,)
            continue
        if not 2 <= len(s) <= 40 or re.search(r"[。，,：:；;！？!?、~…]|\[\d", s):
            continue
        if is_bullet(s) or s.startswith(("图", "圖", "http", "(", "（")):
            continue
        if n + 1 >= len(nonblank):
            continue
        if n:
            prev_i = nonblank[n - 1]
            prev = lines[prev_i]
            complete = prev[-1] in _CJK_END + ".)）]】~" or re.search(r"https?://\S+$", prev)
            if prev_i not in heads and not complete:
                continue
        heads[i] = (s,)
    return heads


def fr_entries(text: str) -> dict[int, tuple[str, ...]]:
    """Paper entries of the French reading list: title lines before "*auteur:"/"*source:".

    An entry's titles are the (at most two) short lines right before its "*auteur" line;
    the section is the last of them, the paper's title as the list gives it.
    """
    lines = [line.text.strip() for line in text_lines(text)]
    nonblank = [i for i, s in enumerate(lines) if s]
    heads: dict[int, tuple[str, ...]] = {}
    for n, i in enumerate(nonblank):
        if not _FR_ENTRY_RE.match(lines[i]):
            continue
        titles: list[int] = []
        for k in (n - 1, n - 2):
            if k < 0:
                break
            cand = lines[nonblank[k]]
            if len(cand) > _FR_TITLE_MAX or cand.startswith("*") or nonblank[k] in heads:
                break
            if cand.endswith((".", ":")) and k == n - 2:
                break
            titles.insert(0, nonblank[k])
        for t in titles:
            heads[t] = (lines[titles[-1]],)
    for i in nonblank:
        if re.match(r"^Références\s*:", lines[i]):
            heads[i] = ("Références",)
    return heads
