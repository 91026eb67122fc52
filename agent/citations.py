"""Citation checking and alignment: pure functions over sentences and passages.

A small local model rarely writes citation markers, and sometimes writes wrong
ones, so citations never depend on it: every sentence is aligned with the
numbered sources by a support score that mixes lexical overlap (the sentence's
content words found in the passage) and dense similarity (multilingual, so a
sentence in English can be supported by a Spanish passage). Model markers that
check out are kept, the others dropped; sentences without a valid marker get the
best-supporting passage; sentences nothing supports are marked unsupported.

The trained support model (`agent.support`) judges grading and evals; it does not align
citations yet: on a partial eval run its threshold declined 8 of 17 answerable questions,
because a tutor's sentences paraphrase their sources more than its training pairs do
(docs/support-model.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from corpus.text import CITATION_MARKER_RE, tokenize


@dataclass(frozen=True)
class DraftSentence:
    text: str  # without markers
    markers: tuple[int, ...]
    raw: str


def parse_markers(sentence: str) -> DraftSentence:
    """Strip `[n]` / `[n, m]` markers from a sentence and collect their numbers.

    >>> parse_markers("GQA groups heads [2][3].")
    DraftSentence(text='GQA groups heads.', markers=(2, 3), raw='GQA groups heads [2][3].')
    """
    nums: list[int] = []
    for m in CITATION_MARKER_RE.finditer(sentence):
        nums.extend(int(x) for x in re.split(r"\s*[,;]\s*", m.group(1)))
    text = CITATION_MARKER_RE.sub("", sentence).strip()
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    return DraftSentence(text=text, markers=tuple(dict.fromkeys(nums)), raw=sentence)


def lexical_support(sentence: str, passage: str) -> float:
    """Share of the sentence's content tokens that occur in the passage (0..1).

    >>> lexical_support("low-rank adaptation", "LoRA: Low-Rank Adaptation of LLMs")
    1.0
    """
    s = set(tokenize(sentence))
    if not s:
        return 0.0
    p = set(tokenize(passage))
    return len(s & p) / len(s)


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_URL = re.compile(r"https?://\S+")
_LIST_NUMBER = re.compile(r"^\s*(?:[-*]\s*)?\d+[.)]\s")


def numbers_in(text: str) -> set[str]:
    """The numbers a text states, separators dropped ("1,5" and "1.5" are both "15"),
    ignoring list numbering and digits inside URLs.

    >>> sorted(numbers_in("2. GPT-3 has 175 billion parameters, 1,5% of (https://x.org/2106)"))
    ['15', '175', '3']
    """
    text = _LIST_NUMBER.sub("", _URL.sub(" ", text))
    return {re.sub(r"[.,]", "", n) for n in _NUMBER.findall(text)}


_NAMED_NUMBER = re.compile(r"\b[A-Za-z]+-?\d+(?:\.\d+)?\b")


def stated_figures(text: str) -> set[str]:
    """The numbers a text states, with a number that is part of a name kept with it:
    "GPT-4" is the figure "gpt4", not the number 4 (a passage on GPT-3's 175 billion
    parameters with "4N FLOPs" in it states 4 but says nothing of GPT-4).

    >>> sorted(stated_figures("GPT-4 has 175 billion parameters; Llama-2 uses 4N FLOPs."))
    ['175', '4', 'gpt4', 'llama2']
    """
    names = {m.group(0).lower().replace("-", "") for m in _NAMED_NUMBER.finditer(text)}
    return names | numbers_in(_NAMED_NUMBER.sub(" ", text))


def numeric_support(sentence: str, passage: str) -> float:
    """Share of the sentence's numbers that the passage states (1.0 when it states none).

    A small model swaps numbers between similar facts ("GPT-4 has 1.5 billion
    parameters" next to a passage about GPT-3's 175 billion): word overlap and
    embeddings both miss this, so a number the source does not state is a claim the
    source does not support.

    >>> numeric_support("GPT-4 has 1,5 billion parameters.", "GPT-3 has 175 billion parameters.")
    0.0
    >>> numeric_support("GPT-3 has 175 billion parameters.", "GPT-3 has 175 billion parameters.")
    1.0
    >>> numeric_support("GPT-4 has 175 billion parameters.", "GPT-3 has 175 billion, 4N FLOPs.")
    0.5
    """
    wanted = stated_figures(sentence)
    if not wanted:
        return 1.0
    return len(wanted & stated_figures(passage)) / len(wanted)


def dense_support(cosine: float, floor: float = 0.78, span: float = 0.14) -> float:
    """Rescale an e5 cosine (which rarely falls below ~0.75 even for unrelated text) to 0..1."""
    return min(1.0, max(0.0, (cosine - floor) / span))


def support_score(
    lexical: float, dense: float, lexical_weight: float = 0.6, numeric: float = 1.0
) -> float:
    """Mix lexical and dense support, scaled by the share of numbers the source states.

    >>> support_score(1.0, 0.5), support_score(1.0, 0.5, numeric=0.0)
    (0.8, 0.0)
    """
    return (lexical_weight * lexical + (1 - lexical_weight) * dense) * numeric


def cross_language_weight(answer_language: str, source_language: str) -> float:
    """Weight of lexical overlap in the support score.

    Words cannot overlap across languages (a Spanish answer from an English note), so
    there the multilingual embedding decides alone. Measured with e5: a Spanish
    sentence translating an English source scores cosine ~0.87-0.89, an unrelated
    sentence ~0.70, an unrelated one on a neighbouring topic ~0.80.

    >>> cross_language_weight("es", "en"), cross_language_weight("zh-Hans", "zh-Hant")
    (0.0, 0.6)
    """
    same = answer_language.split("-")[0] == source_language.split("-")[0]
    return 0.6 if same else 0.0


def pair_support(
    sentence: str, passage: str, cosine: float, answer_language: str, source_language: str
) -> float:
    """How well one source supports one answer sentence (0..1), given their e5 cosine.

    Numbers are compared only where words are: across languages a source may spell
    them out or count in other units (万, 亿).
    """
    weight = cross_language_weight(answer_language, source_language)
    return support_score(
        lexical_support(sentence, passage),
        dense_support(cosine),
        lexical_weight=weight,
        numeric=numeric_support(sentence, passage) if weight else 1.0,
    )


def is_substantive(sentence: str) -> bool:
    """Sentences worth a citation: not greetings, headings or bare list markers."""
    return len(tokenize(sentence)) >= 3


@dataclass(frozen=True)
class AlignedSentence:
    text: str
    citations: tuple[int, ...]
    supported: bool
    support: float
    markers: tuple[int, ...]
    scores: tuple[float, ...] = ()  # support of each source, in source order
    # P(yes) of the local model's second opinion (agent.second_opinion), when it re-read
    # this sentence, whether it affirmed it (then `supported`) or not.
    second_opinion: float | None = None


def align_sentences(
    drafts: Sequence[DraftSentence],
    support: Sequence[Sequence[float]],
    threshold: float,
    max_citations: int = 2,
) -> list[AlignedSentence]:
    """Decide the citations of each sentence from its support scores.

    `support[i][j]` is how well source j+1 supports sentence i. Markers the model
    wrote are kept when they reach `threshold`; otherwise the best passages that
    reach it are attached. Sentences that are not substantive (too short to
    carry a claim) are neither cited nor counted as unsupported.

    >>> d = [DraftSentence("GQA shares key heads", (2,), "GQA shares key heads [2]")]
    >>> align_sentences(d, [[0.9, 0.1]], 0.5)[0].citations
    (1,)
    """
    out = []
    for draft, scores in zip(drafts, support, strict=True):
        valid = [m for m in draft.markers if 1 <= m <= len(scores) and scores[m - 1] >= threshold]
        if valid:
            cites = tuple(valid[:max_citations])
        else:
            ranked = sorted(range(len(scores)), key=lambda j: -scores[j])
            cites = tuple(j + 1 for j in ranked[:max_citations] if scores[j] >= threshold)
        best = max(scores, default=0.0)
        substantive = is_substantive(draft.text)
        out.append(
            AlignedSentence(
                text=draft.text,
                citations=cites if substantive else (),
                supported=bool(cites) or not substantive,
                support=best,
                markers=draft.markers,
                scores=tuple(scores),
            )
        )
    return out


def supported_ratio(sentences: Sequence[AlignedSentence]) -> float:
    """Share of substantive sentences that are supported (1.0 when there are none)."""
    subst = [s for s in sentences if is_substantive(s.text)]
    if not subst:
        return 1.0
    return sum(s.supported for s in subst) / len(subst)


def render_sentence(text: str, citations: Sequence[int], supported: bool) -> str:
    """One sentence with its checked markers before the final punctuation.

    >>> render_sentence("GQA shares key heads.", [2], True)
    'GQA shares key heads [2].'
    """
    marks = "".join(f"[{n}]" for n in citations)
    if marks:
        stripped = text.rstrip(".。!?！？")
        return f"{stripped} {marks}{text[len(stripped) :]}"
    return text if supported else f"{text} [unsupported]"


def render_with_citations(sentences: Sequence[AlignedSentence]) -> str:
    """The answer text with checked markers; unsupported sentences are flagged."""
    return " ".join(render_sentence(s.text, s.citations, s.supported) for s in sentences)
