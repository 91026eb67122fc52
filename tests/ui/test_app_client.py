"""The running app through its API, as `gradio_client` users call it (canned model)."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_ask_search_and_status_endpoints(fake_app, wait_ready):
    from gradio_client import Client

    client = Client(fake_app, verbose=False)
    status = wait_ready(client)
    assert status["ready"], status
    names = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert {"/ask", "/ask_stream", "/search", "/grade", "/hint", "/status"} <= names

    record = client.predict("What is multi-query attention?", "[]", "", api_name="/ask")
    assert record["abstained"] is False
    assert record["citations"][0]["source"] == "guide-en.md"
    assert record["sentences"][0]["citations"] == [1]

    outputs = list(client.submit("What is multi-query attention?", "", api_name="/ask_stream"))
    final = json.loads(outputs[-1])
    assert final["answer"].startswith("Multi-query attention")
    assert len(outputs) >= 2 and not outputs[0].startswith("{")  # text came before the record

    record = client.predict(
        "What is multi-query attention?", "[]", "", "fr", api_name="/ask"
    )  # answer_language overrides the question's language
    assert record["language"] == "fr"

    hits = client.predict("diffusion models add noise", 2, "es", api_name="/search")
    assert hits and all(h["language"] == "es" for h in hits)

    index = client.predict(api_name="/index_status")
    assert index["exists"] and index["n_documents"] == 3


def test_each_session_has_its_own_conversation(fake_app, wait_ready):
    from gradio_client import Client

    a, b = Client(fake_app, verbose=False), Client(fake_app, verbose=False)
    wait_ready(a)
    page_a = a.predict("What is multi-query attention?", "", "", api_name="/chat")[0]
    page_b = b.predict("How do diffusion models work?", "", "", api_name="/chat")[0]
    assert "multi-query attention?" in page_a and "diffusion" not in page_a.split("Tutor")[0]
    assert "How do diffusion models work?" in page_b
    assert "What is multi-query attention?" not in page_b
    # A second question in session A keeps A's first turn.
    page_a2 = a.predict("And GQA?", "", "", api_name="/chat")[0]
    assert "What is multi-query attention?" in page_a2 and "And GQA?" in page_a2
    assert "diffusion models work" not in page_a2


def test_a_failed_request_is_a_clear_error_and_the_app_keeps_working(serve, tiny_index, wait_ready):
    import socket

    from gradio_client import Client
    from gradio_client.exceptions import AppError

    from agent.runtime import Runtime

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    settings = tiny_index.model_copy(
        update={"llm": tiny_index.llm.model_copy(update={"base_url": dead, "timeout_s": 5.0})}
    )
    client = Client(serve(Runtime(settings)), verbose=False)
    assert wait_ready(client)["ready"]
    with pytest.raises(AppError, match="nothing answers at"):
        client.predict("What is multi-query attention?", "[]", "", api_name="/ask")
    page = client.predict("What is multi-query attention?", "", "", api_name="/chat")[0]
    assert 'role="alert"' in page and "nothing answers at" in page
    # The app still serves what does not need the model.
    assert client.predict("diffusion", 1, "", api_name="/search")
    assert client.predict(api_name="/status")["ready"]


def test_the_web_api_shares_the_library_bounds(fake_app, wait_ready):
    """/search, /ask, /grade and /hint refuse what the CLI refuses (same library checks),
    fast, and a normal request is answered afterwards."""
    import time

    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(fake_app, verbose=False)
    assert wait_ready(client)["ready"]
    bad = [
        (("attention", -1, ""), "/search", "limits.max_k"),
        (("attention", 10_000_000, ""), "/search", "limits.max_k"),
        (("", 5, ""), "/search", "the query is empty"),
        (("x" * 1_000_000, 5, ""), "/search", "over the limit of 2,000"),
        (("noise", 5, "xx"), "/search", "no passages in language 'xx'"),
        (("q" * 100_000, "[]", ""), "/ask", "limits.max_question_chars"),
        (("What is MQA?", "{not json", ""), "/ask", "history is not valid JSON"),
        (("SQ10", "x" * 40_001, "p"), "/grade", "limits.max_answer_input_chars"),
        (("SQ10", "an answer", "p" * 100_000), "/grade", "limits.max_profile_chars"),
        (("q" * 100_000, "an answer", "p"), "/grade", "limits.max_question_chars"),
        (("SQ10", 1, ""), "/hint", "profile name cannot be empty"),
    ]
    for args, endpoint, match in bad:
        start = time.monotonic()
        with pytest.raises(AppError, match=match):
            client.predict(*args, api_name=endpoint)
        assert time.monotonic() - start < 10, endpoint
    hits = client.predict("diffusion models add noise", 2, "", api_name="/search")
    assert 1 <= len(hits) <= 2
