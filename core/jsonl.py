"""The one JSONL reader: each non-blank line validated by a pydantic model, every error
naming the file, the line and the field.

    >>> import tempfile
    >>> from pydantic import BaseModel
    >>> class Row(BaseModel):
    ...     question: NonEmptyStr
    >>> path = Path(tempfile.mkdtemp()) / "set.jsonl"
    >>> _ = path.write_text('{"question": "Why?"}\\n\\n{"question": " "}\\n', encoding="utf-8")
    >>> read_jsonl(path, Row)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    core.errors.DataFileError: ...set.jsonl, line 3, field 'question': must be a non-empty string, got ' '

Schemas are strict (a JSON string is not a bool, "yes" is not true): a data file says
what it means. A validator that checks several fields raises `field_error(name, problem)`
so the message still names one field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ValidationError
from pydantic_core import PydanticCustomError

from core.errors import DataFileError

M = TypeVar("M", bound=BaseModel)

# The largest file a reader takes unless told otherwise. The biggest data file in use is
# the SemEval benchmark (7 MB); a wrong path to a multi-GB dump fails at once instead of
# filling memory, as every other input of the project is bounded (core/limits.py).
MAX_JSONL_BYTES = 64_000_000


def _non_empty(value: Any) -> Any:
    if not isinstance(value, str) or not value.strip():
        raise PydanticCustomError(
            "non_empty_string", "must be a non-empty string, got {value}", {"value": _show(value)}
        )
    return value


NonEmptyStr = Annotated[str, BeforeValidator(_non_empty)]
"""A string with something in it besides white space."""


def field_error(field: str, problem: str) -> PydanticCustomError:
    """The error a model validator raises about one `field` (it reaches the message)."""
    return PydanticCustomError("field", "{problem}", {"field": field, "problem": problem})


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _where(loc: Sequence[int | str]) -> str:
    """('gold', 0, 'substring') -> "gold[0].substring"."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problem(err: Any, model: type[BaseModel]) -> tuple[str | None, str]:
    """(field, problem) of pydantic's first error, in the words the project's messages use."""
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    field = _where(err["loc"]) or None
    if kind == "field":
        return ctx["field"], ctx["problem"]
    if kind == "non_empty_string":
        return field, err["msg"]
    if kind == "missing":
        return field, "missing"
    if kind == "extra_forbidden":
        # Only the top level lists its fields: a nested object's are in the schema.
        allowed = f" (allowed: {', '.join(model.model_fields)})" if len(err["loc"]) == 1 else ""
        return field, f"unknown field{allowed}"
    if kind == "bool_type":
        return field, f"must be true or false, got {_show(value)}"
    if kind in ("list_type", "tuple_type"):
        return field, f"must be a list, got {type(value).__name__}"
    if kind == "model_type" or kind == "dict_type":
        return field, f"must be an object, got {type(value).__name__}"
    if kind == "value_error":
        return field, str(ctx.get("error", err["msg"]))
    msg = err["msg"]
    return field, f"{msg[0].lower()}{msg[1:]}, got {_show(value)}"


def data_error(
    path: Path,
    line: int | None,
    field: str | None,
    problem: str,
    *,
    schema: str | None = None,
    error: type[DataFileError] = DataFileError,
) -> DataFileError:
    """`error` with the message every reader uses:
    "<path>, line <n>, field '<f>': <problem> - fix that line (schema in <schema>)"."""
    where = str(path) + (f", line {line}" if line else "")
    where += f", field '{field}'" if field else ""
    fix = f" - fix that line (schema in {schema})" if schema and line else ""
    return error(f"{where}: {problem}{fix}", str(path), line, field)


def read_lines(
    path: Path,
    *,
    what: str = "the file",
    max_bytes: int = MAX_JSONL_BYTES,
    error: type[DataFileError] = DataFileError,
) -> list[tuple[int, str]]:
    """(line number, text) of every non-blank line, at most `max_bytes` read."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)  # one byte over says "too big", without stat
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise data_error(path, None, None, f"cannot read {what} ({exc})", error=error) from exc
    if len(data) > max_bytes:
        raise data_error(
            path, None, None, f"more than {max_bytes:,} bytes: not {what}", error=error
        )
    return [(n, raw) for n, raw in enumerate(text.splitlines(), start=1) if raw.strip()]


def parse_line(
    path: Path,
    number: int,
    raw: str,
    model: type[M],
    *,
    schema: str | None = None,
    error: type[DataFileError] = DataFileError,
) -> M:
    """One line as `model`, or `error` naming the line and field."""
    try:
        data = json.loads(raw)  # first, for JSON errors in json's own words
    except json.JSONDecodeError as exc:
        problem = f"not valid JSON ({exc.msg} at column {exc.colno})"
        raise data_error(path, number, None, problem, schema=schema, error=error) from exc
    if not isinstance(data, dict):
        problem = f"must be a JSON object, got {type(data).__name__}"
        raise data_error(path, number, None, problem, schema=schema, error=error)
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        field, problem = _problem(exc.errors()[0], model)
        raise data_error(path, number, field, problem, schema=schema, error=error) from exc


def read_jsonl(
    path: Path,
    model: type[M],
    *,
    what: str = "the file",
    schema: str | None = None,
    error: type[DataFileError] = DataFileError,
    id_of: Callable[[M], str] | None = None,
    empty: str | None = None,
    max_bytes: int = MAX_JSONL_BYTES,
    torn_tail: bool = False,
) -> list[tuple[int, M]]:
    """(line number, row) of every non-blank line of `path`, each validated by `model`.

    `id_of`: ids must be unique (a repeat names the line of the first). `empty`: the
    problem an empty file is reported with; None accepts one. `torn_tail`: a last line that
    is not valid JSON is dropped, as a file appended to by a killed process ends.
    `error` is the DataFileError subclass raised (EvalDataError for eval files).
    """
    path = Path(path)
    lines = read_lines(path, what=what, max_bytes=max_bytes, error=error)
    if torn_tail and lines:
        try:
            json.loads(lines[-1][1])
        except json.JSONDecodeError:
            lines = lines[:-1]
    rows = [(n, parse_line(path, n, raw, model, schema=schema, error=error)) for n, raw in lines]
    if id_of is not None:
        seen: dict[str, int] = {}
        for number, row in rows:
            rid = id_of(row)
            if rid in seen:
                problem = f"{rid!r} already used on line {seen[rid]}"
                raise data_error(path, number, "id", problem, schema=schema, error=error)
            seen[rid] = number
    if not rows and empty is not None:
        raise data_error(path, None, None, empty, error=error)
    return rows
