"""The Chat tab: a conversation with the tutor, streamed, with its sources shown."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from core.errors import TutorError
from ui import render
from ui.common import LLM_QUEUE, READY_WAIT_S, error_message, filters_for
from ui.render import Turn
from ui.state import AppState
from ui.streaming import stream_ask

log = logging.getLogger(__name__)

LANGUAGES = [
    ("any language", ""),
    ("English", "en"),
    ("Español", "es"),
    ("Français", "fr"),
    ("日本語", "ja"),
    ("中文", "zh"),
]
ANSWER_LANGUAGES = [
    ("the question's language", ""),
    ("English", "en"),
    ("Español", "es"),
    ("Français", "fr"),
    ("日本語", "ja"),
    ("简体中文", "zh-Hans"),
    ("繁體中文", "zh-Hant"),
]
N_FOLLOWUPS = 3


def history_of(turns: list[Turn], max_turns: int) -> list[tuple[str, str]]:
    """(question, answer) pairs of the finished turns, for follow-up questions."""
    pairs = [(t.question, t.answer["answer"]) for t in turns if t.answer is not None]
    return pairs[-max_turns:] if max_turns else []


def contexts_for(app: AppState, answer: dict[str, Any]) -> dict[int, render.PassageContext]:
    return {
        c["n"]: render.passage_context(
            app.document_text(c["source"]), c["start"], c["end"], c["text"]
        )
        for c in answer.get("citations", ())
    }


def chat_tab(gr: Any, app: AppState) -> None:
    """The Chat tab: ask, follow-ups, source and answer languages."""
    turns_state = gr.State([])
    transcript = gr.HTML(
        render.transcript_html([]),
        js_on_load=render.PASSAGE_JS,
        elem_id="transcript",
        padding=True,
    )
    # The turn being answered lives in its own component: each streamed piece then sends
    # that one turn, not the whole conversation again.
    live = gr.HTML("", elem_id="live-turn", padding=True)
    followups = []
    with gr.Row():
        for i in range(N_FOLLOWUPS):
            followups.append(
                gr.Button(visible=False, size="sm", variant="secondary", elem_id=f"followup-{i}")
            )
    with gr.Row():
        question = gr.Textbox(
            placeholder="Ask about the roadmap (any language)…",
            show_label=False,
            scale=6,
            elem_id="question",
            lines=1,
            max_lines=6,
        )
        send = gr.Button("Ask", variant="primary", scale=1, elem_id="send")
    with gr.Row():
        language = gr.Dropdown(
            choices=LANGUAGES,
            value="",
            label="Sources in",
            scale=2,
            elem_id="source-language",
        )
        answer_language = gr.Dropdown(
            choices=ANSWER_LANGUAGES,
            value="",
            label="Answer in",
            scale=2,
            elem_id="answer-language",
        )
        new = gr.Button("New conversation", scale=1, elem_id="new-conversation")

    outputs = [transcript, live, turns_state, question, *followups]

    def followup_updates(answer: dict[str, Any] | None) -> list[Any]:
        topics = (
            list(answer.get("closest_topics") or ()) if answer and answer.get("abstained") else []
        )
        return [
            gr.update(value=f"Tell me about {topics[i]}", visible=True)
            if i < len(topics)
            else gr.update(visible=False)
            for i in range(N_FOLLOWUPS)
        ]

    def chat(q: str, turns: list[Turn], lang: str, answer_lang: str = "") -> Iterator[list[Any]]:
        q = (q or "").strip()
        if not q:
            yield [gr.skip(), gr.skip(), turns, gr.skip(), *[gr.skip()] * N_FOLLOWUPS]
            return
        finished = turns
        turns = [*turns, Turn(question=q)]
        current = turns[-1]
        index = len(turns) - 1
        hidden = [gr.update(visible=False)] * N_FOLLOWUPS
        shown = render.transcript_html(finished) if finished else '<div class="transcript"></div>'
        yield [shown, render.live_html(current, index), turns, "", *hidden]
        try:
            rt = app.wait_ready(READY_WAIT_S)
            history = history_of(finished, rt.settings.agent.history_turns)
            for event in stream_ask(
                rt.tutor.ask, q, history, filters_for(lang), answer_language=answer_lang or None
            ):
                if event.answer is None:
                    current.partial = event.text
                    if event.sources is not None and not current.reading:
                        current.reading = render.reading_preview(event.sources)
                    live_now = render.live_html(current, index)
                    yield [gr.skip(), live_now, gr.skip(), gr.skip(), *[gr.skip()] * N_FOLLOWUPS]
                else:
                    record = event.answer.to_json()
                    current.answer = record
                    current.contexts = contexts_for(app, record)
        except Exception as exc:
            if not isinstance(exc, TutorError):
                log.exception("chat request failed")
            current.error = error_message(exc)
        yield [
            render.transcript_html(turns),
            "",
            turns,
            gr.skip(),
            *followup_updates(current.answer),
        ]

    # Undocumented but callable (tests check session isolation through it).
    send.click(
        chat,
        [question, turns_state, language, answer_language],
        outputs,
        api_name="chat",
        api_visibility="undocumented",
        **LLM_QUEUE,
    )
    question.submit(
        chat,
        [question, turns_state, language, answer_language],
        outputs,
        api_visibility="private",
        **LLM_QUEUE,
    )
    for button in followups:
        button.click(
            chat,
            [button, turns_state, language, answer_language],
            outputs,
            api_visibility="private",
            **LLM_QUEUE,
        )

    def clear() -> list[Any]:
        hidden = [gr.update(visible=False)] * N_FOLLOWUPS
        return [render.transcript_html([]), "", [], "", *hidden]

    new.click(clear, None, outputs, queue=False, api_visibility="private")
