"""The learner's question translated by the local model, for retrieval only.

e5-small ranks a same-language passage on a neighbouring topic above the right passage
in another language. A question asked in Chinese, Japanese, Spanish or French whose answer
sits in the English notes is therefore searched a second time in English, and the two
searches are fused (`HybridRetriever.search(translations=...)`). The translation is never
shown or cited; the answer still cites the passages and is written in the learner's
language. English questions are not translated: the shipped glosses
(`corpus/glosses.jsonl`) already give the non-English passages English words, and a
translation would cost every English question a model call.
"""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from agent.prompts import LANGUAGE_NAMES
from core.settings import Settings

TRANSLATE_SYSTEM = (
    "You translate a learner's question about machine learning into {language}. The "
    "question is between <q> and </q>. Do not answer it. Keep technical terms, model names "
    "and abbreviations as they are. Output only the translated question."
)
# One worked pair: without it the 1.5B model answered a third of the questions instead of
# translating them (measured on the tuning half of evals/retrieval.jsonl).
EXAMPLE = ("<q>¿Qué es LoRA y por qué ahorra memoria?</q>", "What is LoRA and why does it save memory?")
# A question is at most a few dozen words; the bound keeps a runaway reply from costing
# seconds of generation.
MAX_TRANSLATION_TOKENS = 48


def wants_translation(question_language: str, target: str = "en") -> bool:
    """Whether a question in `question_language` is searched again in `target`.

    >>> wants_translation("zh-Hans"), wants_translation("en")
    (True, False)
    """
    return question_language.split("-")[0] != target.split("-")[0]


def translates(settings: Settings, question_language: str) -> bool:
    """Whether a question in `question_language` is translated for a second search: the
    agent is set to, the retriever would use the translation (hybrid mode, a weight), and
    the question is not in English."""
    rs = settings.retrieval
    return (
        settings.agent.translate_queries
        and rs.mode == "hybrid"
        and rs.translation_weight > 0
        and wants_translation(question_language)
    )


def clean_translation(reply: str, question: str) -> str | None:
    """The first non-empty line of the reply, unquoted; None when it is empty or just
    repeats the question (nothing to add to the search).

    >>> clean_translation('"What is LoRA?"\\n(translated)', "¿Qué es LoRA?")
    'What is LoRA?'
    >>> clean_translation("  ", "x") is None
    True
    >>> clean_translation("Translation:\\n<q>What is LoRA?</q>", "LoRA 是什么?")
    'What is LoRA?'
    """
    for line in reply.splitlines():
        text = line.strip().removeprefix("<q>").removesuffix("</q>").strip('"“”「」').strip()
        if text and not text.endswith(":"):  # "Here is the translation:" leads in
            return None if text == question.strip() else text
    return None


class QueryTranslator:
    """Translates questions with the chat model, remembering the last `cache_size`."""

    def __init__(self, chat_model: BaseChatModel, cache_size: int = 256) -> None:
        self._model = chat_model.bind(max_tokens=MAX_TRANSLATION_TOKENS, temperature=0)
        self._cache: OrderedDict[tuple[str, str], str | None] = OrderedDict()
        self._size = cache_size
        self._lock = Lock()

    def translate(self, question: str, target: str = "en") -> str | None:
        key = (question, target)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        system = TRANSLATE_SYSTEM.format(language=LANGUAGE_NAMES.get(target, "English"))
        body = question.replace("</q>", "< /q>")
        reply = self._model.invoke(
            [
                SystemMessage(system),
                HumanMessage(EXAMPLE[0]),
                AIMessage(EXAMPLE[1]),
                HumanMessage(f"<q>{body}</q>"),
            ]
        )
        text = clean_translation(str(reply.content), question)
        with self._lock:
            self._cache[key] = text
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return text
