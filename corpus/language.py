"""A tiny script- and stopword-based language guess for learner files and questions.

Script first: any kana -> ja, Hangul -> ko, Han -> zh-Hant or zh-Hans by counting
characters that exist in only one of the two scripts. Latin text -> en, es or fr by
stopword and diacritic counts. Returns "en" when nothing decides (empty text, digits):
English is the corpus's original language, so it is the safe fallback.
"""

from __future__ import annotations

import re

# Pairs (simplified, traditional) of common characters that differ between the scripts.
_SIMPLIFIED = (
    "这个们来时国会说对学与为过还应发点开关问题体么样从见让经历无书车长门话语电网页实"
    "现变数据类习练态综视觉统计论训络简单区写读"
)
_TRADITIONAL = (
    "這個們來時國會說對學與為過還應發點開關問題體麼樣從見讓經歷無書車長門話語電網頁實"
    "現變數據類習練態綜視覺統計論訓絡簡單區寫讀"
)
_SIMPLIFIED_SET = frozenset(_SIMPLIFIED)
_TRADITIONAL_SET = frozenset(_TRADITIONAL)

_STOPWORDS = {
    "en": frozenset(
        [
            "the",
            "and",
            "of",
            "to",
            "is",
            "are",
            "what",
            "why",
            "how",
            "does",
            "do",
            "which",
            "with",
            "for",
            "that",
            "this",
            "when",
            "can",
            "you",
            "between",
            "than",
            "on",
            "an",
            "it",
            "be",
        ]
    ),
    "es": frozenset(
        [
            "el",
            "los",
            "las",
            "del",
            "que",
            "qué",
            "por",
            "cómo",
            "cuál",
            "cuáles",
            "es",
            "son",
            "una",
            "para",
            "con",
            "entre",
            "se",
            "más",
            "porque",
            "cuando",
            "puede",
            "y",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "les",
            "des",
            "du",
            "est",
            "sont",
            "une",
            "pour",
            "avec",
            "entre",
            "pourquoi",
            "comment",
            "quelle",
            "quel",
            "quels",
            "dans",
            "qui",
            "ce",
            "cette",
            "et",
            "au",
            "aux",
            "pas",
        ]
    ),
}
_HINTS = {"es": "ñ¿¡", "fr": "çèêœàù"}
_WORD_RE = re.compile(r"[a-zA-ZÀ-ÿœ]+(?:'[a-zA-ZÀ-ÿ]+)?")


def _count(text: str, low: int, high: int) -> int:
    return sum(1 for ch in text if low <= ord(ch) <= high)


def detect_language(text: str) -> str:
    """Best guess among ja, ko, zh-Hans, zh-Hant, en, es, fr (pure, cheap)."""
    kana = _count(text, 0x3040, 0x30FF)
    hangul = _count(text, 0xAC00, 0xD7AF) + _count(text, 0x1100, 0x11FF)
    han = _count(text, 0x4E00, 0x9FFF) + _count(text, 0x3400, 0x4DBF)
    words = _WORD_RE.findall(text)
    cjk = kana + hangul + han
    # A CJK text with some English terms in it is still a CJK text: compare characters
    # with words, since one Han character carries about one word.
    if cjk and cjk >= len(words) / 2:
        if kana and kana >= 0.05 * cjk:
            return "ja"
        if hangul >= han:
            return "ko"
        simplified = sum(1 for ch in text if ch in _SIMPLIFIED_SET)
        traditional = sum(1 for ch in text if ch in _TRADITIONAL_SET)
        return "zh-Hant" if traditional > simplified else "zh-Hans"
    lowered = [w.lower() for w in words]
    scores = {lang: sum(1 for w in lowered if w in stop) for lang, stop in _STOPWORDS.items()}
    for lang, marks in _HINTS.items():
        scores[lang] += sum(2 for ch in text.lower() if ch in marks)
    scores["fr"] += 2 * len(re.findall(r"\b[ldjqnsc]'[a-zà-ÿ]", text.lower()))
    best = max(scores, key=lambda lang: (scores[lang], lang == "en"))
    return best if scores[best] > 0 else "en"
