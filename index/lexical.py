"""BM25 over chunk texts, tokenised by `corpus.text.tokenize` (CJK as well as Latin
scripts)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from corpus.text import tokenize


class BM25Index:
    """bm25s over a fixed list of chunk ids; saved and loaded beside the vectors."""

    def __init__(self, ids: list[str], model: object) -> None:
        self.ids = ids
        self._model = model

    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str]) -> BM25Index:
        import bm25s

        model = bm25s.BM25()
        corpus_tokens = [tokenize(t) or ["\u2205"] for t in texts]
        if corpus_tokens:
            model.index(corpus_tokens, show_progress=False)
        return cls(list(ids), model)

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if self.ids:
            self._model.save(str(path), show_progress=False)  # type: ignore[attr-defined]
        (path / "ids.json").write_text(json.dumps(self.ids), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> BM25Index:
        import bm25s

        ids = json.loads((path / "ids.json").read_text(encoding="utf-8"))
        model = bm25s.BM25.load(str(path), show_progress=False) if ids else bm25s.BM25()
        return cls(ids, model)

    def search(
        self, query: str, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[str, float]]:
        """Top-k (id, score) with score > 0; `allowed` is a 0/1 mask over `ids`."""
        return self.search_tokens(tokenize(query), k, allowed)

    def search_tokens(
        self, tokens: Sequence[str], k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[str, float]]:
        """Like `search`, for tokens already made by `tokenize` (expanded queries)."""
        if not self.ids or not tokens:
            return []
        vocab = getattr(self._model, "vocab_dict", {}) or {}
        tokens = [t for t in tokens if t in vocab]
        if not tokens:
            return []
        scores = np.asarray(self._model.get_scores(tokens), dtype=np.float32)  # type: ignore[attr-defined]
        if allowed is not None:
            scores = np.where(allowed.astype(bool), scores, 0.0)
        k = min(k, len(self.ids))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]
