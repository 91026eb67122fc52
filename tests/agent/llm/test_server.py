from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from agent.llm.client import Endpoint, check_endpoint, make_chat_model, resolve_endpoint
from agent.llm.server import (
    EmbeddedServer,
    ServerConfig,
    ServerInfo,
    discovery_path,
    find_running_server,
    health_ok,
    pid_alive,
    write_discovery,
)
from core.errors import LLMError
from core.settings import LLMSettings

SYSTEM = "You are a patient tutor for the Generative AI Roadmap. Cite sources as [n]. " * 8


def wait_for(cond: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


@pytest.mark.integration
def test_embedded_server_answers_invoke_and_stream(smol_server: EmbeddedServer) -> None:
    status = check_endpoint(smol_server.base_url, "none", timeout=5)
    assert status.ok, status.error
    assert "local" in status.models
    assert status.latency_s is not None and status.latency_s < 5

    endpoint = Endpoint(smol_server.base_url, "local", "none")
    model = make_chat_model(LLMSettings(max_tokens=24), endpoint)
    answer = model.invoke([("system", SYSTEM), ("human", "Say hello.")])
    assert isinstance(answer.content, str) and answer.content.strip()
    chunks = [str(c.content) for c in model.stream([("human", "Count to three.")])]
    assert len(chunks) > 1 and "".join(chunks).strip()


@pytest.mark.integration
def test_fixed_system_prompt_is_served_from_the_prefix_cache(smol_server: EmbeddedServer) -> None:
    def cached_tokens(question: str) -> int:
        resp = httpx.post(
            f"{smol_server.base_url}/chat/completions",
            json={
                "model": "local",
                "max_tokens": 4,
                "messages": [
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": question},
                ],
            },
            timeout=60,
        )
        resp.raise_for_status()
        return int(resp.json()["usage"]["prompt_tokens_details"]["cached_tokens"])

    cached_tokens("What is a CNN?")
    # The system prompt is ~150 tokens; only the new question should be evaluated.
    assert cached_tokens("Why is RoPE better than sinusoidal encodings?") > 100


@pytest.mark.integration
def test_stop_frees_the_port_and_ends_the_child(
    smollm2: Path, tmp_path: Path, port_refuses: Callable[[int], bool]
) -> None:
    server = EmbeddedServer(ServerConfig(gguf=smollm2, ctx=1024), log_path=tmp_path / "s.log")
    with server:
        pid = server.pid
        port = int(server.base_url.rsplit(":", 1)[1].split("/")[0])
        assert health_ok(server.base_url)
    assert pid is not None and not pid_alive(pid)
    assert port_refuses(port)
    server.stop()  # idempotent
    with pytest.raises(LLMError, match="not running"):
        _ = server.base_url


@pytest.mark.integration
def test_given_port_is_used(smollm2: Path, tmp_path: Path, closed_port: int) -> None:
    config = ServerConfig(gguf=smollm2, ctx=1024, port=closed_port)
    with EmbeddedServer(config, log_path=tmp_path / "s.log") as server:
        assert server.base_url == f"http://127.0.0.1:{closed_port}/v1"


@pytest.mark.integration
def test_bad_model_file_fails_with_the_log_tail(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 1000)
    server = EmbeddedServer(ServerConfig(gguf=bad), log_path=tmp_path / "s.log")
    start = time.monotonic()
    with pytest.raises(LLMError, match="exited with status") as err:
        server.start()
    assert time.monotonic() - start < 30
    assert str(tmp_path / "s.log") in str(err.value)
    assert server.pid is None


@pytest.mark.integration
def test_startup_timeout_kills_the_child(smollm2: Path, tmp_path: Path) -> None:
    server = EmbeddedServer(
        ServerConfig(gguf=smollm2), log_path=tmp_path / "s.log", startup_timeout_s=0.05
    )
    with pytest.raises(LLMError, match="did not load"):
        server.start()
    assert server.pid is None


@pytest.mark.integration
def test_child_exits_when_its_parent_dies(smollm2: Path, tmp_path: Path) -> None:
    script = (
        "import sys, time; from pathlib import Path\n"
        "from agent.llm.server import EmbeddedServer, ServerConfig\n"
        f"s = EmbeddedServer(ServerConfig(gguf=Path({str(smollm2)!r}), ctx=1024),"
        f" log_path=Path({str(tmp_path / 's.log')!r})).start()\n"
        "print(s.pid, flush=True); time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())
        assert pid_alive(child_pid)
    finally:
        parent.kill()
        parent.wait()
    assert wait_for(lambda: not pid_alive(child_pid), 10)


# --- discovery file --------------------------------------------------------------------


SERVE_SCRIPT = """
import sys
from pathlib import Path
from agent.llm.serve import serve_forever
from core.settings import LLMSettings
serve_forever(LLMSettings(gguf_path=Path(sys.argv[1]), context_tokens=1024), Path(sys.argv[2]),
              on_ready=lambda info: print(info.url, flush=True))
"""


@pytest.mark.integration
def test_serve_forever_is_found_reused_and_cleans_up(smollm2: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE_SCRIPT, str(smollm2), str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.endswith("/v1")
        info = json.loads(discovery_path(data_dir).read_text(encoding="utf-8"))
        assert info["pid"] == proc.pid and info["url"] == url
        assert info["model_path"] == str(smollm2) and info["started_at"]

        assert find_running_server(data_dir) == url
        endpoint = resolve_endpoint(LLMSettings(), data_dir)
        assert endpoint.base_url == url and endpoint.owned_server is None
        assert endpoint.model == "local"

        with pytest.raises(LLMError, match="already running"):
            from agent.llm.serve import serve_forever

            serve_forever(LLMSettings(gguf_path=smollm2), data_dir)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
    assert proc.returncode == 128 + signal.SIGTERM  # our handler ran: `finally` cleaned up
    assert not discovery_path(data_dir).exists()
    assert find_running_server(data_dir) is None


@pytest.mark.unit
def test_stale_file_with_dead_pid_is_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_discovery(tmp_path, ServerInfo.now("http://127.0.0.1:9/v1", dead.pid, Path("m"), "x"))
    assert find_running_server(tmp_path) is None
    assert not discovery_path(tmp_path).exists()


@pytest.mark.integration
def test_stale_file_with_live_pid_but_no_server_is_removed(
    tmp_path: Path, closed_port: int
) -> None:
    url = f"http://127.0.0.1:{closed_port}/v1"
    write_discovery(tmp_path, ServerInfo.now(url, os.getpid(), Path("m"), "x"))
    assert find_running_server(tmp_path) is None
    assert not discovery_path(tmp_path).exists()


@pytest.mark.unit
def test_unreadable_discovery_file_is_removed(tmp_path: Path) -> None:
    discovery_path(tmp_path).write_text("{broken", encoding="utf-8")
    assert find_running_server(tmp_path) is None
    assert not discovery_path(tmp_path).exists()


# --- endpoint resolution ---------------------------------------------------------------


@pytest.mark.unit
def test_configured_base_url_wins(tmp_path: Path) -> None:
    settings = LLMSettings(base_url="http://gpu-host:8000/v1/", model="qwen", api_key="k")
    endpoint = resolve_endpoint(settings, tmp_path)
    assert endpoint == Endpoint("http://gpu-host:8000/v1", "qwen", "k")
    assert not (tmp_path / "cache").exists()  # no model assembled, nothing started


@pytest.mark.integration
def test_without_url_or_server_an_embedded_one_is_started(smollm2: Path, tmp_path: Path) -> None:
    with resolve_endpoint(LLMSettings(gguf_path=smollm2, context_tokens=1024), tmp_path) as ep:
        assert ep.owned_server is not None
        pid = ep.owned_server.pid
        assert check_endpoint(ep.base_url, ep.api_key).ok
        assert (tmp_path / "logs" / "llm-server.log").is_file()
    assert ep.owned_server is None
    assert pid is not None and wait_for(lambda: not pid_alive(pid), 5)
