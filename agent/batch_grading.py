"""Batch grading for a class: a CSV or JSONL file of answers in, a graded file and a
summary out, with one embedder load for the whole file.

`grade_batch_file` is the one call the CLI (`tutor grade --batch`) and the web app's
Practice tab make. A row names its question by id or by text (matched as
`tutor grade --question` matches, `agent.question_match`), holds the answer, and may name
the learner and a reference answer. A bad row (no answer, unknown question, not UTF-8, over
a `limits.*` bound, a learner name that is not one line, not a JSON object) is reported by
its line number and skipped; the others are graded, and every input row is written back,
graded or with its error, so nothing is lost. The graded file is written to a temporary
file and renamed into place.

The pieces: `agent.batch_input` reads and checks the rows, `agent.batch_results` holds
what grading gives and its summary, `agent.batch_output` writes the graded file; this
module grades the rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from agent.batch_input import BatchFile, RowError, batch_format, read_batch
from agent.batch_output import graded_path_for, refuse_own_input, write_graded
from agent.batch_results import BatchResult, GradedRow, summarise
from agent.grading import grade_answer
from agent.practice import grade_and_record, open_progress
from agent.progress import ProgressStore
from agent.question_match import QuestionMatcher
from agent.rubrics import load_rubric
from core.errors import ConfigError, InputError, LLMError, NoQuestionMatchError
from core.settings import GraderMode, Settings
from corpus.questions import SelfCheckQuestion, load_question_bank
from index.embedders import Embedder

ProgressFn = Callable[[str, int, int], None]


def grade_batch(
    batch: BatchFile,
    *,
    bank: Sequence[SelfCheckQuestion],
    embedder: Embedder,
    settings: Settings,
    store: ProgressStore | None = None,
    chat_model: BaseChatModel | None = None,
    mode: GraderMode | None = None,
    on_progress: ProgressFn | None = None,
) -> BatchResult:
    """Grade every good row of `batch`. With a `store`, a row that names a learner and is
    graded against its question's rubric is recorded in that learner's progress."""
    t0 = time.monotonic()
    errors = {r.line: r.error for r in batch.rows if r.error is not None}
    good = [r for r in batch.rows if r.row is not None]
    matcher = QuestionMatcher(bank, embedder, settings.grading.question_match)
    by_id = {q.id: q for q in bank}
    # One embedding call for every row that names its question by text.
    asked = [r.row.question_id or r.row.question or "" for r in good if r.row is not None]
    matches = matcher.match_many(asked)
    rubrics: dict[str, Any] = {}
    graded: dict[int, GradedRow] = {}
    total = len(good)
    if on_progress:
        on_progress("grading", 0, total)
    for done, (item, match) in enumerate(zip(good, matches, strict=True), start=1):
        row = item.row
        assert row is not None  # `good` holds parsed rows only
        if isinstance(match, NoQuestionMatchError):
            if row.reference is None or row.question is None:
                name = "question_id" if row.question_id else "question"
                errors[item.line] = RowError(item.line, name, str(match))
                continue
            match = None
        # The row checks of parse_batch refuse what grading refuses; should anything still
        # be refused here, it is this row's error and the others are still graded.
        try:
            if row.reference is not None:
                question = row.question or (by_id[match.question_id].text_en if match else "")
                report = grade_answer(
                    question,
                    row.answer,
                    row.reference,
                    embedder=embedder,
                    chat_model=chat_model,
                    settings=settings,
                    mode=mode,
                )
                graded[item.line] = GradedRow(item.line, None, report, None)
            else:
                assert match is not None
                q = by_id[match.question_id]
                if q.id not in rubrics:
                    g = settings.grading
                    rubrics[q.id] = load_rubric(g.rubrics_dir, q.id, settings.corpus.dir)
                attempt_id: int | None = None
                if store is not None and row.learner:
                    report, attempt_id = grade_and_record(
                        store,
                        row.learner,
                        q,
                        row.answer,
                        rubrics[q.id],
                        embedder=embedder,
                        chat_model=chat_model,
                        settings=settings,
                        mode=mode,
                    )
                else:
                    report = grade_answer(
                        q.text_en,
                        row.answer,
                        rubrics[q.id],
                        embedder=embedder,
                        chat_model=chat_model,
                        settings=settings,
                        mode=mode,
                    )
                graded[item.line] = GradedRow(item.line, match, report, attempt_id)
        except InputError as exc:
            errors[item.line] = RowError(item.line, None, str(exc))
        except LLMError as exc:
            # The model server failed: this row and the rest are written back ungraded,
            # by line, with what was graded so far (and recorded), so nothing is lost and
            # the failed lines can be graded again on their own.
            message = f"not graded: the model failed ({exc})"
            for rest in good[done - 1 :]:
                errors.setdefault(rest.line, RowError(rest.line, None, message))
            break
        if on_progress:
            on_progress("grading", done, total)
    summary = summarise(
        list(graded.values()), list(errors.values()), len(batch.rows), time.monotonic() - t0
    )
    return BatchResult(batch, graded, errors, summary)


# ------------------------------------------------------------------ the one call


def grade_batch_file(
    path: Path,
    *,
    embedder: Embedder,
    settings: Settings,
    out: Path | None = None,
    record: bool = False,
    chat_model: BaseChatModel | None = None,
    mode: GraderMode | None = None,
    on_progress: ProgressFn | None = None,
) -> BatchResult:
    """Read `path`, grade its rows, write the graded file (default: next to the input,
    `<name>.graded.<ext>`; the format follows `out`'s extension) and return the result.
    With `record`, rows naming a learner are recorded in that learner's progress."""
    batch = read_batch(path, settings)
    if (mode or settings.grading.grader) != "deterministic":
        limit = settings.grading.batch_max_model_rows
        if len(batch.rows) > limit:
            raise ConfigError(
                f"{path}: {len(batch.rows)} rows, more than grading.batch_max_model_rows "
                f"({limit}) for a grader that calls the model: split the file, or grade it "
                "with the deterministic grader (--grader deterministic, or grading.grader)"
            )
    target = Path(out) if out is not None else graded_path_for(batch.path)
    batch_format(target)  # an unusable or clobbering --out fails before any grading
    refuse_own_input(target, batch.path)
    bank = load_question_bank(settings.corpus.dir)
    kw: dict[str, Any] = dict(
        bank=bank,
        embedder=embedder,
        settings=settings,
        chat_model=chat_model,
        mode=mode,
        on_progress=on_progress,
    )
    if record:
        with open_progress(settings, bank) as store:
            result = grade_batch(batch, store=store, **kw)
    else:
        result = grade_batch(batch, **kw)
    written = write_graded(result, target)
    return BatchResult(result.source, result.graded, result.errors, result.summary, written)
