"""The labelled question-matching set: rewordings of the self-check questions, near misses
about neighbouring topics and unrelated questions (evals/question_match.jsonl).

It sets `grading.question_match`, the similarity from which a free-text question is taken
to ask a self-check question: the threshold is chosen on the tuning half and reported on
the held-out half. The split is by question id (odd ids tune, even ids are held out), so
no rewording of a held-out question was looked at while tuning; a near miss goes with the
question it neighbours, an unrelated question by the parity of its number.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.errors import EvalDataError
from core.jsonl import read_jsonl
from evals.schemas import QuestionMatchCase

__all__ = ["QuestionMatchCase", "load_question_match_set", "score", "split_of", "tune_threshold"]

SCHEMA = "evals/README.md#question_matchjsonl"
Split = Literal["tune", "heldout"]


def load_question_match_set(path: Path) -> list[QuestionMatchCase]:
    rows = read_jsonl(
        path,
        QuestionMatchCase,
        what="the question-matching set",
        schema=SCHEMA,
        error=EvalDataError,
        id_of=lambda c: c.id,
        empty="no cases",
    )
    return [case for _, case in rows]


def split_of(case: QuestionMatchCase) -> Split:
    """Odd question ids tune, even ones are held out (see the module docstring).

    >>> split_of(QuestionMatchCase(id="u-07", query="q", language="en", question_id=None,
    ...                            kind="unrelated"))
    'tune'
    """
    anchor = case.question_id or case.near
    number = int(anchor[2:]) if anchor else int(re.findall(r"\d+", case.id)[-1])
    return "tune" if number % 2 else "heldout"


@dataclass(frozen=True)
class MatchScore:
    threshold: float
    cases: int
    accuracy: float  # right question for a rewording, no match for the others
    rewordings_matched: float  # share of rewordings matched to their own question
    others_rejected: float  # share of near misses and unrelated questions matching nothing
    errors: tuple[str, ...]  # ids of the cases it gets wrong


def predict(top: tuple[str, float], threshold: float) -> str | None:
    return top[0] if top[1] >= threshold else None


def score(
    cases: Sequence[QuestionMatchCase], tops: Sequence[tuple[str, float]], threshold: float
) -> MatchScore:
    """How the threshold does on `cases`, given each case's best (question id, similarity).

    >>> c = [QuestionMatchCase(id="a", query="q", language="en", question_id="SQ01",
    ...                        kind="rewording"),
    ...      QuestionMatchCase(id="b", query="q", language="en", question_id=None,
    ...                        kind="unrelated")]
    >>> score(c, [("SQ01", 0.9), ("SQ02", 0.85)], 0.88).accuracy
    1.0
    >>> score(c, [("SQ01", 0.9), ("SQ02", 0.85)], 0.80).errors
    ('b',)
    """
    right = [predict(t, threshold) == c.question_id for c, t in zip(cases, tops, strict=True)]
    rew = [r for c, r in zip(cases, right, strict=True) if c.question_id]
    oth = [r for c, r in zip(cases, right, strict=True) if not c.question_id]
    return MatchScore(
        threshold=round(threshold, 4),
        cases=len(cases),
        accuracy=round(sum(right) / len(right), 4) if right else 0.0,
        rewordings_matched=round(sum(rew) / len(rew), 4) if rew else 0.0,
        others_rejected=round(sum(oth) / len(oth), 4) if oth else 0.0,
        errors=tuple(c.id for c, r in zip(cases, right, strict=True) if not r),
    )


def tune_threshold(cases: Sequence[QuestionMatchCase], tops: Sequence[tuple[str, float]]) -> float:
    """The threshold with the best accuracy on `cases`: the middle of the widest best
    interval between observed similarities, so it does not sit on one case's value."""
    if not cases:
        raise EvalDataError("no cases to tune the question-matching threshold on")
    sims = sorted({round(t[1], 4) for t in tops})
    cuts = [sims[0] - 0.01, *((a + b) / 2 for a, b in itertools.pairwise(sims)), sims[-1] + 0.01]
    accs = [score(cases, tops, t).accuracy for t in cuts]
    best = max(accs)
    # the longest run of consecutive cuts at the best accuracy; its middle
    runs, start = [], None
    for i, a in enumerate([*accs, -1.0]):
        if a == best and start is None:
            start = i
        elif a != best and start is not None:
            runs.append((start, i - 1))
            start = None
    lo, hi = max(runs, key=lambda r: cuts[r[1]] - cuts[r[0]])
    return round((cuts[lo] + cuts[hi]) / 2, 3)
