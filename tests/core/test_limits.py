"""The input checks every library entry point shares (core/limits.py, agent/limits.py)."""

from __future__ import annotations

import time

import pytest

from agent.limits import check_answer, check_question, check_question_id
from core.errors import ConfigError, InputError
from core.limits import check_count, check_profile, check_text, check_utf8
from core.settings import Settings, load_settings

pytestmark = pytest.mark.unit


def test_text_over_the_bound_names_the_setting_and_is_refused_at_once():
    huge = "a" * 10_000_000
    start = time.perf_counter()
    with pytest.raises(
        InputError,
        match=r"10,000,000 characters, over the limit of 2,000 "
        r"\(setting limits.max_query_chars\)",
    ):
        check_text(huge, "the query", 2000, "limits.max_query_chars")
    assert time.perf_counter() - start < 0.05


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("", "is empty"),
        ("  \n\t", "is empty"),
        ("caf\udce9", r"not valid UTF-8 \(byte 0xe9 at character 4\)"),
        ("\ud800x", "not valid UTF-8"),
        ("a\0b", "NUL"),
        (None, "must be text, got NoneType"),
        (42, "must be text, got int"),
        (["q"], "must be text, got list"),
    ],
)
def test_bad_text_is_an_input_error(value, match):
    with pytest.raises(InputError, match=match):
        check_text(value, "the query", 2000, "limits.max_query_chars")


def test_good_text_passes_unchanged():
    assert check_text("¿Qué es LoRA? 多头注意力", "q", 100, "x") == "¿Qué es LoRA? 多头注意力"
    assert check_text("", "the answer", 100, "x", allow_empty=True) == ""
    assert check_utf8("emoji 🎉", "q") == "emoji 🎉"


@pytest.mark.parametrize("value", [0, -1, 51, 10_000_000, True, 2.0, "5", None])
def test_k_outside_its_bounds_or_not_a_whole_number(value):
    with pytest.raises(InputError, match="k"):
        check_count(value, "k", 1, 50, "limits.max_k")


def test_profile_names():
    assert check_profile("  ana ", 64) == "ana"
    for bad, match in [
        ("", "cannot be empty"),
        ("   ", "cannot be empty"),
        ("x" * 65, "over the limit of 64"),
        ("a\nb", "one line"),
        ("a\x07b", "printable"),
    ]:
        with pytest.raises(InputError, match=match):
            check_profile(bad, 64)


def test_question_ids_never_reach_a_path_unchecked():
    assert check_question_id(" sq03 ") == "SQ03"
    for bad in ["", "  ", "../../etc/passwd", "SQ01\0", "x" * 100, "SQ\udc8001"]:
        with pytest.raises(InputError):
            check_question_id(bad)
    with pytest.raises(InputError):
        check_question_id(None)


def test_question_and_history_bounds():
    s = Settings()
    check_question("What is GQA?", [("What is MQA?", "One KV head.")], s)
    with pytest.raises(InputError, match="limits.max_question_chars"):
        check_question("x" * 2001, (), s)
    with pytest.raises(InputError, match="pairs"):
        check_question("q", [("only one",)], s)
    with pytest.raises(InputError, match="pairs"):
        check_question("q", "not a list", s)
    with pytest.raises(InputError, match="limits.max_history_chars"):
        check_question("q", [("a" * 15_000, "b" * 15_000)], s)


def test_answer_bound_is_ten_times_the_truncation_limit():
    s = Settings()
    assert s.limits.max_answer_input_chars == 10 * s.grading.max_answer_chars
    assert check_answer("x" * 40_000, s)
    with pytest.raises(InputError, match="limits.max_answer_input_chars"):
        check_answer("x" * 40_001, s)


def test_the_answer_bound_cannot_be_set_below_the_truncation_limit():
    with pytest.raises(ConfigError, match="max_answer_input_chars"):
        load_settings(
            overrides={"limits.max_answer_input_chars": 500, "grading.max_answer_chars": 4000},
            environ={},
        )
