from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from agent.llm.client import (
    Endpoint,
    check_endpoint,
    make_chat_model,
    translate_llm_errors,
)
from core.errors import LLMResponseError, LLMTimeoutError, LLMUnreachableError
from core.settings import LLMSettings

Stub = Callable[[object], str]


def ask(base_url: str, settings: LLMSettings | None = None, stream: bool = False) -> str:
    settings = settings or LLMSettings()
    model = make_chat_model(settings, Endpoint(base_url, "local", "none"))
    with translate_llm_errors(base_url):
        if stream:
            return "".join(str(c.content) for c in model.stream("hi"))
        return str(model.invoke("hi").content)


@pytest.mark.integration
@pytest.mark.parametrize("stream", [False, True])
def test_closed_port_is_unreachable_fast(closed_port: int, stream: bool) -> None:
    url = f"http://127.0.0.1:{closed_port}/v1"
    start = time.monotonic()
    with pytest.raises(LLMUnreachableError) as err:
        ask(url, stream=stream)
    assert time.monotonic() - start < 5
    assert url in str(err.value)
    assert "tutor llm serve" in str(err.value)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (b"{not json", "application/json"),
        (b"<html>busy</html>", "text/html"),
        (b'{"foo": 1}', "application/json"),
        (b'{"choices": [{"nope": 1}]}', "application/json"),
    ],
)
def test_malformed_completion_is_a_response_error(http_stub: Stub, body: bytes, ctype: str) -> None:
    url = http_stub((200, body, ctype))
    with pytest.raises(LLMResponseError) as err:
        ask(url)
    assert url in str(err.value)


@pytest.mark.integration
def test_malformed_stream_is_a_response_error(http_stub: Stub) -> None:
    url = http_stub((200, b"{not json", "application/json"))
    with pytest.raises(LLMResponseError):
        ask(url, stream=True)


@pytest.mark.integration
@pytest.mark.parametrize("status", [400, 404, 500, 503])
def test_http_error_status_is_a_response_error_with_detail(http_stub: Stub, status: int) -> None:
    body = b'{"error": {"message": "the request exceeds the available context size"}}'
    url = http_stub((status, body, "application/json"))
    with pytest.raises(LLMResponseError) as err:
        ask(url)
    assert f"HTTP {status}" in str(err.value)
    assert "exceeds the available context" in str(err.value)


@pytest.mark.integration
@pytest.mark.parametrize("stream", [False, True])
def test_slow_server_times_out(http_stub: Stub, stream: bool) -> None:
    url = http_stub(3.0)
    settings = LLMSettings(timeout_s=0.5, connect_timeout_s=0.5)
    start = time.monotonic()
    with pytest.raises(LLMTimeoutError) as err:
        ask(url, settings, stream=stream)
    assert time.monotonic() - start < 2.5
    assert url in str(err.value)


@pytest.mark.unit
def test_other_errors_pass_through_untouched() -> None:
    with pytest.raises(RuntimeError), translate_llm_errors("http://x/v1"):
        raise RuntimeError("a bug, not the server")


@pytest.mark.integration
def test_check_endpoint_on_closed_port(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}/v1"
    status = check_endpoint(url, "none", timeout=2)
    assert not status.reachable and not status.ok
    assert status.error is not None and url in status.error


@pytest.mark.integration
def test_check_endpoint_on_non_openai_server(http_stub: Stub) -> None:
    url = http_stub((200, b"<html>router</html>", "text/html"))
    status = check_endpoint(url, "none", timeout=2)
    assert status.reachable and not status.ok
    assert status.latency_s is not None
    assert status.error is not None and "model list" in status.error


@pytest.mark.integration
def test_check_endpoint_times_out(http_stub: Stub) -> None:
    url = http_stub(3.0)
    status = check_endpoint(url, "none", timeout=0.5)
    assert not status.ok and status.error is not None and "did not answer" in status.error


@pytest.mark.unit
def test_fake_model_comes_from_the_same_factory() -> None:
    endpoint = Endpoint("http://unused/v1", "local", "none")
    model = make_chat_model(LLMSettings(), endpoint, fake_responses=["first [1]", "second"])
    assert model.invoke("q").content == "first [1]"
    assert "".join(str(c.content) for c in model.stream("q")) == "second"


@pytest.mark.unit
def test_real_model_gets_settings() -> None:
    settings = LLMSettings(temperature=0.3, max_tokens=99, timeout_s=7, connect_timeout_s=1)
    model = make_chat_model(settings, Endpoint("http://127.0.0.1:9/v1", "m", "k"))
    assert model.max_retries == 0  # type: ignore[attr-defined]
    assert model.max_tokens == 99  # type: ignore[attr-defined]
    assert model.request_timeout.connect == 1  # type: ignore[attr-defined]
    assert model.request_timeout.read == 7  # type: ignore[attr-defined]
    assert model.openai_api_base == "http://127.0.0.1:9/v1"  # type: ignore[attr-defined]
