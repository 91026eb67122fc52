"""Downloading one paper over HTTP: paced per host, bounded in size and time, retried once
when the server says it is busy.

The file is streamed into a `.part` file and hashed on the way; any failure is a
PaperFetchError whose message is the one-line reason reported for that paper.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import httpx

from core.errors import PaperFetchError
from core.settings import Settings

# Longest pause a server may ask for with Retry-After before we give up on that paper.
MAX_RETRY_AFTER_S = 60.0
USER_AGENT = "roadmap-tutor/0.1 (paper library; one request per host every few seconds)"


class HostPacer:
    """Keeps `min_interval` seconds between the end of one request to a host and the
    start of the next (arXiv's rule for robots)."""

    def __init__(
        self, min_interval: float, sleep: Callable[[float], None], clock: Callable[[], float]
    ) -> None:
        self.min_interval = min_interval
        self.sleep = sleep
        self.clock = clock
        self.last: dict[str, float] = {}

    def wait(self, host: str) -> None:
        last = self.last.get(host)
        if last is not None:
            remaining = self.min_interval - (self.clock() - last)
            if remaining > 0:
                self.sleep(remaining)

    def done(self, host: str) -> None:
        self.last[host] = self.clock()


def _retry_after(response: httpx.Response, default: float) -> float:
    value = response.headers.get("retry-after", "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return default


class _Busy(Exception):
    """The server asked us to come back after `wait` seconds (HTTP 429/503)."""

    def __init__(self, wait: float) -> None:
        super().__init__(wait)
        self.wait = wait


def _stream_to(
    client: httpx.Client,
    url: str,
    part: Path,
    settings: Settings,
    clock: Callable[[], float],
    may_retry: bool,
) -> tuple[str, str, int]:
    limits = settings.papers
    deadline = clock() + limits.timeout_s
    with client.stream("GET", url) as response:
        if response.status_code in (429, 503) and may_retry:
            wait = _retry_after(response, limits.min_interval_s)
            if wait <= MAX_RETRY_AFTER_S:
                raise _Busy(wait)
        if response.status_code >= 400:
            raise PaperFetchError(
                f"HTTP {response.status_code} {response.reason_phrase} from {url}"
            )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limits.max_bytes:
            raise PaperFetchError(
                f"{url} is {int(declared):,} bytes, over papers.max_bytes ({limits.max_bytes:,})"
            )
        digest = hashlib.sha256()
        size = 0
        with part.open("wb") as fh:
            for block in response.iter_bytes():
                size += len(block)
                if size > limits.max_bytes:
                    raise PaperFetchError(
                        f"{url} sent more than papers.max_bytes ({limits.max_bytes:,})"
                    )
                # The client's timeout bounds each read; this bounds the whole download.
                if clock() > deadline:
                    raise PaperFetchError(
                        f"timed out after {limits.timeout_s:g}s downloading {url} "
                        "(papers.timeout_s)"
                    )
                digest.update(block)
                fh.write(block)
        return response.headers.get("content-type", ""), digest.hexdigest(), size


def download(
    client: httpx.Client,
    url: str,
    part: Path,
    settings: Settings,
    pacer: HostPacer,
    clock: Callable[[], float],
) -> tuple[str, str, int]:
    """Stream `url` into `part`; (content type, sha256, bytes). Raises PaperFetchError."""
    host = (urlparse(url).hostname or "").lower()
    timeout = settings.papers.timeout_s
    for attempt in range(2):
        pacer.wait(host)
        try:
            return _stream_to(client, url, part, settings, clock, may_retry=attempt == 0)
        except _Busy as busy:
            busy_wait = busy.wait
        except httpx.TimeoutException as exc:
            raise PaperFetchError(
                f"timed out after {timeout:g}s fetching {url} (papers.timeout_s)"
            ) from exc
        except httpx.HTTPError as exc:
            detail = " ".join(str(exc).split()) or type(exc).__name__
            raise PaperFetchError(f"cannot fetch {url}: {detail}") from exc
        finally:
            pacer.done(host)
        pacer.sleep(busy_wait)
        pacer.last.pop(host, None)  # the server's own pause replaces ours
    raise PaperFetchError(f"{url} kept answering 'busy' (HTTP 429/503); try again later")


def make_client(settings: Settings) -> httpx.Client:
    """The client a fetch uses when given none: papers.timeout_s, redirects, our User-Agent."""
    return httpx.Client(
        timeout=httpx.Timeout(settings.papers.timeout_s),
        follow_redirects=True,
        headers={"User-Agent": USER_AGENT},
    )
