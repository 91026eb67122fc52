"""What an answer covers of a rubric: each key point's support by the answer's sentences,
given by the support model (`agent.support`), and the misconceptions the answer states."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agent.rubrics import Misconception, Rubric
from agent.support import SupportModel, evidence_for_embedding
from corpus.text import split_sentences, tokenize
from index.embedders import Embedder


def find_misconceptions(
    answer: str, misconceptions: Sequence[Misconception]
) -> list[Misconception]:
    """Misconceptions whose cue matches a sentence that does not negate it."""
    out = []
    sentences = split_sentences(answer) or [answer]
    for mc in misconceptions:
        for sent in sentences:
            hit = next((m for c in mc.cues if (m := re.search(c, sent, re.IGNORECASE))), None)
            if hit is None:
                continue
            before = sent[: hit.start()].lower()
            negated = re.search(
                r"\b(not|never|no|isn't|aren't|doesn't|don't|rather than|instead of|"
                r"misconception|myth|wrong to say)\b",
                before[-40:],
            )
            if not negated:
                out.append(mc)
                break
    return out


@dataclass(frozen=True)
class Alignment:
    support: list[float]  # best support per key point
    evidence: list[str | None]  # learner sentence giving it
    relevance: float  # best dense cosine of the answer to the question or a key point


def align_key_points(
    rubric: Rubric,
    answer: str,
    embedder: Embedder,
    language: str,
    support_model: SupportModel,
) -> Alignment:
    """Support of every key point by the answer's sentences (and the whole answer).

    A key point's support is the support model's probability that some sentence of the
    answer (or the answer as a whole: a point may be spread over two sentences) states
    it. The rubric is English; for an answer in another language the model sees that the
    languages differ and weighs the multilingual cosine instead of shared words.
    """
    units = [s for s in split_sentences(answer) if tokenize(s)]
    if len(units) != 1:
        units.append(answer)
    kp_texts = [kp.text for kp in rubric.key_points]
    n = len(kp_texts)
    # The support model reads cosines of a claim as a query and evidence as a passage.
    queries = embedder.embed_queries([*kp_texts, rubric.question, *units])
    kp_vecs, q_vec, u_query_vecs = queries[:n], queries[n], queries[n + 1 :]
    u_passage_vecs = embedder.embed_passages([evidence_for_embedding(u) for u in units])
    probs = support_model.matrix(
        kp_texts, units, kp_vecs @ u_passage_vecs.T, ["en"] * n, [language] * len(units)
    )
    n_sent = len(units) - 1 if len(units) > 1 else 1
    support = [float(row.max()) for row in probs]
    # Evidence is a sentence of the answer, also when the whole answer scored best.
    evidence: list[str | None] = [units[int(np.argmax(row[:n_sent]))] for row in probs]
    # Relevance stays symmetric (both sides as queries): the off-topic gate is tuned on it.
    rel = float(np.max(np.vstack([kp_vecs, q_vec[None, :]]) @ u_query_vecs.T))
    return Alignment(support, evidence, rel)
