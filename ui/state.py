"""The app's one shared service holder: a Runtime, started in the background.

Every browser session shares the Runtime (one index, one model server); what is
per-session (the conversation, the learner profile) lives in Gradio session state,
never here. Startup (index check or build, embedder, model server) runs in a thread so
the page is up in seconds and shows what is happening.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent.runtime import Runtime
from core.errors import LLMError, TutorError
from core.settings import Settings

log = logging.getLogger(__name__)

RuntimeFactory = Callable[[Settings], Runtime]


@dataclass(frozen=True)
class Status:
    phase: str  # "starting", "indexing", "loading model", "ready", "failed"
    detail: str
    ok: bool | None  # None while busy

    @property
    def ready(self) -> bool:
        return self.phase == "ready"


class AppState:
    """Holds the Runtime and its startup status; `reconfigure` swaps in new settings."""

    def __init__(self, runtime: Runtime, factory: RuntimeFactory | None = None) -> None:
        self.runtime = runtime
        self._factory = factory or (lambda s: Runtime(s, fake_responses=runtime.fake_responses))
        self._status = Status("starting", "the tutor is starting", None)
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._generation = 0
        self._texts: dict[str, str | None] = {}

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def status(self) -> Status:
        return self._status

    def _set(self, generation: int, phase: str, detail: str, ok: bool | None = None) -> None:
        if generation == self._generation:
            self._status = Status(phase, detail, ok)

    # ------------------------------------------------------------ startup

    def start(self) -> None:
        """Check (or build) the index, load the embedder and start the model, in a thread."""
        with self._lock:
            self._generation += 1
            generation = self._generation
            self._ready.clear()
            self._status = Status("starting", "the tutor is starting", None)
            self._thread = threading.Thread(
                target=self._start, args=(generation, self.runtime), daemon=True, name="ui-start"
            )
            self._thread.start()

    def _start(self, generation: int, rt: Runtime) -> None:
        from index.store import ensure_index

        try:
            self._set(generation, "starting", "loading the embedding model", None)
            embedder = rt.embedder

            def progress(stage: str, done: int, total: int) -> None:
                self._set(generation, "indexing", f"building the index: {stage} {done}/{total}")

            self._set(generation, "indexing", "checking the index", None)
            built = ensure_index(rt.settings, embedder, progress)
            if built is not None:
                log.info("built index %s", built.build_id)
            rt.retriever.warm_up()
            self._set(generation, "loading model", self._model_detail(rt), None)
            tutor = rt.tutor  # starts the embedded model server when one is needed
            self._set(generation, "loading model", "reading the system prompt", None)
            warm_note = ""
            try:
                # Canned test replies are consumed in order: a warm-up must not take one.
                tutor.warm_up(llm=rt.fake_responses is None)
            except LLMError as exc:
                # Search and the library work without the model; asking says what is wrong.
                log.warning("model warm-up failed: %s", exc)
                warm_note = f" · the model did not answer yet: {exc}"
            self._set(generation, "ready", self._ready_detail(rt) + warm_note, True)
            self._ready.set()
        except TutorError as exc:
            self._set(generation, "failed", str(exc), False)
            self._ready.set()
        except Exception as exc:  # a bug: keep the page up and say what broke
            log.exception("startup failed")
            self._set(generation, "failed", f"{type(exc).__name__}: {exc}", False)
            self._ready.set()

    @staticmethod
    def _model_detail(rt: Runtime) -> str:
        llm = rt.settings.llm
        if rt.fake_responses is not None:
            return "using canned replies (test mode)"
        if llm.base_url:
            return f"connecting to {llm.base_url}"
        return "starting the bundled model (llama.cpp) in the background"

    @staticmethod
    def _ready_detail(rt: Runtime) -> str:
        ep = rt.endpoint
        meta = rt.retriever.meta
        return f"model {ep.model} at {ep.base_url} · index {meta.n_chunks} passages"

    def wait_ready(self, timeout: float | None = None) -> Runtime:
        """The Runtime once startup finished; a TutorError saying why if it failed."""
        if not self._ready.wait(timeout):
            raise TutorError(f"the tutor is still starting ({self._status.detail}); try again soon")
        if not self._status.ready:
            raise TutorError(f"the tutor could not start: {self._status.detail}")
        return self.runtime

    def reconfigure(self, settings: Settings) -> None:
        """Use new settings: a new Runtime (the embedder is kept), started in the background."""
        with self._lock:
            old = self.runtime
            new = self._factory(settings)
            if settings.embedder == old.settings.embedder:
                new._embedder = old._embedder
            if settings.llm == old.settings.llm and settings.evals == old.settings.evals:
                # Same model: keep its (possibly running) server.
                new._endpoint = old._endpoint
                old._endpoint = None
            self.runtime = new
            self._texts.clear()
        with contextlib.suppress(Exception):
            old.close()
        self.start()

    def close(self) -> None:
        self.runtime.close()

    # ------------------------------------------------------------ documents

    def document_text(self, source: str) -> str | None:
        """The text a citation's offsets refer to, for plain-text documents; else None."""
        if source not in self._texts:
            settings = self.settings
            path = Path(source) if Path(source).is_absolute() else settings.corpus.dir / source
            text = None
            if path.suffix.lower() in (".md", ".txt") and path.is_file():
                with contextlib.suppress(OSError, UnicodeDecodeError):
                    text = path.read_text(encoding="utf-8")
            self._texts[source] = text
        return self._texts[source]


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
