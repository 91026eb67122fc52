"""A local stand-in for arXiv's export host and a blog, for the paper-library tests.

Serves on 127.0.0.1 only (the tests never touch the real network):

    /pdf/2401.00001   a valid two-page PDF (page 2 about rotary position embeddings)
    /pdf/2401.00002   the same PDF cut in half (a correct Content-Length: the file is short)
    /pdf/2401.00003   404
    /pdf/2401.00004   answers only after SLOW_S seconds
    /pdf/2401.00005   announces the whole PDF but closes the connection half way
    /pdf/2401.00006   503 with Retry-After: 7 the first time, then the valid PDF
    /blog.html        an HTML tutorial
    /data.bin         application/octet-stream

`FakeTime` is the clock the pacing tests give the fetcher instead of real sleeps.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from pdfutil import minimal_pdf

SLOW_S = 3.0
PAGE_ONE = " ".join(
    [
        "Recurrent networks read a sequence one step at a time and carry a hidden state.",
        "Each step depends on the previous one, so training cannot run in parallel over time.",
        "Long sequences make gradients vanish or explode, which gated cells try to soften.",
        "Convolutional networks share weights across positions and see a local window.",
        "Stacking layers widens the receptive field until it covers the whole input.",
        "Pooling layers make the features tolerant to small shifts of the input image.",
        "Batch normalisation keeps activations in a steady range while training deep stacks.",
        "Residual connections let the signal skip layers so very deep networks still train.",
        "Dropout switches units off at random so the network cannot rely on any single one.",
        "Weight decay pulls parameters toward zero and limits how much the model memorises.",
    ]
)
PAGE_TWO = (
    "Rotary position embedding encodes the position of a token by rotating its query and key "
    "vectors by an angle proportional to the position. The dot product of a rotated query and "
    "key then depends only on their relative distance, which is why RoPE extrapolates better "
    "than sinusoidal absolute encodings added to the input."
)
HTML_PAGE = (
    "<html><head><title>Illustrated Tutorial</title><style>p{}</style></head><body>"
    "<h1>The illustrated tutorial</h1><p>Grouped-query attention shares each key and value "
    "head among a group of query heads, a middle ground between multi-head and multi-query "
    "attention.</p><script>var x = 1;</script></body></html>"
)


def good_pdf() -> bytes:
    return minimal_pdf([PAGE_ONE, PAGE_TWO])


class FakeTime:
    """A clock that only moves when slept on, so pauses are exact and free."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class PaperServer:
    base_url: str
    requests: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.requests.values())


def _handler(state: PaperServer) -> type[BaseHTTPRequestHandler]:
    pdf = good_pdf()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return None

        def _send(self, status: int, body: bytes, ctype: str, length: int | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()

        def do_GET(self) -> None:
            state.requests[self.path] += 1
            path = self.path
            if path == "/pdf/2401.00001":
                self._send(200, pdf, "application/pdf")
            elif path == "/pdf/2401.00002":
                self._send(200, pdf[: len(pdf) // 2], "application/pdf")
            elif path == "/pdf/2401.00004":
                time.sleep(SLOW_S)
                self._send(200, pdf, "application/pdf")
            elif path == "/pdf/2401.00005":
                self._send(200, pdf[: len(pdf) // 2], "application/pdf", length=len(pdf))
                self.close_connection = True
            elif path == "/pdf/2401.00006":
                if state.requests[path] == 1:
                    self.send_response(503)
                    self.send_header("Retry-After", "7")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._send(200, pdf, "application/pdf")
            elif path == "/blog.html":
                self._send(200, HTML_PAGE.encode("utf-8"), "text/html; charset=utf-8")
            elif path == "/data.bin":
                self._send(200, b"\x00\x01binary", "application/octet-stream")
            else:
                self._send(404, b"not found", "text/plain")

    return Handler


@contextmanager
def serve_papers() -> Iterator[PaperServer]:
    """Run the server in a thread for the duration of a `with` block."""
    state = PaperServer(base_url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    server.block_on_close = False
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
