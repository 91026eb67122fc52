"""A flashcards CSV brought back, compared with the shipped cards: which rows match, which
differ (refused: the shipped questions and notes are the reference) and which are bad, by
line. Nothing is ever applied."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.flashcards import CSV_COLUMNS, Flashcard, shipped_cards
from core.csv_rows import numbered_rows
from core.errors import InputError
from core.limits import read_bounded_bytes
from core.settings import Settings

COMPARED = ("section", "question", "answer", "readings")  # what a row must keep unchanged
MAX_IMPORT_BYTES = 5_000_000  # the whole bank is a few tens of kB


@dataclass(frozen=True)
class RowDifference:
    line: int
    question_id: str
    fields: tuple[str, ...]  # the columns that differ from the shipped card


@dataclass(frozen=True)
class BadRow:
    line: int
    message: str


@dataclass(frozen=True)
class ImportReport:
    """What a CSV brought back holds, compared with the shipped cards. Nothing is applied:
    `applied` is always 0, and `changed` rows are refused (the message says so)."""

    path: str
    rows: int
    unchanged: tuple[str, ...]  # question ids whose row matches the shipped card
    changed: tuple[RowDifference, ...]
    bad: tuple[BadRow, ...]
    applied: int = 0
    message: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.changed and not self.bad

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def compare_csv(text: str, shipped: Sequence[Flashcard], path: str = "<csv>") -> ImportReport:
    """Compare a CSV's rows with the shipped cards: rows that match one unchanged, rows
    that differ (and in which columns), and bad rows by line number. Raises InputError
    when the text is not a flashcards CSV at all (no header, no question_id column)."""
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(
            f"{path}: empty file - expected the header {','.join(CSV_COLUMNS)}"
        ) from None
    except csv.Error as exc:
        raise InputError(f"{path}, line 1: not readable as CSV ({exc})") from None
    names = [h.strip().casefold() for h in header]
    if "question_id" not in names:
        raise InputError(
            f"{path}, line 1: not a flashcards CSV - the header must name a 'question_id' "
            f"column, and may name {', '.join(CSV_COLUMNS[1:])} "
            f"(found: {', '.join(names) or 'nothing'})"
        )
    unknown_columns = [n for n in names if n not in CSV_COLUMNS]
    # Ids compare in any case ("sq03", "pq-peft-1"); reports use the shipped spelling.
    by_id = {c.question_id.upper(): c for c in shipped}
    unchanged: list[str] = []
    changed: list[RowDifference] = []
    bad: list[BadRow] = []
    seen: dict[str, int] = {}
    rows = 0
    for line, cells in numbered_rows(reader, path, InputError, " - check the file's quoting"):
        rows += 1
        if len(cells) != len(names):
            bad.append(BadRow(line, f"{len(cells)} cells for {len(names)} columns"))
            continue
        row = dict(zip(names, cells, strict=True))
        qid = row["question_id"].strip().upper()
        if not qid:
            bad.append(BadRow(line, "no question_id"))
            continue
        if qid not in by_id:
            bad.append(BadRow(line, f"{row['question_id'].strip()!r} is not a shipped question"))
            continue
        qid = by_id[qid].question_id
        if qid in seen:
            bad.append(BadRow(line, f"{qid} again (first on line {seen[qid]})"))
            continue
        seen[qid] = line
        expected = dict(zip(CSV_COLUMNS, by_id[qid.upper()].csv_row(), strict=True))
        differs = tuple(
            col for col in COMPARED if col in row and _norm(row[col]) != _norm(expected[col])
        )
        if differs:
            changed.append(RowDifference(line, qid, differs))
        else:
            unchanged.append(qid)
    if rows == 0:
        raise InputError(f"{path}: no rows after the header")
    notes = []
    if unknown_columns:
        notes.append(f"ignored columns: {', '.join(unknown_columns)}")
    missing = [c for c in COMPARED if c not in names]
    if missing:
        notes.append(f"not compared (no such column): {', '.join(missing)}")
    if changed:
        message = (
            f"{len(changed)} row(s) differ from the shipped questions and notes: not applied "
            "(the shipped study notes are the reference; nothing was changed)"
        )
    elif bad:
        message = f"{len(bad)} bad row(s); nothing was changed"
    else:
        message = "every row matches a shipped question unchanged; nothing to apply"
    return ImportReport(
        path=path,
        rows=rows,
        unchanged=tuple(unchanged),
        changed=tuple(changed),
        bad=tuple(bad),
        message=message,
        notes=notes,
    )


def _norm(text: str) -> str:
    """Compare cells as a spreadsheet keeps them: line endings and edge blanks aside."""
    return "\n".join(line.strip() for line in text.replace("\r\n", "\n").strip().split("\n"))


def import_flashcards_csv(
    settings: Settings, path: Path, max_bytes: int = MAX_IMPORT_BYTES
) -> ImportReport:
    """Check a flashcards CSV against the shipped cards; applies nothing (see ImportReport)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a CSV file")
    data = read_bounded_bytes(path, max_bytes, f"a flashcards CSV can be ({max_bytes})")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not UTF-8 text (byte {exc.start}): save the CSV as UTF-8"
        ) from exc
    return compare_csv(text, shipped_cards(settings), str(path))
