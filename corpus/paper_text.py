"""A downloaded paper's text: extracted from its PDF or HTML, then stored as the file
that gets indexed (`papers_dir/text/<safe id>.md`).

The stored text is "# <catalog title>" and the extracted text; PDF pages stay joined by
form feeds, so chunks carry their page number.
"""

from __future__ import annotations

import re
from pathlib import Path

from core.errors import PaperFetchError, UnreadableDocumentError
from corpus.paper_manifest import atomic_write
from corpus.readers import PAGE_BREAK, html_to_text, pdf_to_text

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def paper_text(title: str, text: str) -> str:
    """The indexed text: a title heading (so the document is named after the paper),
    then the extracted text. Each PDF page break becomes a form feed on a line of its
    own: `page_of` still counts pages, and the chunker sees a blank line there, so
    passages tend to start at a page boundary instead of straddling it."""
    heading = " ".join(title.split()) or "Untitled"
    pages = [page.strip("\n") for page in text.split(PAGE_BREAK)]
    body = f"\n{PAGE_BREAK}\n".join(pages).strip(" \n")
    return f"# {heading}\n\n{body}\n"


def _charset(content_type: str) -> str:
    match = re.search(r"charset=\"?([\w.:-]+)", content_type, re.IGNORECASE)
    return match.group(1) if match else "utf-8"


def extract_text(path: Path, content_type: str, url: str) -> tuple[str, str, int | None]:
    """(text, kind "pdf"|"html", pages) of a downloaded file; raises PaperFetchError if unusable.

    A PDF must be whole (the %%EOF marker within its last bytes) and readable page by
    page; HTML must be served as HTML and hold visible text.
    """
    with path.open("rb") as fh:
        head = fh.read(1024)
        fh.seek(max(0, path.stat().st_size - 2048))
        tail = fh.read()
    mime = content_type.split(";")[0].strip().lower()
    if head.startswith(b"%PDF"):
        if b"%%EOF" not in tail:
            raise PaperFetchError(f"truncated or corrupt PDF from {url}: no %%EOF at its end")
        try:
            text, _ = pdf_to_text(path)
        except UnreadableDocumentError as exc:
            if "no extractable text" in exc.reason:
                raise PaperFetchError(f"{url}: {exc.reason}") from exc
            raise PaperFetchError(f"truncated or corrupt PDF from {url}: {exc.reason}") from exc
        return text, "pdf", text.count(PAGE_BREAK) + 1
    if mime in HTML_TYPES:
        markup = path.read_bytes().decode(_charset(content_type), errors="replace")
        text, _ = html_to_text(markup)
        if not text.strip():
            raise PaperFetchError(f"{url}: the HTML page has no visible text")
        return text, "html", None
    if mime == "application/pdf":
        raise PaperFetchError(f"truncated or corrupt PDF from {url}: it does not start with %PDF")
    raise PaperFetchError(
        f"{url} served {mime or 'no content type'}, not a PDF or an HTML page; "
        "open it in a browser instead"
    )


def write_text(text_dir: Path, sid: str, title: str, text: str) -> Path:
    """Store a paper's indexed text (`paper_text`) as `text_dir/<sid>.md`, atomically."""
    text_dir.mkdir(parents=True, exist_ok=True)
    target = text_dir / f"{sid}.md"
    atomic_write(target, paper_text(title, text))
    return target
