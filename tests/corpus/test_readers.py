from __future__ import annotations

import sys
from pathlib import Path

import pytest

from core.errors import UnreadableDocumentError
from corpus.readers import iter_learner_files, page_of, read_learner_file

sys.path.insert(0, str(Path(__file__).parent))
from pdfutil import minimal_pdf

LIMIT = 100_000


def _refused(path: Path, limit: int = LIMIT) -> str:
    with pytest.raises(UnreadableDocumentError) as info:
        read_learner_file(path, limit)
    assert info.value.path == str(path)
    return info.value.reason


@pytest.mark.unit
def test_bad_inputs_are_refused_with_a_reason(tmp_path):
    cases = {
        "image.png": (b"\x89PNG", "unsupported file type '.png'"),
        "empty.md": (b"", "empty"),
        "blank.txt": (b"  \n\t\n", "only whitespace"),
        "binary.txt": (b"abc\x00def", "NUL byte at offset 3"),
        "latin1.txt": ("caf\u00e9".encode("latin-1"), "offset 3"),
    }
    for name, (data, reason) in cases.items():
        (tmp_path / name).write_bytes(data)
        assert reason in _refused(tmp_path / name), name
    (tmp_path / "big.txt").write_text("x" * 200, encoding="utf-8")
    reason = _refused(tmp_path / "big.txt", limit=100)
    assert "200 bytes" in reason and "100 bytes" in reason


@pytest.mark.integration
def test_pdf_pages_and_broken_pdfs(tmp_path):
    good = tmp_path / "good.pdf"
    good.write_bytes(minimal_pdf(["Attention is all you need", "Second page here"]))
    doc = read_learner_file(good, LIMIT)
    assert doc.text.split("\f") == ["Attention is all you need", "Second page here"]
    assert page_of(doc.text, doc.text.index("Second")) == 2
    assert page_of(doc.text, 0) == 1
    assert doc.kind == "learner" and doc.name == str(good.resolve())
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(good.read_bytes()[:120])
    assert "broken PDF" in _refused(broken)
    blank = tmp_path / "blank.pdf"
    blank.write_bytes(minimal_pdf([""]))
    assert "no extractable text" in _refused(blank)
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=str(good))
    writer.encrypt("secret")
    locked = tmp_path / "locked.pdf"
    with open(locked, "wb") as handle:
        writer.write(handle)
    assert "encrypted" in _refused(locked)


@pytest.mark.unit
def test_html_visible_text_and_markdown(tmp_path):
    page = tmp_path / "p.html"
    page.write_text(
        "<html><head><title>My notes</title><style>p{color:red}</style></head><body>"
        "<script>var secret = 1;</script><h1>RoPE</h1><p>Rotary &amp; relative</p>"
        "<ul><li>one</li><li>two</li></ul></body></html>",
        encoding="utf-8",
    )
    doc = read_learner_file(page, LIMIT)
    assert doc.title == "My notes"
    assert "secret" not in doc.text and "color" not in doc.text
    assert "# RoPE" in doc.text and "Rotary & relative" in doc.text and "- two" in doc.text
    md = tmp_path / "n.md"
    md.write_text("# Título\r\n\r\n¿Por qué la atención es útil? Porque sí.\r\n", encoding="utf-8")
    doc = read_learner_file(md, LIMIT)
    with open(md, encoding="utf-8") as handle:
        assert doc.text == handle.read()
    assert doc.title == "Título" and doc.language == "es"


@pytest.mark.unit
def test_folders_expand_recursively_sorted_without_hidden(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "deep").mkdir()
    (tmp_path / ".hidden").mkdir()
    for rel in ["a.md", "b/c.txt", "b/deep/d.pdf", "b/skip.png", ".hidden/x.md", "b/.y.md"]:
        (tmp_path / rel).write_text("x", encoding="utf-8")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_learner_files([tmp_path])]
    assert found == ["a.md", "b/c.txt", "b/deep/d.pdf"]
    assert list(iter_learner_files([tmp_path / "b" / "skip.png"])) == [tmp_path / "b" / "skip.png"]
    with pytest.raises(UnreadableDocumentError):
        list(iter_learner_files([tmp_path / "missing"]))
