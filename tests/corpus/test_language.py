from __future__ import annotations

import pytest

from corpus.language import detect_language


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Why is RoPE better than sinusoidal positional encoding?", "en"),
        ("¿Por qué la cuerda es mejor que la codificación posicional?", "es"),
        ("Pourquoi l'encodage RoPE est-il meilleur que le sinusoïdal ?", "fr"),
        ("什么是多模态大模型?这个问题很重要。", "zh-Hans"),
        ("什麼是多模態大模型?這個問題很重要。", "zh-Hant"),
        ("RoPEはなぜ正弦波位置エンコーディングより優れているのですか?", "ja"),
        ("트랜스포머란 무엇인가요?", "ko"),
        ("", "en"),
    ],
)
def test_detect_language(text, lang):
    assert detect_language(text) == lang


@pytest.mark.integration
def test_detect_language_on_corpus(corpus_docs):
    for doc in corpus_docs:
        assert detect_language(doc.text) == doc.language, doc.name
