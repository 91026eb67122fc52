"""Reading a CSV a person sent, row by row, with the line each row starts on: a quoted
cell may hold line breaks, so the reader's row count is not the file's line number, and a
bad row must be reported by the line a person sees in an editor."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from typing import Any


def numbered_rows(
    reader: Any, path: object, error: Callable[[str], Exception], hint: str
) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of every non-blank row after the reader's current one. A row the
    reader cannot parse (an unclosed quote, a cell over csv.field_size_limit()) ends the
    file: it raises `error` naming its line, followed by `hint`, since the reader cannot
    resume inside a broken cell.

    >>> import io
    >>> rows = numbered_rows(csv.reader(io.StringIO('a\\n"x\\ny",1\\n\\nz,2\\n')), "f", ValueError, "")
    >>> list(rows)
    [(1, ['a']), (2, ['x\\ny', '1']), (5, ['z', '2'])]
    """
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise error(f"{path}, line {start}: not readable as CSV ({exc}){hint}") from None
        line, start = start, reader.line_num + 1
        if any(c.strip() for c in cells):
            yield line, cells
