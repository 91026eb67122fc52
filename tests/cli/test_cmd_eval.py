"""`tutor eval ...` through the real CLI entry point."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cli.cli import build_parser, main


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def judge_stub() -> Iterator[tuple[str, list[str]]]:
    """An OpenAI-compatible endpoint that answers "yes" when the claim mentions Paris."""
    prompts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            prompt = body["messages"][-1]["content"]
            prompts.append(prompt)
            claim = prompt.split("Claim:")[-1]
            reply = {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {
                            "role": "assistant",
                            "content": "Yes" if "Paris" in claim else "No",
                        },
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", prompts
    finally:
        server.shutdown()


@pytest.mark.unit
def test_eval_without_action_defaults_to_run_and_actions_parse() -> None:
    parser, handlers = build_parser()
    assert parser.parse_args(["eval"]).handler_key == "eval run"
    args = parser.parse_args(["eval", "--subset", "3", "--judge-url", "http://j/v1"])
    assert (args.handler_key, args.subset) == ("eval run", 3)
    assert args.settings_overrides(args)["evals.judge_base_url"] == "http://j/v1"
    assert parser.parse_args(["eval", "run", "--subset", "2"]).subset == 2
    assert parser.parse_args(["eval", "--json", "run"]).json is True
    assert parser.parse_args(["eval", "judge", "--data", "x.jsonl"]).handler_key == "eval judge"
    assert parser.parse_args(["eval", "compare", "a", "b"]).handler_key == "eval compare"
    for key in ("eval run", "eval judge", "eval compare", "eval history", "eval retrieval"):
        assert key in handlers


@pytest.mark.integration
def test_eval_judge_prints_balanced_accuracy_and_writes_validation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], judge_stub: tuple[str, list[str]]
) -> None:
    url, prompts = judge_stub
    rows = [
        {
            "id": "1",
            "knowledge": "Paris is in France.",
            "response": "Paris is in France.",
            "attributable": True,
        },
        {
            "id": "2",
            "knowledge": "Rome is in Italy.",
            "response": "Rome is in Spain.",
            "attributable": False,
        },
        {
            "id": "3",
            "knowledge": "Paris is big.",
            "response": "Paris is the capital of Peru.",
            "attributable": False,
        },
    ]
    data = tmp_path / "begin.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out_file = tmp_path / "validation.json"
    judge_args = [
        "--data-dir",
        str(tmp_path / "d"),
        "eval",
        "judge",
        "--data",
        str(data),
        "--judge-url",
        url,
        "--judge-model",
        "stub",
        "--judges",
        "llm",
    ]
    code, out, _ = run_cli(capsys, *judge_args, "--write", str(out_file), "--json")
    assert code == 0
    result = json.loads(out)
    # tp 1, tn 1, fp 1 (the Peru claim mentions Paris) -> (1/1 + 1/2) / 2
    assert result["balanced_accuracy"] == pytest.approx(0.75)
    assert result["datasets"]["begin"]["confusion"] == {"tp": 1, "fp": 1, "tn": 1, "fn": 0}
    assert json.loads(out_file.read_text(encoding="utf-8"))["balanced_accuracy"] == 0.75
    assert len(prompts) == 3

    # A second run is served from the judge cache: no request reaches the endpoint.
    code, out, _ = run_cli(capsys, *judge_args)
    assert code == 0 and "balanced_accuracy 0.750" in out
    assert len(prompts) == 3

    # Both judges side by side on the same items: the support model makes no model call,
    # and says whether the file was among its training sets.
    code, out, _ = run_cli(capsys, *judge_args[:-1], "both", "--json")
    both = json.loads(out)["judges"]
    assert set(both) == {"support", "llm"} and len(prompts) == 3
    begin = {kind: both[kind]["datasets"]["begin"] for kind in both}
    assert begin["support"]["calls"] == 0 and begin["support"]["in_training_data"] is False
    assert begin["support"]["n"] == begin["llm"]["n"] == 3
    assert both["support"]["judge"]["kind"] == "support model"


@pytest.mark.integration
def test_eval_judge_bad_file_is_a_clean_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], judge_stub: tuple[str, list[str]]
) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text('{"response": "x", "knowledge": "y", "attributable": "no"}\n', "utf-8")
    code, _, err = run_cli(
        capsys,
        "--data-dir",
        str(tmp_path),
        "eval",
        "judge",
        "--data",
        str(data),
        "--judge-url",
        judge_stub[0],
    )
    assert code == 2
    assert "line 1, field 'attributable'" in err


def _fake_run(root: Path, name: str, faith: float, abstained: bool) -> Path:
    run = root / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"run_id": name}), encoding="utf-8")
    record = {
        "id": "SQ01",
        "answerable": True,
        "abstained": abstained,
        "metrics": {"faithfulness": faith, "answer_f1": 0.5},
    }
    (run / "records.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    (run / "summary.json").write_text(json.dumps({"faithfulness": faith}), encoding="utf-8")
    return run


@pytest.mark.unit
def test_eval_compare_and_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _fake_run(tmp_path, "a", 0.9, False)
    b = _fake_run(tmp_path, "b", 0.5, True)
    code, out, _ = run_cli(
        capsys, "--data-dir", str(tmp_path / "d"), "eval", "compare", str(a), str(b), "--json"
    )
    assert code == 1
    cmp = json.loads(out)
    assert cmp["metrics"]["faithfulness"]["regression"] is True
    assert cmp["questions"][0]["regressions"] == [
        "faithfulness 0.90 -> 0.50",
        "answerable question now declined",
    ]
    code, out, _ = run_cli(
        capsys, "--data-dir", str(tmp_path / "d"), "eval", "compare", str(a), str(a)
    )
    assert code == 0 and "0 regression(s)" in out

    code, out, _ = run_cli(capsys, "--data-dir", str(tmp_path / "d"), "eval", "history", "--json")
    assert code == 0 and json.loads(out) == []

    code, _, err = run_cli(
        capsys,
        "--data-dir",
        str(tmp_path / "d"),
        "eval",
        "compare",
        str(a),
        str(tmp_path / "missing"),
    )
    assert code == 2 and "not an eval run folder" in err


@pytest.mark.integration
def test_eval_retrieval_scores_each_mode(
    tmp_path: Path, tiny_index, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = [
        {
            "id": "gqa",
            "query": "grouped-query attention key/value groups",
            "language": "en",
            "gold": [{"source": "guide-en.md", "substring": "Grouped-query attention (GQA)"}],
            "tags": ["en"],
        },
        {
            "id": "rnn",
            "query": "循环神经网络 隐藏状态",
            "language": "zh-Hans",
            "gold": [{"source": "notes-zh.txt", "substring": "循环神经网络（RNN）"}],
            "tags": ["zh"],
        },
    ]
    rset = tmp_path / "retrieval.jsonl"
    rset.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), "utf-8")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[corpus]\ndir = "{tiny_index.corpus.dir}"\n[evals]\nretrieval_set = "{rset}"\n', "utf-8"
    )
    code, out, _ = run_cli(
        capsys,
        "--config",
        str(config),
        "--data-dir",
        str(tiny_index.index.data_dir),
        "eval",
        "retrieval",
        "--json",
    )
    assert code == 0
    result = json.loads(out)
    assert set(result) == {"dense", "bm25", "hybrid"}
    for mode in result.values():
        assert mode["n_cases"] == 2
        assert 0.0 <= mode["mrr"] <= mode["recall@5"] <= 1.0
    assert result["hybrid"]["recall@5"] == 1.0


@pytest.mark.unit
def test_naming_a_judge_endpoint_selects_the_llm_judge() -> None:
    import argparse

    from cli.cmd_eval import _judge_overrides

    given = _judge_overrides(argparse.Namespace(judge_url="http://127.0.0.1:9/v1", judge_model=None))
    assert given["evals.judge"] == "llm"
    assert _judge_overrides(argparse.Namespace(judge_url=None, judge_model=None))["evals.judge"] is None
