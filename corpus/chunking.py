"""Structure-aware chunking of cleaned documents.

A document is first parsed into units (paragraphs, lists, code blocks, self-check
question lists), each tagged with the section it sits in; then the units of each
section are packed greedily into chunks of at most `max_tokens` (counted with the
embedder's tokenizer). Chunks never cross a section boundary.

- Sections: Markdown `#` headings (English files, study notes, learner .md); the plain
  heading lines of roadmap-es.txt, recognised from its table of contents, with their
  levels taken from the English original's outline (`outline`); one section per paper
  in llm-reading-list-fr.txt and per numbered item in llm-paper-notes-en.md (paper
  title last); short title-like lines in the two Chinese files; none in roadmap-ja.txt
  (its headings were lost, paragraph positions do not map reliably).
- A heading line is part of the first chunk of its section.
- Lists are split only between items (top-level items first, then nested ones).
- A self-check question list with its lead-in line is one chunk of its own, never
  split and never merged; the only chunk allowed to exceed `max_tokens` if a list ever
  did (none does at the default 220).
- A unit too large for one chunk is split at lines, then sentence ends (。！？； . ! ?),
  then clause marks (，、, ：:), then spaces, and only then between characters.
- Chunks under `min_tokens` merge into a neighbour of the same section when the result
  fits.
- Offsets: units are found in the cleaned text and mapped back with
  `CleanText.to_original`; the chunk text is the cleaned passage, trimmed.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from corpus.clean import clean_document, is_markdown
from corpus.records import Chunk, CleanText, SourceDocument, chunk_id

CountTokens = Callable[[str], int]
Span = tuple[int, int]

SELF_CHECK_RE = re.compile(
    r"(you should be able to answer these questions|debería poder responder estas preguntas)",
    re.IGNORECASE,
)
_MD_HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_BULLET_RE = re.compile(r"^([ \t]*)(?:[-*+•]|\d{1,3}[.)、])[ \t]+")
_FENCE_RE = re.compile(r"^[ \t]*(```|~~~)")
_NUMBERED_RE = re.compile(r"^\d{1,3}\.[ \t]+")
_ITEM_TITLE_RE = re.compile(r"\*\*\[((?:[^\[\]]|\[[^\[\]]*\])+)\]\(")
_TOC_TITLES = ("tabla de contenido", "table of contents", "table of content", "índice")
_FR_ENTRY_RE = re.compile(r"^\*(auteur|source)\s*:")
_FR_TITLE_MAX = 200


@dataclass
class _Unit:
    start: int  # cleaned-text span, trimmed
    end: int
    section: tuple[str, ...]
    serial: int  # section instance: two sections may share a title path
    kind: str = "text"  # text | list | code | self-check
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class _Line:
    start: int
    end: int  # without the newline
    text: str


def _lines(text: str) -> list[_Line]:
    out, pos = [], 0
    for raw in text.split("\n"):
        out.append(_Line(pos, pos + len(raw), raw))
        pos += len(raw) + 1
    return out


def _trim(text: str, start: int, end: int) -> Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


class _Builder:
    """Collects units while tracking the current section and a pending heading line."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.units: list[_Unit] = []
        self.section: tuple[str, ...] = ()
        self.serial = 0
        self.pending: int | None = None  # start of heading lines not yet in a unit

    def heading(self, section: tuple[str, ...], start: int) -> None:
        self.section = section
        self.serial += 1
        if self.pending is None:
            self.pending = start

    def unit(self, start: int, end: int, kind: str = "text") -> None:
        if self.pending is not None:
            start, self.pending = min(start, self.pending), None
        start, end = _trim(self.text, start, end)
        if start < end:
            self.units.append(_Unit(start, end, self.section, self.serial, kind))

    def finish(self) -> list[_Unit]:
        if self.pending is not None:  # headings with nothing after them
            self.unit(self.pending, len(self.text))
        return self.units


def _stack_path(stack: list[tuple[int, str]], level: int, title: str) -> tuple[str, ...]:
    while stack and stack[-1][0] >= level:
        stack.pop()
    stack.append((level, title))
    return tuple(t for _, t in stack)


def _item_title(line: str) -> str:
    match = _ITEM_TITLE_RE.search(line)
    if match:
        return " ".join(match.group(1).split())
    return _NUMBERED_RE.sub("", line).strip()[:80]


def _parse_markdown(text: str, item_sections: bool) -> list[_Unit]:
    """Units of a Markdown text: blocks are separated by blank lines, headings and fences."""
    build = _Builder(text)
    stack: list[tuple[int, str]] = []
    lines = _lines(text)
    block: list[_Line] = []
    block_kind = "text"

    def flush() -> None:
        nonlocal block, block_kind
        if block:
            build.unit(block[0].start, block[-1].end, block_kind)
        block, block_kind = [], "text"

    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE_RE.match(line.text):
            flush()
            fence = _FENCE_RE.match(line.text).group(1)  # type: ignore[union-attr]
            j = i + 1
            while j < len(lines) and not lines[j].text.lstrip().startswith(fence):
                j += 1
            j = min(j, len(lines) - 1)
            build.unit(line.start, lines[j].end, "code")
            i = j + 1
            continue
        heading = _MD_HEADING_RE.match(line.text)
        if heading:
            flush()
            path = _stack_path(stack, len(heading.group(1)), heading.group(2).strip())
            build.heading(path, line.start)
        elif not line.text.strip():
            flush()
        elif _BULLET_RE.match(line.text):
            if item_sections and _NUMBERED_RE.match(line.text):
                flush()
                base = tuple(t for _, t in stack)
                build.heading((*base, _item_title(line.text)), line.start)
            if block_kind == "text" and block:
                lead = block[-1]
                if SELF_CHECK_RE.search(lead.text):
                    block.pop()
                    flush()
                    block, block_kind = [lead], "self-check"
                else:
                    flush()
            if not block:
                block_kind = "list"
            block.append(line)
        else:
            block.append(line)
        i += 1
    flush()
    return build.finish()


def _is_bullet(line: str) -> bool:
    return bool(_BULLET_RE.match(line))


def _parse_lines(text: str, headings: dict[int, tuple[str, ...]]) -> list[_Unit]:
    """Units of a plain text where every line is a paragraph; runs of bullets are lists.

    `headings` maps line numbers to the section path they open.
    """
    build = _Builder(text)
    lines = _lines(text)
    i = 0
    while i < len(lines):
        line = lines[i]
        if i in headings:
            build.heading(headings[i], line.start)
            i += 1
            continue
        if not line.text.strip():
            i += 1
            continue
        if _is_bullet(line.text) or (
            SELF_CHECK_RE.search(line.text) and i + 1 < len(lines) and _is_bullet(lines[i + 1].text)
        ):
            kind = "list" if _is_bullet(line.text) else "self-check"
            j = i + 1
            while j < len(lines) and j not in headings and _is_bullet(lines[j].text):
                j += 1
            build.unit(line.start, lines[j - 1].end, kind)
            i = j
            continue
        build.unit(line.start, line.end)
        i += 1
    return build.finish()


def _norm(s: str) -> str:
    return " ".join(s.lower().split())


def _heading_like(line: str) -> bool:
    s = line.strip()
    return bool(s) and len(s) <= 80 and not _is_bullet(line) and s[-1] not in ".:?!,;"


def toc_headings(text: str, outline: Sequence[int] | None = None) -> dict[int, tuple[str, ...]]:
    """Heading lines of a plain text whose table of contents lists its sections.

    The TOC is the bullet list after a "Tabla de contenido" line. Each TOC item is
    matched, in order, to the next heading-like line equal to it or, failing that, to
    the most similar one (difflib ratio >= 0.5) before the next item's exact match:
    machine translation rendered some headings differently in the TOC and the body.
    `outline` gives each item's level (the original's outline); without it, or if its
    length differs, all sections are level 1.
    """
    lines = [line.text for line in _lines(text)]
    toc_at = next((i for i, s in enumerate(lines) if _norm(s) in _TOC_TITLES), None)
    if toc_at is None:
        return {}
    items, j = [], toc_at + 1
    while j < len(lines) and _is_bullet(lines[j]):
        items.append(_BULLET_RE.sub("", lines[j]).strip())
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
        heads[at] = _stack_path(stack, level, lines[at].strip())
        pos = at + 1
    return heads


def markdown_outline(text: str, skip_toc: bool = True) -> list[int]:
    """Levels (1 = shallowest) of a Markdown text's headings, the TOC heading left out."""
    found = [
        (len(m.group(1)), m.group(2))
        for m in (_MD_HEADING_RE.match(line) for line in text.split("\n"))
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
    lines = [line.text.strip() for line in _lines(text)]
    nonblank = [i for i, s in enumerate(lines) if s]
    heads: dict[int, tuple[str, ...]] = {}
    for n, i in enumerate(nonblank):
        s = lines[i]
        if re.match(r"\d{1,2}、\S", s) and len(s) <= 40:  # "1、視覺理解"
            heads[i] = (s,)
            continue
        if not 2 <= len(s) <= 40 or re.search(r"[。，,：:；;！？!?、~…]|\[\d", s):
            continue
        if _is_bullet(s) or s.startswith(("图", "圖", "http", "(", "（")):
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


def _fr_entries(text: str) -> dict[int, tuple[str, ...]]:
    """Paper entries of the French reading list: title lines before "*auteur:"/"*source:".

    An entry's titles are the (at most two) short lines right before its "*auteur" line;
    the section is the last of them, the paper's title as the list gives it.
    """
    lines = [line.text.strip() for line in _lines(text)]
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


def parse_units(
    doc: SourceDocument, clean: CleanText, outline: Sequence[int] | None = None
) -> list[_Unit]:
    """The units of one cleaned document, each with its section."""
    text = clean.text
    if is_markdown(doc) or doc.path.suffix.lower() in (".html", ".htm"):
        units = _parse_markdown(text, item_sections=doc.name == "llm-paper-notes-en.md")
    elif doc.name == "llm-reading-list-fr.txt":
        units = _parse_lines(text, _fr_entries(text))
    elif doc.language in ("zh-Hans", "zh-Hant") and doc.kind != "learner":
        units = _parse_lines(text, guessed_headings(text))
    else:
        units = _parse_lines(text, toc_headings(text, outline))
    return units


# --- splitting oversized units -------------------------------------------------------

_SENTENCE_RE = re.compile(r"(?<=[。！？；])|(?<=[.!?;])(?=\s|[\u3400-\u9fff])")
_CLAUSE_RE = re.compile(r"(?<=[，、：,:])")


def _cuts(text: str, start: int, end: int, how: str) -> list[int]:
    """Candidate cut offsets strictly inside [start, end) for one splitting level."""
    piece = text[start:end]
    if how in ("top-items", "items"):
        rel = []
        pos = 0
        indents = []
        for raw in piece.split("\n"):
            m = _BULLET_RE.match(raw)
            if m:
                indents.append((pos, len(m.group(1).expandtabs(4))))
            pos += len(raw) + 1
        if not indents:
            return []
        top = min(ind for _, ind in indents)
        rel = [p for p, ind in indents if how == "items" or ind == top]
    elif how == "lines":
        rel = [m.end() for m in re.finditer(r"\n", piece)]
    elif how == "sentences":
        rel = [m.start() for m in _SENTENCE_RE.finditer(piece)]
    elif how == "clauses":
        rel = [m.start() for m in _CLAUSE_RE.finditer(piece)]
    else:  # words
        rel = [m.end() for m in re.finditer(r"\s+", piece)]
    return sorted({start + r for r in rel if 0 < r < len(piece)})


_LEVELS = ("top-items", "items", "lines", "sentences", "clauses", "words")


def _hard_split(text: str, start: int, end: int, count: CountTokens, max_tokens: int) -> list[Span]:
    """Unavoidable cut inside a run of characters: the longest prefixes that fit."""
    spans = []
    while start < end:
        lo, hi = start + 1, end
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count(text[start:mid]) <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        spans.append((start, lo))
        start = lo
    return spans


def _fit(
    text: str, start: int, end: int, count: CountTokens, max_tokens: int, level: int = 0
) -> list[Span]:
    """Split [start, end) into trimmed spans of at most `max_tokens`, coarsest cuts first.

    The pieces are left unjoined: `_chunk_section` packs them together with the
    neighbouring units, so a lead-in paragraph can share a chunk with the first items.
    """
    start, end = _trim(text, start, end)
    if start >= end:
        return []
    if count(text[start:end]) <= max_tokens:
        return [(start, end)]
    for k in range(level, len(_LEVELS)):
        cuts = _cuts(text, start, end, _LEVELS[k])
        if not cuts:
            continue
        bounds = [start, *cuts, end]
        pieces: list[Span] = []
        for s, e in itertools.pairwise(bounds):
            pieces += _fit(text, s, e, count, max_tokens, k + 1)
        return pieces
    return _hard_split(text, start, end, count, max_tokens)


# --- chunks --------------------------------------------------------------------------


def _section_groups(units: list[_Unit]) -> list[list[_Unit]]:
    groups: list[list[_Unit]] = []
    for unit in units:
        if groups and groups[-1][-1].serial == unit.serial:
            groups[-1].append(unit)
        else:
            groups.append([unit])
    return groups


def _chunk_section(
    text: str, units: list[_Unit], count: CountTokens, max_tokens: int, min_tokens: int
) -> list[tuple[Span, str]]:
    """(span, kind) of the chunks of one section."""
    pieces: list[tuple[Span, str]] = []
    for unit in units:
        if unit.kind == "self-check":
            pieces.append(((unit.start, unit.end), "self-check"))
        else:
            pieces += [
                (span, "text") for span in _fit(text, unit.start, unit.end, count, max_tokens)
            ]
    chunks: list[tuple[Span, str]] = []
    for span, kind in pieces:
        if (
            chunks
            and kind == "text"
            and chunks[-1][1] == "text"
            and count(text[chunks[-1][0][0] : span[1]]) <= max_tokens
        ):
            chunks[-1] = ((chunks[-1][0][0], span[1]), "text")
        else:
            chunks.append((span, kind))
    # Small fragments: merge into the previous or next text chunk of the section if it fits.
    merged = True
    while merged:
        merged = False
        for n, (span, kind) in enumerate(chunks):
            if kind != "text" or count(text[span[0] : span[1]]) >= min_tokens:
                continue
            for m in (n - 1, n + 1):
                if 0 <= m < len(chunks) and chunks[m][1] == "text":
                    lo, hi = min(span[0], chunks[m][0][0]), max(span[1], chunks[m][0][1])
                    if count(text[lo:hi]) <= max_tokens:
                        chunks[min(n, m)] = ((lo, hi), "text")
                        del chunks[max(n, m)]
                        merged = True
                        break
            if merged:
                break
    return chunks


def _note_extra(doc: SourceDocument) -> dict[str, str]:
    from core.errors import CorpusError
    from corpus.notes_meta import parse_note

    try:
        meta, _ = parse_note(doc.text, doc.name)
    except CorpusError:
        return {}
    return {"answers": ",".join(meta.answers), "topics": ",".join(meta.topics)}


def chunk_document(
    doc: SourceDocument,
    clean: CleanText,
    count_tokens: CountTokens,
    max_tokens: int,
    min_tokens: int,
    outline: Sequence[int] | None = None,
) -> list[Chunk]:
    """Chunks of one document (deterministic; ids from document name and original span).

    `outline`: heading levels of the original a plain-text translation follows (see
    `toc_headings`); `chunk_corpus` supplies it. Self-check chunks of roadmaps carry
    extra["self_check"] = "SQ01,SQ02,SQ03" (questions numbered in document order);
    study-note chunks carry extra["answers"] and extra["topics"] from the front matter;
    chunks of texts with form feeds (PDF pages) carry extra["page"] (1-based).
    """
    text = clean.text
    units = parse_units(doc, clean, outline)
    base_extra = _note_extra(doc) if doc.kind == "study-note" else {}
    chunks: list[Chunk] = []
    question = 0
    for group in _section_groups(units):
        for (s, e), kind in _chunk_section(text, group, count_tokens, max_tokens, min_tokens):
            start, end = clean.to_original(s, e)
            passage = text[s:e]
            extra = dict(base_extra)
            if kind == "self-check":
                n = sum(1 for line in passage.split("\n") if _is_bullet(line))
                if doc.kind == "roadmap":
                    ids = [f"SQ{question + k + 1:02d}" for k in range(n)]
                    extra["self_check"] = ",".join(ids)
                question += n
            if "\f" in doc.text:
                extra["page"] = str(doc.text.count("\f", 0, start) + 1)
            chunks.append(
                Chunk(
                    id=chunk_id(doc.name, start, end),
                    source=doc.name,
                    text=passage,
                    section=group[0].section,
                    start=start,
                    end=end,
                    language=doc.language,
                    kind=doc.kind,
                    n_tokens=count_tokens(passage),
                    extra=extra,
                )
            )
    return chunks


def _outline_for(doc: SourceDocument, by_name: dict[str, SourceDocument]) -> list[int] | None:
    original = by_name.get(doc.translation_of or "")
    if original is None or not is_markdown(original) or is_markdown(doc):
        return None
    return markdown_outline(original.text)


def chunk_corpus(
    docs: Sequence[SourceDocument],
    count_tokens: CountTokens,
    max_tokens: int,
    min_tokens: int,
) -> list[Chunk]:
    """Clean and chunk every document, then link the parallel versions."""
    from corpus.parallel import link_parallel_versions

    by_name = {d.name: d for d in docs}
    chunks: list[Chunk] = []
    for doc in docs:
        chunks += chunk_document(
            doc,
            clean_document(doc),
            count_tokens,
            max_tokens,
            min_tokens,
            outline=_outline_for(doc, by_name),
        )
    return link_parallel_versions(chunks, list(docs))
