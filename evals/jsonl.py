"""Reading labelled JSONL sets: one object a line, errors that name the line and field.

Shared by the retrieval set (`evals/retrieval.py`) and the faithfulness set
(`evals/runner.py`); each keeps its own schema and passes the file that documents it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from core.errors import EvalDataError

T = TypeVar("T")


@dataclass(frozen=True)
class GoldPassage:
    source: str  # document name, as in SourceDocument.name ("roadmap-es.txt", "notes/x.md")
    substring: str  # exact text of the original document


def data_error(
    path: Path, line: int, field_name: str | None, problem: str, schema: str
) -> EvalDataError:
    where = f"{path}, line {line}" + (f", field '{field_name}'" if field_name else "")
    return EvalDataError(f"{where}: {problem} - fix that line (schema in {schema})")


def load_jsonl(
    path: Path,
    parse: Callable[[Path, int, str], T],
    id_of: Callable[[T], str],
    what: str,
    nothing: str,
    schema: str,
) -> list[T]:
    """Parse every non-blank line with `parse`; ids must be unique, the file not empty.

    `what` names the set in a read error ("the eval set"), `nothing` what an empty file
    lacks ("no items - the eval set is empty").
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalDataError(f"{path}: cannot read {what} ({exc})") from exc
    records: list[T] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        record = parse(path, number, raw)
        rid = id_of(record)
        if rid in seen:
            raise data_error(
                path, number, "id", f"{rid!r} already used on line {seen[rid]}", schema
            )
        seen[rid] = number
        records.append(record)
    if not records:
        raise EvalDataError(f"{path}: {nothing}")
    return records


def json_object(
    path: Path,
    line: int,
    raw: str,
    fields: Sequence[str],
    optional: Sequence[str],
    schema: str,
) -> dict[str, Any]:
    """The line as a JSON object holding every field of `fields` and nothing unknown."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise data_error(
            path, line, None, f"not valid JSON ({exc.msg} at column {exc.colno})", schema
        ) from exc
    if not isinstance(data, dict):
        raise data_error(
            path, line, None, f"must be a JSON object, got {type(data).__name__}", schema
        )
    for name in fields:
        if name not in data:
            raise data_error(path, line, name, "missing", schema)
    unknown = sorted(set(data) - set(fields) - set(optional))
    if unknown:
        allowed = ", ".join([*fields, *optional])
        raise data_error(path, line, unknown[0], f"unknown field (allowed: {allowed})", schema)
    return data


def nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def gold_passages(path: Path, line: int, gold: Any, schema: str) -> tuple[GoldPassage, ...]:
    """The `gold` field: a list of {source, substring} objects (emptiness is the caller's)."""
    if not isinstance(gold, list):
        raise data_error(path, line, "gold", f"must be a list, got {type(gold).__name__}", schema)
    passages = []
    for i, item in enumerate(gold):
        if not isinstance(item, dict):
            raise data_error(
                path, line, f"gold[{i}]", "must be an object {source, substring}", schema
            )
        for key in ("source", "substring"):
            if not nonempty_str(item.get(key)):
                raise data_error(
                    path, line, f"gold[{i}].{key}", "must be a non-empty string", schema
                )
        passages.append(GoldPassage(item["source"], item["substring"]))
    return tuple(passages)


def tag_list(path: Path, line: int, tags: Any, schema: str) -> tuple[str, ...]:
    if not isinstance(tags, list) or not all(nonempty_str(t) for t in tags):
        raise data_error(
            path, line, "tags", f"must be a list of non-empty strings, got {tags!r:.60}", schema
        )
    return tuple(tags)
