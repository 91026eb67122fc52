"""The tutor: condense, retrieve, build a compact context, generate, check citations.

The model writes the prose; the tutor decides what counts as supported. See
`agent.citations` for how sentences are aligned with sources, and
`decide_abstention` for when the tutor says the roadmap does not cover a question.

Over 500 lines on purpose: the answer path (condense, retrieve, compact, generate, check,
rewrite a wrong-language draft, stream) reads best in one place; its pure parts live in
`agent.citations`, `agent.context` and `agent.prompts`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from agent import prompts
from agent.citations import (
    AlignedSentence,
    align_sentences,
    pair_support,
    parse_markers,
    render_with_citations,
    supported_ratio,
)
from agent.context import best_window, prompt_text
from agent.limits import check_question
from agent.llm.client import translate_llm_errors
from agent.query_translation import QueryTranslator, translates
from agent.records import AnswerSentence, Citation, Reading, Timings, TutorAnswer
from agent.second_opinion import reconsider
from core.errors import ConfigError, CorpusError, LLMResponseError
from core.settings import Settings
from corpus.text import section_label, split_sentences, web_links
from index.embedders import Embedder
from index.retriever import HybridRetriever, SearchFilters, SearchHit

SentenceFn = Callable[[AnswerSentence], None]
TokenFn = Callable[[str], None]
# Called with the numbered sources and the readings before the model starts reading
# them: a learner can read the passages during the seconds of prompt evaluation.
ContextFn = Callable[[Sequence[Citation], Sequence[Reading]], None]


@dataclass(frozen=True)
class AbstentionDecision:
    abstain: bool
    reason: str | None


def decide_abstention(
    best_similarity: float,
    min_relevance: float,
    ratio: float | None = None,
    min_supported_ratio: float = 0.5,
) -> AbstentionDecision:
    """Abstain when retrieval found nothing relevant, or the draft is mostly unsupported.

    >>> decide_abstention(0.70, 0.80).reason
    'nothing relevant retrieved'
    >>> decide_abstention(0.90, 0.80, ratio=0.25).abstain
    True
    """
    if best_similarity < min_relevance:
        return AbstentionDecision(True, "nothing relevant retrieved")
    if ratio is not None and ratio < min_supported_ratio:
        return AbstentionDecision(True, "the draft answer is mostly unsupported")
    return AbstentionDecision(False, None)


DRIFT_MIN_CHARS = 40  # shorter text does not tell its language reliably


def drifted_language(text: str, language: str, min_chars: int = DRIFT_MIN_CHARS) -> bool:
    """True when `text` (long enough to tell) is not in `language` (scripts compared:
    zh-Hans and zh-Hant count as one).

    >>> drifted_language("MQA shares one key and value head across all query heads.", "es")
    True
    >>> drifted_language("MQA comparte una sola cabeza de clave y valor entre todas las consultas.", "es")
    False
    """
    from corpus.language import detect_language

    if len(text.strip()) < min_chars:
        return False
    return detect_language(text).split("-")[0] != language.split("-")[0]


def answer_language_for(question: str, requested: str | None = None) -> str:
    """The language to answer in: the one asked for, else the question's own.

    >>> answer_language_for("¿Qué es LoRA?")
    'es'
    >>> answer_language_for("What is LoRA?", "fr")
    'fr'
    """
    from corpus.language import detect_language

    if not requested:
        return detect_language(question)
    if requested not in prompts.ANSWER_LANGUAGES:
        raise ConfigError(
            f"cannot answer in {requested!r}: choose one of "
            + ", ".join(prompts.ANSWER_LANGUAGES)
            + " (or leave it out to answer in the question's language)"
        )
    return requested


def match_self_check(
    query_vec: np.ndarray, bank_vecs: np.ndarray, ids: Sequence[str], threshold: float
) -> str | None:
    """The self-check question the query restates, if its cosine reaches `threshold`.

    >>> bank = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> match_self_check(np.array([0.96, 0.28]), bank, ["SQ01", "SQ02"], 0.93)
    'SQ01'
    >>> match_self_check(np.array([0.7, 0.7]), bank, ["SQ01", "SQ02"], 0.93) is None
    True
    """
    ranked = rank_self_check(query_vec, bank_vecs, ids)
    if not ranked or ranked[0][1] < threshold:
        return None
    return ranked[0][0]


def rank_self_check(
    query_vec: np.ndarray, bank_vecs: np.ndarray, ids: Sequence[str]
) -> list[tuple[str, float]]:
    """Each self-check question with its best cosine to the query (over its language
    versions: `ids` may repeat), best first; ties keep bank order.

    >>> bank = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    >>> rank_self_check(np.array([0.0, 1.0]), bank, ["SQ01", "SQ02", "SQ01"])
    [('SQ02', 1.0), ('SQ01', 0.8)]
    """
    if not len(ids):
        return []
    sims = bank_vecs @ query_vec
    best: dict[str, float] = {}
    for qid, sim in zip(ids, sims.tolist(), strict=True):
        if qid not in best or sim > best[qid]:
            best[qid] = float(sim)
    return sorted(best.items(), key=lambda item: -item[1])


def closest_topics(hits: Sequence[SearchHit], limit: int = 3) -> list[str]:
    topics: list[str] = []
    for h in hits:
        section = h.chunk.section[-2:] if h.chunk.section else ()
        label = section_label(section) if section else h.chunk.source
        if label not in topics:
            topics.append(label)
    return topics[:limit]


def select_context(
    hits: Sequence[SearchHit],
    question: str,
    count_tokens: Callable[[str], int],
    budget: int,
    per_source: int,
    original_text: Callable[[str], str | None] = lambda source: None,
) -> list[Citation]:
    """Number the best hits, each cut to its best window, until the token budget is spent.

    Sizes are counted on the text the model reads (`prompt_text`: links reduced to their
    titles), so a passage full of URLs is not cut short for tokens it never sends.

    A window's citation span is narrowed to the window when the window's text can be
    found verbatim in the original document; otherwise it keeps the chunk's span.
    """
    out: list[Citation] = []
    used = 0

    def prompt_tokens(text: str) -> int:  # what the window costs in the prompt
        return count_tokens(prompt_text(text))

    for h in hits:
        c = h.chunk
        ws, we = best_window(c.text, question, per_source, prompt_tokens)
        text = c.text[ws:we]
        n_tok = prompt_tokens(text)
        if out and used + n_tok > budget:
            continue
        used += n_tok
        start, end = c.start, c.end
        original = original_text(c.source)
        if original is not None and (ws, we) != (0, len(c.text)):
            at = original.find(text, c.start, c.end)
            if at >= 0:
                start, end = at, at + len(text)
        out.append(
            Citation(
                n=len(out) + 1,
                chunk_id=c.id,
                source=c.source,
                section=c.section,
                start=start,
                end=end,
                text=text,
                language=c.language,
                score=h.score,
                dense_score=h.dense_score,
                quote=None if original is None else original[start:end],
            )
        )
    return out


def readings_from(hits: Sequence[SearchHit], limit: int = 8) -> list[Reading]:
    """Links the English roadmap gives in the retrieved passages (or their versions)."""
    seen: set[str] = set()
    out: list[Reading] = []
    for h in hits:
        for c in (h.chunk, *h.versions):
            if c.source != "roadmap-en.md":
                continue
            for title, url in web_links(c.text):
                if url not in seen:
                    seen.add(url)
                    out.append(Reading(title=title, url=url, section=section_label(c.section)))
    return out[:limit]


class Tutor:
    def __init__(
        self,
        settings: Settings,
        retriever: HybridRetriever,
        chat_model: BaseChatModel,
        embedder: Embedder,
    ) -> None:
        self.settings = settings
        self.retriever = retriever
        self.chat_model = chat_model
        self.embedder = embedder
        # For error messages only: where the chat model sends its requests.
        self.base_url = str(getattr(chat_model, "openai_api_base", None) or "the LLM server")
        self._bank: tuple[list[str], np.ndarray] | None = None
        self._translator: QueryTranslator | None = None

    # ------------------------------------------------------------ steps

    def _self_check_bank(self) -> tuple[list[str], np.ndarray]:
        """Self-check question ids and embeddings (English and Spanish texts), once."""
        if self._bank is None:
            from corpus.questions import load_question_bank

            ids, texts = [], []
            try:
                bank = load_question_bank(self.settings.corpus.dir)
            except CorpusError:
                bank = []  # a corpus without the roadmap (tests, custom corpora)
            for q in bank:
                for text in q.texts.values():
                    ids.append(q.id)
                    texts.append(text)
            vecs = self.embedder.embed_queries(texts) if texts else np.zeros((0, 1))
            self._bank = (ids, vecs)
        return self._bank

    def _lead_with_study_note(
        self, hits: list[SearchHit], query_vecs: Sequence[np.ndarray]
    ) -> list[SearchHit]:
        """When the question is one of the roadmap's self-check questions, put the short
        answer of its study note first: retrieval ranks the note's sections within a
        hair of each other, and a small context must not lose the direct answer.

        `query_vecs` are the question's vector, then its translation's: a self-check
        question asked in Chinese is found through its English translation."""
        ids, vecs = self._self_check_bank()
        qid = None
        for query_vec in query_vecs:
            qid = match_self_check(query_vec, vecs, ids, self.settings.agent.self_check_match)
            if qid is not None:
                break
        if qid is None:
            return hits
        lead = [
            c
            for c in self.retriever.chunks
            if qid in c.extra.get("answers", "").split(",")
            and c.section
            and c.section[-1] == "Short answer"
        ]
        if not lead:
            return hits
        lead_ids = {c.id for c in lead}
        rest = [h for h in hits if h.chunk.id not in lead_ids]
        top = hits[0].score if hits else 1.0
        # Scored against the question itself, as every other hit: the relevance gate reads it.
        dense = float(max(self.embedder.embed_passages([c.text for c in lead]) @ query_vecs[0]))
        first = [SearchHit(chunk=c, score=top, rank=1, dense_score=dense) for c in lead]
        return first + rest

    def _translation(self, query: str) -> str | None:
        """The query in English for a second search, when `agent.translate_queries` is on
        and the query is in another language (agent/query_translation.py)."""
        from corpus.language import detect_language

        if not translates(self.settings, detect_language(query)):
            return None
        if self._translator is None:  # a race builds a second one, which is harmless
            self._translator = QueryTranslator(self.chat_model)
        with translate_llm_errors(self.base_url):
            return self._translator.translate(query)

    def _original_text(self, source: str) -> str | None:
        from corpus.documents import original_text

        return original_text(self.settings.corpus.dir, source)

    def condense(self, history: Sequence[tuple[str, str]], question: str) -> str:
        """A follow-up made standalone by the model; the question itself without history."""
        if not history:
            return question
        turns = list(history)[-self.settings.agent.history_turns :]
        with translate_llm_errors(self.base_url):
            msg = self.chat_model.invoke(
                [
                    SystemMessage(prompts.CONDENSE_SYSTEM),
                    HumanMessage(prompts.condense_prompt(turns, question)),
                ]
            )
        text = str(msg.content).strip().splitlines()
        standalone = text[0].strip().strip('"') if text else ""
        return standalone or question

    def _passage_vectors(self, citations: Sequence[Citation]) -> np.ndarray:
        return self.embedder.embed_passages([c.text for c in citations])

    def _rewrite(self, messages: list[Any], draft: str, language: str) -> str:
        from langchain_core.messages import AIMessage

        with translate_llm_errors(self.base_url):
            msg = self.chat_model.invoke(
                [*messages, AIMessage(draft), HumanMessage(prompts.rewrite_in_prompt(language))]
            )
        return _text_of(msg).strip()

    def warm_up(self, llm: bool = True) -> None:
        """Do once, before the first learner asks, what the first question would pay for:
        embed the self-check bank and (with `llm`) have the server evaluate the fixed
        system prompt, so its KV cache holds it (on 2 cores it reads for ~3-4 s)."""
        self._self_check_bank()
        if not llm:
            return
        with translate_llm_errors(self.base_url):
            self.chat_model.bind(max_tokens=1).invoke(
                [SystemMessage(prompts.SYSTEM_PROMPT), HumanMessage("Say OK.")]
            )

    def _align(
        self,
        sentences: Sequence[str],
        citations: Sequence[Citation],
        passage_vecs: np.ndarray,
        language: str = "en",
    ) -> list[AlignedSentence]:
        drafts = [parse_markers(s) for s in sentences]
        if not drafts:
            return []
        svecs = self.embedder.embed_queries([d.text or d.raw for d in drafts])
        cos = svecs @ passage_vecs.T if len(citations) else np.zeros((len(drafts), 0))
        support = [
            [
                pair_support(d.text, c.text, float(cos[i, j]), language, c.language)
                for j, c in enumerate(citations)
            ]
            for i, d in enumerate(drafts)
        ]
        return align_sentences(drafts, support, self.settings.agent.support_threshold)

    # ------------------------------------------------------------ the pipeline

    def ask(
        self,
        question: str,
        history: Sequence[tuple[str, str]] = (),
        filters: SearchFilters | None = None,
        on_token: TokenFn | None = None,
        on_sentence: SentenceFn | None = None,
        answer_language: str | None = None,
        on_context: ContextFn | None = None,
    ) -> TutorAnswer:
        """Answer `question` from the index, in `answer_language` when given (one of
        `prompts.ANSWER_LANGUAGES`), else in the question's language.

        `on_context` gets the sources and readings as soon as they are chosen, before the
        model is asked; `on_token` each streamed piece of the draft; `on_sentence` each
        checked sentence."""
        check_question(question, history, self.settings)
        t0 = time.monotonic()
        language = answer_language_for(question, answer_language)
        standalone = self.condense(history, question)
        t_condensed = time.monotonic()
        translation = self._translation(standalone)
        t_translated = time.monotonic()
        vecs = self.embedder.embed_queries([standalone, *([translation] if translation else [])])
        query_vec = vecs[0]
        hits = self.retriever.search(
            standalone,
            filters=filters,
            query_vector=query_vec,
            translations=[(translation, vecs[1])] if translation else (),
        )
        hits = self._lead_with_study_note(hits, vecs)
        t_retrieved = time.monotonic()
        best = max((h.dense_score for h in hits if h.dense_score is not None), default=0.0)
        topics = closest_topics(hits)
        gate = decide_abstention(best, self.settings.agent.min_relevance)
        if gate.abstain:
            return self._abstained(
                question,
                standalone,
                language,
                gate.reason,
                topics,
                (t0, t_condensed, t_translated, t_retrieved),
                translation,
            )

        citations = select_context(
            hits,
            standalone,
            self.embedder.count_tokens,
            self.settings.agent.context_tokens,
            self.settings.agent.source_tokens,
            self._original_text,
        )
        readings = readings_from(hits)
        if on_context:
            on_context(citations, readings)
        # The sources' vectors are needed only once the first sentence is complete: not
        # computing them before the request keeps ~0.3-1 s out of the time to first token.
        vectors: list[np.ndarray] = []

        def passage_vecs() -> np.ndarray:
            if not vectors:
                vectors.append(self._passage_vectors(citations))
            return vectors[0]

        messages = [
            SystemMessage(prompts.SYSTEM_PROMPT),
            HumanMessage(prompts.answer_prompt(standalone, citations, language)),
        ]
        draft = ""
        emitted: list[AlignedSentence] = []
        first_token: float | None = None

        # Checked sentences reach on_sentence once the draft's language is known (from its
        # first DRIFT_MIN_CHARS), so a draft that is to be rewritten never reaches them.
        delivered = 0
        in_language: bool | None = None

        def deliver(final: bool = False) -> None:
            nonlocal delivered, in_language
            if in_language is None:
                seen = " ".join(a.text for a in emitted)
                if len(seen.strip()) < DRIFT_MIN_CHARS and not final:
                    return
                in_language = not drifted_language(seen, language)
            if in_language and on_sentence:
                for a in emitted[delivered:]:
                    on_sentence(_answer_sentence(a))
                delivered = len(emitted)

        def emit(done_sentences: list[str]) -> None:
            if not done_sentences:
                return
            emitted.extend(self._align(done_sentences, citations, passage_vecs(), language))
            deliver()

        pending = ""
        with translate_llm_errors(self.base_url):
            for chunk in self.chat_model.stream(messages):
                piece = _text_of(chunk)
                if not piece:
                    continue
                if first_token is None:
                    first_token = time.monotonic() - t0
                draft += piece
                pending += piece
                if on_token:
                    on_token(piece)
                parts = split_sentences(pending)
                # The last part may still grow; everything before it is complete.
                if len(parts) > 1:
                    emit(parts[:-1])
                    pending = pending[pending.rfind(parts[-1]) :]
        emit(split_sentences(pending))
        if not draft.strip():
            raise LLMResponseError("the model returned an empty answer")
        deliver(final=True)
        if not in_language:
            # The 1.5B model sometimes copies English sources verbatim although asked for
            # another language; the draft was shown as provisional, so it is replaced.
            rewritten = self._rewrite(messages, draft, language)
            in_language = True  # the rewrite, or the draft itself when the rewrite drifts too
            if rewritten and not drifted_language(rewritten, language):
                draft = rewritten
                emitted.clear()
                emit(split_sentences(rewritten))
            deliver(final=True)

        agent = self.settings.agent
        decision = decide_abstention(
            best, agent.min_relevance, supported_ratio(emitted), agent.min_supported_ratio
        )
        if decision.abstain and agent.second_opinion:
            with translate_llm_errors(self.base_url):
                emitted[:] = reconsider(
                    self.chat_model,
                    citations,
                    emitted,
                    agent.second_opinion_max_checks,
                    agent.second_opinion_min_yes,
                )
            decision = decide_abstention(
                best, agent.min_relevance, supported_ratio(emitted), agent.min_supported_ratio
            )
        t_end = time.monotonic()
        timings = Timings(
            retrieval_s=round(t_retrieved - t_translated, 3),
            first_token_s=None if first_token is None else round(first_token, 3),
            total_s=round(t_end - t0, 3),
            condense_s=round(t_condensed - t0, 3),
            translation_s=round(t_translated - t_condensed, 3),
        )
        # An abstaining answer keeps the draft and its checked sentences for inspection.
        abstain = decision.abstain
        return TutorAnswer(
            question=question,
            standalone_question=standalone,
            answer=(
                prompts.abstain_message(language, topics)
                if abstain
                else render_with_citations(emitted)
            ),
            language=language,
            abstained=abstain,
            abstain_reason=decision.reason,
            sentences=tuple(_answer_sentence(a) for a in emitted),
            citations=tuple(citations),
            readings=() if abstain else tuple(readings),
            closest_topics=tuple(topics),
            timings=timings,
            draft=draft,
            search_translation=translation,
        )

    def _abstained(
        self,
        question: str,
        standalone: str,
        language: str,
        reason: str | None,
        topics: list[str],
        times: tuple[float, float, float, float],
        translation: str | None,
    ) -> TutorAnswer:
        t0, t_condensed, t_translated, t_retrieved = times
        now = time.monotonic()
        return TutorAnswer(
            question=question,
            standalone_question=standalone,
            answer=prompts.abstain_message(language, topics),
            language=language,
            abstained=True,
            abstain_reason=reason,
            sentences=(),
            citations=(),
            closest_topics=tuple(topics),
            timings=Timings(
                retrieval_s=round(t_retrieved - t_translated, 3),
                first_token_s=None,
                total_s=round(now - t0, 3),
                condense_s=round(t_condensed - t0, 3),
                translation_s=round(t_translated - t_condensed, 3),
            ),
            search_translation=translation,
        )


def _answer_sentence(a: AlignedSentence) -> AnswerSentence:
    return AnswerSentence(
        text=a.text,
        citations=a.citations,
        supported=a.supported,
        support_score=round(a.support, 4),
        model_markers=a.markers,
        second_opinion=a.second_opinion,
    )


def _text_of(chunk: Any) -> str:
    content = getattr(chunk, "content", chunk)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return str(content)
