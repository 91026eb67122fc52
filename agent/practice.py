"""Practice on the self-check questions: the one way every shell (CLI grade and quiz, the
web app) opens a learner's progress and grades-and-records an answer, so the attempts
they write agree, e.g. on how a question's section is named."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from langchain_core.language_models import BaseChatModel

from agent.grading import GradeReport, Rubric, grade_answer
from agent.limits import check_answer
from agent.progress import ProgressStore
from core.settings import Settings
from corpus.questions import SelfCheckQuestion
from index.embedders import Embedder

# Subsection titles the roadmap uses under more than one part ("Evaluation" of LLMs and of
# diffusion models); tests/agent/test_practice.py checks this against roadmap-en.md.
SHARED_HEADINGS = frozenset(
    {"Pretraining and Finetuning", "Evaluation", "Efficient Generation", "Knowledge Editing"}
    | {"Open Challenges"}
)


def section_of(question: SelfCheckQuestion) -> str:
    """The heading a question sits under: what progress groups questions by. A heading
    the roadmap repeats under several parts keeps its part ("Diffusion Models > Evaluation"),
    so that mastery of LLM evaluation and of diffusion evaluation stay apart."""
    if not question.section:
        return ""
    if len(question.section) > 1 and question.section[-1] in SHARED_HEADINGS:
        return " > ".join(question.section)
    return question.section[-1]


def open_progress(settings: Settings, bank: Sequence[SelfCheckQuestion]) -> ProgressStore:
    """The learner database, with the question bank as its sections (close it, or use
    `with`: SQLite connections stay in the thread that opened them)."""
    return ProgressStore(
        settings.learner_db,
        [(q.id, section_of(q)) for q in bank],
        max_profile_chars=settings.limits.max_profile_chars,
    )


def grade_and_record(
    store: ProgressStore,
    profile: str,
    question: SelfCheckQuestion,
    answer: str,
    rubric: Rubric,
    *,
    embedder: Embedder,
    chat_model: BaseChatModel | None,
    settings: Settings,
    mode: Literal["combined", "deterministic", "llm"] = "deterministic",
    reveal: bool = False,
) -> tuple[GradeReport, int]:
    """Grade `answer` against the question's rubric and record the attempt for `profile`
    (which moves the question's review schedule). Returns the report and the attempt id."""
    check_answer(answer, settings)
    profile = store.ensure_profile(profile)
    report = grade_answer(
        question.text_en,
        answer,
        rubric,
        embedder=embedder,
        chat_model=chat_model,
        settings=settings,
        reveal=reveal,
        mode=mode,
    )
    attempt_id = store.record_attempt(
        profile,
        question.id,
        answer,
        report.verdict,
        report.score,
        report.to_json(),
        section=section_of(question),
    )
    return report, attempt_id
