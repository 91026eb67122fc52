"""The faithfulness judges: split an answer into claims, decide whether evidence supports each.

`Judge` asks a small local chat model, so every call is kept short: one claim, a few
evidence sentences chosen per claim (`evals.claims`) and a one-word answer (the prompts are
in `evals.judge_prompts`). Its judgments are cached on disk (`evals.judgment_cache`), so a
rerun with nothing changed makes no model call. `SupportJudge` asks the support model
instead, with no LLM call.

`evals.judge_benchmark` measures either judge against human labels.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from langchain_core.messages import HumanMessage

from agent.citations import parse_markers
from agent.support import SupportModel, evidence_for_embedding, load_support_model
from corpus.language import detect_language
from corpus.text import split_sentences
from evals.claims import fallback_claims, parse_claim_lines, parse_yes_no, select_evidence
from evals.judge_prompts import PROMPT_VERSION, PROMPTS, SPLIT_PROMPT
from evals.judgment_cache import JudgmentCache, cache_key

EvidenceMode = Literal["all", "lexical", "dense", "hybrid"]
DecomposeMode = Literal["llm", "sentences"]

EmbedFn = Callable[[Sequence[str]], Any]  # texts -> array of unit vectors


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
