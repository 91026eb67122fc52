"""The index on disk: builds and status. Learner files are added and removed by
`index.ingest`, Chroma is reached through `index.chroma`, and a build's glosses are
attached by `index.build_glosses`.

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
import fcntl
import functools
import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import IndexMismatchError, IndexMissingError, UnreadableDocumentError
from core.paths import REPO_ROOT
from core.settings import Settings
from corpus.records import Chunk, SourceDocument
from index.build_glosses import attach_glosses, current_glosses_digest, gloss_problem, glosses_path
from index.chroma import PrecomputedEmbeddings, chroma_client, remove_orphan_segments
from index.embedders import Embedder, EmbeddingCache, embed_with_cache
from index.lexical import BM25Index

log = logging.getLogger(__name__)

# The code that decides what a chunk is (reading, cleaning, chunking, linking parallel
# versions, ids) and how BM25 tokenises it: an index records a hash of these files, so a
# change to any of them asks for a rebuild, with no version number to remember to bump.
INDEX_CODE: tuple[str, ...] = ("corpus", "index/lexical.py")

ProgressFn = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
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


def corpus_hash(docs: Sequence[SourceDocument]) -> str:
    h = hashlib.sha256()
    for doc in sorted(docs, key=lambda d: d.name):
        h.update(f"{doc.name}\0{doc.sha256}\n".encode())
    return h.hexdigest()


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
def writer_lock(settings: Settings) -> Iterator[None]:
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


def write_build(
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
    glosses = attach_glosses(settings, chunks)
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


def document_entry(doc: SourceDocument, n_chunks: int, origin: str) -> DocumentEntry:
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


def chunk_docs(
    settings: Settings, embedder: Embedder, docs: Sequence[SourceDocument]
) -> list[Chunk]:
    from corpus.chunking import chunk_corpus

    return chunk_corpus(
        list(docs),
        embedder.count_tokens,
        settings.chunking.max_tokens,
        settings.chunking.min_tokens,
    )


def current_learner_material(
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
        new = chunk_docs(settings, embedder, [doc])
        chunks += new
        entries.append(document_entry(doc, len(new), "learner"))
    return chunks, entries


def build_index(
    settings: Settings, embedder: Embedder, progress: ProgressFn = no_progress
) -> IndexMeta:
    """Build the index from the shipped corpus, keeping learner documents already ingested."""
    from corpus.documents import load_corpus

    docs = load_corpus(settings.corpus.dir)
    progress("chunking", 0, len(docs))
    chunks = chunk_docs(settings, embedder, docs)
    progress("chunking", len(docs), len(docs))
    counts: dict[str, int] = {}
    for c in chunks:
        counts[c.source] = counts.get(c.source, 0) + 1
    entries = [document_entry(d, counts.get(d.name, 0), "corpus") for d in docs]
    with writer_lock(settings):
        learner_docs, learner_entries = current_learner_material(settings, embedder)
        return write_build(
            settings,
            embedder,
            chunks + learner_docs,
            entries + learner_entries,
            corpus_hash(docs),
            progress,
        )


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
    settings: Settings, embedder: Embedder, progress: ProgressFn = no_progress
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
