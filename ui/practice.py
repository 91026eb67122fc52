"""The Practice tab: self-check questions graded and hinted, one answer or a class file.

Each action is one `agent.practice` call, the one `tutor grade|hint` makes too.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from agent.runtime import Runtime
from core.errors import ConfigError, TutorError
from core.settings import Settings
from ui import render
from ui.common import LLM_QUEUE, READY_WAIT_S, error_html, error_message
from ui.progress import attempt_rows, progress_store
from ui.state import AppState


def grade_json(rt: Runtime, question: str, answer: str, learner: str) -> dict[str, Any]:
    """Grade one answer and record the attempt in the learner's progress. `question` is
    an id (any case) or a question's text, matched as `tutor grade --question` matches it."""
    from agent.practice import grade_practice

    if isinstance(answer, str) and not answer.strip():
        raise ConfigError("write an answer first (or ask for a hint)")
    return grade_practice(
        rt.settings,
        rt.embedder,
        learner,
        answer,
        question=question,
        chat_model=rt.grading_model(),
    ).to_json()


def hint_json(rt: Runtime, question_id: str, level: Any, learner: str | None) -> dict[str, Any]:
    """A hint (level 1..3) about what the learner's last attempt missed, as `tutor hint`."""
    from agent.practice import practice_hint

    return asdict(practice_hint(rt.settings, question_id, level, learner))


def next_due_id(settings: Settings, learner: str) -> str | None:
    """The id of the question due next for the learner, as `tutor grade --next` picks it."""
    from agent.practice import next_question

    with progress_store(settings) as (store, bank):
        q = next_question(settings, store, bank, learner)
    return None if q is None else q.id


def grade_batch(rt: Runtime, path: Path, record: bool) -> tuple[dict[str, Any], str]:
    """Grade an uploaded class file; the graded file goes under the data dir's exports
    (Gradio's upload folder is cleaned up), named after the upload."""
    from agent.batch_grading import grade_batch_file
    from agent.batch_output import graded_path_for

    out = rt.settings.index.data_dir / "exports" / graded_path_for(path).name
    result = grade_batch_file(
        path,
        embedder=rt.embedder,
        settings=rt.settings,
        out=out,
        record=record,
        chat_model=rt.grading_model(),
    )
    return result.summary_json(), str(result.output)


def practice_tab(gr: Any, app: AppState, profile: Any) -> None:
    """The Practice tab: grade an answer to a self-check question, or ask for a hint."""
    from agent.question_bank import load_settings_bank

    try:
        bank = load_settings_bank(app.settings)
    except TutorError as exc:
        gr.Markdown(f"The question bank cannot be loaded: {exc}")
        return
    choices = [(f"{q.id} · {q.text_en}", q.id) for q in bank]
    texts = {q.id: q.text_en for q in bank}
    with gr.Row():
        qid = gr.Dropdown(
            choices, value=bank[0].id, label="Question", scale=4, elem_id="practice-question"
        )
        next_due = gr.Button("Next due question", scale=1)
    question_md = gr.Markdown(f"**{bank[0].id}** {bank[0].text_en}")
    answer = gr.Textbox(label="Your answer", lines=6, elem_id="practice-answer")
    with gr.Row():
        grade_btn = gr.Button("Grade my answer", variant="primary", elem_id="grade")
        hint_btn = gr.Button("Hint instead", elem_id="hint")
    hint_level = gr.State(0)
    report = gr.HTML("", elem_id="grade-report", padding=True)
    attempts = gr.Dataframe(
        headers=["when", "question", "verdict", "score"],
        label="Previous attempts",
        interactive=False,
    )

    def own_choices(who: str | None) -> list[tuple[str, str]]:
        from ui.my_questions import own_rows

        try:
            return [(f"{r[0]} · {r[1]}", r[0]) for r in own_rows(app, who)]
        except TutorError as exc:  # e.g. a damaged learner database: say so
            raise gr.Error(error_message(exc)) from exc

    def question_text(i: str | None, who: str | None) -> tuple[str, int]:
        from ui.my_questions import own_rows

        text = texts.get(i or "")
        if text is None:
            text = {r[0]: r[1] for r in own_rows(app, who)}.get(i or "", "")
        return f"**{i}** {text}", 0

    def refresh_choices(who: str | None) -> Any:
        return gr.update(choices=[*choices, *own_choices(who)])

    qid.change(question_text, [qid, profile], [question_md, hint_level], api_visibility="private")
    profile.change(refresh_choices, profile, qid, api_visibility="private")

    def do_grade(i: str, text: str, who: str | None) -> list[Any]:
        try:
            rt = app.wait_ready(READY_WAIT_S)
            rec = grade_json(rt, i, text, who or "default")
            return [render.grade_html(rec), attempt_rows(rt.settings, who)]
        except Exception as exc:
            return [error_html(exc), gr.skip()]

    def do_hint(i: str, level: int, who: str | None) -> list[Any]:
        try:
            rt = app.wait_ready(READY_WAIT_S)
            # Each click escalates a level; past the last, it shows level 3 again. The
            # hint is about what this learner's last attempt at the question missed.
            h = hint_json(rt, i, min(level + 1, 3), who or "default")
            return [
                f'<div class="hint"><b>Hint {h["level"]}</b> {render.esc(h["text"])}</div>',
                h["level"],
            ]
        except Exception as exc:
            return [error_html(exc), level]

    def do_next(who: str | None) -> Any:
        nxt = next_due_id(app.settings, who or "default")
        # The learner's own questions join the list, so a due one can be shown.
        return gr.update(choices=[*choices, *own_choices(who)], value=nxt) if nxt else gr.skip()

    grade_btn.click(
        do_grade, [qid, answer, profile], [report, attempts], api_visibility="private", **LLM_QUEUE
    )
    hint_btn.click(
        do_hint, [qid, hint_level, profile], [report, hint_level], api_visibility="private"
    )
    next_due.click(do_next, profile, qid, api_visibility="private")

    from ui.my_questions import my_questions_panel

    my_questions_panel(gr, app, profile, (refresh_choices, profile, qid))

    with gr.Accordion("Grade a class (CSV or JSONL)", open=False):
        gr.Markdown(
            "One answer a row: `question_id` (or `question`), `answer`, optional `learner` "
            "and `reference`. Bad rows are listed by line and skipped."
        )
        batch_file = gr.File(
            label="Answers file", file_types=[".csv", ".jsonl"], elem_id="batch-upload"
        )
        batch_record = gr.Checkbox(
            label="Record each learner's attempt in their progress", elem_id="batch-record"
        )
        batch_btn = gr.Button("Grade the file", elem_id="batch-grade")
        batch_summary = gr.JSON(label="Summary", elem_id="batch-summary")
        batch_out = gr.File(label="Graded file", interactive=False, elem_id="batch-download")

    def do_batch(path: str | None, record: bool) -> list[Any]:
        if not path:
            return [{"error": "choose a .csv or .jsonl file first"}, None]
        try:
            summary, out = grade_batch(app.wait_ready(READY_WAIT_S), Path(path), bool(record))
            return [summary, out]
        except Exception as exc:
            return [{"error": error_message(exc)}, None]

    batch_btn.click(
        do_batch,
        [batch_file, batch_record],
        [batch_summary, batch_out],
        api_name="grade_batch",
        **LLM_QUEUE,
    )
