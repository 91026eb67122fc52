"""Which self-check question a learner's free-text question asks.

One function for every shell (`tutor grade --question`, batch grading, the web app): an
exact id ("sq03") or an exact question text (any of its languages, case and spacing
ignored) matches at similarity 1.0; anything else is embedded with the e5 query prefix and
compared with every language version of every question (`agent.tutor.rank_self_check`,
the ranking the tutor uses to spot a restated self-check question). Below the threshold
(`grading.question_match`, measured on evals/question_match.jsonl, see
bench/question_match_bench.py) nothing matches, and the error lists the closest questions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from agent.tutor import rank_self_check
from core.errors import NoQuestionMatchError
from corpus.questions import SelfCheckQuestion
from index.embedders import Embedder

MatchMethod = Literal["id", "text", "embedding"]
CLOSEST_SHOWN = 3
_ID_RE = re.compile(r"^sq\s*0*(\d{1,2})$")


@dataclass(frozen=True)
class QuestionMatch:
    """The bank question a text was taken to ask, and how closely it matched."""

    question_id: str
    question: str  # the English text of the matched question
    similarity: float  # cosine of the e5 query vectors; 1.0 for an exact id or text
    method: MatchMethod


def normalise_question(text: str) -> str:
    """Case, spacing and closing punctuation do not make another question.

    >>> normalise_question("  What's the difference between GRU and LSTM ？")
    "what's the difference between gru and lstm"
    """
    return " ".join(text.casefold().split()).rstrip("?？.!。 ")


class QuestionMatcher:
    """Matches texts to one question bank; the bank's vectors are computed once, on the
    first text that needs them, so a batch of answers embeds the bank a single time."""

    def __init__(
        self, bank: Sequence[SelfCheckQuestion], embedder: Embedder, threshold: float
    ) -> None:
        self.bank = list(bank)
        self.embedder = embedder
        self.threshold = threshold
        self._by_id = {q.id: q for q in self.bank}
        self._by_folded_id = {q.id.casefold(): q for q in self.bank}
        self._by_text = {
            normalise_question(text): q for q in self.bank for text in q.texts.values()
        }
        self._vectors: tuple[list[str], np.ndarray] | None = None

    def _bank_vectors(self) -> tuple[list[str], np.ndarray]:
        if self._vectors is None:
            ids = [q.id for q in self.bank for _ in q.texts.values()]
            texts = [text for q in self.bank for text in q.texts.values()]
            self._vectors = (ids, self.embedder.embed_queries(texts))
        return self._vectors

    def exact(self, text: str) -> QuestionMatch | None:
        """The question `text` names by id or by its exact wording, without embedding."""
        key = normalise_question(text)
        q = self._by_folded_id.get(text.strip().casefold())
        if q is not None:  # any id of the bank, e.g. a practice question's "PQ-peft-2"
            return QuestionMatch(q.id, q.text_en, 1.0, "id")
        if m := _ID_RE.match(key.replace("-", "")):
            q = self._by_id.get(f"SQ{int(m.group(1)):02d}")
            if q is not None:
                return QuestionMatch(q.id, q.text_en, 1.0, "id")
        q = self._by_text.get(key)
        return None if q is None else QuestionMatch(q.id, q.text_en, 1.0, "text")

    def ranked(self, texts: Sequence[str]) -> list[list[tuple[str, float]]]:
        """For each text, every question id with its similarity, best first."""
        if not texts:
            return []
        ids, vecs = self._bank_vectors()
        queries = self.embedder.embed_queries(list(texts))
        return [rank_self_check(qv, vecs, ids) for qv in queries]

    def match_many(self, texts: Sequence[str]) -> list[QuestionMatch | NoQuestionMatchError]:
        """`match` for many texts with one embedding call; a text that matches nothing
        gets its error in its place instead of stopping the others."""
        out: list[QuestionMatch | NoQuestionMatchError | None] = [self.exact(t) for t in texts]
        todo = [i for i, m in enumerate(out) if m is None]
        for i, ranking in zip(todo, self.ranked([texts[i] for i in todo]), strict=True):
            out[i] = self._decide(texts[i], ranking)
        return [m for m in out if m is not None]

    def match(self, text: str) -> QuestionMatch:
        """The question `text` asks; raises NoQuestionMatchError listing the closest."""
        result = self.match_many([text])[0]
        if isinstance(result, NoQuestionMatchError):
            raise result
        return result

    def _decide(
        self, text: str, ranking: list[tuple[str, float]]
    ) -> QuestionMatch | NoQuestionMatchError:
        if ranking and ranking[0][1] >= self.threshold:
            qid, sim = ranking[0]
            return QuestionMatch(qid, self._by_id[qid].text_en, round(sim, 4), "embedding")
        closest = tuple(
            (qid, self._by_id[qid].text_en, round(sim, 4)) for qid, sim in ranking[:CLOSEST_SHOWN]
        )
        listed = "; ".join(f"{qid} {_short(q, 60)!r} ({sim:.2f})" for qid, q, sim in closest)
        return NoQuestionMatchError(
            f"no self-check question matches {_short(text, 80)!r} (similarity below "
            f"{self.threshold:g}); closest: {listed}. Use one of these question ids, or "
            "grade against a reference answer",
            closest,
        )


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def match_question(
    text: str, bank: Sequence[SelfCheckQuestion], embedder: Embedder, threshold: float
) -> QuestionMatch:
    """The self-check question `text` asks (an id, an exact text, or a rewording).

    Raises NoQuestionMatchError, naming the closest questions, when none reaches
    `threshold`.
    """
    return QuestionMatcher(bank, embedder, threshold).match(text)
