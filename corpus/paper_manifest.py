"""The paper library's manifest: one entry per stored paper, in `papers_dir/manifest.json`.

A paper enters the manifest only after its whole file arrived and was parsed
(`corpus.papers.fetch_papers`); the file is rewritten atomically after each one, and the
recorded sha256 lets a rerun tell a good stored copy from a damaged one.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from core.errors import CorpusError
from core.settings import Settings

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


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
    atomic_write(papers_dir / MANIFEST_NAME, json.dumps(data, ensure_ascii=False, indent=1))


def fetched_ids(settings: Settings) -> set[str]:
    """Ids of papers whose download is in the library (checksums are checked on fetch)."""
    papers_dir = settings.papers_dir
    return {
        pid
        for pid, e in read_manifest(papers_dir).items()
        if (papers_dir / e.file).is_file() and (papers_dir / "text" / e.text_file).is_file()
    }


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` through `<name>.part`, so a reader never sees half a file."""
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read in blocks (papers can be large)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
