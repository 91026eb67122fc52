"""The services one process needs, built lazily from one Settings object.

The CLI and the UI each make one `Runtime` at their edge and call library
functions with what it holds; tests build one over a temporary data dir.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tutor.settings import Settings

if TYPE_CHECKING:
    from index.embedders import Embedder
    from index.retriever import HybridRetriever


@dataclass
class Runtime:
    settings: Settings
    _embedder: Any = field(default=None, repr=False)
    _retriever: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                from index.embedders import make_embedder

                self._embedder = make_embedder(self.settings.embedder)
            return self._embedder

    @property
    def retriever(self) -> HybridRetriever:
        embedder = self.embedder
        with self._lock:
            if self._retriever is None:
                from index.retriever import HybridRetriever

                self._retriever = HybridRetriever(self.settings, embedder)
            return self._retriever
