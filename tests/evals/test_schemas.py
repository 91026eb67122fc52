"""Every data file the project ships loads through its schema, and a bad line of each
kind is reported with its file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import EvalDataError
from core.paths import REPO_ROOT
from evals.grading_sets import load_grading_set
from evals.judge_benchmark import read_labelled
from evals.question_match import load_question_match_set
from evals.retrieval import load_retrieval_set
from evals.runner import load_eval_set, read_records

EVALS = REPO_ROOT / "evals"
RUNS = sorted((REPO_ROOT / "docs" / "eval-runs").glob("*/records.jsonl"))
BENCHMARKS = REPO_ROOT.parent / "shared" / "benchmarks" / "faithfulness"
LOADERS = {
    "faithfulness.jsonl": load_eval_set,
    "practice-questions.jsonl": load_eval_set,
    "retrieval.jsonl": load_retrieval_set,
    "retrieval-unseen.jsonl": load_retrieval_set,
    "question_match.jsonl": load_question_match_set,
    "grading.jsonl": load_grading_set,
    "grading-unseen.jsonl": load_grading_set,
}


def _rows(path: Path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


@pytest.mark.unit
def test_every_shipped_eval_file_has_a_loader() -> None:
    # A new data file without a schema fails here instead of being read by hand somewhere.
    assert {p.name for p in EVALS.glob("*.jsonl")} == set(LOADERS)


@pytest.mark.unit
@pytest.mark.parametrize("name", sorted(LOADERS))
def test_every_shipped_eval_file_loads_through_its_schema(name: str) -> None:
    path = EVALS / name
    assert len(LOADERS[name](path)) == _rows(path)


@pytest.mark.unit
@pytest.mark.parametrize("path", RUNS, ids=[p.parent.name for p in RUNS])
def test_every_shipped_run_record_loads_through_its_schema(path: Path) -> None:
    records = read_records(path.parent)
    assert len(records) == _rows(path)
    # read back as written: nothing added, nothing dropped
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert records[0] == first


@pytest.mark.unit
def test_there_are_shipped_runs() -> None:
    assert RUNS


@pytest.mark.unit
@pytest.mark.parametrize(
    ("name", "kind"), [("wice-oracle-chunks-dev.jsonl", "wice"), ("begin-dev-wow.jsonl", "begin")]
)
def test_the_judge_benchmarks_load_through_their_schema(name: str, kind: str) -> None:
    path = BENCHMARKS / name
    if not path.is_file():
        pytest.skip(f"{path} is not here (public data, not shipped)")
    found, rows = read_labelled(path)
    assert found == kind and len(rows) == _rows(path)


def _one_bad_line(tmp_path: Path, source: Path, **change: object) -> Path:
    first = json.loads(source.read_text(encoding="utf-8").splitlines()[0])
    second = {**first, "id": "zz-other", **change}
    path = tmp_path / source.name
    path.write_text(json.dumps(first) + "\n\n" + json.dumps(second) + "\n", encoding="utf-8")
    return path


@pytest.mark.unit
@pytest.mark.parametrize(
    ("name", "change", "field", "problem"),
    [
        ("faithfulness.jsonl", {"question": "  "}, "question", "must be a non-empty string"),
        ("retrieval.jsonl", {"gold": []}, "gold", "is empty"),
        ("question_match.jsonl", {"kind": "near_miss"}, "question_id", "a rewording names"),
        ("grading.jsonl", {"verdict": "right"}, "verdict", "'correct'"),
        ("grading-unseen.jsonl", {"score": 7}, "score", "less than or equal to 5"),
        ("grading.jsonl", {"score": "5"}, "score", "valid integer"),
    ],
)
def test_a_bad_line_of_each_file_names_file_line_and_field(
    tmp_path: Path, name: str, change: dict[str, object], field: str, problem: str
) -> None:
    path = _one_bad_line(tmp_path, EVALS / name, **change)
    with pytest.raises(EvalDataError) as info:
        LOADERS[name](path)
    message = str(info.value)
    assert message.startswith(f"{path}, line 3, field '{field}': "), message
    assert problem in message


@pytest.mark.unit
def test_a_broken_record_is_named_but_a_torn_last_one_is_dropped(tmp_path: Path) -> None:
    good = json.loads(RUNS[0].read_text(encoding="utf-8").splitlines()[0])
    run = tmp_path / "run"
    run.mkdir()
    records = run / "records.jsonl"
    records.write_text(json.dumps(good) + "\n" + json.dumps(good)[:50] + "\n", encoding="utf-8")
    assert [r["id"] for r in read_records(run)] == [good["id"]]
    bad = {**good, "abstained": "no"}
    records.write_text(json.dumps(bad) + "\n" + json.dumps(good) + "\n", encoding="utf-8")
    with pytest.raises(EvalDataError, match=r"line 1, field 'abstained': must be true or false"):
        read_records(run)
