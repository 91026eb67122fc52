"""A second opinion before declining: the local model re-reads the unsupported sentences.

The citation checker (`agent.citations`) reads word overlap and one e5 cosine. A short
correct sentence in other words, or in another language than its source, falls below its
threshold, and the tutor declined answerable questions as "mostly unsupported" (11 of 65
in the full eval of 2026-12-01). Before it declines, each unsupported sentence is put to
the model as one yes/no question: "is this sentence stated in these sources?", P(yes)
read from the first token's log-probabilities. A sentence affirmed with P(yes) >=
`min_yes` counts as supported, cited by the source the model cited, else the checker's
best-scored one; the decline is then decided again on the new share.

The question is asked apart from the answer's conversation: asked right after the draft,
in the conversation that wrote it, the model affirmed every sentence (P(yes) 0.6-0.9),
those of unanswerable questions as much as the others (docs/performance.md). The
sources come first, so the questions about one draft share them as a cached prefix: the
first reads them (~5-10 s on 2 cores), each later one only its sentence (~1 s). This runs
only on the way to a decline: answers the checker accepts pay nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from agent.citations import AlignedSentence, is_substantive
from agent.prompts import format_sources
from agent.records import Citation
from agent.yes_no import ask_yes_or_none, yes_no_model

SECOND_OPINION_SYSTEM = (
    "You check whether a sentence is stated in the given sources. The sentence may use "
    "other words or another language than the sources. Reply yes only if the sources "
    "state what the sentence says; reply no if they do not or if they say something else."
)
# Prompt markup copied into a draft (`<source n="1">...`) is the model quoting its prompt,
# not answering: such a sentence is never affirmed (the check would read it as a source).
MARKUP = ("<source", "</source")


def second_opinion_messages(citations: Sequence[Citation], sentence: str) -> list[BaseMessage]:
    """The question about one sentence. The sources come first, so every question about
    one draft shares them as a prefix.

    >>> from agent.records import Citation
    >>> c = Citation(1, "x", "a.md", ("GQA",), 0, 5, "GQA shares heads.", "en", 1.0)
    >>> second_opinion_messages([c], "GQA shares key heads.")[-1].content.splitlines()[-1]
    'Is the sentence stated in the sources? Reply yes or no.'
    """
    quoted = sentence.replace('"', "'")
    return [
        SystemMessage(SECOND_OPINION_SYSTEM),
        HumanMessage(
            f"Sources:\n{format_sources(citations)}\n"
            f'Sentence: "{quoted}"\n'
            "Is the sentence stated in the sources? Reply yes or no."
        ),
    ]


def candidate_sources(sentence: AlignedSentence, n_sources: int, limit: int = 2) -> list[int]:
    """The sources an affirmed sentence cites, numbered from 1: those the model cited for
    it, then the best scored by the checker, at most `limit`. (The model is asked about
    all the sources at once: it affirms that they state the sentence, not which one.)

    >>> s = AlignedSentence("x", (), False, 0.3, (3,), scores=(0.2, 0.3, 0.1))
    >>> candidate_sources(s, 3)
    [3, 2]
    """
    ranked = sorted(range(len(sentence.scores)), key=lambda j: -sentence.scores[j])
    ordered = [*sentence.markers, *(j + 1 for j in ranked)]
    return list(dict.fromkeys(n for n in ordered if 1 <= n <= n_sources))[:limit]


def needs_second_opinion(sentence: AlignedSentence) -> bool:
    return (
        is_substantive(sentence.text)
        and not sentence.supported
        and not any(m in sentence.text for m in MARKUP)
    )


def reconsider(
    chat_model: BaseChatModel,
    citations: Sequence[Citation],
    sentences: Sequence[AlignedSentence],
    max_checks: int,
    min_yes: float,
) -> list[AlignedSentence]:
    """The sentences, with each unsupported one (at most `max_checks`, the bound on what
    one decline costs) re-read by the model: supported when it affirms the sentence, with
    its P(yes) noted either way. Sentences past the bound stay as the checker left them.
    """
    model = yes_no_model(chat_model)
    asked = 0
    out: list[AlignedSentence] = []
    for sentence in sentences:
        if not needs_second_opinion(sentence) or asked >= max_checks or not citations:
            out.append(sentence)
            continue
        # The first question reads the sources afresh, so its probability does not depend
        # on what the server's cache held; the later ones reuse what it read.
        p = ask_yes_or_none(
            model,
            second_opinion_messages(citations, sentence.text),
            "the second opinion on an unsupported sentence (agent.second_opinion = false "
            "turns it off)",
            cache_prompt=asked > 0,
        )
        asked += 1
        if p is None:  # the model began with another word: the checker's verdict stands
            out.append(sentence)
        elif p >= min_yes:
            cited = candidate_sources(sentence, len(citations), limit=1)
            out.append(
                replace(sentence, citations=tuple(cited), supported=bool(cited), second_opinion=p)
            )
        else:
            out.append(replace(sentence, second_opinion=p))
    return out
