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

This module chooses the papers and runs a fetch; the download itself is
`corpus.paper_download`, the text extraction `corpus.paper_text` and the manifest
`corpus.paper_manifest`.
"""

from __future__ import annotations

import contextlib
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

from core.errors import ConfigError, PaperFetchError
from core.settings import Settings
from corpus.catalog import Paper, find_paper
from corpus.paper_download import HostPacer, download, make_client
from corpus.paper_manifest import ManifestEntry, file_sha256, read_manifest, write_manifest
from corpus.paper_text import extract_text, write_text

Status = Literal["fetched", "cached", "failed", "skipped"]
ProgressFn = Callable[[str, int, int], None]

# Links to chats and videos have no text worth indexing.
NON_DOCUMENT_HOSTS = ("discord.com", "discord.gg", "youtube.com", "youtu.be", "bilibili.com")


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


def ingestable_paths(results: Iterable[FetchResult]) -> list[Path]:
    """Text files of the papers now in the library, for `index.store.ingest_paths`."""
    return [Path(r.text_path) for r in results if r.status in ("fetched", "cached") and r.text_path]


# ---------------------------------------------------------------- fetching


def _from_cache(paper: Paper, url: str, entry: ManifestEntry, papers_dir: Path) -> FetchResult:
    """The stored copy, re-extracting its text if that file went missing. Raises PaperFetchError
    or OSError when the copy is unusable, so the caller downloads it again."""
    path = papers_dir / entry.file
    text_path = papers_dir / "text" / entry.text_file
    if not text_path.is_file():
        text, _, _ = extract_text(path, entry.content_type, entry.url)
        text_path = write_text(papers_dir / "text", safe_id(paper.id), paper.title, text)
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
        return path.is_file() and file_sha256(path) == entry.sha256
    except OSError:
        return False


def _fetch_one(
    paper: Paper,
    settings: Settings,
    client: httpx.Client,
    manifest: dict[str, ManifestEntry],
    pacer: HostPacer,
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
        content_type, sha256, size = download(client, url, part, settings, pacer, clock)
        text, kind, pages = extract_text(part, content_type, url)
        text_path = write_text(papers_dir / "text", sid, paper.title, text)
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
    pacer = HostPacer(settings.papers.min_interval_s, sleep, clock)
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
