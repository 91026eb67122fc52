"""Packing the units of one section into chunks of at most `max_tokens`.

A unit too large for one chunk is split at the coarsest cuts that make it fit (list
items, lines, sentence ends, clause marks, spaces, and only then between characters);
the pieces are packed greedily with their neighbours, and fragments under `min_tokens`
merge into a neighbouring text chunk when the result fits. Tokens are counted with the
function given (the embedder's tokenizer).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

from corpus.text import sentence_cuts
from corpus.units import BULLET_RE, Span, Unit, trim_span

CountTokens = Callable[[str], int]


# --- splitting oversized units -------------------------------------------------------

_CLAUSE_RE = re.compile(r"(?<=[，、：,:])")


def _cuts(text: str, start: int, end: int, how: str) -> list[int]:
    """Candidate cut offsets strictly inside [start, end) for one splitting level."""
    piece = text[start:end]
    if how in ("top-items", "items"):
        rel = []
        pos = 0
        indents = []
        for raw in piece.split("\n"):
            m = BULLET_RE.match(raw)
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
        rel = sentence_cuts(piece)
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

    The pieces are left unjoined: `chunk_section` packs them together with the
    neighbouring units, so a lead-in paragraph can share a chunk with the first items.
    """
    start, end = trim_span(text, start, end)
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


def section_groups(units: list[Unit]) -> list[list[Unit]]:
    groups: list[list[Unit]] = []
    for unit in units:
        if groups and groups[-1][-1].serial == unit.serial:
            groups[-1].append(unit)
        else:
            groups.append([unit])
    return groups


def chunk_section(
    text: str, units: list[Unit], count: CountTokens, max_tokens: int, min_tokens: int
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
