"""From key-point credit to a 0-5 score and a verdict (pure).

Each key point earns credit from its support, the credits are weighted into a
deterministic score, misconceptions cost points and cap it, and the model's verdict (modes
"combined" and "llm") is mixed in. The knobs, and how they were chosen, are in
`GradingParams`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from core.settings import GraderMode

Verdict = Literal["correct", "partially_correct", "incorrect", "off_topic"]
VERDICTS: tuple[str, ...] = ("correct", "partially_correct", "incorrect", "off_topic")


@dataclass(frozen=True)
class GradingParams:
    """Knobs of the grader. Support is the support model's probability (agent/support.py)."""

    # Support from which a key point counts as covered; None: the support model's own
    # "grading" threshold (0.44, chosen on SemEval-2013's short reference answers). Our
    # rubric key points are long sentences and a learner states them in fewer words, so
    # the model's probabilities run lower here: 0.15, the band and the verdict cut-offs
    # below were chosen on the odd-numbered questions of evals/grading-unseen.jsonl and
    # reported on the even ones (bench/grading_bench.py, docs/grading.md).
    covered_at: float | None = 0.15
    # A reference answer given with --reference is split into short sentences, like the
    # SemEval references the model's own threshold was chosen on: that threshold applies.
    reference_covered_at: float | None = None
    credit_band: float = 0.1  # credit grows linearly over covered_at +- this band
    # A teacher calls an answer correct once it states the main ideas, not every point
    # of the rubric: scores are 5 x the weighted coverage.
    correct_from: int = 3
    partial_from: int = 2
    off_topic_below: float = 0.35  # dense relevance to the question + key points
    off_topic_min_tokens: int = 4  # shorter non-answers ("I don't know") are incorrect
    misconception_penalty: float = 1.5  # points off per misconception stated
    misconception_cap: int = 2  # best score of an answer that states a misconception
    llm_weight: float = 0.5  # share of the model's score in the final score
    copy_overlap: float = 0.8  # share of the answer's words taken from the question
    # Mode "points": the model's P(yes) that the answer states a key point. Its
    # probabilities sit between about 0.4 and 0.95 whatever the answer, so credit is a
    # ramp around a high cut-off. The verdict follows the teachers' own reading of a score
    # (evals/grading-unseen.jsonl: 4-5 correct, 2-3 partially correct, 0-1 incorrect), so
    # the score itself must be calibrated: the cut-off and the band were chosen for that on
    # the odd-numbered questions of that set (docs/grading.md).
    point_covered_at: float = 0.675
    point_band: float = 0.15
    point_correct_from: int = 4
    point_partial_from: int = 2


def point_credit(support: float, covered_at: float, band: float) -> float:
    """0..1 credit for a key point from its support: none up to covered_at - band (never
    below 0: no support is no credit), full from covered_at + band, linear between.

    >>> point_credit(0.9, 0.5, 0.15), point_credit(0.5, 0.5, 0.15), point_credit(0.2, 0.5, 0.15)
    (1.0, 0.5, 0.0)
    >>> point_credit(0.0, 0.15, 0.2)
    0.0
    """
    low, high = max(0.0, covered_at - band), covered_at + band
    if support <= low:
        return 0.0
    if support >= high:
        return 1.0
    return round((support - low) / (high - low), 3)


def verdict_for(
    score: int, off_topic: bool, correct_from: int = 3, partial_from: int = 2
) -> Verdict:
    """The verdict a 0-5 score stands for.

    >>> verdict_for(3, False), verdict_for(2, False), verdict_for(1, False)
    ('correct', 'partially_correct', 'incorrect')
    """
    if off_topic:
        return "off_topic"
    if score >= correct_from:
        return "correct"
    if score >= partial_from:
        return "partially_correct"
    return "incorrect"


def deterministic_score(
    credits: Sequence[float],
    weights: Sequence[float],
    n_misconceptions: int,
    penalty: float = 1.5,
) -> float:
    """0..5: weighted key-point coverage, `penalty` points off per misconception.

    >>> deterministic_score([1.0, 0.5], [1.0, 1.0], 0)
    3.75
    """
    total = sum(weights)
    coverage = sum(c * w for c, w in zip(credits, weights, strict=True)) / total if total else 0.0
    return max(0.0, 5.0 * coverage - penalty * n_misconceptions)


def combine_scores(
    det: float,
    llm: tuple[str, int] | None,
    n_misconceptions: int,
    det_off_topic: bool,
    relevance: float,
    params: GradingParams,
    mode: GraderMode = "combined",
) -> tuple[int, Verdict]:
    """Final 0-5 score and verdict from the deterministic score and the model's verdict.

    >>> combine_scores(4.0, ("correct", 5), 0, False, 0.9, GradingParams())
    (5, 'correct')
    >>> combine_scores(4.0, None, 1, False, 0.9, GradingParams())
    (2, 'partially_correct')
    """
    if llm is None or mode in ("deterministic", "points"):
        raw = det
    elif mode == "llm":
        raw = float(llm[1])
    else:
        raw = (1 - params.llm_weight) * det + params.llm_weight * llm[1]
    score = int(min(5, max(0, math.floor(raw + 0.5))))  # half up, not to even
    if n_misconceptions:
        score = min(score, params.misconception_cap)
    off_topic = det_off_topic or (
        llm is not None
        and mode not in ("deterministic", "points")
        and llm[0] == "off_topic"
        and relevance < 2 * params.off_topic_below
        and score <= 1
    )
    if off_topic:
        score = 0
    if mode == "points":
        cuts = (params.point_correct_from, params.point_partial_from)
    else:
        cuts = (params.correct_from, params.partial_from)
    return score, verdict_for(score, off_topic, *cuts)
