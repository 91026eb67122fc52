"""Turn the tutor's callbacks into an iterator a Gradio generator can yield from."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

_DONE = object()


@dataclass(frozen=True)
class _Sources:
    citations: Sequence[Any]


@dataclass(frozen=True)
class StreamEvent:
    text: str  # everything streamed so far
    answer: Any = None  # the finished TutorAnswer, on the last event only
    # The numbered sources (agent.records.Citation), from the moment they are chosen:
    # the model then reads them for seconds before its first token.
    sources: Sequence[Any] | None = None


def stream_ask(
    ask: Callable[..., Any],
    question: str,
    history: Sequence[tuple[str, str]] = (),
    filters: Any = None,
    min_interval: float = 0.1,
    **options: Any,
) -> Iterator[StreamEvent]:
    """Run `ask(question, history=..., filters=..., on_token=..., on_context=...,
    **options)` in a thread and yield an event as soon as the sources are chosen, then the
    growing text at most every `min_interval` seconds, then the finished answer.

    An exception raised by `ask` is re-raised here, in the caller's thread.
    """
    q: queue.Queue[Any] = queue.Queue()
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["answer"] = ask(
                question,
                history=list(history),
                filters=filters,
                on_token=q.put,
                on_context=lambda citations, readings: q.put(_Sources(tuple(citations))),
                **options,
            )
        except BaseException as exc:  # handed to the consumer, which re-raises it
            result["error"] = exc
        finally:
            q.put(_DONE)

    threading.Thread(target=run, daemon=True, name="ui-ask").start()
    text = ""
    sources: Sequence[Any] | None = None
    dirty = False
    shown_any = False
    last = 0.0
    while True:
        try:
            item = q.get(timeout=min_interval)
        except queue.Empty:
            item = None
        if item is _DONE:
            break
        if isinstance(item, _Sources):
            sources = item.citations
            yield StreamEvent(text, sources=sources)  # at once: the learner can start reading
            continue
        if item is not None:
            text += item
            dirty = True
        now = time.monotonic()
        # The first token is shown at once (that is the time to first token people see).
        if dirty and (not shown_any or now - last >= min_interval):
            dirty, shown_any, last = False, True, now
            yield StreamEvent(text, sources=sources)
    if "error" in result:
        raise result["error"]
    yield StreamEvent(text, result["answer"], sources)
