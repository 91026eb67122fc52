"""The one JSONL reader: rows validated by a model, errors naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, model_validator

from core.errors import DataFileError, EvalDataError
from core.jsonl import NonEmptyStr, field_error, read_jsonl


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: NonEmptyStr
    question: NonEmptyStr
    answerable: bool = True
    tags: tuple[NonEmptyStr, ...] = ()
    gold: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _gold(self) -> Item:
        if self.answerable and not self.gold:
            raise field_error("gold", "is empty: an answerable item needs a gold passage")
        return self


GOOD = '{"id": "a", "question": "Why?", "gold": ["x"]}'


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.unit
def test_reads_rows_with_their_line_numbers_and_skips_blank_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD, "", "   ", '{"id": "b", "question": "How?", "answerable": false}')
    rows = read_jsonl(path, Item)
    assert [(n, r.id) for n, r in rows] == [(1, "a"), (4, "b")]
    assert rows[1][1].answerable is False


@pytest.mark.unit
@pytest.mark.parametrize(
    ("line", "field", "problem"),
    [
        ('{"id": "b", "question": ""}', "question", "must be a non-empty string, got ''"),
        ('{"id": "b", "question": 7}', "question", "must be a non-empty string, got 7"),
        ('{"id": "b", "gold": ["x"]}', "question", "missing"),
        ('{"id": "b", "question": "q", "answerable": "yes"}', "answerable", "true or false"),
        ('{"id": "b", "question": "q", "tags": "en"}', "tags", "must be a list, got str"),
        ('{"id": "b", "question": "q", "tags": ["en", " "]}', "tags[1]", "non-empty string"),
        ('{"id": "b", "question": "q", "colour": 1}', "colour", "unknown field (allowed: id,"),
        ('{"id": "b", "question": "q"}', "gold", "is empty: an answerable item needs"),
        ('{"id": "a", "question": "q", "gold": ["y"]}', "id", "'a' already used on line 1"),
    ],
)
def test_a_bad_line_names_file_line_and_field(
    tmp_path: Path, line: str, field: str, problem: str
) -> None:
    path = _write(tmp_path, GOOD, "", line)
    with pytest.raises(DataFileError) as info:
        read_jsonl(path, Item, id_of=lambda r: r.id, schema="docs/x.md")
    message = str(info.value)
    assert message.startswith(f"{path}, line 3, field '{field}': ")
    assert problem in message
    assert message.endswith("- fix that line (schema in docs/x.md)")
    assert (info.value.path, info.value.line, info.value.field) == (str(path), 3, field)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("line", "problem"),
    [('{"id": "b", "question": ', "not valid JSON"), ("[1, 2]", "must be a JSON object, got list")],
)
def test_a_line_that_is_not_an_object_names_the_line(
    tmp_path: Path, line: str, problem: str
) -> None:
    with pytest.raises(DataFileError, match=rf"set\.jsonl, line 2: {problem}"):
        read_jsonl(_write(tmp_path, GOOD, line), Item)


@pytest.mark.unit
def test_the_caller_chooses_the_error_class(tmp_path: Path) -> None:
    with pytest.raises(EvalDataError, match="line 1, field 'question'"):
        read_jsonl(_write(tmp_path, '{"id": "a"}'), Item, error=EvalDataError)


@pytest.mark.unit
def test_empty_missing_too_big_and_undecodable_files(tmp_path: Path) -> None:
    empty = _write(tmp_path, "", "  ")
    assert read_jsonl(empty, Item) == []
    with pytest.raises(DataFileError, match=r"set\.jsonl: no items"):
        read_jsonl(empty, Item, empty="no items")
    with pytest.raises(DataFileError, match="cannot read the eval set"):
        read_jsonl(tmp_path / "absent.jsonl", Item, what="the eval set")
    with pytest.raises(DataFileError, match="more than 10 bytes"):
        read_jsonl(_write(tmp_path, GOOD), Item, max_bytes=10)
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes('{"id": "a", "question": "caf\xe9"}\n'.encode("latin-1"))
    with pytest.raises(DataFileError, match="cannot read"):
        read_jsonl(latin, Item)


@pytest.mark.unit
def test_a_torn_last_line_is_dropped_only_when_asked_and_only_at_the_end(tmp_path: Path) -> None:
    torn = _write(tmp_path, GOOD, '{"id": "b", "quest')
    assert [r.id for _, r in read_jsonl(torn, Item, torn_tail=True)] == ["a"]
    with pytest.raises(DataFileError, match="line 2: not valid JSON"):
        read_jsonl(torn, Item)
    middle = _write(tmp_path, '{"id": "b", "quest', GOOD)
    with pytest.raises(DataFileError, match="line 1: not valid JSON"):
        read_jsonl(middle, Item, torn_tail=True)
