"""Records that cross module boundaries: documents, cleaned text, chunks."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SourceDocument:
    """One document as shipped or ingested.

    `text` is the file decoded as UTF-8 with universal newlines, i.e. exactly
    `open(path, encoding="utf-8").read()`; every offset in the project refers to it.
    """

    name: str  # corpus file name ("roadmap-es.txt") or, for learner files, a stable doc id
    path: Path
    title: str
    language: str  # en, es, ja, fr, zh-Hans, zh-Hant, ...
    kind: str  # roadmap | notes | reading-list | news | study-note | learner
    text: str
    url: str | None = None
    license: str | None = None
    translation_of: str | None = None  # name of the document this one translates/presents
    structure: str | None = None  # how its sections are found (corpus.chunking.STRUCTURES)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CleanText:
    """Text after cleaning, with a map back to the original.

    `offsets[i]` is the offset in the original text of cleaned character i;
    `offsets[len(text)]` is one past the last kept original character.
    """

    text: str
    offsets: tuple[int, ...]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a cleaned span [start, end) to the original span it came from."""
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"span {start}:{end} outside cleaned text of length {len(self.text)}")
        if start == end:
            return self.offsets[start], self.offsets[start]
        return self.offsets[start], self.offsets[end - 1] + 1


@dataclass(frozen=True)
class Chunk:
    """A passage of one document: what is embedded, retrieved and cited."""

    id: str
    source: str  # SourceDocument.name
    text: str  # cleaned text of the passage
    section: tuple[str, ...]  # heading path, outermost first
    start: int  # span in the original document text
    end: int
    language: str
    kind: str
    n_tokens: int
    parallel_id: str | None = None  # chunks sharing it are versions of one passage
    extra: dict[str, str] = field(default_factory=dict, compare=False)


def chunk_id(source: str, start: int, end: int) -> str:
    """Stable id from document and span, so rebuilding is idempotent."""
    digest = hashlib.sha1(f"{source}:{start}:{end}".encode()).hexdigest()[:16]
    return f"{source}:{start}-{end}:{digest[:8]}"
