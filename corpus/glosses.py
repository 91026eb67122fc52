"""English glosses of the shipped corpus's non-English chunks (corpus/glosses.jsonl).

A gloss is one to three English sentences saying what a passage says, written once by
the local model (`scripts/make_glosses.py`) and shipped beside the corpus, so a fresh
machine has them without hours of CPU. The index embeds each gloss as an extra entry that
points to its chunk (`index.retriever`), so an English question can find a passage that
exists only in Chinese; the original chunk is what is returned and cited.

A row names its chunk by id *and* by the sha256 of the chunk's text: a gloss written for
text that has since changed is never attached to the new text (`match_glosses` counts it
as stale instead). Learner-ingested files have no glosses.

>>> row = GlossRecord(chunk_id="a.txt:0-5:1234abcd", text_sha256=text_digest("hello"),
...                   source="a.txt", language="zh-Hans", gloss="Says hello.", model="m")
>>> match_glosses([row], {"a.txt:0-5:1234abcd": "hello"}).attached
{'a.txt:0-5:1234abcd': 'Says hello.'}
>>> match_glosses([row], {"a.txt:0-5:1234abcd": "hello!"}).stale
1
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import CorpusError

GLOSSES_FILENAME = "glosses.jsonl"


def text_digest(text: str) -> str:
    """sha256 of a chunk's (cleaned) text: what a gloss was written for."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class GlossRecord(BaseModel):
    """One line of corpus/glosses.jsonl."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chunk_id: str = Field(min_length=1, description="id of the chunk glossed (corpus.records)")
    text_sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="sha256 of the chunk text the gloss was written for"
    )
    source: str = Field(min_length=1, description="document the chunk comes from")
    language: str = Field(min_length=2, description="language of the chunk (not of the gloss)")
    gloss: str = Field(min_length=1, description="1-3 English sentences on what the chunk says")
    model: str = Field(min_length=1, description="the model that wrote it (file and sha256)")


def read_glosses(path: Path) -> list[GlossRecord]:
    """Every row of a gloss file; a missing file is no glosses. A bad row is a CorpusError
    naming the file, the line and the field."""
    path = Path(path)
    if not path.is_file():
        return []
    rows: list[GlossRecord] = []
    with path.open(encoding="utf-8") as fh:
        for line_no, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                rows.append(GlossRecord.model_validate_json(raw))
            except ValidationError as exc:
                err = exc.errors()[0]
                field = ".".join(str(p) for p in err["loc"]) or "the line"
                raise CorpusError(f"{path}:{line_no}: {field}: {err['msg']}") from exc
    return rows


def glosses_digest(rows: Iterable[GlossRecord]) -> str:
    """One hash of every (chunk, text, gloss) triple, for the index's build signature."""
    h = hashlib.sha256()
    for r in sorted(rows, key=lambda r: (r.chunk_id, r.text_sha256)):
        h.update(f"{r.chunk_id}\0{r.text_sha256}\0{r.gloss}\n".encode())
    return h.hexdigest()


@dataclass(frozen=True)
class GlossMatch:
    """Glosses attached to chunks by id and text hash, and what could not be."""

    attached: dict[str, str]  # chunk id -> gloss
    stale: int  # rows whose chunk exists but whose text changed
    orphaned: int  # rows whose chunk id is not in the index


def match_glosses(rows: Iterable[GlossRecord], chunk_texts: Mapping[str, str]) -> GlossMatch:
    """Attach each row to the chunk with its id whose text still hashes to `text_sha256`."""
    attached: dict[str, str] = {}
    stale = orphaned = 0
    for r in rows:
        text = chunk_texts.get(r.chunk_id)
        if text is None:
            orphaned += 1
        elif text_digest(text) != r.text_sha256:
            stale += 1
        else:
            attached[r.chunk_id] = r.gloss
    return GlossMatch(attached=attached, stale=stale, orphaned=orphaned)


def gloss_row_json(row: GlossRecord) -> str:
    return json.dumps(row.model_dump(), ensure_ascii=False)
