"""The judge's text helpers: yes/no replies, claims from an answer, evidence selection."""

from __future__ import annotations

import pytest

from evals.claims import fallback_claims, parse_claim_lines, parse_yes_no, select_evidence

pytestmark = pytest.mark.unit


def test_parse_yes_no() -> None:
    assert parse_yes_no("Yes.") is True
    assert parse_yes_no("**No**, the evidence is silent") is False
    assert parse_yes_no("") is None
    assert parse_yes_no("The claim is") is None


def test_fallback_claims_strip_markers_and_skip_fragments() -> None:
    claims = fallback_claims("GQA shares key heads [1]. OK. It shrinks the KV cache [2][3].")
    assert claims == ["GQA shares key heads.", "It shrinks the KV cache."]


def test_parse_claim_lines_strips_numbering() -> None:
    text = "Claims:\n1. GQA uses key groups.\n2) MQA uses one key head.\n- MQA uses one key head."
    assert parse_claim_lines(text) == ["GQA uses key groups.", "MQA uses one key head."]


def test_select_evidence_keeps_the_most_overlapping_sentences_in_order() -> None:
    sentences = [
        "The Transformer was introduced in 2017.",
        "Cats are mammals.",
        "GQA groups the query heads.",
        "Each group shares one key head.",
    ]
    chosen = select_evidence("GQA groups query heads sharing one key head", sentences, k=2)
    assert chosen == ["GQA groups the query heads.", "Each group shares one key head."]
