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


def test_the_app_grades_with_the_models_key_point_check(serve, real_runtime, wait_ready):
    from gradio_client import Client

    client = Client(serve(real_runtime), verbose=False)
    assert wait_ready(client, timeout=600)["ready"]
    report = client.predict(
        "sq01",
        "CNNs share weights across positions and use local receptive fields.",
        "ui-points",
        api_name="/grade",
    )
    assert report["method"]["mode"] == "points"
    assert len(report["method"]["point_check"]) == len(report["covered"]) + len(report["missing"])
    assert "SQ01.2" in [p["id"] for p in report["covered"]]  # weight sharing: P(yes) ~0.88
