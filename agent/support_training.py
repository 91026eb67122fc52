"""Training data and fitting for the support model (`agent.support`).

Pure pieces over plain data, so tests can run them on tiny inputs; the embedding and the
file I/O live in `scripts/train_support_model.py`.

Every labelled pair carries a `group` (the claim, the SemEval question, the knowledge
snippet, the corpus passage): folds are drawn by group, so no claim or question is ever
both trained on and scored.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from agent.support import FEATURES, SupportModel, pair_features, same_language
from corpus.records import Chunk
from corpus.text import split_sentences, tokenize


@dataclass(frozen=True)
class LabelledPair:
    dataset: str  # semeval | wice | begin | corpus
    group: str  # held out together
    claim: str
    evidence: str
    claim_language: str
    evidence_language: str
    supported: bool
    kind: str = ""  # what made the pair (corpus pairs: verbatim, number, negation, ...)


# ------------------------------------------------------------------ public sets


def _capped(rows: Iterable[dict], key: Callable[[dict], str], limit: int | None) -> list[dict]:
    """`rows` in order, keeping at most `limit` rows per `key` (all when None)."""
    kept: dict[str, int] = {}
    out = []
    for r in rows:
        k = key(r)
        if limit is not None and kept.get(k, 0) >= limit:
            continue
        kept[k] = kept.get(k, 0) + 1
        out.append(r)
    return out


def semeval_pairs(rows: Iterable[dict], per_question: int | None = None) -> list[LabelledPair]:
    """Claim: the question's best reference answer; evidence: the student's answer.
    Grouped by question, so a split is one of unseen questions. `per_question` keeps at
    most that many answers of each question (the first ones by a fixed hash of their id),
    to bound the embedding time."""
    ordered = sorted(rows, key=lambda r: hashlib.sha1(str(r["id"]).encode()).hexdigest())
    usable = [
        r
        for r in ordered
        if r.get("reference_answers") and str(r.get("student_answer", "")).strip()
    ]
    out = []
    for r in _capped(usable, lambda r: str(r["question_id"]), per_question):
        refs = r["reference_answers"]
        out.append(
            LabelledPair(
                "semeval",
                semeval_group(str(r["question_id"])),
                str(refs[0]),
                str(r["student_answer"]),
                "en",
                "en",
                r["label_2way"] == "correct",
                kind=str(r.get("corpus", "")),
            )
        )
    return out


def wice_pairs(rows: Iterable[dict], per_claim: int | None = None) -> list[LabelledPair]:
    """Claim vs its oracle chunk; "partially supported" counts as not supported.
    Every oracle chunk holds the gold evidence, so `per_claim` chunks per claim lose no
    claim (and bound the embedding time: the chunks are long)."""
    out = []
    for r in _capped(rows, lambda r: str(r["claim_id"]), per_claim):
        out.append(
            LabelledPair(
                "wice",
                wice_group(str(r["claim_id"])),
                str(r["claim"]),
                " ".join(r["evidence_sentences"]),
                "en",
                "en",
                bool(r["supported"]),
            )
        )
    return out


def begin_pairs(rows: Iterable[dict]) -> list[LabelledPair]:
    """Dialogue response vs the knowledge snippet, grouped by snippet."""
    return [
        LabelledPair(
            "begin",
            begin_group(str(r["knowledge"])),
            str(r["response"]),
            str(r["knowledge"]),
            "en",
            "en",
            bool(r["attributable"]),
        )
        for r in rows
    ]


# ------------------------------------------------------------------ pairs from the corpus

_NUM = re.compile(r"\b\d+(?:[.,]\d+)?\b")
_NEGATABLE = re.compile(r"\b(is|are|can|does|do|was|were|has|have|will|should)\b")


def _swap_number(sentence: str, rng: random.Random) -> str | None:
    nums = list(_NUM.finditer(sentence))
    if not nums:
        return None
    m = rng.choice(nums)
    value = m.group(0).replace(",", ".")
    try:
        new = float(value) * rng.choice((2, 3, 10)) + rng.choice((1, 7))
    except ValueError:
        return None
    text = str(int(new)) if new == int(new) else f"{new:g}"
    return sentence[: m.start()] + text + sentence[m.end() :]


def _negate(sentence: str) -> str | None:
    m = _NEGATABLE.search(sentence)
    if m is None or re.search(r"\bnot\b|n't\b", sentence):
        return None
    return sentence[: m.end()] + " not" + sentence[m.end() :]


def _claims_of(chunk: Chunk) -> list[str]:
    return [s for s in split_sentences(chunk.text) if 6 <= len(tokenize(s)) <= 60]


def corpus_pairs(chunks: Sequence[Chunk], seed: int = 13, per_chunk: int = 1) -> list[LabelledPair]:
    """Pairs a citation checker meets, made from the corpus (no model involved).

    For a sentence of a passage: the passage supports it (verbatim); the passage does not
    support the sentence with a number changed or a negation added; a passage of the same
    document far from it does not support it. Across languages: a sentence of a
    translated passage is supported by the parallel original and not by another passage
    of the original. Grouped by passage.
    """
    rng = random.Random(seed)
    by_source: dict[str, list[Chunk]] = {}
    for c in chunks:
        by_source.setdefault(c.source, []).append(c)
    by_parallel: dict[str, list[Chunk]] = {}
    for c in chunks:
        if c.parallel_id:
            by_parallel.setdefault(c.parallel_id, []).append(c)
    out: list[LabelledPair] = []

    def add(group: str, claim: str, ev: Chunk, lang: str, ok: bool, kind: str) -> None:
        out.append(LabelledPair("corpus", group, claim, ev.text, lang, ev.language, ok, kind))

    for source, doc_chunks in sorted(by_source.items()):
        for i, chunk in enumerate(doc_chunks):
            claims = _claims_of(chunk)
            if not claims:
                continue
            group = f"corpus:{chunk.id}"
            for claim in rng.sample(claims, min(per_chunk, len(claims))):
                add(group, claim, chunk, chunk.language, True, "verbatim")
                if (swapped := _swap_number(claim, rng)) is not None:
                    add(group, swapped, chunk, chunk.language, False, "number")
                if chunk.language == "en" and (negated := _negate(claim)) is not None:
                    add(group, negated, chunk, chunk.language, False, "negation")
                far = [c for j, c in enumerate(doc_chunks) if abs(j - i) >= 5]
                if far:
                    add(group, claim, rng.choice(far), chunk.language, False, "other passage")
                for twin in by_parallel.get(chunk.parallel_id or "", []):
                    if twin.source == source or same_language(twin.language, chunk.language):
                        continue
                    add(group, claim, twin, chunk.language, True, "translation")
                    others = [c for c in by_source[twin.source] if c.parallel_id != chunk.parallel_id]
                    if others:
                        add(group, claim, rng.choice(others), chunk.language, False, "other translation")
    return out


# ------------------------------------------------------------------ fitting


FOLDS = 5


def fold_of(group: str, k: int = FOLDS) -> int:
    """A stable fold for a group (the same on every machine and Python run)."""
    return int(hashlib.sha1(group.encode()).hexdigest(), 16) % k


def is_test_group(group: str) -> bool:
    """Fold 0 of every labelled set is the test split: the shipped model never saw it, and
    the benches (`bench/grading_bench.py`, `tutor eval judge`) report on it.

    >>> fold_of("semeval:VB_1"), is_test_group("semeval:VB_1"), is_test_group("semeval:EM_21b")
    (0, True, False)
    """
    return fold_of(group) == 0


def semeval_group(question_id: str) -> str:
    return f"semeval:{question_id}"


def wice_group(claim_id: str) -> str:
    return f"wice:{claim_id}"


def begin_group(knowledge: str) -> str:
    return "begin:" + hashlib.sha1(knowledge.encode()).hexdigest()[:12]


def feature_rows(
    pairs: Sequence[LabelledPair], cosine: Callable[[int], float]
) -> np.ndarray:
    """One row of `FEATURES` per pair; `cosine(i)` is pair i's e5 cosine."""
    return np.array(
        [
            pair_features(
                p.claim, p.evidence, cosine(i), same_language(p.claim_language, p.evidence_language)
            )
            for i, p in enumerate(pairs)
        ],
        dtype=np.float64,
    )


def balanced_weights(datasets: Sequence[str]) -> np.ndarray:
    """Each dataset weighs the same in total, whatever its size."""
    names, counts = np.unique(np.asarray(datasets), return_counts=True)
    per = dict(zip(names, len(datasets) / (len(names) * counts), strict=True))
    return np.array([per[d] for d in datasets])


def fit_logistic(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 1.0, iterations: int = 50
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Weighted, L2-penalised logistic regression by Newton steps on standardised inputs.

    Returns (mean, scale, weights, bias). Deterministic: no random start, no sampling.
    """
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    a = np.hstack([z, np.ones((len(z), 1))])
    beta = np.zeros(a.shape[1])
    penalty = np.full(a.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(a @ beta)))
        grad = a.T @ (w * (p - y)) + penalty * beta
        hess = (a * (w * p * (1 - p))[:, None]).T @ a + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return mean, scale, beta[:-1], float(beta[-1])


def make_model(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    thresholds: dict[str, float],
    trained_on: dict[str, object],
    l2: float = 1.0,
) -> SupportModel:
    mean, scale, weights, bias = fit_logistic(x, y, w, l2)
    return SupportModel(
        features=FEATURES,
        mean=tuple(round(float(v), 6) for v in mean),
        scale=tuple(round(float(v), 6) for v in scale),
        weights=tuple(round(float(v), 6) for v in weights),
        bias=round(bias, 6),
        thresholds=thresholds,
        trained_on=trained_on,
    )


# ------------------------------------------------------------------ metrics


def balanced_accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean of the recall of each class (0.5 for a constant guess).

    >>> balanced_accuracy(np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0]))
    0.75
    """
    y, pred = np.asarray(y, bool), np.asarray(pred, bool)
    recalls = [float(np.mean(pred[y == c] == c)) for c in (True, False) if np.any(y == c)]
    return float(np.mean(recalls)) if recalls else 0.0


def accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean(np.asarray(y, bool) == np.asarray(pred, bool))) if len(y) else 0.0


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Probability that a random positive scores above a random negative (ties count half).

    >>> roc_auc(np.array([1, 0, 1, 0]), np.array([0.9, 0.1, 0.4, 0.4]))
    0.875
    """
    y = np.asarray(y, bool)
    pos, neg = np.asarray(score)[y], np.asarray(score)[~y]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def best_threshold(
    y: np.ndarray, prob: np.ndarray, metric: Callable[[np.ndarray, np.ndarray], float]
) -> float:
    """The threshold on a 0.01 grid that maximises `metric` (the middle of a tied plateau)."""
    grid = np.round(np.arange(0.05, 0.96, 0.01), 2)
    scores = np.array([metric(y, prob >= t) for t in grid])
    best = np.flatnonzero(scores >= scores.max() - 1e-12)
    return float(grid[best[len(best) // 2]])
