"""`tutor papers list|fetch` through `cli.cli.main`, against a local HTTP server."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from cli.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "corpus"))
from paperserver import serve_papers


def write_catalog(corpus_dir: Path, base_url: str) -> None:
    """A two-section roadmap and paper notes beside the tiny corpus (not indexed as such)."""
    (corpus_dir / "roadmap-en.md").write_text(
        "# Roadmap\n\n## Transformers\n\n"
        "- [RoFormer](https://arxiv.org/abs/2401.00001)\n"
        "- [Broken paper](https://arxiv.org/abs/2401.00002)\n"
        f"- [The Illustrated Tutorial]({base_url}/blog.html)\n\n"
        ":pencil: Self-check\n\n- Why is RoPE better than sinusoidal positional encoding?\n\n"
        "## Diffusion\n\n- [Missing paper](https://arxiv.org/abs/2401.00003)\n",
        encoding="utf-8",
    )
    (corpus_dir / "llm-paper-notes-en.md").write_text(
        "# Notes\n\n- [RoFormer](https://arxiv.org/abs/2401.00001) [Original Paper]\n",
        encoding="utf-8",
    )


def write_config(path: Path, corpus_dir: Path, base_url: str) -> Path:
    path.write_text(
        f'[corpus]\ndir = "{corpus_dir}"\n\n'
        f'[papers]\narxiv_base_url = "{base_url}"\nmin_interval_s = 0\ntimeout_s = 1.0\n',
        encoding="utf-8",
    )
    return path


def run(capsys, settings, base_url: str, *args: str) -> tuple[int, str, str]:
    config = write_config(
        settings.index.data_dir.parent / "config.toml", settings.corpus.dir, base_url
    )
    write_catalog(settings.corpus.dir, base_url)
    rc = main(["--config", str(config), "--data-dir", str(settings.index.data_dir), *args])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.integration
def test_list_json_and_section_filter(tiny_settings, capsys):
    rc, out, _ = run(capsys, tiny_settings, "http://127.0.0.1:9", "papers", "list", "--json")
    assert rc == 0
    papers = json.loads(out)
    ids = [p["id"] for p in papers]
    assert ids[:2] == ["arxiv:2401.00001", "arxiv:2401.00002"]
    assert ids[2].startswith("url:") and ids[3] == "arxiv:2401.00003" and len(ids) == 4
    first = papers[0]
    assert set(first) == {"id", "title", "url", "arxiv_id", "sections", "self_check", "fetched"}
    assert first["title"] == "RoFormer" and first["arxiv_id"] == "2401.00001"
    assert first["sections"] == ["Roadmap > Transformers", "Notes"]
    assert first["self_check"] == ["SQ01"] and first["fetched"] is False

    rc, out, _ = run(
        capsys, tiny_settings, "http://127.0.0.1:9", "papers", "list", "--section", "diffusion"
    )
    assert rc == 0
    assert "arxiv:2401.00003" in out and "2401.00001" not in out
    assert out.strip().splitlines()[-1] == "1 listed, 0 in the library (*)"


@pytest.mark.integration
def test_fetch_needs_exactly_one_selector_and_known_ids(tiny_settings, capsys):
    base = "http://127.0.0.1:9"
    rc, out, err = run(capsys, tiny_settings, base, "papers", "fetch")
    assert rc == 2 and "exactly one of --section S, --id ARXIV_ID or --all" in err
    rc, out, err = run(capsys, tiny_settings, base, "papers", "fetch", "--all", "--id", "x")
    assert rc == 2 and "exactly one" in err
    rc, out, err = run(capsys, tiny_settings, base, "papers", "fetch", "--id", "9999.99999")
    assert rc == 2 and "'9999.99999'" in err and "tutor papers list" in err
    rc, out, err = run(capsys, tiny_settings, base, "papers", "fetch", "--json", "--id", "1.2")
    assert rc == 2 and json.loads(out)["type"] == "ConfigError"
    # No index yet: said before anything is downloaded.
    rc, out, err = run(capsys, tiny_settings, base, "papers", "fetch", "--id", "2401.00001")
    assert rc == 2 and "tutor index build" in err
    assert not tiny_settings.papers_dir.exists() or not any(tiny_settings.papers_dir.iterdir())


@pytest.mark.integration
def test_fetch_downloads_indexes_and_resumes(tiny_index, capsys):
    settings = tiny_index
    with serve_papers() as server:
        base = server.base_url
        rc, out, _ = run(
            capsys, settings, base, "papers", "fetch", "--section", "transformers", "--json"
        )
        assert rc == 1  # the truncated PDF failed
        data = json.loads(out)
        status = {r["paper_id"]: r["status"] for r in data["papers"]}
        assert status["arxiv:2401.00001"] == "fetched"
        assert status["arxiv:2401.00002"] == "failed"
        assert list(status.values()).count("fetched") == 2  # the PDF and the HTML tutorial
        broken = next(r for r in data["papers"] if r["paper_id"] == "arxiv:2401.00002")
        assert "truncated or corrupt PDF" in broken["reason"]
        assert len(data["ingest"]["added"]) == 2 and data["ingest"]["errors"] == []
        assert "arxiv:2401.00003" not in status  # another section

        rc, out, _ = run(capsys, settings, base, "papers", "list", "--json")
        fetched = {p["id"] for p in json.loads(out) if p["fetched"]}
        assert len(fetched) == 2 and "arxiv:2401.00001" in fetched

        requests = server.total
        rc, out, _ = run(capsys, settings, base, "papers", "fetch", "--id", "2401.00001")
        assert rc == 0 and server.total == requests
        lines = out.strip().splitlines()
        assert lines[0].startswith("cached   arxiv:2401.00001  RoFormer (")
        assert "2 pages" in lines[0]
        assert lines[-1] == (
            "0 fetched, 1 cached, 0 failed, 0 skipped; "
            "indexed: 0 added, 0 replaced, 1 unchanged, 0 failed"
        )

        rc, out, _ = run(capsys, settings, base, "papers", "fetch", "--section", "Diffusion")
        assert rc == 1
        assert f"failed   arxiv:2401.00003  Missing paper: HTTP 404 Not Found from {base}" in out
        assert out.strip().splitlines()[-1] == "0 fetched, 0 cached, 1 failed, 0 skipped"

    rc, out, _ = run(capsys, settings, base, "search", "rotary position relative distance")
    assert rc == 0 and "arxiv-2401.00001.md" in out.splitlines()[0]
