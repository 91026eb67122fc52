import pytest

from corpus.text import tokenize
from index.lexical import BM25Index

pytestmark = pytest.mark.unit


def test_tokenize_latin_lowercases_and_drops_stopwords():
    assert tokenize("The Rotary Embeddings of a Transformer") == [
        "rotary",
        "embedding",
        "transformer",
    ]


def test_tokenize_cjk_makes_unigrams_and_bigrams():
    assert tokenize("注意力") == ["注", "意", "力", "注意", "意力"]
    # Japanese kana and kanji mixed, no spaces.
    toks = tokenize("トランスフォーマー")
    assert "トラ" in toks and "ー" in toks


def test_tokenize_folds_plurals_but_not_short_or_ss_words():
    assert tokenize("GANs VAEs class gas attention heads") == [
        "gan",
        "vae",
        "class",
        "gas",
        "attention",
        "head",
    ]


def test_tokenize_normalises_fullwidth():
    assert tokenize("ＧＰＴ４") == ["gpt4"]


def test_bm25_ranks_matching_passage_first_and_respects_mask(tmp_path):
    ids = ["en", "zh", "fr"]
    texts = [
        "LoRA: low-rank adaptation of large language models",
        "多模態基礎模型綜述：從專家到通用助手",
        "La force de l'enseignant (teacher forcing) en traduction",
    ]
    index = BM25Index.build(ids, texts)
    assert index.search("low-rank adaptation", 3)[0][0] == "en"
    assert index.search("多模態模型", 3)[0][0] == "zh"
    assert index.search("teacher forcing", 3)[0][0] == "fr"
    import numpy as np

    assert index.search("low-rank adaptation", 3, allowed=np.array([0, 1, 1])) == []
    index.save(tmp_path / "bm25")
    again = BM25Index.load(tmp_path / "bm25")
    assert again.search("teacher forcing", 1) == index.search("teacher forcing", 1)


def test_bm25_unknown_words_and_empty_index():
    assert BM25Index.build(["a"], ["hello world"]).search("zzzz", 5) == []
    assert BM25Index.build([], []).search("hello", 5) == []
