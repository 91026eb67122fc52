"""The services one process needs, built lazily from one Settings object.

The CLI and the UI each make one `Runtime` at their edge and call library
functions with what it holds; tests build one over a temporary data dir. A
Runtime that started the embedded model server stops it on `close()`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from core.settings import GraderMode, Settings

# The holistic verdict is a one-line JSON object; the key-point check reads one token.
GRADER_MAX_TOKENS = 40

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from agent.llm.client import Endpoint
    from agent.support import SupportModel
    from agent.tutor import Tutor
    from index.embedders import Embedder
    from index.retriever import HybridRetriever


@dataclass
class Runtime:
    settings: Settings
    # For unit tests of logic: canned model replies, served through the same factory.
    fake_responses: list[str] | None = None
    _embedder: Any = field(default=None, repr=False)
    _retriever: Any = field(default=None, repr=False)
    _endpoint: Any = field(default=None, repr=False)
    _judge_endpoint: Any = field(default=None, repr=False)
    _tutor: Any = field(default=None, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                from index.embedders import make_embedder

                self._embedder = make_embedder(self.settings.embedder)
            return self._embedder

    @property
    def retriever(self) -> HybridRetriever:
        with self._lock:
            if self._retriever is None:
                from index.retriever import HybridRetriever

                self._retriever = HybridRetriever(self.settings, self.embedder)
            return self._retriever

    @property
    def endpoint(self) -> Endpoint:
        """The tutor's model endpoint; starts the embedded server on first use if needed."""
        with self._lock:
            if self._endpoint is None:
                from agent.llm.client import Endpoint, resolve_endpoint

                if self.fake_responses is not None:
                    self._endpoint = Endpoint("fake://", "fake", "none")
                else:
                    self._endpoint = resolve_endpoint(
                        self.settings.llm, self.settings.index.data_dir
                    )
            return self._endpoint

    def chat_model(self, max_tokens: int | None = None) -> BaseChatModel:
        from agent.llm.client import make_chat_model

        llm = self.settings.llm
        if max_tokens is not None:
            llm = llm.model_copy(update={"max_tokens": max_tokens})
        return make_chat_model(llm, self.endpoint, fake_responses=self.fake_responses)

    def grading_model(self, mode: GraderMode | None = None) -> BaseChatModel | None:
        """The model the grader calls in `mode` (default `grading.grader`): None for the
        deterministic grader, which calls none (and so starts no server)."""
        if (mode or self.settings.grading.grader) == "deterministic":
            return None
        # Deferred: the server starts at the first model call, after the grader's cheap
        # checks (a bad question id or an oversized answer is refused without waiting for
        # the model to load).
        return cast("BaseChatModel", _Deferred(lambda: self.chat_model(GRADER_MAX_TOKENS)))

    def judge_model(self, max_tokens: int | None = None) -> BaseChatModel:
        """The eval judge: its own endpoint when configured, else the tutor's model."""
        from agent.llm.client import Endpoint, make_chat_model

        ev = self.settings.evals
        if self.fake_responses is not None or not ev.judge_base_url:
            model = self.chat_model(max_tokens)
            return model
        with self._lock:
            if self._judge_endpoint is None:
                self._judge_endpoint = Endpoint(
                    ev.judge_base_url.rstrip("/"),
                    ev.judge_model or self.settings.llm.model,
                    self.settings.llm.api_key,
                )
        llm = self.settings.llm.model_copy(
            update={"temperature": 0.0, **({"max_tokens": max_tokens} if max_tokens else {})}
        )
        return make_chat_model(llm, self._judge_endpoint)

    @property
    def support_model(self) -> SupportModel:
        from agent.support import load_support_model

        return load_support_model()

    @property
    def tutor(self) -> Tutor:
        with self._lock:
            if self._tutor is None:
                from agent.tutor import Tutor

                self._tutor = Tutor(self.settings, self.retriever, self.chat_model(), self.embedder)
            return self._tutor

    def close(self) -> None:
        with self._lock:
            if self._endpoint is not None:
                self._endpoint.close()
                self._endpoint = None
                self._tutor = None


class _Deferred:
    """Stands for the object `make` returns, and makes it at the first attribute read."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._made: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # copy/pickle probing, or our own fields not yet set
            raise AttributeError(name)
        with self._lock:
            if self._made is None:
                self._made = self._make()
        return getattr(self._made, name)
