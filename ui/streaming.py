"""Turn the tutor's token callback into an iterator a Gradio generator can yield from."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

_DONE = object()


@dataclass(frozen=True)
class StreamEvent:
    text: str  # everything streamed so far
    answer: Any = None  # the finished TutorAnswer, on the last event only


def stream_ask(
    ask: Callable[..., Any],
    question: str,
    history: Sequence[tuple[str, str]] = (),
    filters: Any = None,
    min_interval: float = 0.1,
    **options: Any,
) -> Iterator[StreamEvent]:
    """Run `ask(question, history=..., filters=..., on_token=..., **options)` in a thread
    and yield the growing text at most every `min_interval` seconds, then the finished
    answer.

    An exception raised by `ask` is re-raised here, in the caller's thread.
    """
    q: queue.Queue[Any] = queue.Queue()
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["answer"] = ask(
                question, history=list(history), filters=filters, on_token=q.put, **options
            )
        except BaseException as exc:  # handed to the consumer, which re-raises it
            result["error"] = exc
        finally:
            q.put(_DONE)

    threading.Thread(target=run, daemon=True, name="ui-ask").start()
    text = ""
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
        if item is not None:
            text += item
            dirty = True
        now = time.monotonic()
        # The first token is shown at once (that is the time to first token people see).
        if dirty and (not shown_any or now - last >= min_interval):
            dirty, shown_any, last = False, True, now
            yield StreamEvent(text)
    if "error" in result:
        raise result["error"]
    yield StreamEvent(text, result["answer"])
