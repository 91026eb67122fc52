"""The units of a cleaned document: paragraphs, lists, code blocks and self-check
question lists, each tagged with the section it sits in.

Two parsers: one for Markdown (blocks separated by blank lines, headings and fences) and
one for plain texts where every line is a paragraph and the section headings are given
(found by `corpus.headings`). Spans are offsets into the cleaned text, trimmed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from corpus.text import MD_HEADING_RE, stack_path

Span = tuple[int, int]

SELF_CHECK_RE = re.compile(
    r"(you should be able to answer these questions|debería poder responder estas preguntas)",
    re.IGNORECASE,
)
BULLET_RE = re.compile(r"^([ \t]*)(?:[-*+•]|\d{1,3}[.)、])[ \t]+")
_FENCE_RE = re.compile(r"^[ \t]*(```|~~~)")
_NUMBERED_RE = re.compile(r"^\d{1,3}\.[ \t]+")
_ITEM_TITLE_RE = re.compile(r"\*\*\[((?:[^\[\]]|\[[^\[\]]*\])+)\]\(")


@dataclass
class Unit:
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


def text_lines(text: str) -> list[_Line]:
    out, pos = [], 0
    for raw in text.split("\n"):
        out.append(_Line(pos, pos + len(raw), raw))
        pos += len(raw) + 1
    return out


def trim_span(text: str, start: int, end: int) -> Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


class _Builder:
    """Collects units while tracking the current section and a pending heading line."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.units: list[Unit] = []
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
        start, end = trim_span(self.text, start, end)
        if start < end:
            self.units.append(Unit(start, end, self.section, self.serial, kind))

    def finish(self) -> list[Unit]:
        if self.pending is not None:  # headings with nothing after them
            self.unit(self.pending, len(self.text))
        return self.units


def _item_title(line: str) -> str:
    match = _ITEM_TITLE_RE.search(line)
    if match:
        return " ".join(match.group(1).split())
    return _NUMBERED_RE.sub("", line).strip()[:80]


def parse_markdown(text: str, item_sections: bool) -> list[Unit]:
    """Units of a Markdown text: blocks are separated by blank lines, headings and fences."""
    build = _Builder(text)
    stack: list[tuple[int, str]] = []
    lines = text_lines(text)
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
        heading = MD_HEADING_RE.match(line.text)
        if heading:
            flush()
            path = stack_path(stack, len(heading.group(1)), heading.group(2).strip())
            build.heading(path, line.start)
        elif not line.text.strip():
            flush()
        elif BULLET_RE.match(line.text):
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


def is_bullet(line: str) -> bool:
    return bool(BULLET_RE.match(line))


def parse_lines(text: str, headings: dict[int, tuple[str, ...]]) -> list[Unit]:
    """Units of a plain text where every line is a paragraph; runs of bullets are lists.

    `headings` maps line numbers to the section path they open.
    """
    build = _Builder(text)
    lines = text_lines(text)
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
        if is_bullet(line.text) or (
            SELF_CHECK_RE.search(line.text) and i + 1 < len(lines) and is_bullet(lines[i + 1].text)
        ):
            kind = "list" if is_bullet(line.text) else "self-check"
            j = i + 1
            while j < len(lines) and j not in headings and is_bullet(lines[j].text):
                j += 1
            build.unit(line.start, lines[j - 1].end, kind)
            i = j
            continue
        build.unit(line.start, line.end)
        i += 1
    return build.finish()
