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
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agent.grading import GradeReport, grade_answer
from agent.limits import check_answer
from agent.practice import grade_and_record, open_progress
from agent.progress import ProgressStore
from agent.question_match import QuestionMatch, QuestionMatcher
from agent.rubrics import load_rubric
from core.errors import ConfigError, InputError, NoQuestionMatchError
from core.limits import check_profile, check_text, check_utf8
from core.settings import Settings
from corpus.questions import SelfCheckQuestion, load_question_bank
from index.embedders import Embedder

BatchFormat = Literal["csv", "jsonl"]
ProgressFn = Callable[[str, int, int], None]
FORMATS: dict[str, BatchFormat] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
# Columns the grader adds to each row of the graded file (after the input's own).
GRADED_COLUMNS = (
    "line",
    "matched_question_id",
    "match_similarity",
    "verdict",
    "score",
    "covered",
    "missing",
    "misconceptions",
    "feedback",
    "attempt_id",
    "error",
)
TOP_N = 10  # how many missing points and misconceptions the summary lists


class BatchRow(BaseModel):
    """One answer of a batch file (a CSV row or a JSONL object). Other columns are kept
    in the graded file but not read; blank cells count as absent."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)

    question_id: str | None = Field(default=None, description="SQ01..SQ12")
    question: str | None = Field(default=None, description="the question text, any wording")
    answer: str = Field(min_length=1, description="the learner's answer")
    learner: str | None = Field(default=None, description="learner profile to record it in")
    reference: str | None = Field(
        default=None, description="grade against this reference answer instead of a rubric"
    )

    @field_validator("question_id", "question", "learner", "reference", mode="before")
    @classmethod
    def _blank_is_absent(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _names_a_question(self) -> BatchRow:
        if self.question_id is None and self.question is None:
            raise ValueError("needs a question_id or a question")
        return self


@dataclass(frozen=True)
class RowError:
    line: int  # line of the input file where the row starts (the CSV header is line 1)
    field: str | None
    message: str


@dataclass(frozen=True)
class InputRow:
    line: int
    raw: dict[str, Any]  # the row as read, written back into the graded file
    row: BatchRow | None  # None when the row is bad: see `error`
    error: RowError | None = None


@dataclass(frozen=True)
class BatchFile:
    path: Path
    format: BatchFormat
    columns: tuple[str, ...]  # the input's columns, in order (JSONL: first-seen order)
    rows: tuple[InputRow, ...]


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


# ------------------------------------------------------------------ reading


def batch_format(path: Path) -> BatchFormat:
    """The format a file name says: .csv, or .jsonl / .ndjson."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ConfigError(f"{path}: a batch file must end in .csv or .jsonl")
    return fmt


def _utf8_problem(value: Any, what: str) -> str | None:
    """Why `value` is not valid UTF-8 text (a lone surrogate anywhere in U+D800..U+DFFF:
    a byte that was not UTF-8, decoded with surrogateescape, or a JSON "\\ud83d"; or a
    NUL), or None when it is fine or not text."""
    if not isinstance(value, str):
        return None
    try:
        check_utf8(value, what)
    except InputError as exc:
        return str(exc)
    return None


def _check(line: int, raw: dict[str, Any], settings: Settings) -> InputRow:
    for key, value in raw.items():
        problem = _utf8_problem(key, "a column name")
        if problem is not None:
            return InputRow(line, raw, None, RowError(line, None, problem))
        problem = _utf8_problem(value, f"the {key}")
        if problem is not None:
            return InputRow(line, raw, None, RowError(line, key, problem))
    try:
        row = BatchRow.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"]) or None
        message = "missing" if err["type"] == "missing" else err["msg"]
        if err["type"] == "string_too_short":
            message = "empty"
        return InputRow(line, raw, None, RowError(line, name, message))
    # What grading and recording would refuse is refused here, as an error of this row:
    # raised later, it would end the whole run with no graded file written. An answer over
    # grading.max_answer_chars is graded on its start, as `tutor grade` and the app do.
    lim = settings.limits
    name = "answer"
    try:
        check_answer(row.answer, settings)
        name = "reference"
        if row.reference is not None:
            check_answer(row.reference, settings, "the reference answer")
        for name, text in (("question", row.question), ("question_id", row.question_id)):
            if text is not None:
                what = "the question" if name == "question" else "the question id"
                check_text(text, what, lim.max_question_chars, "limits.max_question_chars")
        name = "learner"
        if row.learner is not None:
            check_profile(row.learner, lim.max_profile_chars)
    except InputError as exc:
        return InputRow(line, raw, None, RowError(line, name, str(exc)))
    return InputRow(line, raw, row)


def parse_batch(
    data: bytes, fmt: BatchFormat, path: Path, *, max_rows: int, settings: Settings
) -> BatchFile:
    """The rows of a batch file's bytes; bad rows carry their error (each row is checked
    as grading and recording it would check it, with `settings`' bounds). Raises
    ConfigError for what makes the whole file unusable (no header, no answer column, too
    many rows)."""
    text = data.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
    rows: list[InputRow] = []
    columns: dict[str, None] = {}
    if fmt == "csv":
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            header = next(reader)
        except StopIteration:
            raise ConfigError(f"{path}: empty file - the first line names the columns") from None
        except csv.Error as exc:
            raise ConfigError(f"{path}, line 1: not readable as CSV ({exc})") from None
        names = [h.strip().casefold() for h in header]
        if "answer" not in names or not {"question_id", "question"} & set(names):
            raise ConfigError(
                f"{path}, line 1: the header must name an 'answer' column and a 'question_id' "
                f"or 'question' column (found: {', '.join(names) or 'nothing'})"
            )
        columns = dict.fromkeys(names)
        start = reader.line_num + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                # A cell over csv.field_size_limit() (131,072 characters): the reader
                # cannot resume inside it, so the file is refused, naming the row's line.
                raise ConfigError(
                    f"{path}, line {start}: not readable as CSV ({exc}): no answer or "
                    "question is that long - check the file's quoting"
                ) from None
            line, start = start, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(names):
                err = RowError(line, None, f"{len(cells)} cells for {len(names)} columns")
                raw = {f"column{i + 1}": c for i, c in enumerate(cells)}
                rows.append(InputRow(line, raw, None, err))
            else:
                raw = dict(zip(names, [*cells, *[""] * (len(names) - len(cells))], strict=True))
                rows.append(_check(line, raw, settings))
            if len(rows) > max_rows:
                break
    else:
        # Rows end at "\n" (and "\r\n") only: str.splitlines() also splits at U+2028,
        # U+2029, U+0085, \x0b, \x0c and \x1c, which a JSON string may hold raw.
        for line, raw_line in enumerate(text.split("\n"), start=1):
            raw_line = raw_line.removesuffix("\r")
            if not raw_line.strip():
                continue
            try:
                obj = json.loads(raw_line)
            except json.JSONDecodeError as exc:
                problem = _utf8_problem(raw_line, "the line")
                err = RowError(line, None, problem or f"not valid JSON ({exc.msg})")
                rows.append(InputRow(line, {}, None, err))
                continue
            except RecursionError:
                err = RowError(line, None, "not valid JSON (nested too deeply)")
                rows.append(InputRow(line, {}, None, err))
                continue
            if not isinstance(obj, dict):
                err = RowError(line, None, f"must be a JSON object, got {type(obj).__name__}")
                rows.append(InputRow(line, {}, None, err))
                continue
            columns.update(dict.fromkeys(obj))
            rows.append(_check(line, obj, settings))
            if len(rows) > max_rows:
                break
    if len(rows) > max_rows:
        raise ConfigError(
            f"{path}: more than {max_rows} rows (grading.batch_max_rows): split the file"
        )
    if not rows:
        raise ConfigError(f"{path}: no rows to grade")
    return BatchFile(Path(path), fmt, tuple(columns), tuple(rows))


def read_batch(path: Path, settings: Settings) -> BatchFile:
    """Read and check a batch file (bounded by grading.batch_max_bytes and _max_rows)."""
    path = Path(path)
    fmt = batch_format(path)
    g = settings.grading
    try:
        size = path.stat().st_size
        if size > g.batch_max_bytes:
            raise ConfigError(
                f"{path}: {size} bytes, more than grading.batch_max_bytes "
                f"({g.batch_max_bytes}): split the file"
            )
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from exc
    return parse_batch(data, fmt, path, max_rows=g.batch_max_rows, settings=settings)


# ------------------------------------------------------------------ grading


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


def grade_batch(
    batch: BatchFile,
    *,
    bank: Sequence[SelfCheckQuestion],
    embedder: Embedder,
    settings: Settings,
    store: ProgressStore | None = None,
    chat_model: BaseChatModel | None = None,
    mode: Literal["combined", "deterministic", "llm"] = "deterministic",
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
        if on_progress:
            on_progress("grading", done, total)
    summary = summarise(
        list(graded.values()), list(errors.values()), len(batch.rows), time.monotonic() - t0
    )
    return BatchResult(batch, graded, errors, summary)


# ------------------------------------------------------------------ writing


def graded_path_for(path: Path) -> Path:
    """Where the graded file goes by default: `answers.csv` -> `answers.graded.csv`."""
    path = Path(path)
    return path.with_name(f"{path.stem}.graded{path.suffix}")


def _graded_fields(item: InputRow, result: BatchResult, as_text: bool) -> dict[str, Any]:
    g = result.graded.get(item.line)
    err = result.errors.get(item.line)

    def listed(values: list[str]) -> Any:
        return "; ".join(values) if as_text else values

    out: dict[str, Any] = dict.fromkeys(GRADED_COLUMNS, "" if as_text else None)
    out["line"] = item.line
    if g is not None:
        r = g.report
        out.update(
            matched_question_id=g.match.question_id if g.match else r.question_id,
            match_similarity=g.match.similarity if g.match else None,
            verdict=r.verdict,
            score=r.score,
            covered=listed([p.label or p.id for p in r.covered]),
            missing=listed([p.label or p.id for p in r.missing]),
            misconceptions=listed(list(r.misconceptions)),
            feedback=r.feedback,
            attempt_id=g.attempt_id,
        )
    if err is not None:
        out["error"] = f"{err.field}: {err.message}" if err.field else err.message
    if as_text:
        out = {k: "" if v is None else v for k, v in out.items()}
    return out


_SURROGATES = re.compile("[\ud800-\udfff]")


def _clean(text: str) -> str:
    # A lone surrogate cannot be written as UTF-8: the undecodable bytes of a bad row (or
    # a JSON "\\ud83d") are written back as U+FFFD, never dropped silently.
    return _SURROGATES.sub("\ufffd", text)


def _refuse_own_input(out: Path, source: Path) -> None:
    if out.resolve() == source.resolve():
        raise ConfigError(f"{out}: the graded file would replace its input - choose another")


def write_graded(result: BatchResult, out: Path, fmt: BatchFormat | None = None) -> Path:
    """Write every input row with its grade or its error to `out` (format from `fmt`,
    else `out`'s extension), via a temporary file renamed into place."""
    out = Path(out)
    fmt = fmt or batch_format(out)
    _refuse_own_input(out, result.source.path)
    out.parent.mkdir(parents=True, exist_ok=True)
    input_columns = [c for c in result.source.columns if c not in GRADED_COLUMNS]
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            if fmt == "csv":
                extra = sorted({k for r in result.source.rows for k in r.raw} - set(input_columns))
                names = [*input_columns, *[c for c in extra if c not in GRADED_COLUMNS]]
                writer = csv.writer(handle)
                writer.writerow([_clean(name) for name in [*names, *GRADED_COLUMNS]])
                for item in result.source.rows:
                    graded = _graded_fields(item, result, as_text=True)
                    cells = [_cell(item.raw.get(k)) for k in names]
                    cells += [str(graded[c]) for c in GRADED_COLUMNS]
                    writer.writerow([_clean(c) for c in cells])
            else:
                for item in result.source.rows:
                    raw = {k: v for k, v in item.raw.items() if k not in GRADED_COLUMNS}
                    obj = {**raw, **_graded_fields(item, result, as_text=False)}
                    handle.write(_clean(json.dumps(obj, ensure_ascii=False)) + "\n")
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# ------------------------------------------------------------------ the one call


def grade_batch_file(
    path: Path,
    *,
    embedder: Embedder,
    settings: Settings,
    out: Path | None = None,
    record: bool = False,
    chat_model: BaseChatModel | None = None,
    mode: Literal["combined", "deterministic", "llm"] = "deterministic",
    on_progress: ProgressFn | None = None,
) -> BatchResult:
    """Read `path`, grade its rows, write the graded file (default: next to the input,
    `<name>.graded.<ext>`; the format follows `out`'s extension) and return the result.
    With `record`, rows naming a learner are recorded in that learner's progress."""
    batch = read_batch(path, settings)
    target = Path(out) if out is not None else graded_path_for(batch.path)
    batch_format(target)  # an unusable or clobbering --out fails before any grading
    _refuse_own_input(target, batch.path)
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
