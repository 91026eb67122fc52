"""The local model's check of one key point at a time (grading mode "points").

For each key point of a rubric the model is asked one yes/no question: does this answer
state this point? The grader reads the probability of "yes" from the first token's
log-probabilities instead of parsing a reply, so there is nothing to misparse and the
answer is a number with a threshold chosen on labelled answers (docs/grading.md).

Why this exists beside the support model: the support model reads word overlap and one
sentence-embedding cosine, and a learner who states a key point in other words, or in
another language, gets a low probability from it (held-out verdict accuracy 0.43). The
1.5B model reads meaning well enough to rank answers far better, at the price of one short
call per key point. The prompt is built so that the system text, the question and the
answer form a prefix shared by every key point of one answer: llama.cpp reads them once
and only the key point is new on each later call.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from agent.yes_no import ask_yes, yes_no_model

# Bump when the prompt or the examples change: thresholds were chosen for one version.
POINT_CHECK_VERSION = "point-check-1"

POINT_CHECK_SYSTEM = (
    "You check a student's answer against one key point of a model answer. "
    "The student's answer may use other words or another language. "
    "Reply yes if the answer states the idea of the key point, no if it does not or "
    "contradicts it."
)
# No worked examples: five of them (paraphrase, contradiction, mere mention, another
# language) made the ranking worse on the tuning half (Spearman 0.58 against 0.75 without
# them), so the check is zero-shot.


def _ask(question: str, answer: str, point: str) -> str:
    # The answer cannot close its own quotation, in any case or spacing.
    body = re.sub(r"<\s*/\s*answer\s*>", "< /answer>", answer, flags=re.IGNORECASE)
    return (
        f"Question: {question}\n<answer>\n{body}\n</answer>\nKey point: {point}\n"
        "Does the answer state this key point? Reply yes or no."
    )


def point_check_messages(question: str, answer: str, point: str) -> list[BaseMessage]:
    """The chat for one key point. The point comes last, so the checks of one answer share
    everything before it as a cached prefix.

    >>> msgs = point_check_messages("Q?", "An answer.", "A point.")
    >>> len(msgs), msgs[-1].content.splitlines()[-2]
    (2, 'Key point: A point.')
    """
    return [SystemMessage(POINT_CHECK_SYSTEM), HumanMessage(_ask(question, answer, point))]


def check_points(
    chat_model: BaseChatModel, question: str, answer: str, points: Sequence[str]
) -> list[float]:
    """P(the answer states the point) for every key point, one short call each.

    The endpoint must return log-probabilities (llama.cpp's server and vLLM do); one that
    does not is an LLMError naming the problem, never a silent 0.5.
    """
    model = yes_no_model(chat_model)
    what = "the key-point check (grade with --grader deterministic instead)"
    # The first check of an answer reads the whole prompt afresh, the others reuse what it
    # read, so the same answer gets the same probabilities whatever was asked before.
    return [
        ask_yes(model, point_check_messages(question, answer, point), what, cache_prompt=k > 0)
        for k, point in enumerate(points)
    ]
