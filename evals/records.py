"""The record of one eval run, shared by the runner (which writes and loads runs) and the
report (which renders them), so neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.retrieval import GoldPassage, RetrievalCase


@dataclass
class EvalRun:
    run_dir: Path
    config: dict[str, Any]
    records: list[dict[str, Any]]
    summary: dict[str, Any]

    @property
    def run_id(self) -> str:
        return self.run_dir.name


@dataclass(frozen=True)
class EvalItem:
    id: str
    version: str
    question: str
    language: str
    history: tuple[tuple[str, str], ...]  # (question, answer) turns before this question
    answerable: bool
    reference_answer: str
    gold: tuple[GoldPassage, ...]
    tags: tuple[str, ...]
    line: int = field(default=0, compare=False)

    def as_case(self) -> RetrievalCase:
        return RetrievalCase(
            self.id, self.question, self.language, self.gold, self.tags, line=self.line
        )
