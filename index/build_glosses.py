"""The shipped English glosses in a build: which rows attach to which chunks, their
vectors stored beside the chunks, and what a status report says about the gloss file
(`corpus.glosses` holds the file's schema and matching)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.settings import Settings
from corpus.glosses import GLOSSES_FILENAME, glosses_digest, match_glosses, read_glosses
from corpus.records import Chunk


def glosses_path(settings: Settings) -> Path:
    return settings.corpus.dir / GLOSSES_FILENAME


def current_glosses_digest(settings: Settings) -> str:
    """Digest of the gloss file beside the corpus now (no file: the digest of no rows)."""
    return glosses_digest(read_glosses(glosses_path(settings)))


@dataclass(frozen=True)
class BuildGlosses:
    """The glosses a build attaches, in chunk order, and the counts its meta records."""

    chunk_ids: list[str]
    texts: list[str]
    info: dict[str, Any]


def attach_glosses(settings: Settings, chunks: Sequence[Chunk]) -> BuildGlosses:
    rows = read_glosses(glosses_path(settings))
    match = match_glosses(rows, {c.id: c.text for c in chunks})
    ids = [c.id for c in chunks if c.id in match.attached]
    info = {
        "digest": glosses_digest(rows),
        "rows": len(rows),
        "attached": len(ids),
        "stale": match.stale,
        "orphaned": match.orphaned,
    }
    return BuildGlosses(ids, [match.attached[i] for i in ids], info)


def read_build_glosses(build: Path) -> tuple[list[str], np.ndarray]:
    """(chunk ids, gloss vectors) of a build; none for builds without glosses."""
    ids_path, vec_path = build / "glosses.jsonl", build / "glosses.npy"
    if not ids_path.is_file() or not vec_path.is_file():
        return [], np.zeros((0, 0), dtype=np.float32)
    with ids_path.open(encoding="utf-8") as fh:
        ids = [json.loads(line)["chunk_id"] for line in fh if line.strip()]
    return ids, np.load(vec_path)


def gloss_problem(info: dict[str, Any], path: Path) -> str | None:
    """What a build's gloss counts say is wrong (rows it could not attach), or None."""
    stale, orphaned = info.get("stale", 0), info.get("orphaned", 0)
    if not stale and not orphaned:
        return None
    return (
        f"{stale + orphaned} of the {info.get('rows', 0)} glosses in {path} match no chunk of "
        f"the index ({stale} were written for text that has changed, {orphaned} for chunks "
        "that no longer exist) and are not used: rerun scripts/make_glosses.py"
    )
