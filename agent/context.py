"""Compact context: the part of each retrieved passage that bears on the question.

Prompt tokens are the main cost of a CPU model (~80 tokens/s to read), so each
source is cut to its best window of sentences before it enters the prompt, and
its citation span is narrowed to that window.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from corpus.text import MD_LINK_RE, sentence_spans, tokenize

_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\s]*\)?")
_BARE_URL = re.compile(r"\(?https?://\S+")
_SPACES = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def prompt_text(text: str) -> str:
    """A passage as the model reads it: links reduced to their titles, images and bare
    URLs dropped. A URL costs 20-60 prompt tokens and tells the model nothing it could
    cite; the learner gets the links from the readings and the passage itself.

    >>> prompt_text("See [LoRA (ICLR 2022)](https://arxiv.org/abs/2106.09685) and ![x](a.png).")
    'See LoRA (ICLR 2022) and .'
    >>> prompt_text("Survey [[image source]](https://github.com/x/y): more at https://a.b/c")
    'Survey image source: more at'
    """
    text = _IMAGE.sub("", text)
    text = MD_LINK_RE.sub(lambda m: m.group(1), text)
    text = _BARE_URL.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _BLANK_LINES.sub("\n", text)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def best_window(
    text: str,
    query: str,
    max_tokens: int,
    count_tokens: Callable[[str], int],
) -> tuple[int, int]:
    """The run of consecutive sentences, within `max_tokens`, that covers most query words.

    Ties go to the earliest window, since passages usually lead with their point, and
    the window then grows to fill the budget: a heading that matches the question must
    bring the sentences under it (a question in another language matches nothing, and
    gets the passage's opening). Returns a span of `text`; the whole text when it fits.

    >>> words = lambda s: len(s.split())
    >>> t = "Cats purr. GQA shares key heads. Dogs bark."
    >>> t[slice(*best_window(t, "what does GQA share", 4, words))].strip()
    'GQA shares key heads.'
    >>> t = "## LoRA\\nIt trains two small matrices. The rest is frozen. Unrelated tail here."
    >>> t[slice(*best_window(t, "how does LoRA work", 11, words))]
    '## LoRA\\nIt trains two small matrices. The rest is frozen.'
    """
    if count_tokens(text) <= max_tokens:
        return 0, len(text)
    spans = sentence_spans(text)
    if not spans:
        return 0, len(text)
    want = set(tokenize(query))
    sizes = [count_tokens(text[s:e]) for s, e in spans]
    hits = [len(want & set(tokenize(text[s:e]))) for s, e in spans]
    best = (-1, 0, 0)  # (score, first, last)
    for i in range(len(spans)):
        total, score = 0, 0
        for j in range(i, len(spans)):
            total += sizes[j]
            if total > max_tokens and j > i:
                break
            score += hits[j]
            if score > best[0] or (score == best[0] and i == best[1]):
                best = (score, i, j)
    _, first, last = best
    start, end = spans[first][0], spans[last][1]
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
