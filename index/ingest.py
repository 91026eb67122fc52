"""A learner's own files in the index: ingest (add or refresh) and remove, each a complete
new build swapped in like any other (`index.store`)."""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from pathlib import Path

from core.errors import IndexMissingError, UnreadableDocumentError
from core.settings import Settings
from corpus.records import SourceDocument
from index.embedders import Embedder
from index.store import (
    IngestReport,
    ProgressFn,
    check_compatible,
    chunk_docs,
    current_build_dir,
    document_entry,
    no_progress,
    read_chunks,
    read_meta,
    write_build,
    writer_lock,
)


def learner_doc_name(path: Path) -> str:
    """Stable document name for a learner file: its resolved path."""
    return str(path.resolve())


def path_problem(raw: str | Path) -> str | None:
    """Why a path given to ingest cannot be used, or None. Takes the string as typed:
    `Path("")` is ".", and an empty argument must not mean the current folder."""
    text = str(raw) if isinstance(raw, Path) else raw
    if not isinstance(text, str) or not text.strip():
        return "an empty path: name a file or folder"
    if "\0" in text:
        return "the path contains a NUL character"
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        return "the path is not valid UTF-8: rename the file"
    p = Path(text)
    try:
        p.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop: the link leads back to itself"
        if exc.errno == errno.ENOENT and p.is_symlink():
            return f"a broken symbolic link (to {os.readlink(p)}, which does not exist)"
        if exc.errno == errno.ENOENT:
            return "no such file or folder"
        if exc.errno == errno.ENAMETOOLONG:
            return "the path is too long"
        if exc.errno == errno.EACCES:
            return "permission denied"
        return f"cannot be read ({exc.strerror})"
    return None


def ingest_paths(
    settings: Settings,
    embedder: Embedder,
    paths: Sequence[str | Path],
    progress: ProgressFn = no_progress,
) -> IngestReport:
    """Add or refresh learner files and folders (strings as typed, or Paths). Unreadable
    files are reported, not fatal; a folder with nothing to ingest is reported too."""
    from corpus.readers import iter_learner_files, read_learner_file

    report = IngestReport()
    with writer_lock(settings):
        build = current_build_dir(settings)
        if build is None:
            raise IndexMissingError(
                "no index yet: run `tutor index build` before ingesting your own files"
            )
        meta = read_meta(settings)
        check_compatible(meta, settings, embedder)
        by_name = {d.name: d for d in meta.documents}
        new_docs: list[SourceDocument] = []
        files: list[Path] = []
        for raw in paths:
            problem = path_problem(raw)
            if problem is not None:
                report.errors.append({"path": str(raw), "reason": problem})
                continue
            p = Path(raw)
            try:
                found = list(iter_learner_files([p]))
            except UnreadableDocumentError as exc:
                report.errors.append({"path": exc.path, "reason": exc.reason})
                continue
            if p.is_dir() and not found:
                report.errors.append(
                    {
                        "path": str(p),
                        "reason": "the folder holds no .md, .txt, .html or .pdf file "
                        "(hidden files and folders are skipped)",
                    }
                )
            files.extend(found)
        for f in files:
            try:
                doc = read_learner_file(f, settings.corpus.max_file_bytes)
            except UnreadableDocumentError as exc:
                report.errors.append({"path": exc.path, "reason": exc.reason})
                continue
            old = by_name.get(doc.name)
            if old is not None and old.sha256 == doc.sha256:
                report.unchanged.append(doc.name)
                continue
            (report.replaced if old is not None else report.added).append(doc.name)
            new_docs.append(doc)
        if not new_docs:
            return report
        replaced = {d.name for d in new_docs}
        kept = [c for c in read_chunks(build) if c.source not in replaced]
        new_chunks = chunk_docs(settings, embedder, new_docs)
        counts: dict[str, int] = {}
        for c in new_chunks:
            counts[c.source] = counts.get(c.source, 0) + 1
        entries = [d for d in meta.documents if d.name not in replaced]
        entries += [document_entry(d, counts.get(d.name, 0), "learner") for d in new_docs]
        new_meta = write_build(
            settings, embedder, kept + new_chunks, entries, meta.corpus_hash, progress
        )
        report.chunks_added = len(new_chunks)
        report.build_id = new_meta.build_id
    return report


def remove_documents(
    settings: Settings,
    embedder: Embedder,
    names_or_paths: Sequence[str],
    progress: ProgressFn = no_progress,
) -> IngestReport:
    """Take learner documents out of the index (shipped corpus documents stay)."""
    report = IngestReport()
    with writer_lock(settings):
        build = current_build_dir(settings)
        if build is None:
            raise IndexMissingError("no index yet: nothing to remove")
        meta = read_meta(settings)
        check_compatible(meta, settings, embedder)
        learner = {d.name: d for d in meta.documents if d.origin == "learner"}
        shipped = {d.name for d in meta.documents if d.origin == "corpus"}
        targets: set[str] = set()
        for raw in names_or_paths:
            if not isinstance(raw, str) or not raw.strip():
                # Path("") is the current folder: it would remove everything under it.
                report.errors.append({"path": str(raw), "reason": "an empty path or name"})
                continue
            candidates = {raw, learner_doc_name(Path(raw))}
            hit = next((c for c in candidates if c in learner), None)
            if hit is None:
                # A folder removes every learner document under it.
                prefix = learner_doc_name(Path(raw)).rstrip("/") + "/"
                under = [n for n in learner if n.startswith(prefix)]
                if under:
                    targets.update(under)
                    continue
                reason = (
                    "part of the shipped corpus; it cannot be removed"
                    if raw in shipped
                    else "not in the index"
                )
                report.errors.append({"path": raw, "reason": reason})
                continue
            targets.add(hit)
        if not targets:
            return report
        kept = [c for c in read_chunks(build) if c.source not in targets]
        entries = [d for d in meta.documents if d.name not in targets]
        new_meta = write_build(settings, embedder, kept, entries, meta.corpus_hash, progress)
        report.removed = sorted(targets)
        report.build_id = new_meta.build_id
    return report
