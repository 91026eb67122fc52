"""The API endpoints (for `gradio_client`, documented in the README): /ask, /ask_stream,
/ask_events, /search, /status, /index_status, /grade, /hint (/grade_batch and /ingest are
the Practice and Library tabs' own events).

Each endpoint makes the library call its tab makes, so the API and the page agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from core.errors import InputError
from ui.common import LLM_QUEUE, READY_WAIT_S, error_message, filters_for
from ui.library import index_status_json
from ui.practice import grade_json, hint_json
from ui.state import AppState
from ui.streaming import stream_ask


def parse_history(history: Any) -> list[tuple[str, str]]:
    """The /ask history: a JSON list of [question, answer] pairs (checked by Tutor.ask)."""
    if not history:
        return []
    if not isinstance(history, str):
        raise InputError("the history must be a JSON list of [question, answer] pairs")
    try:
        data = json.loads(history)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"the history is not valid JSON ({exc.__class__.__name__})") from exc
    if not isinstance(data, list) or not all(isinstance(p, list) for p in data):
        raise InputError("the history must be a JSON list of [question, answer] pairs")
    return [tuple(p) for p in data]  # type: ignore[misc]


def api_endpoints(gr: Any, app: AppState) -> None:
    """Register the documented endpoints on the Blocks being built."""

    def ask(
        question: str, history: str = "[]", language: str = "", answer_language: str = ""
    ) -> dict:
        """Ask the tutor. `history` is a JSON list of [question, answer] pairs; `language`
        restricts the sources ("en", "es", "zh", ...); `answer_language` ("en", "es",
        "fr", "ja", "zh-Hans", "zh-Hant") overrides the question's language for the
        answer. Returns the answer record."""
        try:
            pairs = parse_history(history)
            rt = app.wait_ready(READY_WAIT_S)
            return rt.tutor.ask(
                question,
                history=pairs,
                filters=filters_for(language),
                answer_language=answer_language or None,
            ).to_json()
        except Exception as exc:
            raise gr.Error(error_message(exc)) from exc

    def ask_stream(question: str, language: str = "", answer_language: str = "") -> Iterator[str]:
        """Ask the tutor, streaming: yields the answer text as it grows, then the answer
        record as JSON (a string starting with "{")."""
        try:
            rt = app.wait_ready(READY_WAIT_S)
            for event in stream_ask(
                rt.tutor.ask,
                question,
                (),
                filters_for(language),
                answer_language=answer_language or None,
            ):
                if event.answer is None:
                    yield event.text
                else:
                    yield json.dumps(event.answer.to_json(), ensure_ascii=False)
        except Exception as exc:
            raise gr.Error(error_message(exc)) from exc

    def ask_events(question: str, language: str = "", answer_language: str = "") -> Iterator[dict]:
        """Ask the tutor, as events: first {"type": "sources", "sources": [...]} the moment
        the passages are chosen (the model then reads them for seconds), then {"type":
        "text", "text": ...} with the draft so far (provisional: the checker may still
        decline it), then {"type": "answer", "answer": {...}}, the checked answer record."""
        try:
            rt = app.wait_ready(READY_WAIT_S)
            for event in stream_ask(
                rt.tutor.ask,
                question,
                (),
                filters_for(language),
                answer_language=answer_language or None,
            ):
                if event.answer is not None:
                    yield {"type": "answer", "answer": event.answer.to_json()}
                elif event.text:
                    yield {"type": "text", "text": event.text}
                elif event.sources is not None:
                    yield {"type": "sources", "sources": [asdict(c) for c in event.sources]}
        except Exception as exc:
            raise gr.Error(error_message(exc)) from exc

    def search(query: str, k: int = 5, language: str = "") -> list:
        """Hybrid search of the index: the top-k passages as JSON records."""
        try:
            rt = app.wait_ready(READY_WAIT_S)
            return [
                h.to_json()
                # k goes in as sent: the retriever refuses what is not a whole number in
                # 1..limits.max_k, as it does for `tutor search --k`.
                for h in rt.retriever.search(query, k=k, filters=filters_for(language))
            ]
        except Exception as exc:
            raise gr.Error(error_message(exc)) from exc

    def status() -> dict:
        """Startup status: phase (starting, indexing, loading model, ready, failed)."""
        s = app.status
        return {"phase": s.phase, "detail": s.detail, "ready": s.ready}

    def index_info() -> dict:
        """The index: build, documents, passages."""
        return index_status_json(app)

    def grade(question_id: str, answer: str, learner: str = "default") -> dict:
        """Grade an answer to a self-check question, named by id (SQ03, sq03) or asked in
        your own words, and record it in the learner's progress: the grade report, with
        the question it matched and how closely, and the attempt's id."""
        try:
            return grade_json(app.wait_ready(READY_WAIT_S), question_id, answer, learner)
        except Exception as exc:
            raise gr.Error(error_message(exc)) from exc

    def hint(question_id: str, level: int = 1, learner: str = "default") -> dict:
        """A hint (level 1..3) for a self-check question instead of grading, about a key
        point the learner's last attempt at it missed."""
        try:
            return hint_json(app.wait_ready(READY_WAIT_S), question_id, level, learner)
        except Exception as exc:
            raise gr.Error(error_message(exc)) from exc

    gr.api(ask, api_name="ask", **LLM_QUEUE)
    gr.api(ask_stream, api_name="ask_stream", **LLM_QUEUE)
    gr.api(ask_events, api_name="ask_events", **LLM_QUEUE)
    gr.api(search, api_name="search")
    gr.api(status, api_name="status", queue=False)
    gr.api(index_info, api_name="index_status", queue=False)
    gr.api(grade, api_name="grade", **LLM_QUEUE)
    gr.api(hint, api_name="hint")
