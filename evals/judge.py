"""The faithfulness judge: split an answer into claims, decide whether evidence supports each.

The judge is a small local model, so every call is kept short: one claim, a few evidence
sentences chosen per claim (lexical overlap, optionally mixed with dense similarity, the
same helpers the tutor uses to align citations), and a one-word answer. Judgments are
cached on disk keyed by the judge model, the prompt version and the inputs, so a rerun with
nothing changed makes no model call.

`evaluate_labelled` measures the judge against human labels (WiCE, BEGIN; see
../shared/benchmarks/README.md): balanced accuracy and the confusion matrix.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from langchain_core.messages import HumanMessage
from pydantic import BaseModel, ConfigDict

from agent.citations import (
    dense_support,
    is_substantive,
    lexical_support,
    parse_markers,
    support_score,
)
from agent.support import SupportModel, evidence_for_embedding, load_support_model
from agent.support_training import begin_group, is_test_group, wice_group
from core.errors import EvalDataError
from core.jsonl import parse_line, read_lines
from corpus.language import detect_language
from corpus.text import split_sentences
from evals.metrics import Confusion, confusion
from evals.schemas import BeginRow, WiceRow

# Bump when a prompt or the parsing of answers changes: old cache entries stop matching.
PROMPT_VERSION = "2"

EvidenceMode = Literal["all", "lexical", "dense", "hybrid"]
DecomposeMode = Literal["llm", "sentences"]

VERDICT_PROMPT = (
    "Evidence:\n{evidence}\n\nClaim: {claim}\n\n"
    "Is the claim fully supported by the evidence? Answer yes or no."
)
# The default: naming the details stops the small judge from accepting a related but
# unsupported claim, its usual error (see evals/FAITHFULNESS.md).
VERDICT_PROMPT_STRICT = (
    "Evidence:\n{evidence}\n\nClaim: {claim}\n\n"
    "Does the evidence state everything in the claim, including every name, number and "
    "date? Answer yes or no."
)
PROMPTS = {"basic": VERDICT_PROMPT, "strict": VERDICT_PROMPT_STRICT}

SPLIT_PROMPT = (
    "Rewrite the text as a list of short, self-contained factual claims, one per line, "
    "in the text's language. Replace pronouns by what they refer to. No commentary.\n\n"
    "Text: {answer}\n\nClaims:"
)

EmbedFn = Callable[[Sequence[str]], Any]  # texts -> array of unit vectors


# --------------------------------------------------------------------------- pure helpers


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


def cache_key(model_id: str, kind: str, payload: Any) -> str:
    """sha256 of (judge model id, prompt version, kind of call, inputs)."""
    blob = json.dumps([model_id, PROMPT_VERSION, kind, payload], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- the cache


class JudgmentCache:
    """Judgments on disk (SQLite): key -> JSON value. Thread-safe; one file per cache dir."""

    FILE_NAME = "judge-cache.sqlite"

    def __init__(self, cache_dir: Path) -> None:
        cache_dir = Path(cache_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.path = cache_dir / self.FILE_NAME
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS judgments (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        self._db.commit()

    def get(self, key: str) -> Any | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM judgments WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO judgments (key, value) VALUES (?, ?)",
                (key, json.dumps(value, ensure_ascii=False)),
            )
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()


# --------------------------------------------------------------------------- the judge


@dataclass(frozen=True)
class JudgeConfig:
    """The judge's knobs; all of them are part of its identity in reports."""

    evidence: EvidenceMode = "lexical"
    max_sentences: int = 4  # evidence sentences kept per claim (0: all)
    max_evidence_chars: int = 1200  # hard cap on the evidence text sent
    decompose: DecomposeMode = "sentences"
    # "strict" beat "basic" on BEGIN (0.82 vs 0.71, same 25 rows) and tied on WiCE (0.64,
    # same 25 claims): see evals/FAITHFULNESS.md.
    prompt: str = "strict"


class Judge:
    """`split_claims(answer)` and `verdict(claim, evidence)` over a chat model, cached on disk.

    `calls` counts model calls actually made; `cache_hits` counts answers from the cache.
    `embed` (texts -> unit vectors, e.g. the e5 embedder's `embed_queries`) is needed only
    for the dense and hybrid evidence modes.
    """

    def __init__(
        self,
        chat_model: Any,
        cache_dir: Path | None,
        *,
        model_id: str | None = None,
        config: JudgeConfig | None = None,
        embed: EmbedFn | None = None,
    ) -> None:
        self.chat_model = chat_model
        self.config = config or JudgeConfig()
        if self.config.prompt not in PROMPTS:
            raise ValueError(
                f"unknown judge prompt {self.config.prompt!r}: one of {sorted(PROMPTS)}"
            )
        if self.config.evidence in ("dense", "hybrid") and embed is None:
            raise ValueError(f"evidence mode {self.config.evidence!r} needs an embed function")
        self.embed = embed
        self.model_id = model_id or _model_id(chat_model)
        self.cache = JudgmentCache(cache_dir) if cache_dir is not None else None
        self.calls = 0
        self.cache_hits = 0
        self.unparsed = 0  # verdict replies that were neither yes nor no (counted as no)

    # ------------------------------------------------------------ model access

    def _ask(self, prompt: str, max_tokens: int) -> str:
        from agent.llm.client import translate_llm_errors

        model = self.chat_model
        with contextlib.suppress(AttributeError, TypeError):
            model = model.bind(max_tokens=max_tokens)
        base_url = str(getattr(self.chat_model, "openai_api_base", None) or "the judge endpoint")
        with translate_llm_errors(base_url):
            reply = model.invoke([HumanMessage(prompt)])
        self.calls += 1
        content = getattr(reply, "content", reply)
        return content if isinstance(content, str) else str(content)

    def _cached(self, kind: str, payload: Any, compute: Callable[[], Any]) -> Any:
        key = cache_key(self.model_id, kind, payload)
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                self.cache_hits += 1
                return hit
        value = compute()
        if self.cache is not None:
            self.cache.put(key, value)
        return value

    # ------------------------------------------------------------ claims

    def split_claims(self, answer: str) -> list[str]:
        """The answer's claims: the model's decomposition, or sentences when that fails."""
        answer = answer.strip()
        if not answer:
            return []
        if self.config.decompose == "sentences":
            return fallback_claims(answer)
        plain = " ".join(parse_markers(s).text for s in split_sentences(answer))

        def compute() -> list[str]:
            return parse_claim_lines(self._ask(SPLIT_PROMPT.format(answer=plain), 160))

        claims = self._cached("split", {"answer": plain}, compute)
        return list(claims) or fallback_claims(answer)

    # ------------------------------------------------------------ verdicts

    def evidence_for(self, claim: str, evidence: str | Sequence[str]) -> str:
        """The evidence text sent with `claim`: selected sentences, capped in length."""
        if isinstance(evidence, str):
            sentences = split_sentences(evidence)
        else:
            sentences = [s for s in evidence if s.strip()]
        k = self.config.max_sentences
        if self.config.evidence != "all" and k > 0 and len(sentences) > k:
            dense: list[float] | None = None
            if self.config.evidence in ("dense", "hybrid") and self.embed is not None:
                vecs = self.embed([claim, *sentences])
                cosines = [float(vecs[0] @ v) for v in vecs[1:]]
                if self.config.evidence == "dense":
                    order = sorted(range(len(sentences)), key=lambda i: -cosines[i])[:k]
                    sentences = [sentences[i] for i in sorted(order)]
                else:
                    dense = cosines
            if len(sentences) > k:
                sentences = select_evidence(claim, sentences, k, dense)
        text = "\n".join(" ".join(s.split()) for s in sentences)
        cap = self.config.max_evidence_chars
        return text if len(text) <= cap else text[:cap].rsplit(" ", 1)[0] + " ..."

    def verdict(self, claim: str, evidence: str | Sequence[str]) -> bool:
        """Whether the evidence supports the claim (a reply that is neither yes nor no: not)."""
        ev = self.evidence_for(claim, evidence)
        prompt = PROMPTS[self.config.prompt].format(evidence=ev, claim=" ".join(claim.split()))

        def compute() -> dict[str, Any]:
            reply = self._ask(prompt, 3)
            return {"reply": reply.strip()[:40], "supported": parse_yes_no(reply)}

        result = self._cached("verdict", {"prompt": prompt}, compute)
        if result["supported"] is None:
            self.unparsed += 1
        return bool(result["supported"])

    def describe(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "kind": "LLM",
            "prompt_version": PROMPT_VERSION,
            **asdict(self.config),
        }

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()


class SupportJudge:
    """The fast judge: the support model (`agent.support`) over e5 cosines, no LLM call.

    Same interface as `Judge`. Claims are the answer's sentences. Evidence given as a list
    of sentences is one passage (as WiCE's chunks are); a string is scored as a whole and
    line by line (the eval runner joins cited passages with newlines), and the best
    passage decides.
    """

    def __init__(
        self,
        embedder: Any,
        support_model: SupportModel | None = None,
        threshold: float | None = None,
    ) -> None:
        self.embedder = embedder
        self.support_model = support_model or load_support_model()
        self.threshold = (
            threshold if threshold is not None else self.support_model.threshold("judge")
        )
        self.model_id = f"{self.support_model.version}|{embedder.id}"
        self._last: tuple[tuple[str, ...], Any, list[str]] | None = None
        self.calls = 0  # no model calls: kept for the same report fields as Judge
        self.cache_hits = 0
        self.unparsed = 0

    def split_claims(self, answer: str) -> list[str]:
        return fallback_claims(answer.strip()) if answer.strip() else []

    def probability(self, claim: str, evidence: str | Sequence[str]) -> float:
        if isinstance(evidence, str):
            lines = [line for line in evidence.split("\n") if line.strip()]
            passages = [evidence, *lines] if len(lines) > 1 else [evidence]
        else:
            passages = [" ".join(s.strip() for s in evidence if s.strip())]
        passages = [p for p in passages if p.strip()]
        if not claim.strip() or not passages:
            return 0.0
        cvec = self.embedder.embed_queries([claim])
        pvecs, languages = self._passages(tuple(passages))
        probs = self.support_model.matrix(
            [claim], passages, cvec @ pvecs.T, [detect_language(claim)], languages
        )
        return float(probs.max())

    def _passages(self, passages: tuple[str, ...]) -> tuple[Any, list[str]]:
        """Vectors and languages of an evidence set. Every claim of an answer is judged
        against the same cited passages, so the last set is kept instead of re-embedded."""
        if self._last is None or self._last[0] != passages:
            vecs = self.embedder.embed_passages([evidence_for_embedding(p) for p in passages])
            self._last = (passages, vecs, [detect_language(p) for p in passages])
        return self._last[1], self._last[2]

    def verdict(self, claim: str, evidence: str | Sequence[str]) -> bool:
        return self.probability(claim, evidence) >= self.threshold

    def describe(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "kind": "support model",
            "threshold": self.threshold,
        }

    def close(self) -> None:
        pass


def _model_id(chat_model: Any) -> str:
    name = getattr(chat_model, "model_name", None) or getattr(chat_model, "model", None)
    base = getattr(chat_model, "openai_api_base", None)
    label = type(chat_model).__name__
    return "|".join(str(p) for p in (label, name, base) if p)


# --------------------------------------------------------------------------- labelled sets


@dataclass
class JudgeReport:
    """Agreement of the judge with human labels on a labelled file."""

    data: str
    fields: str  # "wice" | "begin"
    n: int
    confusion: Confusion
    balanced_accuracy: float
    accuracy: float
    calls: int
    cache_hits: int
    unparsed: int
    seconds: float
    judge: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["confusion"] = asdict(self.confusion)
        return d


_WICE = tuple(WiceRow.model_fields)[:3]  # claim, evidence_sentences, supported
_BEGIN = tuple(BeginRow.model_fields)[:3]  # response, knowledge, attributable
Row = WiceRow | BeginRow


def detect_fields(row: dict[str, Any]) -> str:
    if all(k in row for k in _WICE):
        return "wice"
    if all(k in row for k in _BEGIN):
        return "begin"
    raise EvalDataError(
        f"unknown labelled format: need fields {', '.join(_WICE)} (WiCE) or "
        f"{', '.join(_BEGIN)} (BEGIN), got {', '.join(sorted(row))}"
    )


def read_labelled(path: Path, fields: str = "auto") -> tuple[str, list[tuple[int, Row]]]:
    """The kind of a labelled file ("wice" or "begin", from its first row unless given)
    and its rows, each checked by that kind's schema (`evals.schemas`)."""
    lines = read_lines(path, what="the labelled file", error=EvalDataError)
    if not lines:
        raise EvalDataError(f"{path}: no rows")
    if fields == "auto":
        first = parse_line(path, lines[0][0], lines[0][1], _AnyRow, error=EvalDataError)
        fields = detect_fields(first.model_extra or {})
    if fields not in ("wice", "begin"):
        raise EvalDataError(f"fields must be auto, wice or begin, got {fields!r}")
    model: type[Row] = WiceRow if fields == "wice" else BeginRow
    return fields, [(n, parse_line(path, n, raw, model, error=EvalDataError)) for n, raw in lines]


class _AnyRow(BaseModel):
    """Any JSON object: its keys say which kind of labelled file this is."""

    model_config = ConfigDict(extra="allow")


def _sample_key(key: str) -> str:
    # A fixed pseudo-random order that does not depend on the file's order.
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _group_of(unit: tuple[str, list[tuple[int, Row]]]) -> str:
    row = unit[1][0][1]
    if isinstance(row, WiceRow):
        return wice_group(str(row.claim_id if row.claim_id is not None else unit[0]))
    return begin_group(row.knowledge)


def evaluate_labelled(
    path: Path,
    judge: Judge | SupportJudge,
    limit: int | None = None,
    fields: str = "auto",
    progress: Callable[[str, int, int], None] | None = None,
    unseen_only: bool = False,
) -> JudgeReport:
    """Run the judge on a labelled file and compare with the human labels.

    WiCE rows (claim, evidence_sentences, supported) are grouped by claim_id; a claim is
    predicted supported when any of its chunks supports it (the max over chunks, as the
    WiCE authors score it). BEGIN rows (response, knowledge, attributable): the response is
    split into claims and is attributable when every claim is supported. `limit` takes
    that many claims (WiCE) or rows (BEGIN), chosen by a fixed hash of their ids.
    """
    path = Path(path)
    kind, rows = read_labelled(path, fields)
    items: list[dict[str, Any]] = []
    units: list[tuple[str, list[tuple[int, Row]]]] = []
    if kind == "wice":
        groups: dict[str, list[tuple[int, Row]]] = {}
        for line, row in rows:
            assert isinstance(row, WiceRow)
            key = row.claim_id if row.claim_id is not None else row.id
            groups.setdefault(str(key if key is not None else line), []).append((line, row))
        units = list(groups.items())
    else:
        units = [(str(row.id if row.id is not None else line), [(line, row)]) for line, row in rows]
    if unseen_only:
        # The support model's test split: claims (WiCE) and knowledge snippets (BEGIN) its
        # weights never saw, so both judges can be compared on the same honest items.
        units = [u for u in units if is_test_group(_group_of(u))]
    units.sort(key=lambda u: _sample_key(u[0]))
    if limit is not None:
        units = units[:limit]

    calls0, hits0, unparsed0 = judge.calls, judge.cache_hits, judge.unparsed
    t0 = time.monotonic()
    gold: list[bool] = []
    pred: list[bool] = []
    for done, (unit_id, unit_rows) in enumerate(units):
        if progress:
            progress("judging", done, len(units))
        first = unit_rows[0][1]
        if isinstance(first, WiceRow):
            label = first.supported
            verdicts = []
            for _, row in unit_rows:
                assert isinstance(row, WiceRow)
                verdicts.append(judge.verdict(first.claim, list(row.evidence_sentences)))
                if verdicts[-1]:
                    break  # the max over chunks is already 1
            predicted = any(verdicts)
            items.append({"id": unit_id, "gold": label, "predicted": predicted, "chunks": verdicts})
        else:
            label = first.attributable
            claims = judge.split_claims(first.response) or [first.response]
            verdicts = []
            for c in claims:
                verdicts.append(judge.verdict(c, first.knowledge))
                if not verdicts[-1]:
                    break  # one unsupported claim makes the response not attributable
            predicted = all(verdicts)
            checked = claims[: len(verdicts)]
            items.append({"id": unit_id, "gold": label, "predicted": predicted, "claims": checked})
        gold.append(label)
        pred.append(predicted)
    if progress:
        progress("judging", len(units), len(units))
    cm = confusion(gold, pred)
    return JudgeReport(
        data=str(path),
        fields=kind,
        n=len(units),
        confusion=cm,
        balanced_accuracy=round(cm.balanced_accuracy, 4),
        accuracy=round(cm.accuracy, 4),
        calls=judge.calls - calls0,
        cache_hits=judge.cache_hits - hits0,
        unparsed=judge.unparsed - unparsed0,
        seconds=round(time.monotonic() - t0, 1),
        judge=judge.describe(),
        items=items,
    )
