"""The question's translation for retrieval (agent/query_translation.py)."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from agent.query_translation import QueryTranslator


@pytest.mark.unit
def test_a_question_is_translated_once_and_the_reply_cleaned():
    model = FakeListChatModel(responses=['"What is LoRA?"\nNote: translated.', "unused"])
    translator = QueryTranslator(model, cache_size=2)
    assert translator.translate("LoRA 是什么?") == "What is LoRA?"
    assert translator.translate("LoRA 是什么?") == "What is LoRA?"  # from the cache
    assert model.i == 1  # one call for two translations of the same question


@pytest.mark.unit
def test_a_reply_that_repeats_the_question_adds_nothing():
    translator = QueryTranslator(FakeListChatModel(responses=["What is LoRA?"]))
    assert translator.translate("What is LoRA?") is None


@pytest.fixture
def chat(llm_endpoint, tmp_path):
    from agent.llm.client import make_chat_model
    from core.settings import load_settings

    settings = load_settings(overrides={"index.data_dir": tmp_path / "data"}, environ={})
    return make_chat_model(settings.llm, llm_endpoint)


@pytest.mark.llm
@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    ["LoRA 是什麼?有哪些相關論文?", "RLHF 的流程是什么?", "KVキャッシュとは何ですか?"],
)
def test_the_bundled_model_translates_the_question_instead_of_answering_it(chat, question):
    from corpus.language import detect_language

    text = QueryTranslator(chat).translate(question)
    assert text is not None and detect_language(text) == "en", text
    # A translated question, not an answer: short, and still a question.
    assert len(text.split()) <= 15 and text.rstrip().endswith("?"), text
