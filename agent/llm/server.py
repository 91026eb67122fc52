"""The embedded llama.cpp server (xllamacpp) and the discovery file of `tutor llm serve`.

The server runs in a child process (`python -m agent.llm.serve`), not in the caller:
xllamacpp's `Server(...)` constructor holds the GIL for the whole model load (measured
2.2 s for the 1.5B model, during which no other Python thread of the UI runs), a crash in
llama.cpp would take the UI down with it, and a child can be killed if it hangs. The cost
is one interpreter start, about 0.3 s on top of the load.

Prefix caching: the child keeps one slot (`n_parallel=1`) with `cache_prompt=True`, so
each request re-evaluates only the tokens after the longest prefix it shares with the
previous one; a fixed system prompt put first is evaluated once. `cache_ram_mib` bounds
the host-RAM copy of idle slots' prompts.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx

from core.errors import LLMError, ModelFileError

DISCOVERY_FILENAME = "llm-server.json"
SERVED_MODEL_NAME = "local"
_LOG_TAIL_CHARS = 2000


@dataclass(frozen=True)
class ServerConfig:
    """How to run llama.cpp's server on one GGUF file."""

    gguf: Path
    host: str = "127.0.0.1"
    port: int = 0  # 0: the server picks a free port and reports it
    threads: int = 2
    ctx: int = 4096
    parallel: int = 1
    cache_ram_mib: int = 512
    model_alias: str = SERVED_MODEL_NAME
    verbosity: int = 1

    def to_argv(self) -> list[str]:
        return [
            "--gguf", str(self.gguf),
            "--host", self.host,
            "--port", str(self.port),
            "--threads", str(self.threads),
            "--ctx", str(self.ctx),
            "--parallel", str(self.parallel),
            "--cache-ram-mib", str(self.cache_ram_mib),
            "--alias", self.model_alias,
            "--verbosity", str(self.verbosity),
        ]  # fmt: skip


def make_xllamacpp_params(config: ServerConfig) -> Any:
    """xllamacpp CommonParams for `config` (imported lazily: the extension is 100 MB)."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(config.gguf)
    params.hostnames = [config.host]
    params.port = config.port
    params.n_ctx = config.ctx  # 0 would mean the model's own 32k: 900 MB of KV cache
    params.n_parallel = config.parallel
    params.cpuparams.n_threads = config.threads
    params.cpuparams_batch.n_threads = config.threads
    params.cache_prompt = True
    params.cache_ram_mib = config.cache_ram_mib
    params.model_alias = {config.model_alias}
    params.ui = False
    params.verbosity = config.verbosity
    return params


def _server_root(base_url: str) -> str:
    root = base_url.rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


def health_ok(base_url: str, timeout_s: float = 1.0) -> bool:
    """True when `<root>/health` answers 200 (llama.cpp answers 503 while loading)."""
    try:
        return httpx.get(f"{_server_root(base_url)}/health", timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def _log_tail(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return text[-_LOG_TAIL_CHARS:].strip()


@dataclass
class EmbeddedServer:
    """llama.cpp's OpenAI-compatible server on 127.0.0.1, in a child process.

    Use as a context manager, or call start() and stop(). `base_url` ends in /v1.
    """

    config: ServerConfig
    log_path: Path
    startup_timeout_s: float = 120.0
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _base_url: str | None = field(default=None, init=False)

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise LLMError("the embedded LLM server is not running: call start() first")
        return self._base_url

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> EmbeddedServer:
        if self._proc is not None:
            return self
        if not self.config.gguf.is_file():
            raise ModelFileError(
                f"model file {self.config.gguf} does not exist: fix llm.gguf_path or unset it "
                "to use the bundled model"
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable, "-m", "agent.llm.serve",
            *self.config.to_argv(), "--parent-pid", str(os.getpid()),
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log
            )
        try:
            url = self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self._base_url = f"{url}/v1"
        return self

    def _wait_ready(self) -> str:
        """Read the child's one-line readiness report, then confirm with /health."""
        assert self._proc is not None and self._proc.stdout is not None
        deadline = time.monotonic() + self.startup_timeout_s
        line = _read_line(self._proc.stdout, self._proc, deadline)
        if line is None:
            if time.monotonic() < deadline:
                # stdout closed early: the child is exiting; collect its status.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(min(5.0, deadline - time.monotonic()))
            code = self._proc.poll()
            what = (
                f"exited with status {code}"
                if code is not None
                else f"did not load {self.config.gguf.name} within {self.startup_timeout_s:.0f} s"
            )
            raise LLMError(
                f"the embedded LLM server {what}; log {self.log_path}:\n{_log_tail(self.log_path)}"
            )
        try:
            url = str(json.loads(line)["url"])
        except (ValueError, KeyError, TypeError) as exc:
            raise LLMError(f"the embedded LLM server sent a bad readiness line: {line!r}") from exc
        while not health_ok(url):
            if time.monotonic() > deadline or self._proc.poll() is not None:
                raise LLMError(
                    f"the embedded LLM server at {url} does not answer /health; "
                    f"log {self.log_path}:\n{_log_tail(self.log_path)}"
                )
            time.sleep(0.1)
        return url

    def stop(self, timeout_s: float = 10.0) -> None:
        """Terminate the child (SIGTERM, then SIGKILL after `timeout_s`); idempotent."""
        proc, self._proc, self._base_url = self._proc, None, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _read_line(stream: IO[bytes], proc: subprocess.Popen[bytes], deadline: float) -> str | None:
    """One line from a child's stdout, or None on EOF, child exit or deadline."""
    buf = b""
    with selectors.DefaultSelector() as sel:
        sel.register(stream, selectors.EVENT_READ)
        while b"\n" not in buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if not sel.select(min(remaining, 0.5)):
                if proc.poll() is not None:
                    return None
                continue
            chunk = os.read(stream.fileno(), 4096)
            if not chunk:
                return None
            buf += chunk
    return buf.split(b"\n", 1)[0].decode("utf-8", errors="replace")


# --- discovery file of `tutor llm serve` -------------------------------------------------


@dataclass(frozen=True)
class ServerInfo:
    """What `tutor llm serve` records so other commands can reuse its server."""

    url: str  # OpenAI base URL, ending in /v1
    pid: int
    model_path: str
    model: str
    started_at: str

    @staticmethod
    def now(url: str, pid: int, model_path: Path, model: str) -> ServerInfo:
        return ServerInfo(
            url=url,
            pid=pid,
            model_path=str(model_path),
            model=model,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )


def discovery_path(data_dir: Path) -> Path:
    return data_dir / DISCOVERY_FILENAME


def write_discovery(data_dir: Path, info: ServerInfo) -> Path:
    path = discovery_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(info.__dict__, indent=2), encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_discovery(data_dir: Path) -> ServerInfo | None:
    """The recorded server, or None if there is no file or it is unreadable."""
    try:
        raw = json.loads(discovery_path(data_dir).read_text(encoding="utf-8"))
        return ServerInfo(**raw)
    except (OSError, ValueError, TypeError):
        return None


def remove_discovery(data_dir: Path, pid: int | None = None) -> None:
    """Delete the discovery file; with `pid`, only if it still names that process."""
    if pid is not None:
        info = read_discovery(data_dir)
        if info is not None and info.pid != pid:
            return
    with contextlib.suppress(FileNotFoundError):
        discovery_path(data_dir).unlink()


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    # A zombie has exited but still answers kill(0) until its parent reaps it (an orphan
    # waits for init, which can take seconds in containers).
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True  # no procfs (macOS): trust kill(0)
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def find_running_server(data_dir: Path) -> str | None:
    """Base URL of a live `tutor llm serve` server, else None (removing a stale file)."""
    path = discovery_path(data_dir)
    if not path.exists():
        return None
    info = read_discovery(data_dir)
    if info is not None and pid_alive(info.pid) and health_ok(info.url):
        return info.url
    remove_discovery(data_dir, pid=info.pid if info is not None else None)
    return None
