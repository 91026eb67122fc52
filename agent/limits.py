"""The input bounds of the tutor's and the grader's entry points (`limits.*` settings).

Kept out of `agent.tutor` and `agent.grading` so those files only gain one call at the
top of a function.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from core.errors import InputError
from core.limits import check_text
from core.settings import Settings

# Rubric files are named after question ids: nothing else may reach a file name.
_QUESTION_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


def check_question(question: Any, history: Any, settings: Settings) -> None:
    """A question for `Tutor.ask`, and its history of (question, answer) pairs."""
    lim = settings.limits
    check_text(question, "the question", lim.max_question_chars, "limits.max_question_chars")
    if not isinstance(history, Sequence) or isinstance(history, str):
        raise InputError("the history must be a list of [question, answer] pairs")
    total = 0
    for turn in history:
        if (
            isinstance(turn, str)
            or not isinstance(turn, Sequence)
            or len(turn) != 2
            or not all(isinstance(part, str) for part in turn)
        ):
            raise InputError("the history must be a list of [question, answer] pairs of text")
        total += len(turn[0]) + len(turn[1])
        if total > lim.max_history_chars:
            raise InputError(
                f"the history is over the limit of {lim.max_history_chars:,} characters "
                "(setting limits.max_history_chars): start a new conversation"
            )
        for part in turn:
            check_text(
                part,
                "the history",
                lim.max_history_chars,
                "limits.max_history_chars",
                allow_empty=True,
            )


def check_answer(answer: Any, settings: Settings, what: str = "the answer") -> str:
    """A learner answer (or a reference answer) to grade. Answers over
    grading.max_answer_chars are graded on their start; over the raw bound they are
    refused, because even reading them costs the grader time."""
    return check_text(
        answer,
        what,
        settings.limits.max_answer_input_chars,
        "limits.max_answer_input_chars",
        allow_empty=True,
    )


def check_question_id(value: Any, what: str = "the question id") -> str:
    """A question id, stripped and in its canonical case: a self-check id upper-cased
    (SQ03), a practice id as "PQ-" and a lower-case slug (PQ-peft-2). It names a rubric
    file, so anything but letters, digits, '-' and '_' is refused before it reaches a path.

    >>> check_question_id(" sq03 "), check_question_id("pq-PEFT-2")
    ('SQ03', 'PQ-peft-2')
    """
    if not isinstance(value, str):
        raise InputError(f"{what} must be text such as SQ03")
    wanted = value.strip()
    if not wanted:
        raise InputError(f"{what} is empty: give a self-check question id such as SQ03")
    if not _QUESTION_ID.fullmatch(wanted):
        shown = wanted if len(wanted) <= 20 else wanted[:17] + "..."
        raise InputError(f"{what} {shown!r} is not a question id: use one such as SQ03")
    if wanted[:3].upper() == "PQ-":
        return "PQ-" + wanted[3:].lower()
    return wanted.upper()
