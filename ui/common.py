"""What every tab and the API endpoints share: the model queue, waiting for startup,
error messages, source-language filters."""

from __future__ import annotations

from typing import Any

from core.errors import InputError, TutorError
from ui import render

READY_WAIT_S = 600.0  # a chat request waits this long for the model to finish loading
# Every event that talks to the model shares one queue group, sized by ui.concurrency
# (the model server's slots): the queue, not the model server, makes people wait.
LLM_QUEUE: dict[str, Any] = {"concurrency_id": "llm", "concurrency_limit": "default"}


def error_message(exc: BaseException) -> str:
    if isinstance(exc, TutorError):
        return str(exc)
    return (
        f"something went wrong on our side ({type(exc).__name__}: {exc}); the app keeps "
        "working - try again, and report it if it repeats"
    )


def error_html(exc: BaseException) -> str:
    return f'<div class="error">{render.esc(error_message(exc))}</div>'


def filters_for(language: str) -> Any:
    from index.retriever import SearchFilters

    if language is not None and not isinstance(language, str):
        raise InputError(f"the language must be text such as 'en', got {type(language).__name__}")
    return SearchFilters(languages=(language,)) if language else None
