"""Structure-aware chunking of cleaned documents.

A document is first parsed into units (paragraphs, lists, code blocks, self-check
question lists), each tagged with the section it sits in; then the units of each
section are packed greedily into chunks of at most `max_tokens` (counted with the
embedder's tokenizer). Chunks never cross a section boundary.

- Sections: Markdown `#` headings (English files, study notes, learner .md); the plain
  heading lines of roadmap-es.txt, recognised from its table of contents, with their
  levels taken from the English original's outline (`outline`); one section per paper
  in llm-reading-list-fr.txt and per numbered item in llm-paper-notes-en.md (paper
  title last); short title-like lines in the two Chinese files; none in roadmap-ja.txt
  (its headings were lost, paragraph positions do not map reliably).
- A heading line is part of the first chunk of its section.
- Lists are split only between items (top-level items first, then nested ones).
- A self-check question list with its lead-in line is one chunk of its own, never
  split and never merged; the only chunk allowed to exceed `max_tokens` if a list ever
  did (none does at the default 220).
- A unit too large for one chunk is split at lines, then sentence ends (。！？； . ! ?),
  then clause marks (，、, ：:), then spaces, and only then between characters.
- Chunks under `min_tokens` merge into a neighbour of the same section when the result
  fits.
- Offsets: units are found in the cleaned text and mapped back with
  `CleanText.to_original`; the chunk text is the cleaned passage, trimmed.

The pieces: `corpus.units` (the units and their sections), `corpus.headings` (the
section finders of the plain texts), `corpus.packing` (splitting and packing); this
module picks the parser and finder for each document and makes the chunk records.
"""

from __future__ import annotations

from collections.abc import Sequence

from corpus.clean import clean_document, is_markdown
from corpus.headings import fr_entries, guessed_headings, markdown_outline, toc_headings
from corpus.packing import CountTokens, chunk_section, section_groups
from corpus.records import Chunk, CleanText, SourceDocument, chunk_id
from corpus.units import Unit, is_bullet, parse_lines, parse_markdown

# How a document's sections are found: declared per document in manifest.json
# ("structure"), so no file name or language is special-cased in the code.
STRUCTURES: dict[str, str] = {
    "markdown": "Markdown headings",
    "markdown-items": "Markdown headings, and each list item with a title is a section",
    "fr-entries": "one reading-list entry per section (a title line, then its fields)",
    "guessed-headings": "plain text whose short heading-like lines start sections",
    "toc": "plain text whose table of contents (or its original's outline) names the sections",
}


def structure_of(doc: SourceDocument) -> str:
    """The declared structure, else the one its file type implies (study notes and learner
    files declare none): Markdown for .md and HTML, a table of contents for plain text."""
    if doc.structure is not None:
        return doc.structure
    if is_markdown(doc) or doc.path.suffix.lower() in (".html", ".htm"):
        return "markdown"
    return "toc"


def parse_units(
    doc: SourceDocument, clean: CleanText, outline: Sequence[int] | None = None
) -> list[Unit]:
    """The units of one cleaned document, each with its section."""
    text = clean.text
    structure = structure_of(doc)
    if structure in ("markdown", "markdown-items"):
        return parse_markdown(text, item_sections=structure == "markdown-items")
    if structure == "fr-entries":
        return parse_lines(text, fr_entries(text))
    if structure == "guessed-headings":
        return parse_lines(text, guessed_headings(text))
    return parse_lines(text, toc_headings(text, outline))


def _note_extra(doc: SourceDocument) -> dict[str, str]:
    from core.errors import CorpusError
    from corpus.notes_meta import parse_note

    try:
        meta, _ = parse_note(doc.text, doc.name)
    except CorpusError:
        return {}
    return {"answers": ",".join(meta.answers), "topics": ",".join(meta.topics)}


def chunk_document(
    doc: SourceDocument,
    clean: CleanText,
    count_tokens: CountTokens,
    max_tokens: int,
    min_tokens: int,
    outline: Sequence[int] | None = None,
) -> list[Chunk]:
    """Chunks of one document (deterministic; ids from document name and original span).

    `outline`: heading levels of the original a plain-text translation follows (see
    `toc_headings`); `chunk_corpus` supplies it. Self-check chunks of roadmaps carry
    extra["self_check"] = "SQ01,SQ02,SQ03" (questions numbered in document order);
    study-note chunks carry extra["answers"] and extra["topics"] from the front matter;
    chunks of texts with form feeds (PDF pages) carry extra["page"] (1-based).
    """
    text = clean.text
    units = parse_units(doc, clean, outline)
    base_extra = _note_extra(doc) if doc.kind == "study-note" else {}
    chunks: list[Chunk] = []
    question = 0
    for group in section_groups(units):
        for (s, e), kind in chunk_section(text, group, count_tokens, max_tokens, min_tokens):
            start, end = clean.to_original(s, e)
            passage = text[s:e]
            extra = dict(base_extra)
            if kind == "self-check":
                n = sum(1 for line in passage.split("\n") if is_bullet(line))
                if doc.kind == "roadmap":
                    ids = [f"SQ{question + k + 1:02d}" for k in range(n)]
                    extra["self_check"] = ",".join(ids)
                question += n
            if "\f" in doc.text:
                extra["page"] = str(doc.text.count("\f", 0, start) + 1)
            chunks.append(
                Chunk(
                    id=chunk_id(doc.name, start, end),
                    source=doc.name,
                    text=passage,
                    section=group[0].section,
                    start=start,
                    end=end,
                    language=doc.language,
                    kind=doc.kind,
                    n_tokens=count_tokens(passage),
                    extra=extra,
                )
            )
    return chunks


def _outline_for(doc: SourceDocument, by_name: dict[str, SourceDocument]) -> list[int] | None:
    original = by_name.get(doc.translation_of or "")
    if original is None or not is_markdown(original) or is_markdown(doc):
        return None
    return markdown_outline(original.text)


def chunk_corpus(
    docs: Sequence[SourceDocument],
    count_tokens: CountTokens,
    max_tokens: int,
    min_tokens: int,
) -> list[Chunk]:
    """Clean and chunk every document, then link the parallel versions."""
    from corpus.parallel import link_parallel_versions

    by_name = {d.name: d for d in docs}
    chunks: list[Chunk] = []
    for doc in docs:
        chunks += chunk_document(
            doc,
            clean_document(doc),
            count_tokens,
            max_tokens,
            min_tokens,
            outline=_outline_for(doc, by_name),
        )
    return link_parallel_versions(chunks, list(docs))
