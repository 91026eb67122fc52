"""Shared helpers for the LLM-layer tests: real servers on 127.0.0.1 only."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agent.llm.model_files import ensure_bundled_gguf, smollm2_gguf
from agent.llm.server import EmbeddedServer, ServerConfig

# A canned answer (status, body, content type), or a delay in seconds before answering {}.
Reply = tuple[int, bytes, str] | float


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def port_refuses() -> Callable[[int], bool]:
    def refuses(port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return False
        except ConnectionRefusedError:
            return True

    return refuses


@pytest.fixture
def http_stub() -> Iterator[Callable[[Reply], str]]:
    """Start a stdlib HTTP server answering every request with `reply`; returns its /v1 URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(reply: Reply) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                _answer(self, reply)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                _answer(self, reply)

            def log_message(self, *args: object) -> None:
                pass

        srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}/v1"

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def _answer(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    if isinstance(reply, float | int):
        time.sleep(reply)
        reply = (200, b"{}", "application/json")
    status, body, ctype = reply
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    except OSError:
        pass  # the client gave up (timeout tests), as intended


@pytest.fixture(scope="session")
def smollm2() -> Path:
    return smollm2_gguf()


@pytest.fixture(scope="module")
def smol_server(
    smollm2: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmbeddedServer]:
    """One SmolLM2 server per test module (starts in about a second)."""
    log = tmp_path_factory.mktemp("smol-log") / "server.log"
    with EmbeddedServer(ServerConfig(gguf=smollm2, ctx=2048), log_path=log) as server:
        yield server


@pytest.fixture(scope="session")
def qwen_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real bundled model, assembled once per session into a tmp cache (~1.1 GB)."""
    return ensure_bundled_gguf(tmp_path_factory.mktemp("qwen-cache"))
