"""Fixtures of the CLI tests: an index of the shipped corpus built with the fake embedder,
and `fake_cli`, which drives `tutor.cli.main` in-process with the fake chat model."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tutor import cli
from tutor.runtime import Runtime

FAKE_REPLY = "Multi-query attention shares one key and value head across all query heads [1]."


@pytest.fixture(scope="module")
def fake_index(tmp_path_factory):
    """Config + data dir of an index of the shipped corpus (grading needs its question
    bank) built with the fake embedder: a few seconds, no model."""
    root = tmp_path_factory.mktemp("cli")
    config = root / "config.toml"
    config.write_text(
        '[embedder]\nbackend = "fake"\n[grading]\nprofile = "tester"\n', encoding="utf-8"
    )
    data = root / "data"
    assert cli.main(["--config", str(config), "--data-dir", str(data), "index", "build"]) == 0
    return config, data


@pytest.fixture
def fake_cli(fake_index, tmp_path, capsys, monkeypatch):
    """run(*argv, stdin=None) -> (rc, stdout, stderr) over a copy of the learner data."""
    config, data = fake_index
    monkeypatch.setattr(cli, "Runtime", lambda s: Runtime(s, fake_responses=[FAKE_REPLY]))
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()

    def go(*argv: str, stdin: bytes | None = None, config_path: Path | None = None):
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin), "utf-8"))
        base = ["--config", str(config_path or config), "--data-dir", str(data)]
        rc = cli.main([*base, *argv])
        out, err = capsys.readouterr()
        return rc, out, err

    return go
