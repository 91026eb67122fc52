"""Spaced repetition: SM-2's review schedule, as pure functions over a `ReviewState`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReviewState:
    easiness: float = 2.5
    interval: int = 0  # days
    repetitions: int = 0


def quality_from_score(score: int) -> int:
    """Our 0-5 grade is SM-2's 0-5 response quality; clamp stray values."""
    return max(0, min(5, int(score)))


def sm2_update(state: ReviewState, quality: int) -> ReviewState:
    """SM-2 (Wozniak 1990): the next interval and easiness after an answer of `quality` 0-5.

    Quality below 3 restarts the repetitions at a one-day interval; otherwise the
    interval goes 1, 6, then the previous interval times the (previous) easiness. Easiness moves
    by 0.1 - (5 - q)(0.08 + (5 - q)0.02) and never drops below 1.3.

    >>> s = sm2_update(ReviewState(), 5); (s.interval, s.repetitions, round(s.easiness, 2))
    (1, 1, 2.6)
    >>> s = sm2_update(s, 4); (s.interval, s.repetitions, round(s.easiness, 2))
    (6, 2, 2.6)
    >>> s = sm2_update(s, 3); (s.interval, s.repetitions, round(s.easiness, 2))
    (16, 3, 2.46)
    >>> sm2_update(s, 1).interval
    1
    """
    q = quality_from_score(quality)
    easiness = max(1.3, state.easiness + 0.1 - (5 - q) * (0.08 + (5 - q) * 0.02))
    if q < 3:
        return ReviewState(easiness, 1, 0)
    reps = state.repetitions + 1
    if reps == 1:
        interval = 1
    elif reps == 2:
        interval = 6
    else:
        # As in SuperMemo's SM-2: the interval grows by the easiness *before* this answer.
        interval = round(state.interval * state.easiness)
    return ReviewState(easiness, interval, reps)
