"""The index on disk: builds, ingestion, status.

Layout under `settings.index_dir`:

    CURRENT              name of the active build (replaced atomically)
    builds/<id>/         meta.json, chunks.jsonl, bm25/   (one folder per build)
                         glosses.jsonl, glosses.npy       (English glosses and their vectors)
    chroma/              the local Chroma PersistentClient (unless a server is configured)
    .lock                serialises writers

Every change (build, ingest, remove) writes a complete new build, with its own
Chroma collection, next to the old one and then swaps CURRENT. A crash at any
point leaves the previous build active and intact; leftovers are swept by the
next writer. Embeddings come from a content-hash cache, so a new build only
embeds text it has not seen.

Every build also attaches the shipped glosses (`corpus/glosses.jsonl`, see
`corpus.glosses`) to the chunks whose id and text they were written for, and stores their
vectors beside the chunks; the meta records the gloss file's digest and how many rows were
attached, stale (the chunk's text changed) or orphaned (no such chunk), so a changed gloss
file makes the index out of date like a changed corpus does.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import IndexMismatchError, IndexMissingError, UnreadableDocumentError
from core.paths import REPO_ROOT
from core.settings import Settings
from corpus.glosses import GLOSSES_FILENAME, glosses_digest, match_glosses, read_glosses
from corpus.records import Chunk, SourceDocument
from index.embedders import Embedder, EmbeddingCache, embed_with_cache
from index.lexical import BM25Index

log = logging.getLogger(__name__)

# The code that decides what a chunk is (reading, cleaning, chunking, linking parallel
# versions, ids) and how BM25 tokenises it: an index records a hash of these files, so a
# change to any of them asks for a rebuild, with no version number to remember to bump.
INDEX_CODE: tuple[str, ...] = ("corpus", "index/lexical.py")

ProgressFn = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class DocumentEntry:
    name: str
    title: str
    language: str
    kind: str
    sha256: str
    chunks: int
    origin: str  # "corpus" or "learner"
    path: str


@dataclass(frozen=True)
class IndexMeta:
    build_id: str
    collection: str
    embedder_id: str
    dim: int
    chunking: dict[str, Any]
    corpus_hash: str
    built_at: str
    documents: list[DocumentEntry]
    n_chunks: int
    # {"digest", "rows", "attached", "stale", "orphaned"} of the gloss file at build time;
    # empty for builds made before glosses existed.
    glosses: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IndexMeta:
        docs = [DocumentEntry(**d) for d in data.pop("documents")]
        return cls(documents=docs, **data)


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)  # {"path", "reason"}
    chunks_added: int = 0
    build_id: str | None = None


@functools.cache
def index_code_hash(root: Path = REPO_ROOT, parts: tuple[str, ...] = INDEX_CODE) -> str:
    """sha256 (first 16 hex digits) over the Python files of `parts`, by path, so a build
    says which chunking code made it."""
    files: list[Path] = []
    for part in parts:
        path = root / part
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    h = hashlib.sha256()
    for f in files:
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def chunking_signature(settings: Settings) -> dict[str, Any]:
    """What a build's chunks depend on besides the corpus: compared before every query."""
    return {
        "max_tokens": settings.chunking.max_tokens,
        "min_tokens": settings.chunking.min_tokens,
        "code": index_code_hash(),
    }


def glosses_path(settings: Settings) -> Path:
    return settings.corpus.dir / GLOSSES_FILENAME


def current_glosses_digest(settings: Settings) -> str:
    """Digest of the gloss file beside the corpus now (no file: the digest of no rows)."""
    return glosses_digest(read_glosses(glosses_path(settings)))


@dataclass(frozen=True)
class BuildGlosses:
    """The glosses a build attaches, in chunk order, and the counts its meta records."""

    chunk_ids: list[str]
    texts: list[str]
    info: dict[str, Any]


def _attach_glosses(settings: Settings, chunks: Sequence[Chunk]) -> BuildGlosses:
    rows = read_glosses(glosses_path(settings))
    match = match_glosses(rows, {c.id: c.text for c in chunks})
    ids = [c.id for c in chunks if c.id in match.attached]
    info = {
        "digest": glosses_digest(rows),
        "rows": len(rows),
        "attached": len(ids),
        "stale": match.stale,
        "orphaned": match.orphaned,
    }
    return BuildGlosses(ids, [match.attached[i] for i in ids], info)


def read_build_glosses(build: Path) -> tuple[list[str], np.ndarray]:
    """(chunk ids, gloss vectors) of a build; none for builds without glosses."""
    ids_path, vec_path = build / "glosses.jsonl", build / "glosses.npy"
    if not ids_path.is_file() or not vec_path.is_file():
        return [], np.zeros((0, 0), dtype=np.float32)
    with ids_path.open(encoding="utf-8") as fh:
        ids = [json.loads(line)["chunk_id"] for line in fh if line.strip()]
    return ids, np.load(vec_path)


def gloss_problem(info: dict[str, Any], path: Path) -> str | None:
    """What a build's gloss counts say is wrong (rows it could not attach), or None."""
    stale, orphaned = info.get("stale", 0), info.get("orphaned", 0)
    if not stale and not orphaned:
        return None
    return (
        f"{stale + orphaned} of the {info.get('rows', 0)} glosses in {path} match no chunk of "
        f"the index ({stale} were written for text that has changed, {orphaned} for chunks "
        "that no longer exist) and are not used: rerun scripts/make_glosses.py"
    )


def corpus_hash(docs: Sequence[SourceDocument]) -> str:
    h = hashlib.sha256()
    for doc in sorted(docs, key=lambda d: d.name):
        h.update(f"{doc.name}\0{doc.sha256}\n".encode())
    return h.hexdigest()


# ---------------------------------------------------------------- chroma access


def chroma_client(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    _register_with_chroma()
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    url = settings.index.chroma_url
    if url:
        from urllib.parse import urlparse

        parsed = urlparse(url)
        return chromadb.HttpClient(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 8000,
            ssl=parsed.scheme == "https",
            settings=chroma_settings,
        )
    path = settings.index_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


class PrecomputedEmbeddings:
    """Chroma embedding function that wraps our embedder.

    We always pass vectors explicitly; giving Chroma this function too guarantees
    it never instantiates its default one (which would try to download a model).
    Chroma rebuilds it from the collection's config when it lists collections; that
    copy has no embedder and refuses to embed.
    """

    def __init__(self, embedder: Embedder | None) -> None:
        self._embedder = embedder

    def _require(self) -> Embedder:
        if self._embedder is None:
            raise IndexMismatchError("open the collection through index.store.get_collection")
        return self._embedder

    def __call__(self, input: list[str]) -> list[np.ndarray]:
        return list(self._require().embed_passages(list(input)))

    def embed_query(self, input: list[str]) -> list[np.ndarray]:
        return list(self._require().embed_queries(list(input)))

    @staticmethod
    def name() -> str:
        return "roadmap-tutor"

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> PrecomputedEmbeddings:
        return PrecomputedEmbeddings(None)


def _register_with_chroma() -> None:
    from chromadb.utils.embedding_functions import register_embedding_function

    with contextlib.suppress(ValueError):  # already registered in this process
        register_embedding_function(PrecomputedEmbeddings)


def get_collection(client: Any, name: str, embedder: Embedder) -> Any:
    return client.get_collection(name=name, embedding_function=PrecomputedEmbeddings(embedder))


# ---------------------------------------------------------------- reading builds


def current_build_dir(settings: Settings) -> Path | None:
    pointer = settings.index_dir / "CURRENT"
    if not pointer.is_file():
        return None
    build = settings.index_dir / "builds" / pointer.read_text(encoding="utf-8").strip()
    return build if (build / "meta.json").is_file() else None


def read_meta(settings: Settings) -> IndexMeta:
    build = current_build_dir(settings)
    if build is None:
        raise IndexMissingError(
            f"no index in {settings.index_dir}: run `tutor index build` to build it"
        )
    return IndexMeta.from_json(json.loads((build / "meta.json").read_text(encoding="utf-8")))


def read_chunks(build: Path) -> list[Chunk]:
    chunks = []
    with (build / "chunks.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            d["section"] = tuple(d["section"])
            chunks.append(Chunk(**d))
    return chunks


def check_compatible(meta: IndexMeta, settings: Settings, embedder: Embedder) -> None:
    """A query with other settings than the build's would compare wrong vectors."""
    if meta.embedder_id != embedder.id:
        raise IndexMismatchError(
            f"the index was built with embedder {meta.embedder_id!r} but the settings select "
            f"{embedder.id!r}: run `tutor index build` to rebuild it"
        )
    if meta.chunking != chunking_signature(settings):
        raise IndexMismatchError(
            f"the index was built with chunking {meta.chunking} but the settings say "
            f"{chunking_signature(settings)}: run `tutor index build` to rebuild it"
        )


# ---------------------------------------------------------------- writing builds


@contextlib.contextmanager
def _writer_lock(settings: Settings) -> Iterator[None]:
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    with (settings.index_dir / ".lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _chunk_to_json(chunk: Chunk) -> str:
    d = asdict(chunk)
    d["section"] = list(chunk.section)
    return json.dumps(d, ensure_ascii=False)


def _chroma_metadata(chunk: Chunk) -> dict[str, Any]:
    return {
        "source": chunk.source,
        "language": chunk.language,
        "kind": chunk.kind,
        "section": " > ".join(chunk.section),
        "start": chunk.start,
        "end": chunk.end,
    }


def _write_build(
    settings: Settings,
    embedder: Embedder,
    chunks: list[Chunk],
    documents: list[DocumentEntry],
    corpus_digest: str,
    progress: ProgressFn,
) -> IndexMeta:
    """Write a complete build beside the current one, then make it current."""
    builds = settings.index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    build_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    tmp = builds / f"{build_id}.tmp"
    tmp.mkdir()
    collection_name = f"{settings.index.collection}-{build_id}"
    client = chroma_client(settings)
    glosses = _attach_glosses(settings, chunks)
    try:
        cache = EmbeddingCache(settings.cache_dir / "embeddings.sqlite")
        try:
            vectors = embed_with_cache(
                embedder,
                [c.text for c in chunks],
                cache,
                on_progress=lambda d, t: progress("embedding", d, t),
            )
            gloss_vectors = embed_with_cache(
                embedder,
                glosses.texts,
                cache,
                on_progress=lambda d, t: progress("embedding glosses", d, t),
            )
        finally:
            cache.close()
        collection = client.create_collection(
            name=collection_name,
            embedding_function=PrecomputedEmbeddings(embedder),
            metadata={"hnsw:space": "cosine"},
        )
        step = min(int(client.get_max_batch_size()), 2000)
        for i in range(0, len(chunks), step):
            part = chunks[i : i + step]
            collection.add(
                ids=[c.id for c in part],
                embeddings=vectors[i : i + step],
                documents=[c.text for c in part],
                metadatas=[_chroma_metadata(c) for c in part],
            )
            progress("storing", min(i + step, len(chunks)), len(chunks))
        BM25Index.build([c.id for c in chunks], [c.text for c in chunks]).save(tmp / "bm25")
        with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as fh:
            for c in chunks:
                fh.write(_chunk_to_json(c) + "\n")
        with (tmp / "glosses.jsonl").open("w", encoding="utf-8") as fh:
            for cid, gloss in zip(glosses.chunk_ids, glosses.texts, strict=True):
                fh.write(json.dumps({"chunk_id": cid, "gloss": gloss}, ensure_ascii=False) + "\n")
        np.save(tmp / "glosses.npy", gloss_vectors.astype(np.float32))
        meta = IndexMeta(
            build_id=build_id,
            collection=collection_name,
            embedder_id=embedder.id,
            dim=int(vectors.shape[1]) if len(chunks) else embedder.dim,
            chunking=chunking_signature(settings),
            corpus_hash=corpus_digest,
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            documents=documents,
            n_chunks=len(chunks),
            glosses=glosses.info,
        )
        (tmp / "meta.json").write_text(
            json.dumps(asdict(meta), ensure_ascii=False, indent=1), encoding="utf-8"
        )
        final = builds / build_id
        os.replace(tmp, final)
        pointer_tmp = settings.index_dir / "CURRENT.tmp"
        pointer_tmp.write_text(build_id, encoding="utf-8")
        os.replace(pointer_tmp, settings.index_dir / "CURRENT")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        with contextlib.suppress(Exception):
            client.delete_collection(collection_name)
        raise
    _sweep(settings, client, keep=build_id)
    return meta


def _sweep(settings: Settings, client: Any, keep: str) -> None:
    """Delete builds and collections other than `keep` (old ones and crash leftovers)."""
    builds = settings.index_dir / "builds"
    for entry in builds.iterdir():
        if entry.name != keep:
            shutil.rmtree(entry, ignore_errors=True)
    prefix = f"{settings.index.collection}-"
    for col in client.list_collections():
        name = col if isinstance(col, str) else col.name
        if name.startswith(prefix) and name != f"{prefix}{keep}":
            with contextlib.suppress(Exception):
                client.delete_collection(name)
    if not settings.index.chroma_url:
        remove_orphan_segments(settings.index_dir / "chroma")


_SEGMENT_DIR = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def orphan_segments(entries: Iterable[str], live: set[str]) -> list[str]:
    """The segment folders (UUID names) that no live Chroma segment owns.

    >>> orphan_segments(["chroma.sqlite3", "c601e450-92cf-446d-a7ef-ab6215a5043f", "x"], set())
    ['c601e450-92cf-446d-a7ef-ab6215a5043f']
    """
    return sorted(e for e in entries if _SEGMENT_DIR.match(e) and e not in live)


def remove_orphan_segments(chroma_dir: Path) -> list[str]:
    """Delete vector-segment folders that Chroma left behind: `delete_collection` (chromadb
    1.5) drops a collection's rows but keeps its HNSW folder, and a build killed mid-way
    leaves one too, so without this every rebuild would leak a copy of the vectors.
    Runs under the writer lock; returns the names removed."""
    db_path = chroma_dir / "chroma.sqlite3"
    if not db_path.is_file():
        return []
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        live = {str(r[0]) for r in db.execute("SELECT id FROM segments")}
    except sqlite3.DatabaseError:
        return []  # not the schema we know: leave everything as it is
    finally:
        db.close()
    removed = orphan_segments((e.name for e in chroma_dir.iterdir() if e.is_dir()), live)
    for name in removed:
        shutil.rmtree(chroma_dir / name, ignore_errors=True)
    if removed:
        log.info("removed %d orphaned Chroma segment folder(s)", len(removed))
    return removed


def _entry(doc: SourceDocument, n_chunks: int, origin: str) -> DocumentEntry:
    return DocumentEntry(
        name=doc.name,
        title=doc.title,
        language=doc.language,
        kind=doc.kind,
        sha256=doc.sha256,
        chunks=n_chunks,
        origin=origin,
        path=str(doc.path),
    )


def _chunk_docs(
    settings: Settings, embedder: Embedder, docs: Sequence[SourceDocument]
) -> list[Chunk]:
    from corpus.chunking import chunk_corpus

    return chunk_corpus(
        list(docs),
        embedder.count_tokens,
        settings.chunking.max_tokens,
        settings.chunking.min_tokens,
    )


def build_index(
    settings: Settings, embedder: Embedder, progress: ProgressFn = _no_progress
) -> IndexMeta:
    """Build the index from the shipped corpus, keeping learner documents already ingested."""
    from corpus.documents import load_corpus

    docs = load_corpus(settings.corpus.dir)
    progress("chunking", 0, len(docs))
    chunks = _chunk_docs(settings, embedder, docs)
    progress("chunking", len(docs), len(docs))
    counts: dict[str, int] = {}
    for c in chunks:
        counts[c.source] = counts.get(c.source, 0) + 1
    entries = [_entry(d, counts.get(d.name, 0), "corpus") for d in docs]
    with _writer_lock(settings):
        learner_docs, learner_entries = _current_learner_material(settings, embedder)
        return _write_build(
            settings,
            embedder,
            chunks + learner_docs,
            entries + learner_entries,
            corpus_hash(docs),
            progress,
        )


def _current_learner_material(
    settings: Settings, embedder: Embedder
) -> tuple[list[Chunk], list[DocumentEntry]]:
    """Learner chunks of the current build, re-chunked if the chunking changed."""
    build = current_build_dir(settings)
    if build is None:
        return [], []
    meta = IndexMeta.from_json(json.loads((build / "meta.json").read_text(encoding="utf-8")))
    learner = [d for d in meta.documents if d.origin == "learner"]
    if not learner:
        return [], []
    if meta.chunking == chunking_signature(settings) and meta.embedder_id == embedder.id:
        names = {d.name for d in learner}
        return [c for c in read_chunks(build) if c.source in names], learner
    # Chunk sizes are in the embedder's tokens: re-read the files that still exist.
    from corpus.readers import read_learner_file

    chunks: list[Chunk] = []
    entries: list[DocumentEntry] = []
    for d in learner:
        try:
            doc = read_learner_file(Path(d.path), settings.corpus.max_file_bytes)
        except UnreadableDocumentError:
            continue
        new = _chunk_docs(settings, embedder, [doc])
        chunks += new
        entries.append(_entry(doc, len(new), "learner"))
    return chunks, entries


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
    progress: ProgressFn = _no_progress,
) -> IngestReport:
    """Add or refresh learner files and folders (strings as typed, or Paths). Unreadable
    files are reported, not fatal; a folder with nothing to ingest is reported too."""
    from corpus.readers import iter_learner_files, read_learner_file

    report = IngestReport()
    with _writer_lock(settings):
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
        new_chunks = _chunk_docs(settings, embedder, new_docs)
        counts: dict[str, int] = {}
        for c in new_chunks:
            counts[c.source] = counts.get(c.source, 0) + 1
        entries = [d for d in meta.documents if d.name not in replaced]
        entries += [_entry(d, counts.get(d.name, 0), "learner") for d in new_docs]
        new_meta = _write_build(
            settings, embedder, kept + new_chunks, entries, meta.corpus_hash, progress
        )
        report.chunks_added = len(new_chunks)
        report.build_id = new_meta.build_id
    return report


def remove_documents(
    settings: Settings,
    embedder: Embedder,
    names_or_paths: Sequence[str],
    progress: ProgressFn = _no_progress,
) -> IngestReport:
    """Take learner documents out of the index (shipped corpus documents stay)."""
    report = IngestReport()
    with _writer_lock(settings):
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
        new_meta = _write_build(settings, embedder, kept, entries, meta.corpus_hash, progress)
        report.removed = sorted(targets)
        report.build_id = new_meta.build_id
    return report


@dataclass(frozen=True)
class IndexStatus:
    exists: bool
    index_dir: str
    build_id: str | None = None
    built_at: str | None = None
    embedder: str | None = None
    chunking: dict[str, Any] | None = None
    documents: list[DocumentEntry] = field(default_factory=list)
    n_documents: int = 0
    n_chunks: int = 0
    size_bytes: int = 0
    corpus_up_to_date: bool | None = None
    settings_match: bool | None = None
    problem: str | None = None
    # the build's gloss counts (IndexMeta.glosses) and whether the gloss file is unchanged
    glosses: dict[str, Any] = field(default_factory=dict)
    glosses_up_to_date: bool | None = None


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def index_status(settings: Settings, embedder: Embedder | None = None) -> IndexStatus:
    from corpus.documents import load_corpus

    try:
        meta = read_meta(settings)
    except IndexMissingError as exc:
        return IndexStatus(exists=False, index_dir=str(settings.index_dir), problem=str(exc))
    problem = None
    match = None
    if embedder is not None:
        try:
            check_compatible(meta, settings, embedder)
            match = True
        except IndexMismatchError as exc:
            match, problem = False, str(exc)
    up_to_date = corpus_hash(load_corpus(settings.corpus.dir)) == meta.corpus_hash
    if not up_to_date and problem is None:
        problem = "the shipped corpus changed since the build: run `tutor index build`"
    glosses_ok = meta.glosses.get("digest") == current_glosses_digest(settings)
    if not glosses_ok and problem is None:
        problem = f"{glosses_path(settings)} changed since the build: run `tutor index build`"
    unused = gloss_problem(meta.glosses, glosses_path(settings))
    if unused and problem is None:
        problem = unused
    size = _dir_size(settings.index_dir / "builds" / meta.build_id)
    if not settings.index.chroma_url:
        size += _dir_size(settings.index_dir / "chroma")
    return IndexStatus(
        exists=True,
        index_dir=str(settings.index_dir),
        build_id=meta.build_id,
        built_at=meta.built_at,
        embedder=meta.embedder_id,
        chunking=meta.chunking,
        documents=meta.documents,
        n_documents=len(meta.documents),
        n_chunks=meta.n_chunks,
        size_bytes=size,
        corpus_up_to_date=up_to_date,
        settings_match=match,
        problem=problem,
        glosses=meta.glosses,
        glosses_up_to_date=glosses_ok,
    )


def ensure_index(
    settings: Settings, embedder: Embedder, progress: ProgressFn = _no_progress
) -> IndexMeta | None:
    """Build the index if it is missing or the shipped corpus or its glosses changed; else
    do nothing."""
    from corpus.documents import load_corpus

    try:
        meta = read_meta(settings)
    except IndexMissingError:
        return build_index(settings, embedder, progress)
    same_corpus = corpus_hash(
        load_corpus(settings.corpus.dir)
    ) == meta.corpus_hash and meta.glosses.get("digest") == current_glosses_digest(settings)
    same_settings = meta.embedder_id == embedder.id and meta.chunking == chunking_signature(
        settings
    )
    if same_corpus and same_settings:
        return None
    return build_index(settings, embedder, progress)
