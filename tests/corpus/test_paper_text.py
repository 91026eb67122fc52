"""A downloaded paper's text: page breaks kept as form feeds, broken files refused."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from core.errors import PaperFetchError
from corpus.paper_text import extract_text, paper_text
from corpus.readers import page_of

sys.path.insert(0, str(Path(__file__).parent))
from paperserver import PAGE_TWO, good_pdf


@pytest.mark.unit
def test_paper_text_keeps_one_form_feed_per_page_break():
    text = paper_text("  Attention\n is all ", "page one\nmore\fpage two\f\fpage four")
    assert text.startswith("# Attention is all\n\n")
    assert text.count("\f") == 3
    # A page break is a blank line to the chunker, so passages tend to start on a page.
    assert "page one\nmore\n\f\npage two\n\f\n\n\f\npage four\n" in text
    assert page_of(text, text.index("page two")) == 2
    assert page_of(text, text.index("page four")) == 4
    assert page_of(text, text.index("page one")) == 1


@pytest.mark.unit
def test_extract_text_refuses_broken_or_unexpected_files(tmp_path):
    url = "http://127.0.0.1:9/x"
    cases = {
        # whole by its end marker, garbage inside: pypdf is what notices
        "garbled.pdf": (b"%PDF-1.4\n1 0 obj\n<< /Type /Cat" + b"\n%%EOF\n", "application/pdf"),
        "short.pdf": (good_pdf()[:300], "application/pdf"),
        "fake.pdf": (b"<html>not a pdf</html>", "application/pdf"),
        "empty.html": (b"<html><script>x()</script></html>", "text/html"),
        "image.png": (b"\x89PNG....", "image/png"),
    }
    expected = {
        "garbled.pdf": "truncated or corrupt PDF",
        "short.pdf": "truncated or corrupt PDF",
        "fake.pdf": "truncated or corrupt PDF",
        "empty.html": "no visible text",
        "image.png": "image/png",
    }
    for name, (data, ctype) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(PaperFetchError) as info:
            extract_text(tmp_path / name, ctype, url)
        assert expected[name] in str(info.value) and url in str(info.value), name
    (tmp_path / "ok.pdf").write_bytes(good_pdf())
    text, kind, pages = extract_text(tmp_path / "ok.pdf", "application/octet-stream", url)
    assert (kind, pages) == ("pdf", 2) and text.split("\f")[1] == PAGE_TWO
