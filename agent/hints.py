"""Socratic hints about one key point of a rubric the learner has not covered yet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from agent.rubrics import KeyPoint, Rubric, SourceRef
from core.errors import EvalDataError
from core.limits import check_count


@dataclass(frozen=True)
class Hint:
    question_id: str
    level: int
    text: str
    key_point_id: str
    citation: SourceRef | None


def _target_point(rubric: Rubric, missing_ids: Sequence[str] | None) -> KeyPoint:
    pool = [kp for kp in rubric.key_points if missing_ids is None or kp.id in missing_ids]
    pool = pool or list(rubric.key_points)
    # Heaviest first; ties keep rubric order (the notes' order of ideas).
    return max(pool, key=lambda kp: (kp.weight, -rubric.key_points.index(kp)))


def hint(
    question_id: str, level: int, rubric: Rubric, missing_ids: Sequence[str] | None = None
) -> Hint:
    """A Socratic hint about one key point the learner has not covered yet.

    Level 1 asks a guiding question, level 2 points to the passage of the notes to read
    (file, section, offsets, no excerpt), level 3 explains that one point. No level gives
    more than one key point, so no hint is the whole answer.
    """
    if rubric.question_id != question_id:
        raise EvalDataError(f"the rubric is for {rubric.question_id}, not {question_id}")
    level = check_count(level, "the hint level", 1, 3)
    kp = _target_point(rubric, missing_ids)
    ref = kp.source
    if level == 1:
        text = kp.guiding_question or f"What can you say about {kp.label or 'this idea'}?"
        return Hint(question_id, 1, text, kp.id, None)
    if level == 2:
        pointer = replace(ref, excerpt="") if ref is not None else None
        if ref is None or ref.source == "reference":
            text = f"Think about: {kp.label or kp.guiding_question}."
        else:
            text = (
                f"Read the section '{ref.section}' of {ref.source.rsplit('/', 1)[-1]} "
                f"(characters {ref.start}-{ref.end}), about {kp.label}."
            )
        return Hint(question_id, 2, text, kp.id, pointer)
    return Hint(question_id, 3, f"One idea you are missing: {kp.text}", kp.id, ref)
