import pytest

from agent.citations import (
    DraftSentence,
    align_sentences,
    dense_support,
    lexical_support,
    parse_markers,
    render_with_citations,
    supported_ratio,
)
from corpus.text import split_sentences

pytestmark = pytest.mark.unit


def test_split_sentences_latin_cjk_and_lists():
    text = "RoPE rotates queries [1]. It encodes relative position.\n- first item\n注意力很重要。它很快！"
    assert split_sentences(text) == [
        "RoPE rotates queries [1].",
        "It encodes relative position.",
        "- first item",
        "注意力很重要。",
        "它很快！",
    ]


def test_split_keeps_abbreviations_with_lowercase_next_word():
    assert split_sentences("See e.g. the GQA paper. Then read.") == [
        "See e.g. the GQA paper.",
        "Then read.",
    ]


def test_parse_markers_variants():
    assert parse_markers("GQA groups heads [2][3].").markers == (2, 3)
    assert parse_markers("GQA groups heads [2, 4].").markers == (2, 4)
    assert parse_markers("GQA groups heads [2, 4].").text == "GQA groups heads."
    assert parse_markers("No markers here.").markers == ()


def test_lexical_support_is_share_of_sentence_tokens():
    assert lexical_support("low-rank adaptation", "LoRA: Low-Rank Adaptation") == 1.0
    assert lexical_support("diffusion sampling", "LoRA: Low-Rank Adaptation") == 0.0
    assert lexical_support("", "anything") == 0.0


def test_dense_support_rescales_and_clips():
    assert dense_support(0.70) == 0.0
    assert dense_support(0.99) == 1.0
    assert 0 < dense_support(0.85) < 1


def _draft(text, markers=()):
    return DraftSentence(text=text, markers=tuple(markers), raw=text)


def test_valid_marker_kept_wrong_marker_replaced_missing_marker_attached():
    drafts = [
        _draft("GQA shares key value heads across query groups", [1]),  # valid marker
        _draft("LoRA trains low rank matrices only", [1]),  # marker points to wrong source
        _draft("Diffusion models denoise step by step"),  # no marker
        _draft("The moon is made of cheese entirely"),  # nothing supports it
    ]
    support = [[0.9, 0.1], [0.1, 0.8], [0.6, 0.55], [0.1, 0.2]]
    out = align_sentences(drafts, support, threshold=0.5, max_citations=1)
    assert out[0].citations == (1,) and out[0].supported
    assert out[1].citations == (2,) and out[1].markers == (1,)
    assert out[2].citations == (1,)
    assert out[3].citations == () and not out[3].supported
    assert supported_ratio(out) == 0.75
    rendered = render_with_citations(out)
    assert "entirely [unsupported]" in rendered
    assert "step by step [1]" in rendered


def test_markers_out_of_range_are_dropped():
    out = align_sentences([_draft("Attention weighs every token pair", [7])], [[0.9]], 0.5)
    assert out[0].citations == (1,)


def test_short_fragments_are_not_claims():
    out = align_sentences([_draft("Yes.")], [[0.0]], 0.5)
    assert out[0].supported and out[0].citations == ()
    assert supported_ratio(out) == 1.0


def test_numbers_compare_without_separators_and_ignore_urls_and_list_numbers():
    from agent.citations import numbers_in, numeric_support

    assert numbers_in("1. See https://arxiv.org/abs/2106.09685 for 10,000x fewer") == {"10000"}
    assert numeric_support("It cuts parameters 10,000 times.", "by 10000 times") == 1.0
    assert numeric_support("Trained in 2020 on 300B tokens.", "300B tokens (2021)") == 0.5
    assert numeric_support("No numbers here.", "175 billion") == 1.0
