"""Metrics on examples computed by hand."""

from __future__ import annotations

import pytest

from evals import metrics as M

pytestmark = pytest.mark.unit


def test_confusion_and_balanced_accuracy_by_hand() -> None:
    gold = [True, True, True, True, False, False, False, False, False, False]
    pred = [True, True, True, False, True, False, False, False, False, False]
    cm = M.confusion(gold, pred)
    assert (cm.tp, cm.fp, cm.tn, cm.fn) == (3, 1, 5, 1)
    # recall on positives 3/4, on negatives 5/6
    assert cm.balanced_accuracy == pytest.approx((3 / 4 + 5 / 6) / 2)
    assert cm.accuracy == pytest.approx(0.8)


def test_balanced_accuracy_is_not_fooled_by_a_constant_judge() -> None:
    gold = [True] * 2 + [False] * 8
    always_no = M.confusion(gold, [False] * 10)
    assert always_no.accuracy == pytest.approx(0.8)
    assert always_no.balanced_accuracy == pytest.approx(0.5)


def test_faithfulness_counts_supported_claims_and_lists_the_others() -> None:
    f = M.faithfulness(
        ["GQA groups heads", "MQA dates from 2010", "GQA shrinks the cache"], [True, False, True]
    )
    assert f.score == pytest.approx(2 / 3)
    assert f.unsupported == ("MQA dates from 2010",)
    assert M.faithfulness([], []).score is None


def test_citation_precision_and_recall_alce() -> None:
    # s0 cites [1], supported; s1 cites [1, 2]: 2 supports alone, 1 does not and is not
    # needed; s2 cites [3] which does not support it; s3 cites nothing.
    s = M.citation_scores(
        [[1], [1, 2], [3], []],
        [True, True, False, False],
        {(0, 1): True, (1, 1): False, (1, 2): True, (2, 3): False},
    )
    assert s.recall == pytest.approx(2 / 4)
    assert s.precision == pytest.approx(2 / 4)  # relevant: (0,1), (1,2); total 4
    assert (s.n_sentences, s.n_citations) == (4, 4)


def test_citation_precision_keeps_a_citation_needed_jointly() -> None:
    # Neither passage supports the sentence alone, together they do: both are needed.
    s = M.citation_scores([[1, 2]], [True], {(0, 1): False, (0, 2): False})
    assert s.precision == 1.0 and s.recall == 1.0


def test_context_recall_needs_same_source_and_overlap() -> None:
    gold = [("roadmap-en.md", 100, 150), ("notes/x.md", 0, 40), ("roadmap-es.txt", 10, 20)]
    retrieved = [("roadmap-en.md", 140, 300), ("roadmap-en.md", 0, 40), ("roadmap-es.txt", 20, 30)]
    # first gold overlapped (140 < 150); second: no chunk of notes/x.md; third: touching only
    assert M.context_recall(gold, retrieved) == pytest.approx(1 / 3)
    assert M.any_gold_retrieved(gold, retrieved) is True
    assert M.context_recall([], retrieved) is None


def test_token_f1_by_hand() -> None:
    # common: gqa, key, heads -> P = 3/4, R = 3/7
    assert M.token_f1("GQA shares key heads", "GQA groups share key and value heads") == (
        pytest.approx(2 * (3 / 4) * (3 / 7) / (3 / 4 + 3 / 7))
    )
    assert M.token_f1("", "anything") == 0.0
    # CJK: every character is a token
    assert M.token_f1("预训练", "预训练和微调") == pytest.approx(2 * 1 * 0.5 / 1.5)


def test_abstention_rates() -> None:
    a = M.abstention_rates([True, True, True, False, False], [False, True, False, True, False])
    assert a.answerable_answered == pytest.approx(2 / 3)
    assert a.unanswerable_declined == pytest.approx(1 / 2)
    assert M.abstention_rates([True], [False]).unanswerable_declined is None


def test_latency_mean_and_p90_ignore_missing_values() -> None:
    lat = M.latency([1.0, 3.0, None], [2.0, 4.0, 6.0, 8.0, 10.0])
    assert lat.first_token_mean_s == 2.0
    assert lat.total_mean_s == 6.0
    assert lat.total_p90_s == pytest.approx(9.2)  # 8 + 0.6 * 2


def test_length_mismatches_are_errors() -> None:
    with pytest.raises(ValueError):
        M.faithfulness(["a"], [])
    with pytest.raises(ValueError):
        M.confusion([True], [True, False])
