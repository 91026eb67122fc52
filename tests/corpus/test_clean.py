from __future__ import annotations

import re

import pytest

from corpus.clean import clean_document, delete_spans, identity, pinyin_spans, removed_report


def doc_named(docs, name):
    return next(d for d in docs if d.name == name)


def _assert_map_exact(doc, clean):
    assert len(clean.offsets) == len(clean.text) + 1
    assert all(doc.text[o] == ch for o, ch in zip(clean.offsets, clean.text, strict=False))
    assert list(clean.offsets[:-1]) == sorted(set(clean.offsets[:-1]))


@pytest.mark.integration
def test_offset_map_is_exact_for_every_document(corpus_docs):
    for doc in corpus_docs:
        _assert_map_exact(doc, clean_document(doc))


@pytest.mark.integration
def test_zh_hant_spam_furniture_and_pinyin_removed(corpus_docs):
    doc = doc_named(corpus_docs, "multimodal-survey-news-zh-hant.txt")
    text = clean_document(doc).text
    spam = doc.text.split("\n", 1)[0]
    assert spam not in text
    assert text.startswith("多模態大模型最全綜述來了")
    for furniture in ("相關推薦", "點贊", "收藏", "公眾號", "2023-11-22 11:29:28", "圖片"):
        assert furniture not in text
    assert "(tài)" not in doc.text[:0] and "(tài)" not in text
    toned = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
    assert not re.search(rf"\([a-zü ]*[{toned}][a-zü{toned} ]*\)", text)
    # Real parentheses stay.
    for kept in ("(closed-set)", "(open-set)", "(concept customization)", "(以CLIP為代表)"):
        assert kept in text
    assert "綜述地址:https://arxiv.org/abs/2309.10020" in text
    spans = pinyin_spans(doc.text)
    assert len(spans) == 290  # annotations; about 1,440 characters
    assert 1300 < sum(e - s for s, e in spans) < 1500


@pytest.mark.unit
def test_pinyin_heuristic_keeps_english_parentheses():
    text = "多模態(tài)模型(mó xíng)用(GPT-4)和(CLIP),見Li(ai)及(concept)"
    kept = "".join(
        ch for i, ch in enumerate(text) if not any(s <= i < e for s, e in pinyin_spans(text))
    )
    assert kept == "多模態模型用(GPT-4)和(CLIP),見Li(ai)及(concept)"


@pytest.mark.integration
def test_zhihu_leftovers_removed(corpus_docs):
    doc = doc_named(corpus_docs, "aigc-survey-notes-zh.txt")
    text = clean_document(doc).text
    assert "赞同" not in text and "评论文章" not in text
    assert "https://github.com/lucidrains/DALLE2-pytorch\n" in text
    assert "pytorchgithub.com" not in text
    assert "stable-diffusion https://github.com/Stability-AI/stablediffusion\n" in text
    assert removed_report(doc)["zh_zhihu"] > 200


@pytest.mark.integration
def test_french_and_spanish_furniture(corpus_docs):
    fr = clean_document(doc_named(corpus_docs, "llm-reading-list-fr.txt")).text
    assert fr.startswith("Ingénieurs D'amazon")
    assert "zhaorui" not in fr and "特色图像" not in fr and "Suivez le compte" not in fr
    es = clean_document(doc_named(corpus_docs, "roadmap-es.txt")).text
    assert "[fuente de imagen" not in es


@pytest.mark.integration
def test_markdown_links_are_kept(corpus_docs):
    text = clean_document(doc_named(corpus_docs, "roadmap-en.md")).text
    assert (
        "[Attention Is All You Need (NeurIPS 2017)](https://arxiv.org/pdf/1706.03762.pdf)" in text
    )
    assert "<h1>" not in text and ":pencil:" not in text
    assert text.startswith("Generative AI Roadmap")


@pytest.mark.unit
def test_delete_spans_composes_offsets():
    clean = delete_spans(identity("ab  cd\n\n\n\nef"), [(2, 3)])
    clean = delete_spans(clean, [(0, 1)])
    assert clean.text == "b cd\n\n\n\nef"
    assert clean.to_original(0, 4) == (1, 6)
