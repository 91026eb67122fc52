"""The CLI's error contract (README): one line on stderr, a JSON `error` object under
--json, exit 2 for a usage or input problem; never a traceback. Driven in-process through
`cli.cli.main` over a tiny index built with the fake embedder, with the fake chat model
entering through the Runtime, as in the other CLI tests."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from agent.runtime import Runtime
from cli import cli

pytestmark = pytest.mark.integration

FAKE_REPLY = "Multi-query attention shares one key and value head across all query heads [1]."


def assert_contract(rc: int, out: str, err: str, argv: tuple[str, ...], match: str = "") -> None:
    assert rc == 2, (argv, rc, out, err)
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert match in lines[0], lines[0]
    if "--json" in argv:
        assert json.loads(out)["error"]


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (("search",), "the following arguments are required: query"),
        (("search", "x", "--bogus"), "unrecognized arguments: --bogus"),
        (("search", "x", "--k", "abc", "--json"), "invalid int value: 'abc'"),
        (("hint", "--id", "SQ01", "--level", "9", "--json"), "invalid choice: 9"),
        (("nosuchcommand",), "invalid choice: 'nosuchcommand'"),
        (("grade", "--id", "SQ01", "--json"), "--answer"),
        (("grade", "--id", "SQ01", "--next", "--answer", "a"), "not allowed with argument"),
    ],
)
def test_usage_errors_follow_the_contract(fake_cli, argv, match):
    assert_contract(*fake_cli(*argv), argv, match)


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (("search", "caf\udce9"), "not valid UTF-8"),
        (("search", "attention", "--section", "\udcff", "--json"), "the value of --section"),
        (("ask", "\udc80\udc81", "--json"), "not valid UTF-8"),
        (("grade", "--id", "SQ10", "--answer", "\udce9t\udce9"), "the value of --answer"),
        (("grade", "--id", "SQ10", "--answer", "ok", "--profile", "b\udce9"), "--profile"),
        (("progress", "--profile", "\udcff", "--json"), "not valid UTF-8"),
        (("hint", "--id", "SQ\udc8001"), "not valid UTF-8"),
        (("chat", "--answer-language", "\udc80"), "not valid UTF-8"),
        (("quiz", "--section", "\udc80"), "not valid UTF-8"),
        (("ingest", "\udcff.md", "--json"), "not valid UTF-8"),
    ],
)
def test_invalid_utf8_in_any_argument_is_one_clear_line(fake_cli, argv, match):
    assert_contract(*fake_cli(*argv), argv, match)


@pytest.mark.parametrize(
    "argv",
    [
        ("grade", "--id", "SQ10", "--answer", "-", "--json"),
        (
            "grade",
            "--question",
            "What is the causal mask?",
            "--reference",
            "A mask.",
            "--answer",
            "-",
        ),
        ("quiz",),
    ],
)
def test_invalid_utf8_on_stdin_is_one_clear_line(fake_cli, argv):
    rc, out, err = fake_cli(*argv, stdin=b"caf\xe9 cr\xe8me\n")
    assert_contract(
        rc,
        out.split("\n")[-1] if argv == ("quiz",) else out,
        err,
        argv,
        "is not valid UTF-8 (byte 0xe9",
    )


def test_chat_reports_a_bad_line_and_carries_on(fake_cli):
    rc, out, err = fake_cli("chat", stdin=b"caf\xe9\n" + b"x" * 3000 + b"\n")
    assert rc == 0 and "Traceback" not in err
    assert out.count("error: ") == 2
    assert "not valid UTF-8" in out and "limits.max_question_chars" in out


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (("grade", "--id", "", "--answer", "x", "--json"), "--id is empty"),
        (("grade", "--id", "../../etc/x", "--answer", "x"), "is not a question id"),
        (("grade", "--id", "SQ10", "--answer", "x", "--profile", ""), "profile name cannot be"),
        (
            ("grade", "--id", "SQ10", "--answer", "x", "--profile", "p" * 100_000),
            "over the limit of 64 (setting limits.max_profile_chars)",
        ),
        (
            ("grade", "--id", "SQ10", "--answer", "a" * 40_001, "--json"),
            "limits.max_answer_input_chars",
        ),
        (("grade", "--question", "", "--answer", "x"), "--question is empty"),
        (("progress", "--profile", "", "--json"), "profile name cannot be empty"),
        (("progress", "--export", "/no/such/folder/p.csv"), "does not exist"),
        (("hint", "--id", ""), "--id is empty"),
        (("search", ""), "the query is empty"),
        (("search", "q" * 1_000_000, "--json"), "over the limit of 2,000"),
        (("search", "attention", "--k", "-1"), "limits.max_k"),
        (("search", "attention", "--k", "10000000", "--json"), "limits.max_k"),
        (("search", "noise", "--lang", "xx"), "no passages in language 'xx': the index holds"),
        (("search", "noise", "--doc", "nope.md"), "no document 'nope.md'"),
        (("ask", "", "--json"), "the question is empty"),
        (("ask", "q" * 100_000), "limits.max_question_chars"),
        (("ask", "What is multi-query attention?", "--lang", "xx"), "no passages in language"),
        (("ingest", ""), "an empty path"),
        (("ingest", "--remove", "", "--json"), "an empty path"),
    ],
)
def test_bad_inputs_are_errors_naming_the_problem(fake_cli, argv, match):
    start = time.monotonic()
    assert_contract(*fake_cli(*argv), argv, match)
    assert time.monotonic() - start < 5


def test_ingest_empty_folder_symlink_loop_and_broken_link(fake_cli, tmp_path):
    empty = tmp_path / "empty"
    (empty / ".hidden").mkdir(parents=True)
    (empty / "notes.docx").write_text("not ingestible")
    (empty / ".hidden" / "x.md").write_text("# hidden")
    argv = ("ingest", str(empty), "--json")
    assert_contract(*fake_cli(*argv), argv, "holds no .md, .txt, .html or .pdf file")
    loop = tmp_path / "loop.md"
    os.symlink(loop, loop)
    argv = ("ingest", str(loop))
    assert_contract(*fake_cli(*argv), argv, "symbolic link loop")
    broken = tmp_path / "broken.md"
    os.symlink(tmp_path / "gone.md", broken)
    argv = ("ingest", str(broken))
    assert_contract(*fake_cli(*argv), argv, "broken symbolic link")
    assert not (tmp_path / "gone.md").exists()


def test_a_normal_request_still_works(fake_cli, own_data_dir):
    data = own_data_dir()  # the first attempt of this learner data, whatever ran before
    rc, out, _ = fake_cli("search", "Gaussian noise diffusion", "--k", "2", "--json", data=data)
    assert rc == 0 and 1 <= len(json.loads(out)) <= 2
    argv = ("grade", "--id", "SQ10", "--answer", "a lower triangular mask", "--json")
    rc, out, _ = fake_cli(*argv, data=data)
    assert rc == 0 and json.loads(out)["attempt_id"] == 1
    rc, out, _ = fake_cli("progress", "--check", "--json", data=data)
    assert rc == 0 and json.loads(out)["ok"] is True and json.loads(out)["attempts"] == 1


# ------------------------------------------------------------------ model servers


@pytest.fixture
def silent_server():
    """A server on 127.0.0.1 that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                held.append(conn)  # read nothing, answer nothing
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    sock.close()


def _llm_config(fake_index, tmp_path, base_url: str, timeout_s: float) -> Path:
    config, _ = fake_index
    path = tmp_path / "llm.toml"
    path.write_text(
        config.read_text(encoding="utf-8")
        + f'[llm]\nbase_url = "{base_url}"\ntimeout_s = {timeout_s}\nconnect_timeout_s = 1.0\n'
        # The fake embedder's similarities are low: let `ask` get past the relevance gate.
        + "[agent]\nmin_relevance = 0.0\n",
        encoding="utf-8",
    )
    return path


def _real_runtime(monkeypatch):
    monkeypatch.setattr(cli, "Runtime", Runtime)  # the real chat model, not the fake


@pytest.mark.parametrize("grader", ["points", "llm", "combined"])
def test_grade_with_the_model_against_a_dead_server_is_one_line(
    fake_cli, fake_index, tmp_path, monkeypatch, grader
):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    _real_runtime(monkeypatch)
    config = _llm_config(fake_index, tmp_path, dead, 5.0)
    argv = (
        "grade",
        "--id",
        "SQ10",
        "--answer",
        "a lower triangular mask",
        "--grader",
        grader,
        "--json",
    )
    assert_contract(*fake_cli(*argv, config_path=config), argv, f"nothing answers at {dead}")


def test_a_hung_server_is_named_within_the_timeout(
    fake_cli, fake_index, tmp_path, monkeypatch, silent_server
):
    _real_runtime(monkeypatch)
    config = _llm_config(fake_index, tmp_path, silent_server, 1.0)
    for argv in (
        ("grade", "--id", "SQ10", "--answer", "a lower triangular mask", "--grader", "llm"),
        ("ask", "What is multi-query attention?", "--json"),
    ):
        start = time.monotonic()
        rc, out, err = fake_cli(*argv, config_path=config)
        assert time.monotonic() - start < 4
        assert_contract(
            rc, out, err, argv, f"the model server at {silent_server} did not answer in 1 s"
        )


def test_the_default_timeout_protects_the_learner():
    from core.settings import LLMSettings

    # A stuck server is named within a minute, not after two (the old default was 120 s).
    assert LLMSettings().timeout_s <= 60
