"""The LLM judge: on-disk cache (counted calls), claim splitting, the evidence it sends."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from pydantic import Field

from evals.judge import Judge, JudgeConfig

pytestmark = pytest.mark.unit


class CountingModel(FakeListChatModel):
    """A fake chat model that records every prompt it is sent."""

    prompts: list[str] = Field(default_factory=list)

    def _call(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[no-untyped-def]
        self.prompts.append(str(messages[-1].content))
        return super()._call(messages, stop=stop, run_manager=run_manager, **kwargs)


def counting(responses: list[str]) -> CountingModel:
    return CountingModel(responses=responses, prompts=[])


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
