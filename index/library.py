"""What the shells add to the learner's library: papers fetched from the web, uploaded files.

One call per action, shared by `tutor papers fetch` and the web app's Library tab, so
both check the same things in the same order (e.g. that there is an index to add papers
to before anything is downloaded).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.errors import IndexMissingError
from core.settings import Settings
from corpus.papers import FetchResult, Paper, fetch_papers, ingestable_paths
from index.embedders import Embedder
from index.ingest import ingest_paths
from index.store import IngestReport, ProgressFn, current_build_dir

UPLOADS_DIR = "uploads"  # under the data dir: where uploaded files are kept


def _quiet(stage: str, done: int, total: int) -> None:
    pass


@dataclass(frozen=True)
class PaperFetch:
    """What `fetch_and_index` did: each paper's fetch, and the ingest of their text (None
    when no paper yielded text to index)."""

    papers: list[FetchResult]
    ingest: IngestReport | None

    @property
    def failed(self) -> bool:
        """A paper failed to download, or its text failed to index."""
        return any(r.status == "failed" for r in self.papers) or bool(
            self.ingest and self.ingest.errors
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "papers": [r.to_json() for r in self.papers],
            "ingest": asdict(self.ingest) if self.ingest else None,
        }


def require_index(settings: Settings, action: str = "`tutor papers fetch`") -> None:
    """Raise IndexMissingError unless an index is built (what learner files are added to)."""
    if current_build_dir(settings) is None:
        raise IndexMissingError(
            f"no index in {settings.index_dir}: run `tutor index build` before {action}"
        )


def fetch_and_index(
    settings: Settings,
    embedder: Embedder,
    papers: Sequence[Paper],
    progress: ProgressFn | None = None,
) -> PaperFetch:
    """Download `papers` (cached ones are not fetched again) and index their text.

    The index is checked first, so nobody waits for downloads only to learn there is
    nowhere to put them.
    """
    require_index(settings)
    results = fetch_papers(papers, settings, progress=progress)
    paths = ingestable_paths(results)
    report = ingest_paths(settings, embedder, paths, progress or _quiet) if paths else None
    return PaperFetch(results, report)


def add_uploads(
    settings: Settings, embedder: Embedder, paths: Sequence[str | Path]
) -> IngestReport:
    """Copy uploaded files under the data dir's uploads folder, then index the copies.

    The copies are kept where an upload's temporary folder cannot be cleaned away: the
    index names a learner document by its path, and shows passages from it.
    """
    kept = settings.index.data_dir / UPLOADS_DIR
    kept.mkdir(parents=True, exist_ok=True)
    targets = []
    for p in paths:
        target = kept / Path(p).name
        shutil.copyfile(p, target)
        targets.append(target)
    return ingest_paths(settings, embedder, targets)
