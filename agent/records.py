"""The answer record: what the tutor said and where each statement comes from."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Citation:
    """A numbered source shown with an answer: one passage of one document."""

    n: int
    chunk_id: str
    source: str
    section: tuple[str, ...]
    start: int
    end: int
    text: str
    language: str
    score: float  # retrieval score
    dense_score: float | None = None
    url: str | None = None  # for readings: the link the roadmap gives
    quote: str | None = None  # exactly original[start:end], where the file holds the text


@dataclass(frozen=True)
class AnswerSentence:
    text: str
    citations: tuple[int, ...]  # numbers of the citations that support it
    supported: bool
    support_score: float  # best alignment score against the sources
    model_markers: tuple[int, ...] = ()  # what the model wrote, before checking
    # P(yes) of the model's second opinion when the checker found no support and the model
    # re-read the sentence against its sources (agent.second_opinion); None otherwise.
    second_opinion: float | None = None


@dataclass(frozen=True)
class Reading:
    title: str
    url: str
    section: str


@dataclass(frozen=True)
class Timings:
    retrieval_s: float = 0.0
    first_token_s: float | None = None  # from the question to the first streamed token
    total_s: float = 0.0
    condense_s: float = 0.0
    translation_s: float = 0.0  # the query's translation for retrieval (0 when none)


@dataclass(frozen=True)
class TutorAnswer:
    question: str
    standalone_question: str
    answer: str
    language: str
    abstained: bool
    abstain_reason: str | None
    sentences: tuple[AnswerSentence, ...]
    citations: tuple[Citation, ...]
    readings: tuple[Reading, ...] = ()
    closest_topics: tuple[str, ...] = ()
    timings: Timings = field(default_factory=Timings)
    draft: str | None = None  # the model's raw text, kept when the tutor abstained
    # The question in English, searched beside it (agent.query_translation); None when the
    # question was not translated.
    search_translation: str | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for c in d["citations"]:
            c["section"] = list(c["section"])
            # `text` is what the offsets point at; `clean_text` what the model read.
            c["clean_text"] = c["text"]
            quote = c.pop("quote")
            if quote is not None:
                c["text"] = quote
        for s in d["sentences"]:
            s["citations"] = list(s["citations"])
            s["model_markers"] = list(s["model_markers"])
        return d
