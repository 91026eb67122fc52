"""Chroma, as the index uses it: the client (local folder or a server), the embedding
function that never embeds on its own, and the sweep of segment folders Chroma leaves."""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import IndexMismatchError
from core.settings import Settings
from index.embedders import Embedder

log = logging.getLogger(__name__)


def chroma_client(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    _register_with_chroma()
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    url = settings.index.chroma_url
    if url:
        from urllib.parse import urlparse

        parsed = urlparse(url)
        return chromadb.HttpClient(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 8000,
            ssl=parsed.scheme == "https",
            settings=chroma_settings,
        )
    path = settings.index_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


class PrecomputedEmbeddings:
    """Chroma embedding function that wraps our embedder.

    We always pass vectors explicitly; giving Chroma this function too guarantees
    it never instantiates its default one (which would try to download a model).
    Chroma rebuilds it from the collection's config when it lists collections; that
    copy has no embedder and refuses to embed.
    """

    def __init__(self, embedder: Embedder | None) -> None:
        self._embedder = embedder

    def _require(self) -> Embedder:
        if self._embedder is None:
            raise IndexMismatchError("open the collection through index.store.get_collection")
        return self._embedder

    def __call__(self, input: list[str]) -> list[np.ndarray]:
        return list(self._require().embed_passages(list(input)))

    def embed_query(self, input: list[str]) -> list[np.ndarray]:
        return list(self._require().embed_queries(list(input)))

    @staticmethod
    def name() -> str:
        return "roadmap-tutor"

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> PrecomputedEmbeddings:
        return PrecomputedEmbeddings(None)


def _register_with_chroma() -> None:
    from chromadb.utils.embedding_functions import register_embedding_function

    with contextlib.suppress(ValueError):  # already registered in this process
        register_embedding_function(PrecomputedEmbeddings)


def get_collection(client: Any, name: str, embedder: Embedder) -> Any:
    return client.get_collection(name=name, embedding_function=PrecomputedEmbeddings(embedder))




_SEGMENT_DIR = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def orphan_segments(entries: Iterable[str], live: set[str]) -> list[str]:
    """The segment folders (UUID names) that no live Chroma segment owns.

    >>> orphan_segments(["chroma.sqlite3", "c601e450-92cf-446d-a7ef-ab6215a5043f", "x"], set())
    ['c601e450-92cf-446d-a7ef-ab6215a5043f']
    """
    return sorted(e for e in entries if _SEGMENT_DIR.match(e) and e not in live)


def remove_orphan_segments(chroma_dir: Path) -> list[str]:
    """Delete vector-segment folders that Chroma left behind: `delete_collection` (chromadb
    1.5) drops a collection's rows but keeps its HNSW folder, and a build killed mid-way
    leaves one too, so without this every rebuild would leak a copy of the vectors.
    Runs under the writer lock; returns the names removed."""
    db_path = chroma_dir / "chroma.sqlite3"
    if not db_path.is_file():
        return []
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        live = {str(r[0]) for r in db.execute("SELECT id FROM segments")}
    except sqlite3.DatabaseError:
        return []  # not the schema we know: leave everything as it is
    finally:
        db.close()
    removed = orphan_segments((e.name for e in chroma_dir.iterdir() if e.is_dir()), live)
    for name in removed:
        shutil.rmtree(chroma_dir / name, ignore_errors=True)
    if removed:
        log.info("removed %d orphaned Chroma segment folder(s)", len(removed))
    return removed
