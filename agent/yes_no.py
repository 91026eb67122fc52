"""One yes/no question to the local model, answered as a probability.

The grader's key-point check and the tutor's second opinion before declining both ask the
model a yes/no question and read P(yes) from the first token's log-probabilities instead
of parsing a reply: there is nothing to misparse, and the answer is a number that a
threshold chosen on labelled data can be applied to.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from core.errors import LLMError


def yes_probability(top_logprobs: Sequence[Mapping[str, Any]]) -> float | None:
    """P(yes) / (P(yes) + P(no)) over the first token's alternatives, rounded to 3 places
    (the last digits differ between CPUs); None when neither word is among them.

    >>> yes_probability([{"token": "yes", "logprob": math.log(0.6)},
    ...                  {"token": "No", "logprob": math.log(0.2)}])
    0.75
    >>> yes_probability([{"token": "maybe", "logprob": 0.0}]) is None
    True
    """
    yes = no = 0.0
    for alt in top_logprobs:
        word = str(alt.get("token", "")).strip().lower()
        if word in ("yes", "no"):
            p = math.exp(float(alt.get("logprob", -math.inf)))
            if word == "yes":
                yes += p
            else:
                no += p
    if yes + no <= 0.0:
        return None
    return round(yes / (yes + no), 3)


def first_token_alternatives(message: BaseMessage) -> list[Mapping[str, Any]]:
    """The first generated token's top alternatives from an OpenAI-style reply."""
    logprobs = (message.response_metadata or {}).get("logprobs") or {}
    content = logprobs.get("content") or []
    if not content:
        return []
    return list(content[0].get("top_logprobs") or [])


def yes_no_model(chat_model: BaseChatModel) -> Any:
    """The chat model bound for one-token yes/no replies with their log-probabilities."""
    return chat_model.bind(logprobs=True, top_logprobs=10, max_tokens=1, temperature=0)


def ask_yes(model: Any, messages: Sequence[BaseMessage], what: str, cache_prompt: bool) -> float:
    """P(yes) for one question, with `model` from `yes_no_model`.

    `cache_prompt` False makes llama.cpp read the whole prompt afresh: its probabilities
    depend on which part of a prompt came from its cache (by up to 0.04 here), so a
    decision that must not depend on what was asked before reads its first prompt afresh.
    Other servers ignore the field. An endpoint without log-probabilities, or a reply whose
    first token is neither word, is an LLMError naming `what` was being checked, never a
    silent 0.5.
    """
    p = ask_yes_or_none(model, messages, what, cache_prompt)
    if p is None:
        raise LLMError(
            f"the model's reply to {what} began with neither yes nor no among its "
            "top log-probabilities"
        )
    return p


def ask_yes_or_none(
    model: Any, messages: Sequence[BaseMessage], what: str, cache_prompt: bool
) -> float | None:
    """As `ask_yes`, but None when the reply has log-probabilities and neither word is
    among the first token's alternatives (the model began with another word). A server
    that returns no log-probabilities at all is still an LLMError."""
    reply = model.invoke(list(messages), extra_body={"cache_prompt": cache_prompt})
    alternatives = first_token_alternatives(reply)
    if not alternatives:
        raise LLMError(
            f"the model server returned no yes/no log-probabilities for {what}; it must "
            "support `logprobs` and `top_logprobs` (llama.cpp and vLLM do)"
        )
    return yes_probability(alternatives)
