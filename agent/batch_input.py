"""Reading a batch file of answers (CSV or JSONL) and checking every row.

A bad row (no answer, no question, not UTF-8, over a `limits.*` bound, a learner name that
is not one line, not a JSON object) carries its error and line number, so the others can
still be graded; what makes the whole file unusable (no header, no answer column, too big,
too many rows) is a ConfigError.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agent.limits import check_answer
from core.csv_rows import numbered_rows
from core.errors import ConfigError, InputError
from core.limits import check_profile, check_text, check_utf8, read_bounded_bytes
from core.settings import Settings

BatchFormat = Literal["csv", "jsonl"]
FORMATS: dict[str, BatchFormat] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


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
        # A cell over csv.field_size_limit() (131,072 characters) ends the file there.
        hint = ": no answer or question is that long - check the file's quoting"
        for line, cells in numbered_rows(reader, path, ConfigError, hint):
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
    data = read_bounded_bytes(
        path, g.batch_max_bytes, f"grading.batch_max_bytes ({g.batch_max_bytes}): split the file"
    )
    return parse_batch(data, fmt, path, max_rows=g.batch_max_rows, settings=settings)
