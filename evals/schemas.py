"""One pydantic model per kind of eval data file: what one line of it must hold.

Every file is read by `core.jsonl.read_jsonl` with its model, so a bad line is reported
the same way everywhere (file, line, field). The tables in evals/README.md and
evals/FAITHFULNESS.md document the same fields for people.

| file | model |
| --- | --- |
| evals/retrieval.jsonl | RetrievalLine |
| evals/faithfulness.jsonl | FaithfulnessLine |
| evals/grading.jsonl, evals/grading-unseen.jsonl | GradingLabel |
| evals/question_match.jsonl | QuestionMatchCase |
| WiCE and BEGIN files of `tutor eval judge` | WiceRow, BeginRow |
| records.jsonl of an eval run folder | EvalRecord |
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.jsonl import NonEmptyStr, field_error

_QID = r"^SQ\d\d$"


class _Line(BaseModel):
    """The project's own files: every field is documented, so an unknown one is a typo."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Foreign(BaseModel):
    """Files converted from public datasets, or written by older versions of the runner:
    only the fields we use are checked, the rest are kept as they are."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Gold(_Line):
    source: NonEmptyStr = Field(description="corpus document name, e.g. notes/sq01-cnn-vs-mlp.md")
    substring: NonEmptyStr = Field(description="exact text of the original document")


class RetrievalLine(_Line):
    """One line of evals/retrieval.jsonl."""

    id: NonEmptyStr
    query: NonEmptyStr
    language: NonEmptyStr
    gold: tuple[Gold, ...] = Field(description="alternatives: a hit on any one counts")
    tags: tuple[NonEmptyStr, ...]
    note: str | None = None

    @model_validator(mode="after")
    def _has_gold(self) -> RetrievalLine:
        if not self.gold:
            raise field_error("gold", "is empty: give at least one gold passage")
        return self


class Turn(_Line):
    question: NonEmptyStr
    answer: NonEmptyStr


class FaithfulnessLine(_Line):
    """One item of evals/faithfulness.jsonl (schema in evals/FAITHFULNESS.md)."""

    id: NonEmptyStr
    version: NonEmptyStr
    question: NonEmptyStr
    language: NonEmptyStr
    history: tuple[Turn, ...] = Field(description="earlier turns, oldest first")
    answerable: bool
    reference_answer: str = Field(description="may be empty for an unanswerable item")
    gold: tuple[Gold, ...] = Field(description="empty only for unanswerable items")
    tags: tuple[NonEmptyStr, ...]
    note: str | None = None

    @model_validator(mode="after")
    def _answerable_has_gold(self) -> FaithfulnessLine:
        if self.answerable and not self.gold:
            raise field_error("gold", "is empty: an answerable item needs a gold passage")
        return self


class GradingLabel(_Line):
    """One labelled answer of evals/grading.jsonl or evals/grading-unseen.jsonl: a learner's
    answer to a self-check question and the verdict and score a teacher gave it."""

    id: NonEmptyStr
    question_id: str = Field(pattern=_QID)
    kind: NonEmptyStr = Field(description="how the answer was written: correct, partial, ...")
    language: NonEmptyStr
    answer: str = Field(description="may be empty: the grader must handle a blank answer")
    # agent.grading.Verdict; spelled out so the schema does not load the grader.
    verdict: Literal["correct", "partially_correct", "incorrect", "off_topic"]
    score: int = Field(ge=0, le=5)
    concise: bool | None = Field(default=None, description="a short answer that is complete")
    note: str | None = None


class QuestionMatchCase(_Line):
    """One line of evals/question_match.jsonl."""

    id: str = Field(min_length=1, description="unique, stable name of the case")
    query: str = Field(min_length=1, description="the question as a learner would type it")
    language: str = Field(min_length=2, description="language of the query")
    question_id: str | None = Field(
        pattern=_QID, description="the question it asks; null when it asks none"
    )
    kind: Literal["rewording", "near_miss", "unrelated"]
    near: str | None = Field(
        default=None, pattern=_QID, description="for a near miss: the question it neighbours"
    )

    @model_validator(mode="after")
    def _kind_fits(self) -> QuestionMatchCase:
        if (self.kind == "rewording") != (self.question_id is not None):
            raise field_error("question_id", "a rewording names its question, others null")
        if (self.kind == "near_miss") != (self.near is not None):
            raise field_error("near", "required for a near miss, else null")
        return self


class WiceRow(_Foreign):
    """A WiCE row (../shared/benchmarks/README.md): a claim, one chunk of evidence, the label."""

    claim: str
    evidence_sentences: tuple[str, ...]
    supported: bool
    claim_id: str | int | None = None
    id: str | int | None = None


class BeginRow(_Foreign):
    """A BEGIN row: a dialogue response, its knowledge snippet, whether it is attributable."""

    response: str
    knowledge: str
    attributable: bool
    id: str | int | None = None


class ClaimVerdict(_Foreign):
    text: str
    supported: bool


class RecordMetrics(_Foreign):
    """The per-item metrics (None: not defined for this item, e.g. an abstention)."""

    faithfulness: float | None
    n_claims: int = 0
    total_s: float | None = None


class EvalRecord(_Foreign):
    """One line of an eval run's records.jsonl (written by `evals.item_scoring.score_item`).

    Required: what comparing two runs reads. The rest is checked when present and kept as
    written (sentences, citations, retrieved passages, ...), so older runs still load."""

    id: NonEmptyStr
    answerable: bool
    abstained: bool
    metrics: RecordMetrics
    tags: tuple[str, ...] = ()
    claims: tuple[ClaimVerdict, ...] = ()
    citations: tuple[dict[str, Any], ...] = ()
    retrieved: tuple[dict[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The record as it was written (defaults not added): what the runner, the
        comparison and the report take."""
        return self.model_dump(mode="json", exclude_unset=True)
