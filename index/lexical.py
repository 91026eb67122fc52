"""BM25 over chunk texts, with a tokeniser that works for CJK as well as Latin scripts."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np

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
