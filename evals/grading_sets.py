"""The labelled grading sets: learner answers to the self-check questions with the verdict
and score a teacher gave them. evals/grading.jsonl is the set the grader was built on;
evals/grading-unseen.jsonl was written after it, for choosing cut-offs on odd-numbered
questions and reporting even-numbered ones (bench/grading_bench.py)."""

from __future__ import annotations

from pathlib import Path

from core.errors import EvalDataError
from core.jsonl import read_jsonl
from evals.schemas import GradingLabel

SCHEMA = "evals/README.md#gradingjsonl-and-grading-unseenjsonl"


def load_grading_set(path: Path) -> list[GradingLabel]:
    """Every labelled answer of `path`; EvalDataError names the line and field of a bad one
    (a duplicate id too) and an empty file."""
    rows = read_jsonl(
        path,
        GradingLabel,
        what="the grading set",
        schema=SCHEMA,
        error=EvalDataError,
        id_of=lambda row: row.id,
        empty="no labelled answers",
    )
    return [row for _, row in rows]
