"""The Practice tab's "Questions from my files": generate practice questions over an
ingested file with the local model, then review them (edit or delete). Each action is one
`agent.my_questions` call, the one `tutor practice ...` makes too."""

from __future__ import annotations

from typing import Any

from agent.learner_questions import doc_label
from core.errors import TutorError
from ui import render
from ui.common import LLM_QUEUE, READY_WAIT_S, error_html, error_message
from ui.state import AppState


def own_rows(app: AppState, learner: str | None) -> list[list[Any]]:
    from agent.my_questions import own_questions

    return [
        [
            r.question.id,
            r.question.question,
            doc_label(r.question.doc),
            " | ".join(p.text for p in r.question.points),
        ]
        for r in own_questions(app.settings, learner or "default")
    ]


def generation_html(data: dict[str, Any]) -> str:
    """What a generation kept and dropped, with each kept point's quote."""
    out = [
        f"<p><b>{render.esc(doc_label(data['doc']))}</b>: kept {data['kept']} of "
        f"{data['calls']} drafts in {data['seconds']:.0f} s.</p>"
    ]
    for q in data["questions"]:
        points = "".join(
            f"<li>{render.esc(p['text'])} <i>(quote: “{render.esc(p['quote'])}”, "
            f"support {p['support']:.2f})</i></li>"
            for p in q["key_points"]
        )
        out.append(f"<p><b>{render.esc(q['id'])}</b> {render.esc(q['question'])}</p><ul>{points}</ul>")
    if data["rejected"]:
        dropped = "".join(f"<li>{render.esc(r['reason'])}</li>" for r in data["rejected"])
        out.append(f"<details><summary>Dropped drafts</summary><ul>{dropped}</ul></details>")
    return "".join(out)


def my_questions_panel(gr: Any, app: AppState, profile: Any, on_change: tuple[Any, ...]) -> None:
    """The panel. `on_change` (handler, inputs, outputs) runs after the learner's own
    questions change, so the tab's question list follows."""
    with gr.Accordion("Questions from my files", open=False):
        gr.Markdown(
            "The local model writes questions over one of your ingested files (Library tab or "
            "`tutor ingest`); a question is kept only if every key point quotes the file and "
            "the support model finds it supported there. Review them here."
        )
        with gr.Row():
            doc = gr.Dropdown([], label="Your file", scale=4, elem_id="gen-doc")
            n = gr.Slider(1, 5, value=3, step=1, label="Questions", scale=1, elem_id="gen-n")
            docs_btn = gr.Button("Refresh files", scale=1)
        gen_btn = gr.Button("Generate questions", variant="primary", elem_id="gen-questions")
        gen_out = gr.HTML("", elem_id="gen-report", padding=True)
        table = gr.Dataframe(
            headers=["id", "question", "file", "key points"],
            label="My questions",
            interactive=False,
            elem_id="my-questions",
        )
        with gr.Row():
            pick = gr.Dropdown([], label="Question to review", scale=2, elem_id="my-q-pick")
            text = gr.Textbox(label="Question", scale=4, elem_id="my-q-text")
        points = gr.Textbox(label="Key points, one per line", lines=3, elem_id="my-q-points")
        with gr.Row():
            save = gr.Button("Save changes", elem_id="my-q-save")
            delete = gr.Button("Delete", variant="stop", elem_id="my-q-delete")
        status = gr.Markdown("")

    def docs() -> Any:
        from agent.my_questions import learner_documents

        try:
            names = learner_documents(app.wait_ready(READY_WAIT_S))
        except TutorError as exc:  # not started yet, no index: say so, not an empty list
            raise gr.Error(error_message(exc)) from exc
        return gr.update(choices=[(doc_label(d), d) for d in names])

    def listing(who: str | None) -> list[Any]:
        rows = own_rows(app, who)
        return [rows, gr.update(choices=[r[0] for r in rows], value=None)]

    def generate(d: str | None, k: float, who: str | None) -> list[Any]:
        from agent.my_questions import generate_practice

        if not d:
            return [error_html(ValueError("choose one of your files first")), *listing(who)]
        try:
            rt = app.wait_ready(READY_WAIT_S)
            result = generate_practice(rt, who or "default", doc=d, n=int(k))
            return [generation_html(result.to_json()), *listing(who)]
        except Exception as exc:
            return [error_html(exc), *listing(who)]

    def show_question(qid: str | None, who: str | None) -> list[Any]:
        from agent.my_questions import own_questions

        for r in own_questions(app.settings, who or "default"):
            if r.question.id == qid:
                return [r.question.question, "\n".join(p.text for p in r.question.points)]
        return ["", ""]

    def do_save(qid: str | None, q: str, pts: str, who: str | None) -> list[Any]:
        from agent.my_questions import edit_own_question

        try:
            if not qid:
                raise ValueError("choose a question to review first")
            lines = [p for p in pts.splitlines() if p.strip()]
            edit_own_question(app.settings, who or "default", qid, q, lines)
            return [f"Saved {qid}.", own_rows(app, who)]
        except Exception as exc:
            return [f"Not saved: {render.esc(str(exc))}", gr.skip()]

    def do_delete(qid: str | None, who: str | None) -> list[Any]:
        from agent.my_questions import delete_own_question

        try:
            if not qid:
                raise ValueError("choose a question to delete first")
            delete_own_question(app.settings, who or "default", qid)
            return [f"Deleted {qid}.", *listing(who)]
        except Exception as exc:
            return [f"Not deleted: {render.esc(str(exc))}", gr.skip(), gr.skip()]

    docs_btn.click(docs, None, doc, api_visibility="private")
    gen_btn.click(
        generate, [doc, n, profile], [gen_out, table, pick], api_visibility="private", **LLM_QUEUE
    ).then(*on_change, api_visibility="private")
    pick.change(show_question, [pick, profile], [text, points], api_visibility="private")
    save.click(do_save, [pick, text, points, profile], [status, table], api_visibility="private").then(
        *on_change
    )
    delete.click(do_delete, [pick, profile], [status, table, pick], api_visibility="private").then(
        *on_change
    )
    profile.change(listing, profile, [table, pick], api_visibility="private")
