"""The paper library: download the works the catalog links to, check them, keep them.

Layout under `settings.papers_dir`:

    manifest.json        one entry per stored paper (written atomically after each one)
    <safe id>.pdf|.html  the downloaded file, exactly as served (its sha256 is recorded)
    text/<safe id>.md    "# <catalog title>" then the extracted text; PDF pages stay
                         joined by form feeds, so chunks carry their page number
    <safe id>.part       a download in progress; never read, swept on the next fetch

A paper enters the manifest only after its whole file arrived and was parsed, so a
broken or interrupted download leaves nothing behind to be ingested, and a rerun
fetches only what is missing or no longer matches its checksum. The text files are
what `index.store.ingest_paths` indexes (see `ingestable_paths`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import httpx

from core.errors import ConfigError, CorpusError, UnreadableDocumentError
from core.settings import Settings
from corpus.catalog import Paper, find_paper
from corpus.readers import PAGE_BREAK, html_to_text, pdf_to_text

Status = Literal["fetched", "cached", "failed", "skipped"]
ProgressFn = Callable[[str, int, int], None]

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Links to chats and videos have no text worth indexing.
NON_DOCUMENT_HOSTS = ("discord.com", "discord.gg", "youtube.com", "youtu.be", "bilibili.com")
# Longest pause a server may ask for with Retry-After before we give up on that paper.
MAX_RETRY_AFTER_S = 60.0
USER_AGENT = "roadmap-tutor/0.1 (paper library; one request per host every few seconds)"


@dataclass(frozen=True)
class FetchResult:
    """What happened to one paper; `reason` is one line naming the URL when it failed."""

    paper_id: str
    status: Status
    url: str
    title: str
    path: str | None = None  # the stored download
    text_path: str | None = None  # the extracted text that gets indexed
    sha256: str | None = None
    bytes: int = 0
    pages: int | None = None  # PDFs only
    content_type: str | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ManifestEntry:
    id: str
    url: str
    title: str
    file: str  # name inside papers_dir
    text_file: str  # name inside papers_dir/text
    sha256: str
    bytes: int
    content_type: str
    pages: int | None
    fetched_at: str


class PaperFetchError(CorpusError):
    """One paper cannot be fetched or parsed; the message is the reported reason.

    `fetch_papers` turns it into a "failed" result; only `extract_text` lets it out."""


# ---------------------------------------------------------------- pure helpers


def safe_id(paper_id: str) -> str:
    """File-name form of a paper id ("arxiv:1706.03762" -> "arxiv-1706.03762")."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", paper_id)


def download_url(paper: Paper, settings: Settings) -> str:
    """arXiv papers come from the configured export host (arXiv asks robots to use it)."""
    if paper.arxiv_id:
        return f"{settings.papers.arxiv_base_url.rstrip('/')}/pdf/{paper.arxiv_id}"
    return paper.url


def skip_reason(paper: Paper, url: str) -> str | None:
    """Why a link is not downloaded at all, or None if it is."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return f"not a web address: {url}"
    host = parsed.hostname.lower()
    if any(host == h or host.endswith("." + h) for h in NON_DOCUMENT_HOSTS):
        return f"not a document (chat or video link): {url}"
    return None


def select_papers(
    catalog: Sequence[Paper],
    *,
    section: str | None = None,
    ids: Sequence[str] = (),
    all_papers: bool = False,
) -> list[Paper]:
    """The papers one selector names: a section substring, catalog/arXiv ids, or all.

    Exactly one selector must be given; an unknown id or a section matching nothing is
    a ConfigError naming it.
    """
    given = sum([section is not None, bool(ids), all_papers])
    if given != 1:
        raise ConfigError(
            "choose exactly one of --section S, --id ARXIV_ID or --all "
            "(see `tutor papers list` for ids and sections)"
        )
    if all_papers:
        return list(catalog)
    if ids:
        chosen: list[Paper] = []
        for ref in ids:
            paper = find_paper(list(catalog), ref)
            if paper is None:
                raise ConfigError(
                    f"no paper {ref!r} in the catalog: give an arXiv id like 1706.03762 or an "
                    "id from `tutor papers list`"
                )
            if paper not in chosen:
                chosen.append(paper)
        return chosen
    chosen = filter_by_section(catalog, section)
    if not chosen:
        raise ConfigError(
            f"no paper is listed under a section matching {section!r}: "
            "see `tutor papers list` for the sections"
        )
    return chosen


def filter_by_section(catalog: Sequence[Paper], section: str | None) -> list[Paper]:
    """Papers listed under a section whose path contains `section` (any case); all if None."""
    if section is None:
        return list(catalog)
    needle = section.strip().lower()
    return [p for p in catalog if any(needle in s.lower() for s in p.sections)]


def paper_text(title: str, text: str) -> str:
    """The indexed text: a title heading (so the document is named after the paper),
    then the extracted text. Each PDF page break becomes a form feed on a line of its
    own: `page_of` still counts pages, and the chunker sees a blank line there, so
    passages tend to start at a page boundary instead of straddling it."""
    heading = " ".join(title.split()) or "Untitled"
    pages = [page.strip("\n") for page in text.split(PAGE_BREAK)]
    body = f"\n{PAGE_BREAK}\n".join(pages).strip(" \n")
    return f"# {heading}\n\n{body}\n"


def ingestable_paths(results: Iterable[FetchResult]) -> list[Path]:
    """Text files of the papers now in the library, for `index.store.ingest_paths`."""
    return [Path(r.text_path) for r in results if r.status in ("fetched", "cached") and r.text_path]


# ---------------------------------------------------------------- manifest


def read_manifest(papers_dir: Path) -> dict[str, ManifestEntry]:
    path = papers_dir / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {pid: ManifestEntry(**entry) for pid, entry in data["papers"].items()}
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise CorpusError(
            f"{path}: not a valid paper manifest ({exc}); delete it and run "
            "`tutor papers fetch` again to rebuild it"
        ) from exc


def write_manifest(papers_dir: Path, entries: dict[str, ManifestEntry]) -> None:
    papers_dir.mkdir(parents=True, exist_ok=True)
    data = {
        "version": MANIFEST_VERSION,
        "papers": {pid: asdict(e) for pid, e in sorted(entries.items())},
    }
    _atomic_write(papers_dir / MANIFEST_NAME, json.dumps(data, ensure_ascii=False, indent=1))


def fetched_ids(settings: Settings) -> set[str]:
    """Ids of papers whose download is in the library (checksums are checked on fetch)."""
    papers_dir = settings.papers_dir
    return {
        pid
        for pid, e in read_manifest(papers_dir).items()
        if (papers_dir / e.file).is_file() and (papers_dir / "text" / e.text_file).is_file()
    }


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------- fetching


class _HostPacer:
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


def _download(
    client: httpx.Client,
    url: str,
    part: Path,
    settings: Settings,
    pacer: _HostPacer,
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


def _charset(content_type: str) -> str:
    match = re.search(r"charset=\"?([\w.:-]+)", content_type, re.IGNORECASE)
    return match.group(1) if match else "utf-8"


def extract_text(path: Path, content_type: str, url: str) -> tuple[str, str, int | None]:
    """(text, kind "pdf"|"html", pages) of a downloaded file; raises PaperFetchError if unusable.

    A PDF must be whole (the %%EOF marker within its last bytes) and readable page by
    page; HTML must be served as HTML and hold visible text.
    """
    with path.open("rb") as fh:
        head = fh.read(1024)
        fh.seek(max(0, path.stat().st_size - 2048))
        tail = fh.read()
    mime = content_type.split(";")[0].strip().lower()
    if head.startswith(b"%PDF"):
        if b"%%EOF" not in tail:
            raise PaperFetchError(f"truncated or corrupt PDF from {url}: no %%EOF at its end")
        try:
            text, _ = pdf_to_text(path)
        except UnreadableDocumentError as exc:
            if "no extractable text" in exc.reason:
                raise PaperFetchError(f"{url}: {exc.reason}") from exc
            raise PaperFetchError(f"truncated or corrupt PDF from {url}: {exc.reason}") from exc
        return text, "pdf", text.count(PAGE_BREAK) + 1
    if mime in HTML_TYPES:
        markup = path.read_bytes().decode(_charset(content_type), errors="replace")
        text, _ = html_to_text(markup)
        if not text.strip():
            raise PaperFetchError(f"{url}: the HTML page has no visible text")
        return text, "html", None
    if mime == "application/pdf":
        raise PaperFetchError(f"truncated or corrupt PDF from {url}: it does not start with %PDF")
    raise PaperFetchError(
        f"{url} served {mime or 'no content type'}, not a PDF or an HTML page; "
        "open it in a browser instead"
    )


def _write_text(text_dir: Path, sid: str, title: str, text: str) -> Path:
    text_dir.mkdir(parents=True, exist_ok=True)
    target = text_dir / f"{sid}.md"
    _atomic_write(target, paper_text(title, text))
    return target


def _from_cache(paper: Paper, url: str, entry: ManifestEntry, papers_dir: Path) -> FetchResult:
    """The stored copy, re-extracting its text if that file went missing. Raises PaperFetchError
    or OSError when the copy is unusable, so the caller downloads it again."""
    path = papers_dir / entry.file
    text_path = papers_dir / "text" / entry.text_file
    if not text_path.is_file():
        text, _, _ = extract_text(path, entry.content_type, entry.url)
        text_path = _write_text(papers_dir / "text", safe_id(paper.id), paper.title, text)
    return FetchResult(
        paper_id=paper.id,
        status="cached",
        url=url,
        title=paper.title,
        path=str(path),
        text_path=str(text_path),
        sha256=entry.sha256,
        bytes=entry.bytes,
        pages=entry.pages,
        content_type=entry.content_type,
    )


def _cached_entry(entry: ManifestEntry | None, papers_dir: Path) -> bool:
    if entry is None:
        return False
    path = papers_dir / entry.file
    try:
        return path.is_file() and _file_sha256(path) == entry.sha256
    except OSError:
        return False


def _fetch_one(
    paper: Paper,
    settings: Settings,
    client: httpx.Client,
    manifest: dict[str, ManifestEntry],
    pacer: _HostPacer,
    clock: Callable[[], float],
) -> FetchResult:
    papers_dir = settings.papers_dir
    url = download_url(paper, settings)

    def failed(reason: str) -> FetchResult:
        return FetchResult(paper.id, "failed", url, paper.title, reason=" ".join(reason.split()))

    reason = skip_reason(paper, url)
    if reason is not None:
        return FetchResult(paper.id, "skipped", url, paper.title, reason=reason)
    entry = manifest.get(paper.id)
    if entry is not None and _cached_entry(entry, papers_dir):
        with contextlib.suppress(PaperFetchError, OSError):
            return _from_cache(paper, url, entry, papers_dir)
    sid = safe_id(paper.id)
    part = papers_dir / f"{sid}.part"
    try:
        content_type, sha256, size = _download(client, url, part, settings, pacer, clock)
        text, kind, pages = extract_text(part, content_type, url)
        text_path = _write_text(papers_dir / "text", sid, paper.title, text)
        final = papers_dir / f"{sid}.{kind}"
        os.replace(part, final)
    except PaperFetchError as exc:
        return failed(str(exc))
    except OSError as exc:
        return failed(f"cannot store {url} in {papers_dir}: {exc}")
    finally:
        part.unlink(missing_ok=True)
    manifest[paper.id] = ManifestEntry(
        id=paper.id,
        url=url,
        title=paper.title,
        file=final.name,
        text_file=text_path.name,
        sha256=sha256,
        bytes=size,
        content_type=content_type,
        pages=pages,
        fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    # After every paper, so an interrupted run keeps what it already has.
    write_manifest(papers_dir, manifest)
    return FetchResult(
        paper_id=paper.id,
        status="fetched",
        url=url,
        title=paper.title,
        path=str(final),
        text_path=str(text_path),
        sha256=sha256,
        bytes=size,
        pages=pages,
        content_type=content_type,
    )


def make_client(settings: Settings) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(settings.papers.timeout_s),
        follow_redirects=True,
        headers={"User-Agent": USER_AGENT},
    )


def fetch_papers(
    papers: Sequence[Paper],
    settings: Settings,
    *,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    progress: ProgressFn | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[FetchResult]:
    """Download, check and store `papers`; one result each, in order. Never raises for
    one paper's failure: it is reported as "failed" with its reason and skipped."""
    papers_dir = settings.papers_dir
    papers_dir.mkdir(parents=True, exist_ok=True)
    for stale in papers_dir.glob("*.part"):  # left by a run that was killed
        stale.unlink(missing_ok=True)
    manifest = read_manifest(papers_dir)
    pacer = _HostPacer(settings.papers.min_interval_s, sleep, clock)
    own_client = client is None
    http = make_client(settings) if client is None else client
    results: list[FetchResult] = []
    try:
        for i, paper in enumerate(papers):
            if progress is not None:
                progress("fetching", i, len(papers))
            results.append(_fetch_one(paper, settings, http, manifest, pacer, clock))
        if progress is not None:
            progress("fetching", len(papers), len(papers))
    finally:
        if own_client:
            http.close()
    return results
