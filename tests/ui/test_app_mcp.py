"""The web app as an MCP server: a real MCP client (the `mcp` package) over Gradio's
streamable HTTP transport calls search, ask, grade and hint on 127.0.0.1."""

from __future__ import annotations

import ast
import asyncio
import json

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FAKE_REPLY = (
    "Multi-query attention shares one key and value head across all query heads [1]. "
    "It shrinks the KV cache during decoding [1]."
)
GOOD_SQ03 = "A GRU has two gates and one state; an LSTM has three gates and a separate cell state."


def record(result):
    """A tool's result: one text content holding the record Gradio returned (as Python
    literal text, which is how Gradio's MCP server writes a dict)."""
    assert not result.isError, result.content
    (content,) = result.content
    return ast.literal_eval(content.text)


async def session_calls(url: str) -> dict:
    import httpx
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    out: dict = {}
    timeout = httpx.Timeout(60, read=300)  # a tool call waits for the model's reply
    async with (
        httpx.AsyncClient(timeout=timeout) as http,
        streamable_http_client(url, http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = (await session.list_tools()).tools
        out["tools"] = {t.name: t for t in tools}
        out["search"] = await session.call_tool(
            "search", {"query": "diffusion models add noise", "k": 2, "language": ""}
        )
        out["ask"] = await session.call_tool(
            "ask", {"question": "What is multi-query attention?", "history": "[]"}
        )
        out["grade"] = await session.call_tool(
            "grade", {"question_id": "SQ03", "answer": GOOD_SQ03, "learner": "mcp-ana"}
        )
        out["hint"] = await session.call_tool(
            "hint", {"question_id": "SQ03", "level": 2, "learner": "mcp-ana"}
        )
        out["bad_hint"] = await session.call_tool("hint", {"question_id": "SQ03", "level": 9})
    return out


def test_an_mcp_client_calls_search_ask_grade_and_hint(serve, practice_index, wait_ready):
    from gradio_client import Client

    from agent.progress import ProgressStore
    from agent.runtime import Runtime
    from ui.app import MCP_TOOLS, mcp_url

    assert practice_index.ui.mcp_server  # on by default
    url = serve(Runtime(practice_index, fake_responses=[FAKE_REPLY]))
    assert wait_ready(Client(url, verbose=False))["ready"]

    calls = asyncio.run(asyncio.wait_for(session_calls(mcp_url(url)), 300))

    assert set(MCP_TOOLS) <= set(calls["tools"])
    schema = calls["tools"]["grade"].inputSchema
    assert {"question_id", "answer", "learner"} <= set(schema["properties"])
    assert "Grade an answer" in (calls["tools"]["grade"].description or "")

    hits = record(calls["search"])
    assert len(hits) == 2 and all("diffus" in h["text"].lower() for h in hits)

    answer = record(calls["ask"])
    assert answer["abstained"] is False and answer["answer"].startswith("Multi-query attention")
    assert answer["citations"] and answer["sentences"][0]["citations"] == [1]

    report = record(calls["grade"])
    assert report["question_id"] == "SQ03" and report["score"] >= 3, report
    assert report["matched_question"]["question_id"] == "SQ03"
    with ProgressStore(practice_index.learner_db) as store:  # recorded, as /grade does
        assert [a.question_id for a in store.history("mcp-ana")] == ["SQ03"]

    hint = record(calls["hint"])
    assert hint["level"] == 2 and hint["text"]

    assert calls["bad_hint"].isError  # the library's check, as a tool error
    assert "level" in json.dumps([c.text for c in calls["bad_hint"].content])


def test_no_mcp_server_when_turned_off_or_behind_a_password(serve, tiny_index):
    import httpx

    from agent.runtime import Runtime
    from ui.app import mcp_enabled, mcp_url

    assert mcp_enabled(tiny_index, None)
    assert not mcp_enabled(tiny_index, ("u", "p"))  # Gradio's MCP endpoint skips the login
    off = tiny_index.model_copy(
        update={"ui": tiny_index.ui.model_copy(update={"mcp_server": False})}
    )
    assert not mcp_enabled(off, None)

    url = serve(Runtime(off, fake_responses=[FAKE_REPLY]))
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"accept": "application/json, text/event-stream"}
    reply = httpx.post(mcp_url(url), json=body, headers=headers, timeout=30)
    assert "tools" not in reply.text
