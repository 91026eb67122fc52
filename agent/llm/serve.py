"""Run llama.cpp's server in this process until told to stop.

Two callers: `EmbeddedServer` starts `python -m agent.llm.serve ...` as its child, and
`tutor llm serve` calls `serve_forever`, which also writes the discovery file that lets
other tutor commands reuse the server.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from agent.llm.model_files import resolve_gguf
from agent.llm.server import (
    ServerConfig,
    ServerInfo,
    discovery_path,
    find_running_server,
    make_xllamacpp_params,
    remove_discovery,
    write_discovery,
)
from core.errors import LLMError
from core.settings import LLMSettings


def _install_sigterm_as_exit() -> None:
    """Make SIGTERM raise SystemExit in the main thread so `finally` blocks run."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def run_server(
    config: ServerConfig,
    on_ready: Callable[[str], None],
    should_stop: Callable[[], bool] = lambda: False,
    poll_s: float = 0.5,
) -> None:
    """Load the model, call `on_ready(root_url)`, serve until `should_stop()` or a signal."""
    import xllamacpp

    try:
        server = xllamacpp.Server(make_xllamacpp_params(config))  # blocks until loaded
    except (RuntimeError, ValueError) as exc:
        raise LLMError(
            f"llama.cpp could not start on {config.gguf} (port {config.port}): {exc}; "
            "see the log above for the reason (bad GGUF, port in use, too little memory)"
        ) from exc
    try:
        on_ready(str(server.listening_address))
        while not should_stop():
            time.sleep(poll_s)
    finally:
        # Dropping the last reference runs the C++ destructor: stop the loop, close the port.
        del server


def serve_forever(
    settings: LLMSettings,
    data_dir: Path,
    port: int | None = None,
    *,
    on_ready: Callable[[ServerInfo], None] | None = None,
) -> None:
    """Serve the configured (or bundled) model on 127.0.0.1 until SIGINT/SIGTERM.

    Writes `<data_dir>/llm-server.json` once the model is loaded and removes it on exit.
    The bundled model is assembled into `<data_dir>/cache/models` if needed.
    """
    running = find_running_server(data_dir)
    if running is not None:
        raise LLMError(
            f"an LLM server is already running at {running} (see {discovery_path(data_dir)}): "
            "stop it first or use it"
        )
    gguf = resolve_gguf(settings.gguf_path, data_dir / "cache")
    config = ServerConfig(
        gguf=gguf, port=port or 0, threads=settings.threads, ctx=settings.context_tokens
    )
    pid = os.getpid()

    def ready(root_url: str) -> None:
        info = ServerInfo.now(f"{root_url}/v1", pid, gguf, config.model_alias)
        write_discovery(data_dir, info)
        if on_ready is not None:
            on_ready(info)

    _install_sigterm_as_exit()
    try:
        run_server(config, ready)
    except KeyboardInterrupt:
        pass
    finally:
        remove_discovery(data_dir, pid=pid)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m agent.llm.serve", description=__doc__)
    ap.add_argument("--gguf", type=Path, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0: pick a free port")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--parallel", type=int, default=1)
    ap.add_argument("--cache-ram-mib", type=int, default=512)
    ap.add_argument("--alias", default="local")
    ap.add_argument("--verbosity", type=int, default=1)
    ap.add_argument("--parent-pid", type=int, default=None, help="exit when this process is gone")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Child-process entry: serve, report readiness as one JSON line on stdout."""
    args = _parse_args(argv)
    config = ServerConfig(
        gguf=args.gguf,
        host=args.host,
        port=args.port,
        threads=args.threads,
        ctx=args.ctx,
        parallel=args.parallel,
        cache_ram_mib=args.cache_ram_mib,
        model_alias=args.alias,
        verbosity=args.verbosity,
    )
    # Keep the readiness channel private: llama.cpp may print to stdout, and nobody
    # drains that pipe after the first line.
    ready_fd = os.dup(1)
    os.dup2(2, 1)

    def ready(root_url: str) -> None:
        with os.fdopen(ready_fd, "w", encoding="utf-8") as out:
            out.write(json.dumps({"url": root_url, "pid": os.getpid()}) + "\n")

    parent = args.parent_pid

    def orphaned() -> bool:
        return parent is not None and os.getppid() != parent

    _install_sigterm_as_exit()
    try:
        run_server(config, ready, should_stop=orphaned)
    except KeyboardInterrupt:
        pass
    except LLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
