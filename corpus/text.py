"""Text helpers shared by the corpus, the index and the answer path: one home each for
tokenising, sentence splitting, Markdown headings and section paths, and Markdown links.

Everything here is pure. The module sits in `corpus` (the lowest layer that needs these
helpers) and is hashed into the index signature with the rest of `corpus/`
(`index.store.INDEX_CODE`), so a change to what the chunker or BM25 uses forces a rebuild.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence

# --- tokenising ----------------------------------------------------------------------

# Han, kana and Hangul runs have no spaces: index them as overlapping character
# bigrams (the usual dictionary-free choice for Chinese/Japanese BM25), plus the
# single characters so one-character queries still match.
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_]+", re.UNICODE)
_CJK_RUN = re.compile(rf"^[{_CJK}]+$")

# Very common function words of the corpus languages; the list is short on purpose.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "do",
        "does",
        "can",
        "el",
        "la",
        "los",
        "las",
        "de",
        "del",
        "y",
        "en",
        "un",
        "una",
        "que",
        "por",
        "para",
        "con",
        "se",
        "es",
        "al",
        "lo",
        "como",
        "su",
        "sus",
        "le",
        "les",
        "des",
        "du",
        "et",
        "à",
        "au",
        "aux",
        "une",
        "est",
        "pour",
        "dans",
        "par",
        "sur",
        "qui",
    ]
)


def tokenize(text: str) -> list[str]:
    """Lowercased word tokens; CJK runs become unigrams and bigrams.

    >>> tokenize("Rotary embeddings 多模態")
    ['rotary', 'embedding', '多', '模', '態', '多模', '模態']
    """
    text = unicodedata.normalize("NFKC", text).lower()
    out: list[str] = []
    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        if _CJK_RUN.match(tok):
            out.extend(tok)
            out.extend(tok[i : i + 2] for i in range(len(tok) - 1))
        elif tok not in STOPWORDS and (len(tok) > 1 or tok.isdigit()):
            out.append(_singular(tok))
    return out


def _singular(tok: str) -> str:
    """Fold a plain plural so "GANs" meets "GAN" ("transformers" meets "transformer").

    Only ASCII words longer than three letters ending in a single "s": enough for paper
    titles and acronyms, without a language-specific stemmer.
    """
    if (
        len(tok) > 3
        and tok.isascii()
        and tok.endswith("s")
        and not tok.endswith(("ss", "us", "is"))
    ):
        return tok[:-1]
    return tok


# --- sentences -----------------------------------------------------------------------
# Three splitters, because their callers need different things; each says why.

# A citation marker, "[1]" or "[1, 2]": `split_sentences` keeps one left alone by the
# split with the sentence before it; `agent.citations` strips and reads them.
CITATION_MARKER_RE = re.compile(r"\s*\[(\d{1,2}(?:\s*[,;]\s*\d{1,2})*)\]")
# Sentence ends: Latin punctuation followed by space, CJK full stops, or newlines.
_SENT_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Z¿¡\"'(\[\d*-])|(?<=[。！？])|\n+")


def split_sentences(text: str) -> list[str]:
    """The sentence splitter: an answer (or a reference, or evidence) into sentences,
    keeping list items and CJK sentences apart. A Latin sentence ends only before a
    capital, a digit, a quote or a list mark, so "e.g. the" stays whole.

    >>> split_sentences("RoPE rotates keys [1]. It is relative.\\n- item one")
    ['RoPE rotates keys [1].', 'It is relative.', '- item one']
    """
    parts = [p.strip() for p in _SENT_END.split(text)]
    out: list[str] = []
    for p in parts:
        if not p:
            continue
        # A marker that ended up alone belongs to the previous sentence.
        if out and CITATION_MARKER_RE.fullmatch(p):
            out[-1] += " " + p
        else:
            out.append(p)
    return out


# Compaction needs offsets into the passage and every possible boundary (a passage is
# cut to a window of whole pieces), so it splits at any run of terminal punctuation or
# line breaks, capital or not, and keeps the whitespace between pieces inside them.
_SENTENCE_PIECE = re.compile(r"[^\n.!?。！？]*(?:[.!?。！？]+|\n+|$)")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Spans of sentences and lines in `text` (whitespace-only pieces dropped): the pieces
    a source's context window is made of (`agent.context.best_window`).

    >>> sentence_spans("One. Two!\\nThree")
    [(0, 4), (4, 9), (10, 15)]
    """
    spans = []
    for m in _SENTENCE_PIECE.finditer(text):
        if m.group(0).strip():
            spans.append((m.start(), m.end()))
    return spans


# The chunker's cut points inside an oversized unit: after a sentence end or a
# semicolon, Latin ones only before a space or a CJK character. Part of the chunking
# code: changing it re-chunks the corpus.
_SENTENCE_CUT = re.compile(r"(?<=[。！？；])|(?<=[.!?;])(?=\s|[\u3400-\u9fff])")


def sentence_cuts(text: str) -> list[int]:
    """Offsets where the chunker may cut `text` at a sentence end (`corpus.packing`).

    >>> sentence_cuts("One; two. 三。四")
    [4, 9, 12]
    """
    return [m.start() for m in _SENTENCE_CUT.finditer(text)]


# --- Markdown headings and section paths ---------------------------------------------

# An ATX heading line: its level (the run of "#") and its title, closing "#"s dropped.
# MULTILINE, so it finds headings in a whole text and matches single lines alike.
MD_HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)

# How a section path (outer heading first) is written as one string.
SECTION_SEP = " > "


def section_label(path: Sequence[str]) -> str:
    """A section path as one string, outer heading first.

    >>> section_label(("LLMs", "PEFT"))
    'LLMs > PEFT'
    """
    return SECTION_SEP.join(path)


def stack_path(stack: list[tuple[int, str]], level: int, title: str) -> tuple[str, ...]:
    """Open a heading of `level` on `stack` ((level, title) pairs, updated in place) and
    return the section path it starts.

    >>> stack = []
    >>> stack_path(stack, 2, "A"), stack_path(stack, 3, "B"), stack_path(stack, 2, "C")
    (('A',), ('A', 'B'), ('C',))
    """
    while stack and stack[-1][0] >= level:
        stack.pop()
    stack.append((level, title))
    return tuple(t for _, t in stack)


def heading_spans(text: str) -> list[tuple[int, tuple[str, ...]]]:
    """(offset, heading path) for each Markdown heading, in document order. Every "#"
    line counts, code fences included (`corpus.units` skips fences for the chunker).

    >>> heading_spans("# A\\ntext\\n## B ##\\n# C")
    [(0, ('A',)), (9, ('A', 'B')), (17, ('C',))]
    """
    spans: list[tuple[int, tuple[str, ...]]] = []
    stack: list[tuple[int, str]] = []
    for match in MD_HEADING_RE.finditer(text):
        path = stack_path(stack, len(match.group(1)), match.group(2).strip())
        spans.append((match.start(), path))
    return spans


def section_at(spans: Sequence[tuple[int, tuple[str, ...]]], offset: int) -> tuple[str, ...]:
    """The path of the last heading of `spans` (from `heading_spans`) that starts at or
    before `offset`; () before the first.

    >>> spans = heading_spans("# A\\ntext\\n## B")
    >>> section_at(spans, 5), section_at(spans, 9)
    (('A',), ('A', 'B'))
    """
    i = bisect_right([start for start, _ in spans], offset) - 1
    return spans[i][1] if i >= 0 else ()


# --- Markdown links ------------------------------------------------------------------

# A link to an absolute or site-relative URL: group 1 the title (the brackets of an
# image-credit "[[image source]](url)" left out), 2 the URL, 3 the closing parenthesis
# ("" when a chunk ends inside the link). `corpus.catalog` keeps its own, stricter link
# pattern (nested brackets in titles, images excluded, any URL): it defines the catalog.
MD_LINK_RE = re.compile(r"\[\[?([^\]\n]*?)\]?\]\(((?:https?://|/)[^)\s]*)(\)?)")
_WEB_URL = re.compile(r"https?://[^)\s]")


def web_links(text: str) -> list[tuple[str, str]]:
    """(title, url) of each complete web link whose title has 3-200 characters; image
    credits ("[[image source]](url)") and site-relative links are left out.

    >>> web_links("See [LoRA](https://a.b/c), [[image source]](https://d.e), [x](/f)")
    [('LoRA', 'https://a.b/c')]
    """
    return [
        (m.group(1), m.group(2))
        for m in MD_LINK_RE.finditer(text)
        if m.group(3)
        and not m.group(0).startswith("[[")
        and _WEB_URL.match(m.group(2))
        and 3 <= len(m.group(1)) <= 200
    ]
