"""A judge against labelled benchmark files: WiCE (max over chunks), BEGIN (every claim),
the support model's unseen split, and the broken line named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from agent.support_training import begin_group, is_test_group
from core.errors import EvalDataError
from evals.judge import Judge
from evals.judge_benchmark import evaluate_labelled

pytestmark = pytest.mark.unit


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_evaluate_labelled_wice_takes_the_max_over_chunks(tmp_path: Path) -> None:
    rows = [
        # claim a: supported; its second chunk holds the evidence
        {
            "id": "a0",
            "claim_id": "a",
            "claim": "Ada wrote code.",
            "evidence_sentences": ["Ada swam."],
            "supported": True,
        },
        {
            "id": "a1",
            "claim_id": "a",
            "claim": "Ada wrote code.",
            "evidence_sentences": ["Ada wrote code."],
            "supported": True,
        },
        # claim b: not supported
        {
            "id": "b0",
            "claim_id": "b",
            "claim": "Bob ran.",
            "evidence_sentences": ["Bob sat."],
            "supported": False,
        },
    ]
    data = _write(tmp_path / "wice.jsonl", rows)

    def reply(prompt: str) -> str:
        claim = prompt.split("Claim: ")[1].split("\n")[0]
        evidence = prompt.split("Evidence:\n")[1].split("\n\nClaim")[0]
        return "yes" if claim == evidence else "no"

    class Oracle(FakeListChatModel):
        def _call(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[no-untyped-def]
            return reply(str(messages[-1].content))

    judge = Judge(Oracle(responses=["unused"]), tmp_path / "c", model_id="oracle")
    report = evaluate_labelled(data, judge)
    assert report.fields == "wice" and report.n == 2
    assert report.balanced_accuracy == 1.0
    assert (report.confusion.tp, report.confusion.tn) == (1, 1)
    assert report.calls == 3


def test_evaluate_labelled_begin_with_a_constant_judge(tmp_path: Path) -> None:
    rows = [
        {
            "id": f"r{i}",
            "knowledge": "Paris is the capital of France.",
            "response": "Paris is the capital of France.",
            "attributable": i < 2,
        }
        for i in range(5)
    ]
    data = _write(tmp_path / "begin.jsonl", rows)
    judge = Judge(FakeListChatModel(responses=["yes"]), None, model_id="m")
    report = evaluate_labelled(data, judge, limit=4)
    assert report.fields == "begin" and report.n == 4
    assert report.balanced_accuracy == 0.5  # says yes to everything
    assert report.confusion.fp + report.confusion.tp == 4


def test_evaluate_labelled_names_the_broken_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps({"response": "x", "knowledge": "y", "attributable": True})
        + "\n"
        + json.dumps({"response": "x", "knowledge": "y", "attributable": "yes"})
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(EvalDataError, match=r"line 2, field 'attributable'"):
        evaluate_labelled(path, Judge(FakeListChatModel(responses=["yes"]), None, model_id="m"))
    (tmp_path / "odd.jsonl").write_text('{"text": "x"}\n', encoding="utf-8")
    with pytest.raises(EvalDataError, match="WiCE"):
        evaluate_labelled(
            tmp_path / "odd.jsonl", Judge(FakeListChatModel(responses=["yes"]), None, model_id="m")
        )


def test_unseen_only_keeps_the_support_models_test_split(tmp_path):
    class Yes:
        calls = cache_hits = unparsed = 0

        def split_claims(self, answer):
            return [answer]

        def verdict(self, claim, evidence):
            return True

        def describe(self):
            return {"model_id": "yes"}

    rows = [
        {"id": str(i), "knowledge": f"snippet {i}", "response": "r", "attributable": True}
        for i in range(40)
    ]
    data = tmp_path / "begin.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    unseen = {r["id"] for r in rows if is_test_group(begin_group(r["knowledge"]))}
    assert 0 < len(unseen) < len(rows)
    report = evaluate_labelled(data, Yes(), unseen_only=True)
    assert {item["id"] for item in report.items} == unseen
    assert evaluate_labelled(data, Yes()).n == len(rows)
