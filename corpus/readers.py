"""Reading the learner's own files for `tutor ingest`.

Supported: .md, .txt (UTF-8 text), .html/.htm and .pdf. The returned
SourceDocument's `text` is what every offset of its chunks refers to:
- .md/.txt: the file decoded as UTF-8 with universal newlines, as for the corpus;
- .html/.htm: the visible text extracted with the standard html.parser (script,
  style and similar elements dropped, block elements on their own lines), NOT the
  markup: offsets refer to the extracted text;
- .pdf: the text pypdf extracts, one page after another joined with a form feed
  ("\\f"), so `page_of(text, offset)` recovers the page of any offset.
The document name is the resolved path (index.store.learner_doc_name), kind "learner".
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from core.errors import UnreadableDocumentError
from corpus.language import detect_language
from corpus.records import SourceDocument
from corpus.text import MD_HEADING_RE

TEXT_SUFFIXES = frozenset({".md", ".txt"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
PDF_SUFFIXES = frozenset({".pdf"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES
PAGE_BREAK = "\f"


def page_of(text: str, offset: int) -> int:
    """1-based page of `offset` in a text whose pages are joined with form feeds."""
    return text.count(PAGE_BREAK, 0, max(0, offset)) + 1


def _fail(path: Path, reason: str) -> UnreadableDocumentError:
    return UnreadableDocumentError(str(path), reason)


def _decode(path: Path, data: bytes) -> str:
    nul = data.find(b"\x00")
    if nul >= 0:
        raise _fail(
            path, f"binary content (NUL byte at offset {nul}); give a text, HTML or PDF file"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(
            path,
            f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} cannot be decoded; "
            "save the file as UTF-8",
        ) from exc
    # Universal newlines, like open(path, encoding="utf-8").read().
    return text.replace("\r\n", "\n").replace("\r", "\n")


_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "svg"})
_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "table",
        "section",
        "article",
        "header",
        "footer",
        "nav",
        "pre",
        "blockquote",
        "dt",
        "dd",
        "hr",
        "title",
    ]
)


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.title: list[str] = []
        self.in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self.in_title = True
        if tag in _SKIP_TAGS:
            self.skip += 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")
        if tag == "li" and not self.skip:
            self.parts.append("- ")
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6") and not self.skip:
            self.parts.append("#" * int(tag[1]) + " ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in _SKIP_TAGS and self.skip:
            self.skip -= 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
        if not self.skip:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(markup: str) -> tuple[str, str]:
    """(visible text, <title>) of an HTML page; headings keep a Markdown-like "# " mark."""
    parser = _VisibleText()
    parser.feed(markup)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    text = re.sub(r"^(#{1,6}) *$\n?", "", text, flags=re.MULTILINE)  # empty headings
    return text, " ".join("".join(parser.title).split())


def pdf_to_text(path: Path) -> tuple[str, str]:
    """(pages joined by form feeds, metadata title) of a PDF; broken/encrypted -> error."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    # pypdf logs its repairs of damaged files as warnings on stderr; what matters to the
    # learner is our one-line verdict on the file, so only its errors get through.
    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.ERROR)
    try:
        return _pdf_to_text(path, PdfReader, PdfReadError)
    finally:
        pypdf_log.setLevel(level)


def _pdf_to_text(path: Path, PdfReader: Any, PdfReadError: type[Exception]) -> tuple[str, str]:
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise _fail(path, "encrypted PDF: save a copy without a password and ingest that")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = ""
        if reader.metadata is not None and reader.metadata.title:
            title = str(reader.metadata.title)
    except UnreadableDocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, AssertionError) as exc:
        raise _fail(
            path, f"broken PDF ({type(exc).__name__}: {exc}); re-export or repair it"
        ) from exc
    except Exception as exc:  # pypdf raises assorted errors on damaged files
        if "decrypt" in str(exc).lower() or "encrypt" in str(exc).lower():
            raise _fail(path, f"encrypted PDF ({exc}); save a copy without a password") from exc
        raise _fail(
            path, f"broken PDF ({type(exc).__name__}: {exc}); re-export or repair it"
        ) from exc
    text = PAGE_BREAK.join(p.replace("\r\n", "\n").replace("\r", "\n") for p in pages)
    if not text.replace(PAGE_BREAK, "").strip():
        raise _fail(path, "PDF has no extractable text (scanned images?); run OCR on it first")
    return text, title


def _title(path: Path, text: str, given: str) -> str:
    if given.strip():
        return given.strip()
    heading = MD_HEADING_RE.search(text)
    if heading:
        return heading.group(2).strip()
    first = next((line.strip() for line in re.split(r"[\n\f]", text) if line.strip()), "")
    return first[:80] if 0 < len(first) <= 120 else path.stem


def read_learner_file(path: Path, max_bytes: int) -> SourceDocument:
    """Read one learner file; raise UnreadableDocumentError(path, reason) if it cannot be."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise _fail(
            path,
            f"unsupported file type {suffix or '(no extension)'!r}; "
            f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}",
        )
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise _fail(path, "no such file") from exc
    if size > max_bytes:
        raise _fail(
            path,
            f"file is {size:,} bytes, over the limit of {max_bytes:,} bytes "
            "(setting corpus.max_file_bytes); split it or raise the limit",
        )
    if size == 0:
        raise _fail(path, "file is empty")
    title = ""
    try:
        # Opened once before parsing, so an unreadable file is not reported as a broken PDF.
        with path.open("rb"):
            pass
    except OSError as exc:
        raise _fail(path, f"cannot be read ({exc.strerror or exc})") from exc
    if suffix in PDF_SUFFIXES:
        text, title = pdf_to_text(path)
    else:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise _fail(path, f"cannot be read ({exc})") from exc
        text = _decode(path, data)
        if not text.strip():
            raise _fail(path, "file holds only whitespace")
        if suffix in HTML_SUFFIXES:
            text, title = html_to_text(text)
            if not text.strip():
                raise _fail(path, "HTML page has no visible text")
    return SourceDocument(
        name=str(path.resolve()),
        path=path,
        title=_title(path, text, title),
        language=detect_language(text[:20_000]),
        kind="learner",
        text=text,
    )


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def iter_learner_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files to ingest: files as given; folders expanded recursively, sorted, skipping
    hidden files and folders and files of unsupported types (a file named explicitly is
    yielded whatever its type, so reading it reports why it is refused)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if (
                    child.is_file()
                    and not _hidden(child, path)
                    and child.suffix.lower() in SUPPORTED_SUFFIXES
                ):
                    yield child
        elif path.exists():
            yield path
        else:
            raise _fail(path, "no such file or folder")
