"""Fixtures of the CLI tests: an index of the shipped corpus built with the fake embedder,
and `fake_cli`, which drives `cli.cli.main` in-process with the fake chat model."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from agent.runtime import Runtime
from cli import cli

FAKE_REPLY = "Multi-query attention shares one key and value head across all query heads [1]."


@pytest.fixture(scope="module")
def fake_index(tmp_path_factory):
    """Config + data dir of an index of the shipped corpus (grading needs its question
    bank) built with the fake embedder: a few seconds, no model."""
    root = tmp_path_factory.mktemp("cli")
    config = root / "config.toml"
    config.write_text(
        '[embedder]\nbackend = "fake"\n[grading]\nprofile = "tester"\ngrader = "deterministic"\n', encoding="utf-8"
    )
    data = root / "data"
    assert cli.main(["--config", str(config), "--data-dir", str(data), "index", "build"]) == 0
    return config, data


@pytest.fixture
def fake_cli(fake_index, tmp_path, capsys, monkeypatch):
    """run(*argv, stdin=None, data=None) -> (rc, stdout, stderr). The data dir (index and
    learner data) is shared by the module's tests unless `data` names another: a test
    that counts attempts passes its own (`own_data_dir`)."""
    config, shared = fake_index
    monkeypatch.setattr(cli, "Runtime", lambda s: Runtime(s, fake_responses=[FAKE_REPLY]))
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()

    def go(
        *argv: str,
        stdin: bytes | None = None,
        config_path: Path | None = None,
        data: Path | None = None,
    ):
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin), "utf-8"))
        base = ["--config", str(config_path or config), "--data-dir", str(data or shared)]
        rc = cli.main([*base, *argv])
        out, err = capsys.readouterr()
        return rc, out, err

    return go


LEARNER_FILES = ("learners.sqlite*", "backups", "exports")


@pytest.fixture
def own_data_dir(fake_index, tmp_path):
    """make() -> a data dir of this test's own: a copy of the module's index without any
    learner data, so what a test records does not depend on what ran before it."""

    def make() -> Path:
        _, shared = fake_index
        target = tmp_path / "own-data"
        shutil.copytree(shared, target, ignore=shutil.ignore_patterns(*LEARNER_FILES))
        return target

    return make
