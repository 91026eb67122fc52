"""Practice on the self-check questions: the one way every shell (CLI grade and quiz, the
web app) opens a learner's progress and grades-and-records an answer, so the attempts
they write agree, e.g. on how a question's section is named."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from agent.grading import GradeReport, grade_answer
from agent.hints import Hint, hint
from agent.learner_questions import as_bank_question, as_rubric
from agent.learning_path import (
    PathStep,
    Prerequisites,
    build_path,
    load_settings_path,
    open_items,
    section_path,
)
from agent.limits import check_answer, check_question_id
from agent.progress import DueItem, ProgressStore
from agent.question_bank import load_settings_bank
from agent.question_match import QuestionMatch, match_question
from agent.rubrics import Rubric, load_rubric
from core.errors import ConfigError, InputError
from core.limits import check_profile, check_text
from core.settings import GraderMode, Settings
from corpus.questions import SelfCheckQuestion, questions_for_section
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
    mode: GraderMode | None = None,
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


# ---------------------------------------------------------------- the shells' actions
# One call per thing a learner does (grade, hint, next question, export), shared by
# `tutor grade|hint|quiz|progress` and the web app's Practice and Progress tabs.


@dataclass(frozen=True)
class PracticeGrade:
    """A graded practice answer: the report, the attempt it was recorded as, and the bank
    question it was taken to answer (with how closely the asked text matched)."""

    report: GradeReport
    attempt_id: int
    match: QuestionMatch

    def to_json(self) -> dict[str, Any]:
        data = self.report.to_json()
        data["attempt_id"] = self.attempt_id
        data["matched_question"] = asdict(self.match)
        return data


def question_by_id(bank: Sequence[SelfCheckQuestion], question_id: str) -> SelfCheckQuestion:
    """The bank question with this id, in any case ("sq03" names SQ03); ConfigError
    saying where the ids are listed."""
    wanted = question_id.strip().casefold()
    for q in bank:
        if q.id.casefold() == wanted:
            return q
    raise ConfigError(
        f"no question {question_id!r}: use SQ01..SQ12 or a practice id (tutor questions lists them)"
        if bank
        else "the question bank is empty"
    )


def find_question(
    bank: Sequence[SelfCheckQuestion], text: str, embedder: Embedder, settings: Settings
) -> tuple[SelfCheckQuestion, QuestionMatch]:
    """The question `text` asks: an id in any case, an exact text, or a rewording
    (`agent.question_match`); NoQuestionMatchError naming the closest otherwise."""
    match = match_question(text, bank, embedder, settings.grading.question_match)
    return question_by_id(bank, match.question_id), match


def own_bank(store: ProgressStore, profile: str) -> list[SelfCheckQuestion]:
    """The profile's own questions (`tutor practice generate`) as bank questions."""
    return [as_bank_question(q.question) for q in store.own_questions(profile)]


def rubric_for(
    settings: Settings, store: ProgressStore, profile: str | None, question: SelfCheckQuestion
) -> Rubric:
    """The rubric an answer to `question` is graded with: the shipped file, or for one of
    the learner's own questions the key points checked when it was generated."""
    if question.kind != "generated":
        return load_rubric(settings.grading.rubrics_dir, question.id, settings.corpus.dir)
    for q in store.own_questions(profile or settings.grading.profile):
        if q.question.id == question.id:
            return as_rubric(q.question)
    raise ConfigError(f"no question {question.id!r} in profile {profile!r}'s own questions")


def section_labels(bank: Sequence[SelfCheckQuestion]) -> dict[str, str]:
    """Section path -> the label progress groups that section's questions by."""
    return {section_path(q): section_of(q) for q in bank}


def learning_path(
    store: ProgressStore,
    bank: Sequence[SelfCheckQuestion],
    profile: str,
    prerequisites: Prerequisites,
    unlock_at: float,
) -> list[PathStep]:
    """`profile`'s way through the roadmap: every section in order, with its mastery and
    whether its prerequisites are mastered enough to unlock it."""
    return build_path(
        prerequisites, bank, store.mastery_by_section(profile), section_labels(bank), unlock_at
    )


def due_questions(
    store: ProgressStore,
    bank: Sequence[SelfCheckQuestion],
    profile: str,
    section: str | None = None,
    prerequisites: Prerequisites | None = None,
    unlock_at: float = 0.5,
) -> list[DueItem]:
    """What is due for `profile`, most overdue first; with `section`, only the questions
    whose heading path contains it (`corpus.questions.questions_for_section`).

    With a learning path and no `section`, new questions come only from unlocked sections
    (reviews that are due always come). A learner who names a section gets its questions,
    locked or not: they chose it."""
    due = store.due_items(profile)
    if not section:
        if prerequisites is None:
            return due
        return open_items(due, learning_path(store, bank, profile, prerequisites, unlock_at), bank)
    wanted = {q.id for q in questions_for_section(list(bank), section)}
    return [d for d in due if d.question_id in wanted]


def next_due_question(
    store: ProgressStore,
    bank: Sequence[SelfCheckQuestion],
    profile: str,
    section: str | None = None,
    prerequisites: Prerequisites | None = None,
    unlock_at: float = 0.5,
) -> SelfCheckQuestion | None:
    """The question to practise next, or None when nothing is due."""
    due = due_questions(store, bank, profile, section, prerequisites, unlock_at)
    return question_by_id(bank, due[0].question_id) if due else None


def due_now(
    settings: Settings,
    store: ProgressStore,
    bank: Sequence[SelfCheckQuestion],
    profile: str,
    section: str | None = None,
) -> list[DueItem]:
    """What practice offers `profile` now, in order: due reviews, then new questions of
    the sections the configured learning path has unlocked (the learner's own questions
    are outside the path: always open)."""
    questions = [*bank, *own_bank(store, profile)]
    return due_questions(store, questions, profile, section, *_path_of(settings))


def _path_of(settings: Settings) -> tuple[Prerequisites | None, float]:
    """The configured learning path and the mastery that unlocks a section."""
    return load_settings_path(settings), settings.grading.unlock_mastery


def next_question(
    settings: Settings,
    store: ProgressStore,
    bank: Sequence[SelfCheckQuestion],
    profile: str,
    section: str | None = None,
) -> SelfCheckQuestion | None:
    """What `tutor quiz`, `tutor grade --next` and the Practice tab offer next (the first
    of `due_now`), or None when nothing is due."""
    questions = [*bank, *own_bank(store, profile)]
    return next_due_question(store, questions, profile, section, *_path_of(settings))


def beginner_questions(
    settings: Settings, bank: Sequence[SelfCheckQuestion]
) -> list[SelfCheckQuestion]:
    """The questions open to a learner with no attempts yet, in bank order (the whole bank
    without a learning path)."""
    prerequisites = load_settings_path(settings)
    if prerequisites is None:
        return list(bank)
    steps = build_path(prerequisites, bank, [], section_labels(bank), settings.grading.unlock_mastery)
    locked = {s.section for s in steps if not s.unlocked}
    return [q for q in bank if section_path(q) not in locked]


def path_for(settings: Settings, profile: str) -> list[PathStep]:
    """`profile`'s learning path over the configured bank (empty without a path file)."""
    check_profile(profile, settings.limits.max_profile_chars)
    prerequisites = load_settings_path(settings)
    if prerequisites is None:
        return []
    bank = load_settings_bank(settings)
    with open_progress(settings, bank) as store:
        return learning_path(store, bank, profile, prerequisites, settings.grading.unlock_mastery)


def grade_practice(
    settings: Settings,
    embedder: Embedder,
    profile: str,
    answer: str,
    *,
    question: str | None = None,
    question_id: str | None = None,
    due: bool = False,
    chat_model: BaseChatModel | None = None,
    mode: GraderMode | None = None,
    reveal: bool = False,
) -> PracticeGrade:
    """Grade one answer to a self-check question and record it in `profile`'s progress.

    Name the question by exactly one of: `question` (an id in any case, the text, or a
    rewording, matched by `find_question`), `question_id` (an id only), or `due` (the
    question due next for the profile). The inputs are checked before anything is read.
    """
    if sum((question is not None, question_id is not None, due)) != 1:
        raise ConfigError("name the question by one of: its text, its id, or the next due")
    lim = settings.limits
    if question is not None:
        check_text(question, "the question", lim.max_question_chars, "limits.max_question_chars")
    if question_id is not None:
        question_id = check_question_id(question_id)
    check_answer(answer, settings)
    check_profile(profile, lim.max_profile_chars)
    shipped = load_settings_bank(settings)
    with open_progress(settings, shipped) as store:
        bank = [*shipped, *own_bank(store, profile)]
        if question is not None:
            q, match = find_question(bank, question, embedder, settings)
        else:
            if due:
                found = next_question(settings, store, shipped, profile)
                if found is None:
                    raise ConfigError(f"nothing is due for profile {profile!r}")
                q = found
            else:
                q = question_by_id(bank, question_id or "")
            match = QuestionMatch(q.id, q.text_en, 1.0, "id")
        report, attempt_id = grade_and_record(
            store,
            profile,
            q,
            answer,
            rubric_for(settings, store, profile, q),
            embedder=embedder,
            chat_model=chat_model,
            settings=settings,
            reveal=reveal,
            mode=mode,
        )
    return PracticeGrade(report, attempt_id, match)


def last_missing(settings: Settings, profile: str | None, question_id: str) -> list[str] | None:
    """The key points the profile's last attempt at the question missed; None when there
    is no profile, no learner database or no attempt (the database is not created)."""
    if not profile or not settings.learner_db.is_file():
        return None
    with ProgressStore(settings.learner_db) as store:
        attempts = [a for a in store.history(profile) if a.question_id == question_id]
    if not attempts:
        return None
    return [p["id"] for p in attempts[-1].report.get("missing", [])]


def practice_hint(
    settings: Settings, question_id: str, level: Any, profile: str | None = None
) -> Hint:
    """A hint (level 1..3) for a self-check question, about a key point `profile`'s last
    attempt at it missed (any key point when there is none)."""
    question_id = check_question_id(question_id)
    if isinstance(level, float) and level.is_integer():
        level = int(level)  # a JSON client may send 2.0; NaN and infinities stay floats
    if profile is not None:
        profile = check_profile(profile, settings.limits.max_profile_chars)
    if question_id.startswith("GQ-"):
        if profile is None:
            raise ConfigError(f"{question_id} is a learner's own question: name the profile")
        with open_progress(settings, []) as store:
            own = question_by_id(own_bank(store, profile), question_id)
            rubric = rubric_for(settings, store, profile, own)
    else:
        rubric = load_rubric(settings.grading.rubrics_dir, question_id, settings.corpus.dir)
    # hint() checks the level: 1..3
    return hint(question_id, level, rubric, last_missing(settings, profile, question_id))


def export_attempts_file(settings: Settings, profile: str) -> Path:
    """Write `profile`'s attempts to a CSV under the data dir's exports folder (named after
    the profile) for downloading; returns its path."""
    learner = check_profile(profile, settings.limits.max_profile_chars)
    exports = settings.index.data_dir / "exports"
    # The file name comes from the learner's name: it must stay a name, not a path.
    path = exports / f"{learner}-attempts.csv"
    if path.parent != exports or learner in (".", "..") or "\\" in learner:
        raise InputError(f"the profile name {learner!r} cannot name a file")
    # The app's own folder under the data dir (export_csv creates no folders: a typo in a
    # path a person typed must not create folders).
    exports.mkdir(parents=True, exist_ok=True)
    with open_progress(settings, load_settings_bank(settings)) as store:
        store.export_csv(learner, path)
    return path
