"""Faithfulness-eval metrics: pure functions over verdicts, spans and timings.

Nothing here calls a model. The runner gathers the judge's verdicts and passes them in;
every function is small enough to check by hand (see the examples in the docstrings).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Span = tuple[str, int, int]  # (document name, start, end) in the original text


# --------------------------------------------------------------------------- judge agreement


@dataclass(frozen=True)
class Confusion:
    """Binary confusion matrix; "positive" means supported / attributable."""

    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.tn + self.fn

    @property
    def accuracy(self) -> float:
        return (self.tp + self.tn) / self.n if self.n else 0.0

    @property
    def balanced_accuracy(self) -> float:
        """Mean of the recall on positives and the recall on negatives.

        A class with no examples is left out of the mean (0.0 when both are empty).

        >>> round(Confusion(tp=3, fp=1, tn=5, fn=1).balanced_accuracy, 4)   # (3/4 + 5/6) / 2
        0.7917
        """
        rates = []
        if self.tp + self.fn:
            rates.append(self.tp / (self.tp + self.fn))
        if self.tn + self.fp:
            rates.append(self.tn / (self.tn + self.fp))
        return sum(rates) / len(rates) if rates else 0.0


def confusion(gold: Sequence[bool], predicted: Sequence[bool]) -> Confusion:
    """Count agreements of predictions with gold labels.

    >>> confusion([True, True, False, False], [True, False, False, True])
    Confusion(tp=1, fp=1, tn=1, fn=1)
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    tp = sum(g and p for g, p in zip(gold, predicted, strict=True))
    fp = sum((not g) and p for g, p in zip(gold, predicted, strict=True))
    tn = sum((not g) and (not p) for g, p in zip(gold, predicted, strict=True))
    fn = sum(g and (not p) for g, p in zip(gold, predicted, strict=True))
    return Confusion(tp=tp, fp=fp, tn=tn, fn=fn)


# --------------------------------------------------------------------------- faithfulness


@dataclass(frozen=True)
class Faithfulness:
    score: float | None  # supported claims / claims; None when there are no claims
    n_claims: int
    n_supported: int
    unsupported: tuple[str, ...]


def faithfulness(claims: Sequence[str], verdicts: Sequence[bool]) -> Faithfulness:
    """RAGAS faithfulness: the share of the answer's claims that the retrieved context supports.

    Example: claims "GQA groups heads" (supported), "MQA was invented in 2010" (not),
    "GQA shrinks the KV cache" (supported) -> 2/3, with the 2010 claim listed.

    >>> f = faithfulness(["a b c", "d e f", "g h i"], [True, False, True])
    >>> round(f.score, 3), f.unsupported
    (0.667, ('d e f',))

    An answer with no claims (an abstention) has no score: None, not 1.0.
    """
    if len(claims) != len(verdicts):
        raise ValueError(f"{len(claims)} claims but {len(verdicts)} verdicts")
    supported = sum(bool(v) for v in verdicts)
    unsupported = tuple(c for c, v in zip(claims, verdicts, strict=True) if not v)
    score = supported / len(claims) if claims else None
    return Faithfulness(score, len(claims), supported, unsupported)


# --------------------------------------------------------------------------- citations (ALCE)


@dataclass(frozen=True)
class CitationScores:
    precision: float | None  # share of citations that support their sentence
    recall: float | None  # share of sentences supported by their citations together
    n_sentences: int
    n_citations: int


def citation_scores(
    sentence_citations: Sequence[Sequence[int]],
    joint_support: Sequence[bool],
    single_support: Mapping[tuple[int, int], bool],
) -> CitationScores:
    """ALCE-style citation recall and precision from judge verdicts.

    `sentence_citations[i]` lists the citation numbers of sentence i; `joint_support[i]` says
    whether the concatenation of those passages supports sentence i (False when it cites
    nothing); `single_support[(i, n)]` whether passage n alone supports sentence i.

    Recall = sentences whose citations jointly support them / all sentences.
    Precision = citations that are "relevant" / all citations, where citation n of sentence
    i is relevant when it supports the sentence alone, or when the sentence is supported by
    its citations and removing n would break that (ALCE, Gao et al. 2023; with one citation
    the two tests coincide, so the removal test only matters for several citations).

    Example: sentence 0 cites [1] and is supported by it; sentence 1 cites [1, 2], passage 2
    supports it alone, passage 1 does not; sentence 2 cites nothing.
    Recall = 2/3 (sentence 2 has no support); precision = 2/3 (citation 1 of sentence 1 is
    irrelevant: it neither supports alone nor is needed).

    >>> s = citation_scores([[1], [1, 2], []], [True, True, False],
    ...                     {(0, 1): True, (1, 1): False, (1, 2): True})
    >>> round(s.recall, 3), round(s.precision, 3)
    (0.667, 0.667)
    """
    if len(sentence_citations) != len(joint_support):
        raise ValueError("one joint-support verdict per sentence is needed")
    n_sent = len(sentence_citations)
    recall = sum(bool(v) for v in joint_support) / n_sent if n_sent else None
    relevant = 0
    total = 0
    for i, cites in enumerate(sentence_citations):
        for n in cites:
            total += 1
            alone = bool(single_support.get((i, n), False))
            # The removal test, without another judge call: with several citations, n is
            # needed when the others do not support the sentence on their own.
            others = [m for m in cites if m != n]
            needed = (
                joint_support[i]
                and bool(others)
                and not any(single_support.get((i, m), False) for m in others)
            )
            relevant += alone or needed
    precision = relevant / total if total else None
    return CitationScores(precision, recall, n_sent, total)


# --------------------------------------------------------------------------- retrieval


def overlaps(a: Span, b: Span) -> bool:
    """Same source and the half-open spans intersect.

    >>> overlaps(("a.md", 0, 10), ("a.md", 9, 20)), overlaps(("a.md", 0, 10), ("a.md", 10, 20))
    (True, False)
    """
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def context_recall(gold_spans: Sequence[Span], retrieved: Sequence[Span]) -> float | None:
    """Share of gold spans overlapped by at least one retrieved (or cited) chunk span.

    Example: gold spans in roadmap-en.md at 100-150 and notes/x.md at 0-40; the chunks
    cover roadmap-en.md 80-300 and roadmap-es.txt 0-500 -> 1/2.

    >>> context_recall([("roadmap-en.md", 100, 150), ("notes/x.md", 0, 40)],
    ...                [("roadmap-en.md", 80, 300), ("roadmap-es.txt", 0, 500)])
    0.5

    None when the item has no gold spans (unanswerable questions).
    """
    if not gold_spans:
        return None
    found = sum(any(overlaps(g, r) for r in retrieved) for g in gold_spans)
    return found / len(gold_spans)


def any_gold_retrieved(gold_spans: Sequence[Span], retrieved: Sequence[Span]) -> bool | None:
    """Whether any gold span was retrieved: the gold substrings are often alternatives
    (the English original and its translation), so this is the lenient companion of
    `context_recall`."""
    if not gold_spans:
        return None
    return any(overlaps(g, r) for g in gold_spans for r in retrieved)


# --------------------------------------------------------------------------- correctness


_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]|[^\W_]+", re.UNICODE)


def answer_tokens(text: str) -> list[str]:
    """Lowercased word tokens; every CJK character is a token of its own.

    >>> answer_tokens("GQA: 4Td² FLOPs, 分组")
    ['gqa', '4td2', 'flops', '分', '组']
    """
    text = unicodedata.normalize("NFKC", text).lower()
    return _WORD.findall(text)


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style token F1 between an answer and the reference answer.

    Example: prediction "GQA shares key heads", reference "GQA groups share key and value
    heads": common tokens gqa, key, heads = 3; precision 3/4, recall 3/7, F1 = 0.545.

    >>> round(token_f1("GQA shares key heads", "GQA groups share key and value heads"), 3)
    0.545
    """
    p, r = answer_tokens(prediction), answer_tokens(reference)
    if not p or not r:
        return 0.0
    common = sum((Counter(p) & Counter(r)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(r)
    return 2 * precision * recall / (precision + recall)


def reference_recall(reference_verdicts: Sequence[bool]) -> float | None:
    """Answer correctness by the judge: share of the reference answer's claims that the
    tutor's answer supports (None without reference claims).

    >>> reference_recall([True, False, True, True])
    0.75
    """
    if not reference_verdicts:
        return None
    return sum(bool(v) for v in reference_verdicts) / len(reference_verdicts)


# --------------------------------------------------------------------------- abstention


@dataclass(frozen=True)
class Abstention:
    unanswerable_declined: float | None  # declined / unanswerable items
    answerable_answered: float | None  # answered / answerable items
    n_unanswerable: int
    n_answerable: int


def abstention_rates(answerable: Sequence[bool], abstained: Sequence[bool]) -> Abstention:
    """How often the tutor declines what it cannot answer and answers what it can.

    Example: 3 answerable items, one of them declined; 2 unanswerable, both declined ->
    answered 2/3, declined 2/2.

    >>> a = abstention_rates([True, True, True, False, False], [False, True, False, True, True])
    >>> round(a.answerable_answered, 3), a.unanswerable_declined
    (0.667, 1.0)
    """
    if len(answerable) != len(abstained):
        raise ValueError("one abstention flag per item is needed")
    ans = [not ab for a, ab in zip(answerable, abstained, strict=True) if a]
    una = [ab for a, ab in zip(answerable, abstained, strict=True) if not a]
    return Abstention(
        unanswerable_declined=sum(una) / len(una) if una else None,
        answerable_answered=sum(ans) / len(ans) if ans else None,
        n_unanswerable=len(una),
        n_answerable=len(ans),
    )


# --------------------------------------------------------------------------- aggregation


def mean(values: Sequence[float | None]) -> float | None:
    """Mean of the values that are not None (None when there are none).

    >>> mean([1.0, None, 0.5]), mean([None])
    (0.75, None)
    """
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def percentile(values: Sequence[float | None], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100) of the values that are not None.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50), percentile([2.0, None], 90)
    (2.5, 2.0)
    """
    kept = sorted(v for v in values if v is not None)
    if not kept:
        return None
    pos = (len(kept) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(kept) - 1)
    return kept[lo] + (kept[hi] - kept[lo]) * (pos - lo)


@dataclass(frozen=True)
class Latency:
    first_token_mean_s: float | None
    first_token_p90_s: float | None
    total_mean_s: float | None
    total_p90_s: float | None


def latency(first_token_s: Sequence[float | None], total_s: Sequence[float | None]) -> Latency:
    """Time to first token and total time per answer: mean and 90th percentile.

    >>> latency([1.0, 3.0, None], [4.0, 6.0, 0.5]).first_token_mean_s
    2.0
    """
    return Latency(
        first_token_mean_s=mean(first_token_s),
        first_token_p90_s=percentile(first_token_s, 90),
        total_mean_s=mean(total_s),
        total_p90_s=percentile(total_s, 90),
    )
