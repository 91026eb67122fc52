"""The judge: parsing, evidence selection, on-disk cache (counted calls), labelled sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from pydantic import Field

from core.errors import EvalDataError
from evals.judge import (
    Judge,
    JudgeConfig,
    evaluate_labelled,
    fallback_claims,
    parse_claim_lines,
    parse_yes_no,
    select_evidence,
)

pytestmark = pytest.mark.unit


class CountingModel(FakeListChatModel):
    """A fake chat model that records every prompt it is sent."""

    prompts: list[str] = Field(default_factory=list)

    def _call(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[no-untyped-def]
        self.prompts.append(str(messages[-1].content))
        return super()._call(messages, stop=stop, run_manager=run_manager, **kwargs)


def counting(responses: list[str]) -> CountingModel:
    return CountingModel(responses=responses, prompts=[])


def test_parse_yes_no() -> None:
    assert parse_yes_no("Yes.") is True
    assert parse_yes_no("**No**, the evidence is silent") is False
    assert parse_yes_no("") is None
    assert parse_yes_no("The claim is") is None


def test_fallback_claims_strip_markers_and_skip_fragments() -> None:
    claims = fallback_claims("GQA shares key heads [1]. OK. It shrinks the KV cache [2][3].")
    assert claims == ["GQA shares key heads.", "It shrinks the KV cache."]


def test_parse_claim_lines_strips_numbering() -> None:
    text = "Claims:\n1. GQA uses key groups.\n2) MQA uses one key head.\n- MQA uses one key head."
    assert parse_claim_lines(text) == ["GQA uses key groups.", "MQA uses one key head."]


def test_select_evidence_keeps_the_most_overlapping_sentences_in_order() -> None:
    sentences = [
        "The Transformer was introduced in 2017.",
        "Cats are mammals.",
        "GQA groups the query heads.",
        "Each group shares one key head.",
    ]
    chosen = select_evidence("GQA groups query heads sharing one key head", sentences, k=2)
    assert chosen == ["GQA groups the query heads.", "Each group shares one key head."]


def test_verdicts_are_cached_on_disk_and_a_rerun_makes_no_call(tmp_path: Path) -> None:
    model = counting(["Yes", "No"])
    judge = Judge(model, tmp_path / "cache", model_id="m1")
    assert judge.verdict("GQA groups heads.", "GQA groups query heads.") is True
    assert judge.verdict("MQA is from 2010.", ["MQA was proposed in 2019."]) is False
    assert judge.calls == 2
    judge.close()

    again = counting(["No"])  # would flip every verdict if it were asked
    judge2 = Judge(again, tmp_path / "cache", model_id="m1")
    assert judge2.verdict("GQA groups heads.", "GQA groups query heads.") is True
    assert judge2.verdict("MQA is from 2010.", ["MQA was proposed in 2019."]) is False
    assert judge2.calls == 0 and again.prompts == []
    assert judge2.cache_hits == 2

    # Another judge model does not reuse those judgments.
    other = Judge(counting(["No"]), tmp_path / "cache", model_id="m2")
    assert other.verdict("GQA groups heads.", "GQA groups query heads.") is False
    assert other.calls == 1


def test_split_claims_llm_is_cached_and_falls_back_to_sentences(tmp_path: Path) -> None:
    model = counting(["- GQA groups query heads.\n- Each group shares a key head."])
    judge = Judge(model, tmp_path, model_id="m", config=JudgeConfig(decompose="llm"))
    answer = "GQA groups query heads, each sharing a key head [1]."
    assert judge.split_claims(answer) == [
        "GQA groups query heads.",
        "Each group shares a key head.",
    ]
    assert judge.split_claims(answer) == [
        "GQA groups query heads.",
        "Each group shares a key head.",
    ]
    assert judge.calls == 1

    useless = Judge(counting(["Sure!"]), None, model_id="m", config=JudgeConfig(decompose="llm"))
    assert useless.split_claims(answer) == ["GQA groups query heads, each sharing a key head."]


def test_prompt_holds_only_the_selected_evidence(tmp_path: Path) -> None:
    model = counting(["yes"])
    judge = Judge(model, None, model_id="m", config=JudgeConfig(max_sentences=1))
    judge.verdict(
        "LoRA trains low-rank matrices",
        ["Cats purr.", "LoRA trains low-rank matrices.", "Dogs bark."],
    )
    assert "LoRA trains low-rank matrices." in model.prompts[0]
    assert "Cats" not in model.prompts[0] and "Dogs" not in model.prompts[0]


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
    judge = Judge(counting(["yes"]), None, model_id="m")
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
        evaluate_labelled(path, Judge(counting(["yes"]), None, model_id="m"))
    (tmp_path / "odd.jsonl").write_text('{"text": "x"}\n', encoding="utf-8")
    with pytest.raises(EvalDataError, match="WiCE"):
        evaluate_labelled(tmp_path / "odd.jsonl", Judge(counting(["yes"]), None, model_id="m"))


@pytest.mark.unit
def test_unseen_only_keeps_the_support_models_test_split(tmp_path):
    import json as _json

    from agent.support_training import begin_group, is_test_group
    from evals.judge import evaluate_labelled

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
    data.write_text("".join(_json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    unseen = {r["id"] for r in rows if is_test_group(begin_group(r["knowledge"]))}
    assert 0 < len(unseen) < len(rows)
    report = evaluate_labelled(data, Yes(), unseen_only=True)
    assert {item["id"] for item in report.items} == unseen
    assert evaluate_labelled(data, Yes()).n == len(rows)
