"""The app over the real index and the real local model, through gradio_client."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.llm, pytest.mark.slow]


def test_streamed_answer_with_checked_citations_from_the_real_model(
    serve, real_runtime, wait_ready
):
    from gradio_client import Client

    client = Client(serve(real_runtime), verbose=False)
    assert wait_ready(client, timeout=600)["ready"]
    outputs = list(
        client.submit(
            "What is the motivation of multi-query attention?", "", api_name="/ask_stream"
        )
    )
    record = json.loads(outputs[-1])
    assert not record["abstained"], record["answer"]
    assert len(outputs) >= 2  # text streamed before the record
    assert record["citations"] and any(s["citations"] for s in record["sentences"])
    assert record["timings"]["first_token_s"] is not None

    off_topic = client.predict(
        "What is the best pizza topping in Naples?", "[]", "", api_name="/ask"
    )
    assert off_topic["abstained"] and off_topic["closest_topics"]
