"""Find the answering model's endpoint and build a LangChain chat model for it.

Any OpenAI-compatible server works (vLLM on a GPU host, llama.cpp, the embedded one);
errors from the openai/httpx stack are translated into the project's LLM errors.
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import openai
from langchain_core.language_models import BaseChatModel

from agent.llm.model_files import resolve_gguf
from agent.llm.server import EmbeddedServer, ServerConfig, find_running_server, read_discovery
from core.errors import LLMError, LLMResponseError, LLMTimeoutError, LLMUnreachableError
from core.settings import LLMSettings

SERVER_LOG_NAME = "llm-server.log"


@dataclass
class Endpoint:
    """Where to send chat completions; `owned_server` is set when we started it."""

    base_url: str
    model: str
    api_key: str
    owned_server: EmbeddedServer | None = field(default=None, repr=False)

    def close(self) -> None:
        """Stop the server this endpoint started, if any."""
        if self.owned_server is not None:
            self.owned_server.stop()
            self.owned_server = None

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def resolve_endpoint(settings: LLMSettings, data_dir: Path) -> Endpoint:
    """The endpoint to use, in order: `settings.base_url`; a server started by
    `tutor llm serve` (found through `<data_dir>/llm-server.json`); else a new embedded
    server on `settings.gguf_path` or the bundled model (assembled into
    `<data_dir>/cache/models`), which the caller must close (`Endpoint.close`).
    """
    if settings.base_url:
        return Endpoint(settings.base_url.rstrip("/"), settings.model, settings.api_key)
    running = find_running_server(data_dir)
    if running is not None:
        info = read_discovery(data_dir)
        model = info.model if info is not None else settings.model
        return Endpoint(running, model, settings.api_key)
    gguf = resolve_gguf(settings.gguf_path, data_dir / "cache")
    config = ServerConfig(gguf=gguf, threads=settings.threads, ctx=settings.context_tokens)
    server = EmbeddedServer(
        config,
        log_path=data_dir / "logs" / SERVER_LOG_NAME,
        startup_timeout_s=settings.startup_timeout_s,
    ).start()
    return Endpoint(server.base_url, config.model_alias, settings.api_key, owned_server=server)


def make_chat_model(
    settings_llm: LLMSettings,
    endpoint: Endpoint,
    *,
    fake_responses: list[str] | None = None,
) -> BaseChatModel:
    """A chat model for `endpoint` (invoke and stream), or a fake cycling `fake_responses`.

    No retries: a local server that failed once fails again, and the person waiting should
    hear so at once.
    """
    if fake_responses is not None:
        from langchain_core.language_models.fake_chat_models import FakeListChatModel

        return FakeListChatModel(responses=fake_responses)

    return _translating_chat_openai()(
        base_url=endpoint.base_url,
        api_key=endpoint.api_key,  # type: ignore[arg-type]
        model=endpoint.model,
        temperature=settings_llm.temperature,
        max_tokens=settings_llm.max_tokens,  # type: ignore[call-arg]
        timeout=httpx.Timeout(settings_llm.timeout_s, connect=settings_llm.connect_timeout_s),
        max_retries=0,
    )


@functools.cache
def _translating_chat_openai() -> type[BaseChatModel]:
    """ChatOpenAI whose failures are the project's LLM errors wherever it is called (the
    grader, the judge, condensing), not only where a caller wrapped the call in
    `translate_llm_errors`; built on first use so importing this module stays cheap."""
    from langchain_openai import ChatOpenAI

    class TranslatingChatOpenAI(ChatOpenAI):
        def _read_timeout(self) -> float | None:
            read = getattr(self.request_timeout, "read", None)
            return float(read) if isinstance(read, int | float) else None

        def _generate(self, *args: Any, **kwargs: Any) -> Any:
            with translate_llm_errors(str(self.openai_api_base), self._read_timeout()):
                return super()._generate(*args, **kwargs)

        def _stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
            with translate_llm_errors(str(self.openai_api_base), self._read_timeout()):
                yield from super()._stream(*args, **kwargs)

    return TranslatingChatOpenAI


@dataclass(frozen=True)
class EndpointStatus:
    """Result of probing `<base_url>/models`."""

    base_url: str
    reachable: bool
    models: list[str]
    latency_s: float | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.reachable and self.error is None


def check_endpoint(base_url: str, api_key: str, timeout: float = 5.0) -> EndpointStatus:
    """Probe an OpenAI-compatible endpoint: reachable? which models? how fast?"""
    url = f"{base_url.rstrip('/')}/models"
    start = time.monotonic()
    try:
        resp = httpx.get(
            url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
        )
    except httpx.TimeoutException:
        return EndpointStatus(base_url, True, [], None, f"{url} did not answer in {timeout:g} s")
    except httpx.HTTPError as exc:
        return EndpointStatus(base_url, False, [], None, f"nothing answers at {url}: {exc}")
    latency = time.monotonic() - start
    if resp.status_code != 200:
        error = f"{url} answered HTTP {resp.status_code}: {resp.text[:200]}"
        return EndpointStatus(base_url, True, [], latency, error)
    try:
        models = [str(m["id"]) for m in resp.json()["data"]]
    except (ValueError, KeyError, TypeError):
        return EndpointStatus(
            base_url, True, [], latency, f"{url} did not answer a model list: {resp.text[:200]!r}"
        )
    return EndpointStatus(base_url, True, models, latency, None)


def _status_detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and "message" in err:
            return str(err["message"])
    text = exc.response.text.strip() if exc.response is not None else ""
    return (text or str(exc.message))[:300]


def _timeout_error(base_url: str, timeout_s: float | None, exc: BaseException) -> LLMTimeoutError:
    waited = f"in {timeout_s:g} s" if timeout_s else "in time"
    return LLMTimeoutError(
        f"the model server at {base_url} did not answer {waited} (llm.timeout_s); "
        "check that it is not stuck, raise llm.timeout_s, or lower llm.max_tokens"
    )


@contextlib.contextmanager
def translate_llm_errors(base_url: str, timeout_s: float | None = None) -> Iterator[None]:
    """Turn openai/httpx failures inside the block into LLM*Error naming `base_url`
    (and `timeout_s`, the read timeout in force, when a wait ran out).

    Wrap both `invoke` and the whole iteration of `stream`. Chat models from
    `make_chat_model` do this themselves; an outer block changes nothing.
    """
    hint = "start one with `tutor llm serve`, or fix llm.base_url (TUTOR_LLM_BASE_URL)"
    try:
        yield
    except (openai.APITimeoutError, httpx.TimeoutException) as exc:
        raise _timeout_error(base_url, timeout_s, exc) from exc
    except (openai.APIConnectionError, httpx.TransportError) as exc:
        if isinstance(exc.__cause__, httpx.TimeoutException):
            # openai reports some read timeouts mid-stream as "Connection error."
            raise _timeout_error(base_url, timeout_s, exc) from exc
        raise LLMUnreachableError(f"nothing answers at {base_url}: {exc}; {hint}") from exc
    except openai.APIStatusError as exc:
        raise LLMResponseError(
            f"the LLM server at {base_url} answered HTTP {exc.status_code}: {_status_detail(exc)}"
        ) from exc
    except (openai.APIResponseValidationError, json.JSONDecodeError) as exc:
        raise LLMResponseError(
            f"the LLM server at {base_url} sent something that is not a chat completion: {exc}"
        ) from exc
    except LLMError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        # langchain_openai reads the parsed body without validating it: a JSON answer of
        # the wrong shape surfaces here. Only reached from inside the chat-model call.
        raise LLMResponseError(
            f"the LLM server at {base_url} sent a malformed chat completion "
            f"({type(exc).__name__}: {exc})"
        ) from exc


def describe_target(settings: LLMSettings, data_dir: Path) -> dict[str, object]:
    """What the tutor will talk to, without starting anything, and whether it answers."""
    url: str | None
    if settings.base_url:
        kind, url = "configured endpoint (llm.base_url)", settings.base_url.rstrip("/")
    else:
        url = find_running_server(data_dir)
        kind = "server started by `tutor llm serve`" if url else "embedded llama.cpp (on demand)"
    out: dict[str, object] = {"target": kind, "base_url": url, "model": settings.model}
    if url is None:
        gguf = settings.gguf_path
        out["gguf"] = str(gguf) if gguf else "bundled Qwen2.5-Coder-1.5B-Instruct Q4_K_M"
        out["reachable"] = None
        out["note"] = "the model starts when a command needs it (a few seconds)"
        return out
    status = check_endpoint(url, settings.api_key, timeout=settings.connect_timeout_s)
    out.update(
        reachable=status.reachable and status.error is None,
        models=status.models,
        latency_s=None if status.latency_s is None else round(status.latency_s, 3),
        error=status.error,
    )
    return out
