"""Cleaning: per-document deletions that keep a map back to the original text.

Every rule only deletes characters, never rewrites them, so each cleaned character
still has exactly one original offset and `CleanText.offsets` stays exact. Rules are
chosen by document name (the shipped corpus) or kind (study notes, learner files).

Rules, in order:
- multimodal-survey-news-zh-hant.txt: the spam first line, the page furniture from the
  editor line ("責任編輯", pinyin-annotated or not) to the end, "圖片" image placeholder
  lines, and pinyin annotations after CJK characters (`多模態(tài)` -> `多模態`).
- aigc-survey-notes-zh.txt: Zhihu link-card counters ("734 赞同 · 44 评论文章") and the
  scheme-less second copy of doubled URLs ("https://x.y/zx.y/z" -> "https://x.y/z").
- llm-reading-list-fr.txt: page furniture at the top (site name, "il y a un an",
  category, account name, "特色图像") and the "Suivez le compte officiel" calls.
- roadmap-es.txt / roadmap-ja.txt: dangling image-source link words.
- Markdown (roadmap-en.md, llm-paper-notes-en.md, study notes, learner .md): HTML tags
  and emoji shortcodes (":fire:"); links stay, the tutor shows them. Study notes also
  lose their YAML front matter (offsets still refer to the whole file).
- Everything: trailing spaces at line ends, runs of more than one blank line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from corpus.records import CleanText, SourceDocument

Span = tuple[int, int]
Rule = Callable[[str], list[Span]]

# A pinyin syllable: optional initial, a vowel group (tone marks allowed), optional coda.
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
_VOWEL = f"aeiouüv{_TONED}"
_SYLLABLE = rf"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?[{_VOWEL}]{{1,4}}(?:ng|n|r)?"
_PINYIN_RE = re.compile(rf"\(({_SYLLABLE}(?: {_SYLLABLE}){{0,3}})\)")
_TONE_RE = re.compile(f"[{_TONED}]")


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x2FFFF


def pinyin_spans(text: str) -> list[Span]:
    """Spans of "(pinyin)" annotations.

    A parenthesised group counts as pinyin when it holds one to four lowercase pinyin
    syllables and either carries a tone mark or directly follows a CJK character. It must
    not follow an ASCII letter or digit, so "(GPT-4)", "(CLIP)", "(closed-set)" or
    "(concept customization)" stay: they are upper case, hyphenated or not pinyin.
    """
    spans = []
    for match in _PINYIN_RE.finditer(text):
        before = text[match.start() - 1] if match.start() else ""
        if before and before.isascii() and before.isalnum():
            continue
        if _TONE_RE.search(match.group(1)) or (before and _is_cjk(before)):
            spans.append(match.span())
    return spans


def _line_spans(text: str, keep: Callable[[int, str], bool]) -> list[Span]:
    """Spans (with their newline) of the lines `keep(index, line)` rejects."""
    spans = []
    pos = 0
    for index, line in enumerate(text.split("\n")):
        end = pos + len(line)
        if not keep(index, line):
            spans.append((pos, min(end + 1, len(text))))
        pos = end + 1
    return spans


def _zh_hant_spam_and_furniture(text: str) -> list[Span]:
    spans: list[Span] = []
    first_line_end = text.find("\n")
    if first_line_end > 0:
        spans.append((0, first_line_end + 1))
    editor = re.search(r"^責(?:\([a-zü" + _TONED + r"]+\))?任編輯", text, re.MULTILINE)
    if editor is None:
        editor = re.search(r"^相關(?:\([^)\n]*\))?推薦", text, re.MULTILINE)
    if editor is not None:
        spans.append((editor.start(), len(text)))
    spans += _line_spans(text, lambda _, line: line.strip() != "圖片")
    return spans


_ZHIHU_CARD_RE = re.compile(r"\d+ 赞同 · \d+ 评论文章")
_URL_RE = re.compile(r"https?://[!-~]+")


def doubled_url_spans(text: str) -> list[Span]:
    """The second copy of URLs Zhihu doubled: "https://a.b/ca.b/c" (copy without scheme)."""
    spans = []
    for match in _URL_RE.finditer(text):
        url = match.group(0).rstrip(".,;:)]'\"")
        body = url.split("://", 1)[1]
        half, odd = divmod(len(body), 2)
        if not odd and half and body[:half] == body[half:]:
            spans.append((match.start() + len(url) - half, match.start() + len(url)))
            continue
        # "https://www.x.y/zx.y/z": the copy also lost the "www."
        bare = body.removeprefix("www.")
        if bare != body and len(bare) % 2 == 0 and bare[: len(bare) // 2] == bare[len(bare) // 2 :]:
            spans.append((match.start() + len(url) - len(bare) // 2, match.start() + len(url)))
    return spans


def _zh_zhihu(text: str) -> list[Span]:
    return [m.span() for m in _ZHIHU_CARD_RE.finditer(text)] + doubled_url_spans(text)


_FR_FURNITURE = frozenset({"HyperAI", "il y a un an", "Information", "zhaorui", "特色图像"})


def _fr_furniture(text: str) -> list[Span]:
    # Only the page header (first ten lines) holds furniture; "Information" could be a word.
    return _line_spans(
        text,
        lambda i, line: (
            not (
                (i < 10 and line.strip() in _FR_FURNITURE)
                or line.startswith("Suivez le compte officiel")
            )
        ),
    )


def _dangling_image_source(text: str) -> list[Span]:
    return [
        m.span()
        for m in re.finditer(r" ?\[(?:fuente de imágenes|fuente de imagen|画像ソース)\]", text)
    ]


_HTML_TAG_RE = re.compile(r"</?[a-zA-Z][^<>\n]*>")
_EMOJI_RE = re.compile(r"(?<!\S):[a-z_]+:(?!\S) ?")
_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n.*?\n---[ \t]*(?:\n|\Z)", re.DOTALL)


def _markdown(text: str) -> list[Span]:
    return [m.span() for m in _HTML_TAG_RE.finditer(text)] + [
        m.span() for m in _EMOJI_RE.finditer(text)
    ]


def _front_matter(text: str) -> list[Span]:
    match = _FRONT_MATTER_RE.match(text)
    return [match.span()] if match else []


def _whitespace(text: str) -> list[Span]:
    spans = [m.span() for m in re.finditer(r"[ \t]+(?=\n|\Z)", text)]
    # Keep one blank line between blocks; drop leading and trailing blank lines.
    spans += [(m.start() + 2, m.end()) for m in re.finditer(r"\n{3,}", text)]
    lead = re.match(r"\s+", text)
    if lead:
        spans.append(lead.span())
    trail = re.search(r"\s+\Z", text)
    if trail:
        spans.append(trail.span())
    return spans


RULES_BY_NAME: dict[str, tuple[Rule, ...]] = {
    "multimodal-survey-news-zh-hant.txt": (_zh_hant_spam_and_furniture, pinyin_spans),
    "aigc-survey-notes-zh.txt": (_zh_zhihu,),
    "llm-reading-list-fr.txt": (_fr_furniture,),
    "roadmap-es.txt": (_dangling_image_source,),
    "roadmap-ja.txt": (_dangling_image_source,),
}


def is_markdown(doc: SourceDocument) -> bool:
    return doc.kind == "study-note" or doc.path.suffix.lower() in {".md", ".markdown"}


def rules_for(doc: SourceDocument) -> tuple[Rule, ...]:
    rules = RULES_BY_NAME.get(doc.name, ())
    if doc.kind == "study-note":
        rules = (_front_matter, *rules)
    if is_markdown(doc):
        rules = (*rules, _markdown)
    return rules


def identity(text: str) -> CleanText:
    return CleanText(text, (*range(len(text)), len(text)))


def delete_spans(clean: CleanText, spans: Iterable[Span]) -> CleanText:
    """Remove `spans` (cleaned-text coordinates, may overlap) and compose the offset map."""
    text = clean.text
    drop = [False] * len(text)
    for start, end in spans:
        for i in range(max(start, 0), min(end, len(text))):
            drop[i] = True
    keep = [i for i in range(len(text)) if not drop[i]]
    new_text = "".join(text[i] for i in keep)
    offsets = [clean.offsets[i] for i in keep]
    sentinel = offsets[-1] + 1 if offsets else clean.offsets[0]
    return CleanText(new_text, (*offsets, sentinel))


def clean_with(text: str, rules: Iterable[Rule]) -> CleanText:
    clean = identity(text)
    for rule in (*rules, _whitespace):
        clean = delete_spans(clean, rule(clean.text))
    return clean


def clean_document(doc: SourceDocument) -> CleanText:
    """The cleaned text of `doc` with its map back to `doc.text` (pure)."""
    return clean_with(doc.text, rules_for(doc))


def removed_report(doc: SourceDocument) -> dict[str, int]:
    """Characters each rule removed from `doc` (for reports and tests)."""
    counts: dict[str, int] = {}
    clean = identity(doc.text)
    for rule in (*rules_for(doc), _whitespace):
        before = len(clean.text)
        clean = delete_spans(clean, rule(clean.text))
        counts[rule.__name__.lstrip("_")] = before - len(clean.text)
    return counts
