"""Does this evidence support that claim? One calibrated model, asked by every caller.

Citation alignment and abstention (`agent.tutor`), key-point coverage in the grader
(`agent.coverage`) and the fast faithfulness judge (`evals.judge`) all ask the same
question, so they share one answer: a logistic model over a handful of signals that can
be computed on two cores in microseconds once the e5 vectors exist:

- the e5 cosine of the claim (as a query) and the evidence (as a passage), with two
  hinges, since e5 cosines crowd into 0.75-0.95;
- word overlap of the claim with the evidence and with its best sentence, bigrams,
  long (rarer) words, and the claim's words the evidence lacks;
- numbers the claim states that the evidence does not, and negation mismatch;
- lengths, and whether the two texts share a language (across languages words cannot
  overlap, so the lexical signals are zeroed and the model weighs the cosine instead).

The weights come from `scripts/train_support_model.py` (public labelled sets plus pairs
made from the corpus, held out by claim and by question for every number it reports) and
ship as `agent/support_model.json`; its `version` (a hash of the weights) is recorded
in every grade report (`method.support_model`) and in the judge identity of eval runs.

Probabilities are rounded to 3 decimals: e5 runs in a C engine whose last float digits
differ between CPUs, and a report should not.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.citations import numbers_in
from core.errors import ConfigError
from corpus.text import split_sentences, tokenize

MODEL_PATH = Path(__file__).with_name("support_model.json")

# Claims and evidence are cut to these sizes before any work: a 1 MB passage must not
# pin the CPU (the features are linear in the evidence, the e5 model truncates anyway).
MAX_CLAIM_CHARS = 2_000
MAX_EVIDENCE_CHARS = 8_000
# The e5 side reads at most this much of the evidence: embedding time grows steeply with
# length on 2 cores (a 600-token passage takes seconds), while a cited source is ~160
# tokens. Callers embed `evidence_for_embedding(text)`.
EMBED_EVIDENCE_CHARS = 1_200

FEATURES: tuple[str, ...] = (
    "cos",
    "cos_over_80",
    "cos_over_86",
    "cross_lingual_cos",
    "lex",
    "lex_best_sentence",
    "bigram",
    "long_words",
    "novel_words",
    "number_missing",
    "has_numbers",
    "negation_mismatch",
    "claim_words",
    "evidence_words",
    "same_language",
)

_NEGATION = re.compile(
    r"\b(not|no|never|none|cannot|can't|isn't|aren't|doesn't|don't|didn't|won't|wasn't|"
    r"weren't|without|neither|nor|nunca|jamais|ne|pas|sin|sans)\b|不|没|沒|無|无|ない|ません",
    re.IGNORECASE,
)


def _bigrams(tokens: Sequence[str]) -> set[tuple[str, str]]:
    return set(itertools.pairwise(tokens))


def pair_features(claim: str, evidence: str, cosine: float, same_language: bool) -> list[float]:
    """The model's inputs for one (claim, evidence) pair, in `FEATURES` order.

    `cosine` is the e5 cosine of the claim embedded as a query and the evidence as a
    passage. Lexical signals are 0 across languages.

    >>> f = pair_features("GPT-3 has 175B parameters.", "GPT-3 has 175B parameters.", 0.9, True)
    >>> dict(zip(FEATURES, f))["lex"], dict(zip(FEATURES, f))["number_missing"]
    (1.0, 0.0)
    """
    claim = claim[:MAX_CLAIM_CHARS]
    evidence = evidence[:MAX_EVIDENCE_CHARS]
    c_tokens = tokenize(claim)
    e_tokens = tokenize(evidence)
    c_set, e_set = set(c_tokens), set(e_tokens)
    lex = best = bigram = long_words = novel = number_missing = neg_mismatch = 0.0
    c_numbers = numbers_in(claim)
    if same_language and c_set:
        lex = len(c_set & e_set) / len(c_set)
        best_overlap, best_sentence = -1.0, evidence
        for sentence in split_sentences(evidence) or [evidence]:
            s = set(tokenize(sentence))
            overlap = len(c_set & s) / len(c_set)
            if overlap > best_overlap:
                best_overlap, best_sentence = overlap, sentence
        best = max(best_overlap, 0.0)
        c_bi = _bigrams(c_tokens)
        bigram = len(c_bi & _bigrams(e_tokens)) / len(c_bi) if c_bi else lex
        c_long = {t for t in c_set if len(t) >= 7}
        long_words = len(c_long & e_set) / len(c_long) if c_long else lex
        novel = math.log1p(len(c_set - e_set))
        if c_numbers:
            number_missing = len(c_numbers - numbers_in(evidence)) / len(c_numbers)
        neg_mismatch = float(
            bool(_NEGATION.search(claim)) != bool(_NEGATION.search(best_sentence))
        )
    return [
        cosine,
        max(0.0, cosine - 0.80),
        max(0.0, cosine - 0.86),
        0.0 if same_language else cosine,
        lex,
        best,
        bigram,
        long_words,
        novel,
        number_missing,
        float(bool(c_numbers)),
        neg_mismatch,
        math.log1p(len(c_tokens)),
        math.log1p(len(e_tokens)),
        float(same_language),
    ]


def evidence_for_embedding(text: str) -> str:
    """The part of the evidence the e5 cosine is computed on (its first 1,200 characters)."""
    return text[:EMBED_EVIDENCE_CHARS]


def same_language(a: str, b: str) -> bool:
    """Languages share words when their base codes match (zh-Hans and zh-Hant do).

    >>> same_language("zh-Hans", "zh-Hant"), same_language("es", "en")
    (True, False)
    """
    return a.split("-")[0] == b.split("-")[0]


@dataclass(frozen=True)
class SupportModel:
    """Standardised logistic regression over `FEATURES`."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    thresholds: dict[str, float]  # decision threshold per use, chosen on training folds
    trained_on: dict[str, object]

    @property
    def version(self) -> str:
        """A short hash of what decides the probabilities (not of the training notes)."""
        payload = json.dumps(
            [self.features, self.mean, self.scale, self.weights, self.bias], sort_keys=True
        )
        return "support-" + hashlib.sha256(payload.encode()).hexdigest()[:12]

    def threshold(self, use: str) -> float:
        try:
            return self.thresholds[use]
        except KeyError:
            raise ConfigError(
                f"the support model has no threshold for {use!r}: "
                + ", ".join(sorted(self.thresholds))
            ) from None

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """P(supported) for each row of features, rounded to 3 decimals."""
        x = (np.asarray(rows, dtype=np.float64) - np.asarray(self.mean)) / np.asarray(self.scale)
        z = x @ np.asarray(self.weights) + self.bias
        return np.round(1.0 / (1.0 + np.exp(-z)), 3)

    def probability(self, claim: str, evidence: str, cosine: float, same_lang: bool) -> float:
        """P(supported) for one pair.

        >>> m = load_support_model()
        >>> m.probability("GPT-3 has 175 billion parameters.",
        ...               "GPT-3 has 175 billion parameters.", 0.95, True) > 0.8
        True
        >>> m.probability("GPT-3 has 175 billion parameters.",
        ...               "GPT-3 was trained on sand.", 0.80, True) < 0.4
        True
        """
        return float(self.probabilities(np.array([pair_features(claim, evidence, cosine, same_lang)]))[0])

    def matrix(
        self,
        claims: Sequence[str],
        evidence: Sequence[str],
        cosines: np.ndarray,
        claim_languages: Sequence[str],
        evidence_languages: Sequence[str],
    ) -> np.ndarray:
        """`out[i, j]`: P(evidence j supports claim i), given their e5 cosines."""
        if not len(claims) or not len(evidence):
            return np.zeros((len(claims), len(evidence)))
        rows = [
            pair_features(c, e, float(cosines[i, j]), same_language(cl, el))
            for i, (c, cl) in enumerate(zip(claims, claim_languages, strict=True))
            for j, (e, el) in enumerate(zip(evidence, evidence_languages, strict=True))
        ]
        return self.probabilities(np.array(rows)).reshape(len(claims), len(evidence))

    def to_json(self) -> dict[str, object]:
        return {
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "weights": list(self.weights),
            "bias": self.bias,
            "thresholds": self.thresholds,
            "trained_on": self.trained_on,
        }


def parse_support_model(data: object, where: str) -> SupportModel:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a JSON object")
    try:
        model = SupportModel(
            features=tuple(data["features"]),
            mean=tuple(float(v) for v in data["mean"]),
            scale=tuple(float(v) for v in data["scale"]),
            weights=tuple(float(v) for v in data["weights"]),
            bias=float(data["bias"]),
            thresholds={str(k): float(v) for k, v in data["thresholds"].items()},
            trained_on=dict(data.get("trained_on", {})),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{where}: not a support model ({exc!r})") from exc
    if model.features != FEATURES:
        raise ConfigError(
            f"{where}: trained on features {list(model.features)}, this code computes "
            f"{list(FEATURES)}: rerun scripts/train_support_model.py"
        )
    if not (len(model.mean) == len(model.scale) == len(model.weights) == len(FEATURES)):
        raise ConfigError(f"{where}: weight vectors do not match the {len(FEATURES)} features")
    return model


def training_sets(model: SupportModel) -> set[str]:
    """File names of the labelled sets the model's final weights were fitted on."""
    files = model.trained_on.get("files", [])
    return {str(f) for f in files} if isinstance(files, list) else set()


_CACHE: dict[Path, SupportModel] = {}


def load_support_model(path: Path = MODEL_PATH) -> SupportModel:
    """The shipped support model (read once per process)."""
    path = Path(path)
    if path not in _CACHE:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"no support model at {path}: run scripts/train_support_model.py"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc})") from exc
        _CACHE[path] = parse_support_model(data, str(path))
    return _CACHE[path]
