"""Text helpers shared by the corpus, the index and the answer path: one home each for
tokenising, sentence splitting, Markdown headings and section paths, and Markdown links.

Everything here is pure. The module sits in `corpus` (the lowest layer that needs these
helpers) and is hashed into the index signature with the rest of `corpus/`
(`index.store.INDEX_CODE`), so a change to what the chunker or BM25 uses forces a rebuild.
"""

from __future__ import annotations

import re
import unicodedata

# --- tokenising ----------------------------------------------------------------------

# Han, kana and Hangul runs have no spaces: index them as overlapping character
# bigrams (the usual dictionary-free choice for Chinese/Japanese BM25), plus the
# single characters so one-character queries still match.
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_]+", re.UNICODE)
_CJK_RUN = re.compile(rf"^[{_CJK}]+$")

# Very common function words of the corpus languages; the list is short on purpose.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "do",
        "does",
        "can",
        "el",
        "la",
        "los",
        "las",
        "de",
        "del",
        "y",
        "en",
        "un",
        "una",
        "que",
        "por",
        "para",
        "con",
        "se",
        "es",
        "al",
        "lo",
        "como",
        "su",
        "sus",
        "le",
        "les",
        "des",
        "du",
        "et",
        "à",
        "au",
        "aux",
        "une",
        "est",
        "pour",
        "dans",
        "par",
        "sur",
        "qui",
    ]
)


def tokenize(text: str) -> list[str]:
    """Lowercased word tokens; CJK runs become unigrams and bigrams.

    >>> tokenize("Rotary embeddings 多模態")
    ['rotary', 'embedding', '多', '模', '態', '多模', '模態']
    """
    text = unicodedata.normalize("NFKC", text).lower()
    out: list[str] = []
    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        if _CJK_RUN.match(tok):
            out.extend(tok)
            out.extend(tok[i : i + 2] for i in range(len(tok) - 1))
        elif tok not in STOPWORDS and (len(tok) > 1 or tok.isdigit()):
            out.append(_singular(tok))
    return out


def _singular(tok: str) -> str:
    """Fold a plain plural so "GANs" meets "GAN" ("transformers" meets "transformer").

    Only ASCII words longer than three letters ending in a single "s": enough for paper
    titles and acronyms, without a language-specific stemmer.
    """
    if (
        len(tok) > 3
        and tok.isascii()
        and tok.endswith("s")
        and not tok.endswith(("ss", "us", "is"))
    ):
        return tok[:-1]
    return tok
