"""A bounded fuzz of the web API (what `gradio_client` users and the MCP tools call):
generated hostile values (the CLI fuzz's strings, wrong types, huge and empty values) sent
to /search, /ask, /grade and /hint of a running app with the canned model. Whatever the
input: the call answers or fails with a message that names the problem (never a Python
traceback or an empty error), an input over a bound is always refused, and the app
answers a normal request afterwards."""

from __future__ import annotations

import random

import pytest

from tests.cli.test_fuzz import HOSTILE

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEED = 17
N_CALLS = 120
WRONG_TYPES = [None, -1, 0, 10**18, 2.5, True, [], {}, ["SQ10"], {"a": 1}]  # JSON has no NaN


# A lone surrogate cannot be encoded as UTF-8 JSON, so no HTTP client can send one (the
# CLI fuzz covers them); every other hostile string goes over the wire.
STRINGS = [s for s in HOSTILE if not any(0xD800 <= ord(c) <= 0xDFFF for c in s)]


def _value(rng: random.Random) -> object:
    return rng.choice(STRINGS) if rng.random() < 0.75 else rng.choice(WRONG_TYPES)


def _too_long(value: object, bound: int) -> bool:
    return isinstance(value, str) and len(value) > bound


def calls(rng: random.Random) -> list[tuple[str, tuple[object, ...], bool]]:
    """(endpoint, arguments, must_fail)."""
    out = []
    for _ in range(N_CALLS):
        kind = rng.choice(["/search", "/ask", "/grade", "/hint"])
        if kind == "/search":
            q, k, lang = _value(rng), rng.choice([5, _value(rng)]), rng.choice(["", _value(rng)])
            out.append((kind, (q, k, lang), _too_long(q, 2000)))
        elif kind == "/ask":
            q = _value(rng)
            args = (q, rng.choice(["[]", _value(rng)]), rng.choice(["", "en", _value(rng)]))
            out.append((kind, args, _too_long(q, 2000)))
        elif kind == "/grade":
            qid, answer, who = rng.choice(["SQ10", _value(rng)]), _value(rng), rng.choice(["fz", _value(rng)])
            out.append((kind, (qid, answer, who), _too_long(answer, 40_000) or _too_long(who, 64)))
        else:
            qid, level, who = rng.choice(["SQ10", _value(rng)]), rng.choice([1, _value(rng)]), rng.choice(["fz", _value(rng)])
            out.append((kind, (qid, level, who), _too_long(who, 64)))
    return out


def test_hostile_api_calls_get_clear_answers_and_the_app_keeps_serving(fake_app, wait_ready):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(fake_app, verbose=False)
    assert wait_ready(client)["ready"]
    refused = answered = 0
    for endpoint, args, must_fail in calls(random.Random(SEED)):
        try:
            client.predict(*args, api_name=endpoint)
        except AppError as exc:
            message = str(exc)
            assert message.strip() and message != "None", (endpoint, args)
            assert "Traceback" not in message and "Error(" not in message, (endpoint, message)
            refused += 1
            continue
        assert not must_fail, (endpoint, [str(a)[:40] for a in args])
        answered += 1
    assert refused and answered  # the generator reaches both outcomes
    hits = client.predict("diffusion models add noise", 2, "", api_name="/search")
    assert 1 <= len(hits) <= 2
