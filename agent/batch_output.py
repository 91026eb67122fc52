"""Writing the graded file: every input row back, with its grade or its error.

The file is written to a temporary file beside the target and renamed into place; it
never replaces its own input.
"""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from agent.batch_input import BatchFormat, InputRow, batch_format
from agent.batch_results import BatchResult
from core.errors import ConfigError

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


def refuse_own_input(out: Path, source: Path) -> None:
    if out.resolve() == source.resolve():
        raise ConfigError(f"{out}: the graded file would replace its input - choose another")


def write_graded(result: BatchResult, out: Path, fmt: BatchFormat | None = None) -> Path:
    """Write every input row with its grade or its error to `out` (format from `fmt`,
    else `out`'s extension), via a temporary file renamed into place."""
    out = Path(out)
    fmt = fmt or batch_format(out)
    refuse_own_input(out, result.source.path)
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
