"""The real bundled model end to end (assembles 1.1 GB, loads in ~2-5 s on 2 cores)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.llm.client import make_chat_model, resolve_endpoint, translate_llm_errors
from core.settings import LLMSettings


@pytest.mark.llm
@pytest.mark.slow
def test_bundled_qwen_answers_a_trivial_question(qwen_gguf: Path, tmp_path: Path) -> None:
    settings = LLMSettings(gguf_path=qwen_gguf, max_tokens=16, context_tokens=2048)
    with resolve_endpoint(settings, tmp_path) as endpoint:
        assert endpoint.owned_server is not None
        model = make_chat_model(settings, endpoint)
        with translate_llm_errors(endpoint.base_url):
            answer = model.invoke(
                [
                    ("system", "Answer with a single number and nothing else."),
                    ("human", "What is 2 + 3?"),
                ]
            )
    assert "5" in str(answer.content)
