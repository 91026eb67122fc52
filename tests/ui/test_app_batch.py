"""The Practice tab's class upload through the app's API (gradio_client), as the browser
calls it: the same library call as `tutor grade --batch`."""

from __future__ import annotations

import csv

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GOOD = "A GRU has two gates and one state; an LSTM has three gates and a separate cell state."


def test_a_class_file_is_graded_recorded_and_offered_for_download(
    serve, practice_index, wait_ready, tmp_path
):
    from gradio_client import Client, handle_file

    from agent.progress import ProgressStore
    from agent.runtime import Runtime

    upload = tmp_path / "week3.csv"
    with open(upload, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["learner", "question", "answer"])
        w.writerow(["ann", "Why would anyone pick a GRU instead of an LSTM?", GOOD])
        w.writerow(["bob", "SQ03", ""])
    client = Client(serve(Runtime(practice_index, fake_responses=["unused"])), verbose=False)
    assert wait_ready(client)["ready"]
    summary, graded = client.predict(handle_file(str(upload)), True, api_name="/grade_batch")
    assert (summary["graded"], summary["skipped"], summary["recorded"]) == (1, 1, 1)
    assert summary["errors"][0]["line"] == 3 and summary["verdicts"].keys() == {"SQ03"}
    with open(graded, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["learner"] for r in rows] == ["ann", "bob"]
    assert rows[0]["matched_question_id"] == "SQ03" and rows[1]["error"] == "answer: empty"
    exported = practice_index.index.data_dir / "exports" / "week3.graded.csv"
    assert exported.is_file()
    with ProgressStore(practice_index.learner_db) as store:
        assert [a.question_id for a in store.history("ann")] == ["SQ03"]

    summary, graded = client.predict(None, False, api_name="/grade_batch")
    assert "choose a .csv or .jsonl file" in summary["error"] and graded is None


def test_grade_by_lower_case_id_then_a_hint_about_what_it_missed_through_the_api(
    serve, practice_index, wait_ready
):
    """/grade and /hint make the calls `tutor grade` and `tutor hint --profile` make: a
    lower-case id is the question, and the hint follows the learner's last attempt."""
    from gradio_client import Client

    from agent.runtime import Runtime

    only_sq10_1 = (
        "The causal mask is a lower-triangular matrix added to the attention scores before "
        "the softmax, with 0 on and below the diagonal and -inf above it."
    )
    client = Client(serve(Runtime(practice_index, fake_responses=["unused"])), verbose=False)
    assert wait_ready(client)["ready"]
    assert client.predict("SQ10", 3, "ann", api_name="/hint")["key_point_id"] == "SQ10.1"
    report = client.predict("sq10", only_sq10_1, "ann", api_name="/grade")
    assert report["question_id"] == "SQ10" and report["matched_question"]["method"] == "id"
    assert [p["id"] for p in report["covered"]][:1] == ["SQ10.1"]
    hint = client.predict("SQ10", 3, "ann", api_name="/hint")
    assert hint["key_point_id"] in {p["id"] for p in report["missing"]}
