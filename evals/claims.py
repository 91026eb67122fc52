"""The faithfulness judge's text helpers: split an answer into claims, read a yes/no reply,
pick the evidence sentences sent with a claim.

Pure functions, no model call: the judges (`evals.judge`) build on them. Evidence is chosen
by lexical overlap, optionally mixed with dense similarity, the same helpers the tutor uses
to align citations (`agent.citations`).
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.citations import (
    dense_support,
    is_substantive,
    lexical_support,
    parse_markers,
    support_score,
)
from corpus.text import split_sentences


def fallback_claims(answer: str) -> list[str]:
    """Claims by sentence splitting: citation markers removed, non-substantive parts dropped.

    >>> fallback_claims("RoPE rotates keys [1]. Yes. It uses relative offsets [2].")
    ['RoPE rotates keys.', 'It uses relative offsets.']
    """
    out = []
    for sentence in split_sentences(answer):
        text = parse_markers(sentence).text.strip().lstrip("-*• ").strip()
        if text.endswith("[unsupported]"):
            text = text[: -len("[unsupported]")].rstrip()
        if is_substantive(text):
            out.append(text)
    return out


def parse_claim_lines(text: str, max_claims: int = 12) -> list[str]:
    """Claims from the model's list: one per line, bullets and numbering stripped.

    >>> parse_claim_lines("1. GQA groups heads.\\n- MQA shares one head.\\n\\nClaims:")
    ['GQA groups heads.', 'MQA shares one head.']
    """
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip().lstrip("-*•").strip()
        while line[:1].isdigit():
            line = line[1:]
        line = line.lstrip(".):").strip()
        if line.lower().rstrip(":") in {"claims", "claim", ""} or not is_substantive(line):
            continue
        if line not in out:
            out.append(line)
    return out[:max_claims]


def parse_yes_no(text: str) -> bool | None:
    """True for yes, False for no, None when the reply is neither.

    >>> parse_yes_no(" Yes."), parse_yes_no("No, it does not."), parse_yes_no("Maybe")
    (True, False, None)
    """
    words = text.strip().lower().lstrip("*\"'").split()
    if not words:
        return None
    first = words[0].strip(".,!:;*\"'")
    if first in {"yes", "supported", "true", "sí", "si", "oui", "是", "はい"}:
        return True
    if first in {"no", "not", "unsupported", "false", "non", "否", "いいえ"}:
        return False
    return None


def select_evidence(
    claim: str,
    sentences: Sequence[str],
    k: int,
    dense_scores: Sequence[float] | None = None,
) -> list[str]:
    """The k evidence sentences that best support `claim`, in their original order.

    Scores are lexical overlap (share of the claim's content words in the sentence) or,
    when `dense_scores` (cosines, one per sentence) are given, the tutor's mix of lexical
    and dense support. Keeping document order keeps the sentences readable.

    >>> select_evidence("GQA groups query heads", ["MQA is old.", "GQA groups query heads.",
    ...                 "Cats purr."], k=1)
    ['GQA groups query heads.']
    """
    if k <= 0 or len(sentences) <= k:
        return list(sentences)
    scores = []
    for i, sentence in enumerate(sentences):
        lexical = lexical_support(claim, sentence)
        if dense_scores is None:
            scores.append(lexical)
        else:
            scores.append(support_score(lexical, dense_support(float(dense_scores[i]))))
    best = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))[:k]
    return [sentences[i] for i in sorted(best)]
