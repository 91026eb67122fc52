"""The paper manifest: written and read back whole; a broken one names the fix."""

from __future__ import annotations

import pytest

from core.errors import CorpusError
from corpus.paper_manifest import ManifestEntry, read_manifest, write_manifest

pytestmark = pytest.mark.unit


def entry(pid: str) -> ManifestEntry:
    return ManifestEntry(
        id=pid,
        url="https://export.arxiv.org/pdf/1706.03762",
        title="Attention is all you need",
        file="arxiv-1706.03762.pdf",
        text_file="arxiv-1706.03762.md",
        sha256="0" * 64,
        bytes=10,
        content_type="application/pdf",
        pages=2,
        fetched_at="2026-01-01T00:00:00+00:00",
    )


def test_round_trip_leaves_no_part_file(tmp_path):
    assert read_manifest(tmp_path) == {}
    entries = {"arxiv:1706.03762": entry("arxiv:1706.03762")}
    write_manifest(tmp_path, entries)
    assert read_manifest(tmp_path) == entries
    assert not list(tmp_path.glob("*.part"))


def test_a_broken_manifest_says_how_to_rebuild_it(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CorpusError, match="tutor papers fetch"):
        read_manifest(tmp_path)
