"""The ui modules' helpers and ui.streaming, without a server."""

from __future__ import annotations

import pytest

from core.errors import ConfigError, InputError, LLMUnreachableError
from ui.app import check_exposure, is_loopback, parse_auth
from ui.chat import history_of
from ui.common import error_message
from ui.render import Turn
from ui.streaming import stream_ask

pytestmark = pytest.mark.unit


def test_loopback_hosts():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert is_loopback("127.3.4.5")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    assert not is_loopback("example.org")


def test_exposure_needs_auth():
    check_exposure("127.0.0.1", None)
    check_exposure("0.0.0.0", ("u", "p"))
    with pytest.raises(ConfigError, match="--auth USER:PASSWORD"):
        check_exposure("0.0.0.0", None)
    with pytest.raises(ConfigError, match="share"):
        check_exposure("127.0.0.1", None, share=True)


def test_parse_auth():
    assert parse_auth("ann:s3:cret") == ("ann", "s3:cret")
    assert parse_auth(None) is None
    for bad in ("ann", ":x", "ann:"):
        with pytest.raises(ConfigError):
            parse_auth(bad)


def test_history_keeps_finished_turns_only():
    turns = [
        Turn("q1", answer={"answer": "a1"}),
        Turn("q2", error="down"),
        Turn("q3", answer={"answer": "a3"}),
    ]
    assert history_of(turns, 4) == [("q1", "a1"), ("q3", "a3")]
    assert history_of(turns, 1) == [("q3", "a3")]
    assert history_of(turns, 0) == []


def test_error_messages():
    assert error_message(LLMUnreachableError("nothing answers")) == "nothing answers"
    assert "keeps working" in error_message(ValueError("boom"))


def test_stream_ask_shows_the_sources_before_the_first_token():
    def ask(question, history, filters, on_token, on_context):
        on_context(["source 1", "source 2"], [])
        on_token("Hi")
        return {"done": question}

    events = list(stream_ask(ask, "q", min_interval=0.01))
    assert events[0].text == "" and events[0].sources == ("source 1", "source 2")
    assert events[1].text == "Hi" and events[1].sources == ("source 1", "source 2")
    assert events[-1].answer == {"done": "q"}


def test_stream_ask_streams_then_returns_the_answer():
    def ask(question, history, filters, on_token, on_context):
        for piece in ("Hel", "lo", "!"):
            on_token(piece)
        return {"done": question}

    events = list(stream_ask(ask, "q", min_interval=0.01))
    assert events[0].text == "Hel"  # the first token is shown at once
    assert events[-1].answer == {"done": "q"} and events[-1].text == "Hello!"
    assert all(e.answer is None for e in events[:-1])


def test_stream_ask_reraises_in_the_caller():
    def ask(question, history, filters, on_token, on_context):
        on_token("x")
        raise LLMUnreachableError("server gone")

    with pytest.raises(LLMUnreachableError, match="server gone"):
        list(stream_ask(ask, "q"))


def test_tutor_ui_refuses_other_interfaces_without_a_password(tmp_path):
    import argparse

    from agent.runtime import Runtime
    from cli import cmd_ui
    from core.settings import load_settings

    parser = argparse.ArgumentParser()
    handlers: dict = {}
    cmd_ui.register(parser.add_subparsers(dest="command"), handlers)
    args = parser.parse_args(["ui", "--host", "0.0.0.0", "--port", "7999"])
    overrides = {"index.data_dir": tmp_path, **args.settings_overrides(args)}
    runtime = Runtime(load_settings(overrides=overrides, environ={}))
    with pytest.raises(ConfigError, match="without a password"):
        handlers[args.handler_key](args, runtime)


@pytest.mark.unit
def test_a_hint_level_outside_1_to_3_is_a_clear_message(tmp_path):
    from agent.runtime import Runtime
    from core.settings import load_settings
    from ui.practice import hint_json

    rt = Runtime(load_settings(overrides={"index.data_dir": tmp_path}, environ={}))
    assert hint_json(rt, "SQ03", 2.0, "ana")["level"] == 2  # a JSON client's 2.0 is level 2
    for level in (9, 0, float("nan"), float("inf"), -float("inf"), 1.5, None, "2", True):
        with pytest.raises(InputError, match="the hint level must be") as err:
            hint_json(rt, "SQ03", level, "ana")
        assert "something went wrong" not in error_message(err.value)
