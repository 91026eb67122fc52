"""What grading a batch gives: the graded rows and their summary (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.batch_input import BatchFile, RowError
from agent.grading import GradeReport
from agent.question_match import QuestionMatch

TOP_N = 10  # how many missing points and misconceptions the summary lists


@dataclass(frozen=True)
class GradedRow:
    line: int
    match: QuestionMatch | None  # None when graded against the row's reference
    report: GradeReport
    attempt_id: int | None  # set when the attempt was recorded in the learner's progress


@dataclass(frozen=True)
class BatchSummary:
    rows: int
    graded: int
    skipped: int
    recorded: int
    seconds: float
    answers_per_second: float
    verdicts: dict[str, dict[str, int]]  # question id -> verdict -> count
    missing_points: list[dict[str, Any]]  # most common first: question_id, key_point, label, count
    misconceptions: list[dict[str, Any]]  # most common first: question_id, claim, count
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True)
class BatchResult:
    source: BatchFile
    graded: dict[int, GradedRow]  # by input line
    errors: dict[int, RowError]  # by input line
    summary: BatchSummary
    output: Path | None = None

    def summary_json(self) -> dict[str, Any]:
        return {
            "input": str(self.source.path),
            "output": None if self.output is None else str(self.output),
            **asdict(self.summary),
        }


def summarise(
    graded: Sequence[GradedRow], errors: Sequence[RowError], rows: int, seconds: float
) -> BatchSummary:
    """Counts over graded rows: verdicts per question, the most common missing key points
    and misconceptions (pure; `seconds` is the grading time)."""
    verdicts: dict[str, Counter[str]] = {}
    missing: Counter[tuple[str, str, str]] = Counter()
    mistakes: Counter[tuple[str, str]] = Counter()
    for g in graded:
        qid = g.report.question_id
        verdicts.setdefault(qid, Counter())[g.report.verdict] += 1
        for p in g.report.missing:
            missing[(qid, p.id, p.label)] += 1
        for claim in g.report.misconceptions:
            mistakes[(qid, claim)] += 1
    return BatchSummary(
        rows=rows,
        graded=len(graded),
        skipped=len(errors),
        recorded=sum(g.attempt_id is not None for g in graded),
        seconds=round(seconds, 3),
        answers_per_second=round(len(graded) / seconds, 2) if seconds > 0 else 0.0,
        verdicts={q: dict(c.most_common()) for q, c in sorted(verdicts.items())},
        missing_points=[
            {"question_id": q, "key_point": k, "label": label, "count": n}
            for (q, k, label), n in missing.most_common(TOP_N)
        ],
        misconceptions=[
            {"question_id": q, "claim": claim, "count": n}
            for (q, claim), n in mistakes.most_common(TOP_N)
        ],
        errors=sorted(errors, key=lambda e: e.line),
    )
