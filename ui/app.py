"""The Gradio app: Chat, Practice, Progress, Evals, Library, Settings.

Thin by design: each handler makes one library call (agent, index, evals, corpus) and
renders its result with `ui.render`. Gradio is imported inside `build_app`/`launch`
only, so importing this module is cheap. Per-session data (the conversation, the
learner profile) is Gradio session state; the Runtime in `AppState` is shared.

API endpoints (for `gradio_client`, documented in the README): /ask, /ask_stream, /ask_events,
/search, /status, /index_status, /grade, /hint, /grade_batch. With ui.mcp_server the same
functions are MCP tools at /gradio_api/mcp/ (docs/ui.md).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.limits import check_answer, check_question_id
from agent.runtime import Runtime
from core.errors import ConfigError, InputError, TutorError
from core.limits import check_profile, check_text
from core.settings import Settings
from ui import render
from ui.render import Turn
from ui.state import AppState, RuntimeFactory
from ui.streaming import stream_ask

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger(__name__)

READY_WAIT_S = 600.0  # a chat request waits this long for the model to finish loading
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
# Every event that talks to the model shares one queue group, sized by ui.concurrency
# (the model server's slots): the queue, not the model server, makes people wait.
LLM_QUEUE: dict[str, Any] = {"concurrency_id": "llm", "concurrency_limit": "default"}


# ---------------------------------------------------------------- pure helpers


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and "localhost"; anything else is reachable by others."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """ "user:password" -> (user, password); None stays None."""
    if value is None:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ConfigError("the UI auth setting must look like USER:PASSWORD (both non-empty)")
    return user, password


def check_exposure(host: str, auth: tuple[str, str] | None, share: bool = False) -> None:
    """Refuse to listen beyond this machine, or to share, without a password."""
    if (share or not is_loopback(host)) and auth is None:
        where = "a public share link" if share else f"{host} (reachable from other machines)"
        raise ConfigError(
            f"refusing to serve the tutor on {where} without a password: "
            "give --auth USER:PASSWORD (or ui.auth in the config), or bind 127.0.0.1"
        )


def history_of(turns: list[Turn], max_turns: int) -> list[tuple[str, str]]:
    """(question, answer) pairs of the finished turns, for follow-up questions."""
    pairs = [(t.question, t.answer["answer"]) for t in turns if t.answer is not None]
    return pairs[-max_turns:] if max_turns else []


def filters_for(language: str) -> Any:
    from index.retriever import SearchFilters

    if language is not None and not isinstance(language, str):
        raise InputError(f"the language must be text such as 'en', got {type(language).__name__}")
    return SearchFilters(languages=(language,)) if language else None


def parse_history(history: Any) -> list[tuple[str, str]]:
    """The /ask history: a JSON list of [question, answer] pairs (checked by Tutor.ask)."""
    if not history:
        return []
    if not isinstance(history, str):
        raise InputError("the history must be a JSON list of [question, answer] pairs")
    try:
        data = json.loads(history)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"the history is not valid JSON ({exc.__class__.__name__})") from exc
    if not isinstance(data, list) or not all(isinstance(p, list) for p in data):
        raise InputError("the history must be a JSON list of [question, answer] pairs")
    return [tuple(p) for p in data]  # type: ignore[misc]


def contexts_for(app: AppState, answer: dict[str, Any]) -> dict[int, render.PassageContext]:
    return {
        c["n"]: render.passage_context(
            app.document_text(c["source"]), c["start"], c["end"], c["text"]
        )
        for c in answer.get("citations", ())
    }


def error_message(exc: BaseException) -> str:
    if isinstance(exc, TutorError):
        return str(exc)
    return (
        f"something went wrong on our side ({type(exc).__name__}: {exc}); the app keeps "
        "working - try again, and report it if it repeats"
    )


def new_profile() -> str:
    return "learner-" + uuid.uuid4().hex[:8]


# ---------------------------------------------------------------- the app


def _as_app_state(
    source: AppState | Runtime | Settings, factory: RuntimeFactory | None
) -> AppState:
    if isinstance(source, AppState):
        return source
    if isinstance(source, Runtime):
        return AppState(source, factory)
    return AppState((factory or Runtime)(source), factory)


def build_app(
    source: AppState | Runtime | Settings,
    runtime_factory: RuntimeFactory | None = None,
    *,
    start: bool = True,
) -> gr.Blocks:
    """The Blocks app over `source` (settings, a Runtime, or an AppState).

    `start` begins the background startup (index, model) right away.
    """
    import gradio as gr

    app = _as_app_state(source, runtime_factory)
    if start:
        app.start()
    settings = app.settings

    with gr.Blocks(title="Roadmap Tutor", fill_width=True) as demo:
        demo.tutor_app = app  # type: ignore[attr-defined]
        profile = gr.BrowserState(None, storage_key="roadmap-tutor-profile")
        with gr.Row():
            gr.Markdown("## Roadmap Tutor · the Generative AI Roadmap, with sources")
            status = gr.HTML(_status_html(app), elem_id="status")
        timer = gr.Timer(2.0)
        timer.tick(
            lambda: _status_html(app),
            None,
            status,
            queue=False,
            show_progress="hidden",
            api_visibility="private",
        )

        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                _chat_tab(gr, app)
            with gr.Tab("Practice", id="practice"):
                _practice_tab(gr, app, profile)
            with gr.Tab("Progress", id="progress"):
                _progress_tab(gr, app, profile)
            with gr.Tab("Evals", id="evals"):
                _evals_tab(gr, app)
            with gr.Tab("Library", id="library"):
                _library_tab(gr, app)
            with gr.Tab("Settings", id="settings"):
                _settings_tab(gr, app, status)

        def ensure_profile(p: str | None) -> str:
            return p or new_profile()

        demo.load(ensure_profile, profile, profile, queue=False, api_visibility="private")
        _api_endpoints(gr, app)

    demo.queue(default_concurrency_limit=settings.ui.concurrency, max_size=settings.ui.max_queue)
    return demo


def _status_html(app: AppState) -> str:
    s = app.status
    return render.status_html(s.phase, s.detail, s.ok)


# ---------------------------------------------------------------- chat


def _chat_tab(gr: Any, app: AppState) -> None:
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
        yield [render.transcript_html(turns), "", turns, gr.skip(), *followup_updates(current.answer)]

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


# ---------------------------------------------------------------- practice / progress / evals


def _practice_tab(gr: Any, app: AppState, profile: Any) -> None:
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

    qid.change(
        lambda i: (f"**{i}** {texts.get(i, '')}", 0),
        qid,
        [question_md, hint_level],
        api_visibility="private",
    )

    def do_grade(i: str, text: str, who: str | None) -> list[Any]:
        try:
            rt = app.wait_ready(READY_WAIT_S)
            rec = _grade(rt, i, text, who or "default")
            return [render.grade_html(rec), _attempt_rows(rt, who)]
        except Exception as exc:
            return [f'<div class="error">{render.esc(error_message(exc))}</div>', gr.skip()]

    def do_hint(i: str, level: int, who: str | None) -> list[Any]:
        try:
            rt = app.wait_ready(READY_WAIT_S)
            # Each click escalates a level; past the last, it shows level 3 again.
            h = _hint(rt, i, min(level + 1, 3), who or "default")
            return [
                f'<div class="hint"><b>Hint {h["level"]}</b> {render.esc(h["text"])}</div>',
                h["level"],
            ]
        except Exception as exc:
            return [f'<div class="error">{render.esc(error_message(exc))}</div>', level]

    def do_next(who: str | None) -> Any:
        rt = app.runtime
        nxt = _next_due(rt, who or "default")
        return gr.update(value=nxt) if nxt else gr.skip()

    grade_btn.click(
        do_grade, [qid, answer, profile], [report, attempts], api_visibility="private", **LLM_QUEUE
    )
    hint_btn.click(
        do_hint, [qid, hint_level, profile], [report, hint_level], api_visibility="private"
    )
    next_due.click(do_next, profile, qid, api_visibility="private")

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
            summary, out = _grade_batch(app.wait_ready(READY_WAIT_S), Path(path), bool(record))
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


def _grade(rt: Runtime, question: str, answer: str, learner: str) -> dict[str, Any]:
    """Grade one answer and record the attempt in the learner's progress. `question` is
    an id or a question's text, matched as `tutor grade --question` matches it."""
    from agent.grading import load_rubric
    from agent.practice import grade_and_record, open_progress
    from agent.question_bank import load_settings_bank
    from agent.question_match import match_question

    if isinstance(answer, str) and not answer.strip():
        raise ConfigError("write an answer first (or ask for a hint)")
    # grade_and_record checks these too; checked first here so a huge request is refused
    # before the question bank and the rubric are read.
    lim = rt.settings.limits
    check_text(question, "the question", lim.max_question_chars, "limits.max_question_chars")
    check_answer(answer, rt.settings)
    check_profile(learner, lim.max_profile_chars)
    bank = load_settings_bank(rt.settings)
    match = match_question(question, bank, rt.embedder, rt.settings.grading.question_match)
    q = next(q for q in bank if q.id == match.question_id)
    rubric = load_rubric(rt.settings.grading.rubrics_dir, q.id, rt.settings.corpus.dir)
    with open_progress(rt.settings, bank) as store:
        report, _ = grade_and_record(
            store,
            learner,
            q,
            answer,
            rubric,
            embedder=rt.embedder,
            chat_model=rt.chat_model(),
            settings=rt.settings,
        )
    return {**report.to_json(), "matched_question": asdict(match)}


def _grade_batch(rt: Runtime, path: Path, record: bool) -> tuple[dict[str, Any], str]:
    """Grade an uploaded class file; the graded file goes under the data dir's exports
    (Gradio's upload folder is cleaned up), named after the upload."""
    from agent.batch_grading import grade_batch_file, graded_path_for

    out = rt.settings.index.data_dir / "exports" / graded_path_for(path).name
    result = grade_batch_file(
        path, embedder=rt.embedder, settings=rt.settings, out=out, record=record
    )
    return result.summary_json(), str(result.output)


def _hint(rt: Runtime, question_id: str, level: int, learner: str) -> dict[str, Any]:
    from agent.grading import hint, load_rubric

    question_id = check_question_id(question_id)
    if isinstance(level, float) and level.is_integer():
        level = int(level)  # a JSON client may send 2.0; NaN and infinities stay floats
    if learner is not None:
        check_profile(learner, rt.settings.limits.max_profile_chars)
    rubric = load_rubric(rt.settings.grading.rubrics_dir, question_id, rt.settings.corpus.dir)
    return asdict(hint(question_id, level, rubric))  # hint() checks the level: 1..3


def _progress_store(rt: Runtime) -> Any:
    """The learner database, opened per call (SQLite connections stay in their thread)."""
    from agent.practice import open_progress
    from agent.question_bank import load_settings_bank

    return open_progress(rt.settings, load_settings_bank(rt.settings))


def _attempt_rows(rt: Runtime, learner: str | None) -> list[list[Any]]:
    with _progress_store(rt) as store:
        return [
            [a.created_at, a.question_id, a.verdict, a.score]
            for a in reversed(store.history(learner or "default"))
        ]


def _next_due(rt: Runtime, learner: str) -> str | None:
    with _progress_store(rt) as store:
        item = store.next_due(learner)
    return None if item is None else item.question_id


def _progress_tab(gr: Any, app: AppState, profile: Any) -> None:
    who = gr.Markdown()
    refresh = gr.Button("Refresh", elem_id="progress-refresh")
    chart = gr.HTML("", padding=True, elem_id="mastery")
    with gr.Row():
        due = gr.Dataframe(
            headers=["question", "section", "due", "last score"],
            label="Due now",
            interactive=False,
            elem_id="progress-due",
        )
        history = gr.Dataframe(
            headers=["when", "question", "verdict", "score"],
            label="Attempts",
            interactive=False,
            elem_id="progress-attempts",
        )
    with gr.Row():
        export = gr.Button("Export my attempts (CSV)", elem_id="progress-export")
        deck = gr.Button("Flashcards of my due questions (Anki)", elem_id="progress-flashcards")
    download = gr.File(label="Export", interactive=False, elem_id="progress-download")

    def show(p: str | None) -> list[Any]:
        learner = p or "default"
        try:
            rt = app.runtime
            with _progress_store(rt) as store:
                mastery = [asdict(m) for m in store.mastery_by_section(learner)]
                due_rows = [
                    [d.question_id, d.section, d.due, d.last_score]
                    for d in store.due_items(learner)
                ]
            return [
                f"Learner profile: `{learner}`",
                render.mastery_html(mastery),
                due_rows,
                _attempt_rows(rt, learner),
            ]
        except Exception as exc:
            msg = f'<div class="error">{render.esc(error_message(exc))}</div>'
            return [f"Learner profile: `{learner}`", msg, [], []]

    def do_export(p: str | None) -> Any:
        learner = check_profile(p or "default", app.settings.limits.max_profile_chars)
        exports = app.settings.index.data_dir / "exports"
        # The file name comes from the learner's name: it must stay a name, not a path.
        path = exports / f"{learner}-attempts.csv"
        if path.parent != exports or learner in (".", "..") or "\\" in learner:
            raise InputError(f"the profile name {learner!r} cannot name a file")
        # The app's own folder under the data dir (export_csv creates no folders: a typo
        # in a path a person typed must not create folders).
        exports.mkdir(parents=True, exist_ok=True)
        with _progress_store(app.runtime) as store:
            store.export_csv(learner, path)
        return str(path)

    def do_deck(p: str | None) -> Any:
        import hashlib

        from agent.flashcards import export_flashcards

        try:
            learner = check_profile(p or "default", app.settings.limits.max_profile_chars)
            exports = app.settings.index.data_dir / "exports"
            exports.mkdir(parents=True, exist_ok=True)
            # Named by a hash of the learner: a name never becomes part of a path, and a
            # learner's new export replaces their last one (atomically).
            digest = hashlib.sha1(learner.encode("utf-8", "surrogatepass")).hexdigest()[:12]
            out = exports / f"flashcards-{digest}.apkg"
            return export_flashcards(app.settings, out, "apkg", learner=learner).path
        except Exception as exc:
            raise gr.Error(error_message(exc)) from exc

    outs = [who, chart, due, history]
    refresh.click(show, profile, outs, api_visibility="private")
    profile.change(show, profile, outs, api_visibility="private")
    export.click(do_export, profile, download, api_visibility="private")
    deck.click(do_deck, profile, download, api_visibility="private")


def _evals_tab(gr: Any, app: AppState) -> None:
    with gr.Row():
        subset = gr.Slider(
            1, 40, value=3, step=1, label="Questions to run (a subset)", elem_id="eval-subset"
        )
        run_btn = gr.Button("Run evals", variant="primary", elem_id="eval-run")
        refresh = gr.Button("Show latest report", elem_id="eval-latest")
    trend = gr.HTML("", padding=True, elem_id="eval-trend")
    report = gr.HTML("", padding=True, elem_id="eval-report")

    def latest() -> list[str]:
        from evals.report import history_svg, render_report
        from evals.runner import history, load_run, load_validation

        runs = history(app.settings)
        if not runs:
            return ["<p>No eval run yet.</p>", ""]
        run = load_run(Path(runs[-1]["run_dir"]))
        return [
            history_svg(runs),
            _iframe(render_report(run, load_validation_default(load_validation))),
        ]

    def run(n: float, progress: Any = gr.Progress()) -> list[str]:  # noqa: B008
        from evals.runner import run_eval

        try:
            rt = app.wait_ready(READY_WAIT_S)

            def tick(stage: str, done: int, total: int) -> None:
                progress((done, total), desc=stage)

            run_eval(rt, rt.settings.evals.eval_set, subset=int(n), progress=tick)
        except Exception as exc:
            return [f'<div class="error">{render.esc(error_message(exc))}</div>', ""]
        return latest()

    run_btn.click(run, subset, [trend, report], api_visibility="private", **LLM_QUEUE)
    refresh.click(latest, None, [trend, report], api_visibility="private")


def load_validation_default(loader: Callable[[Path], Any]) -> Any:
    from evals.runner import JUDGE_VALIDATION

    return loader(JUDGE_VALIDATION)


def _iframe(document: str) -> str:
    """A full HTML report shown in a sandboxed frame (no scripts, no same-origin access)."""
    return (
        f'<iframe sandbox="" srcdoc="{render.esc(document)}" '
        'style="width:100%;height:70vh;border:1px solid #ddd"></iframe>'
    )


# ---------------------------------------------------------------- library


def _library_tab(gr: Any, app: AppState) -> None:
    from corpus.catalog import build_catalog, heading_spans
    from corpus.questions import load_question_bank

    settings = app.settings
    try:
        roadmap = (settings.corpus.dir / "roadmap-en.md").read_text(encoding="utf-8")
        bank = load_question_bank(settings.corpus.dir)
        catalog = build_catalog(settings.corpus.dir)
    except (OSError, TutorError) as exc:
        # A corpus without the roadmap (a test corpus): the rest of the library still works.
        gr.Markdown(f"The roadmap browser is unavailable: {render.esc(str(exc))}")
        roadmap, bank, catalog = "", [], []
    spans = heading_spans(roadmap)
    sections = [" > ".join(path) for _, path in spans]
    notes = sorted((settings.corpus.dir / "notes").glob("*.md"))

    with gr.Tab("Roadmap"):
        section = gr.Dropdown(sections, value=sections[0] if sections else None, label="Section")
        section_view = gr.HTML(padding=True)

        def show_section(name: str) -> str:
            i = sections.index(name) if name in sections else 0
            start = spans[i][0]
            end = spans[i + 1][0] if i + 1 < len(spans) else len(roadmap)
            qs = [q for q in bank if " > ".join(q.section).startswith(name.split(" > ", 1)[-1])]
            qs = [q for q in bank if name.endswith(q.section[-1])] or qs
            return render.text_document_html(name, roadmap[start:end]) + (
                "<h4>Self-check questions</h4>" + render.questions_html(qs) if qs else ""
            )

        section.change(show_section, section, section_view, api_visibility="private")
        gr.HTML(render.questions_html(bank), padding=True)
    with gr.Tab("Study notes"):
        note = gr.Dropdown([p.name for p in notes], label="Note")
        note_view = gr.HTML(padding=True)
        note.change(
            lambda n: (
                render.text_document_html(
                    n, (settings.corpus.dir / "notes" / Path(n).name).read_text(encoding="utf-8")
                )
                if n
                else ""
            ),
            note,
            note_view,
            api_visibility="private",
        )
    with gr.Tab("Papers"):
        rows = [
            [p.id, p.title, p.note or "", "; ".join(p.sections), ", ".join(p.self_check)]
            for p in catalog
        ]
        gr.Dataframe(
            rows,
            headers=["id", "title", "note", "sections", "self-check"],
            interactive=False,
            max_height=400,
        )
        with gr.Row():
            paper_id = gr.Textbox(label="Paper id (e.g. arxiv:1706.03762)", scale=3)
            fetch = gr.Button("Fetch and index (needs internet)", scale=1)
        fetch_out = gr.JSON(label="Result")

        def do_fetch(pid: str) -> Any:
            from corpus.papers import fetch_papers, ingestable_paths, select_papers
            from index.store import ingest_paths

            try:
                rt = app.wait_ready(READY_WAIT_S)
                chosen = select_papers(catalog, ids=[pid.strip()])
                results = fetch_papers(chosen, rt.settings)
                report = ingest_paths(rt.settings, rt.embedder, ingestable_paths(results))
                return {"papers": [r.to_json() for r in results], "ingest": asdict(report)}
            except Exception as exc:
                return {"error": error_message(exc)}

        fetch.click(do_fetch, paper_id, fetch_out, api_visibility="private", concurrency_limit=1)
    with gr.Tab("Your files"):
        files = gr.File(
            file_count="multiple",
            label="Add notes or papers (.md .txt .pdf .html)",
            elem_id="upload",
        )
        ingest_btn = gr.Button("Add to the index", elem_id="ingest")
        ingest_out = gr.JSON(label="Ingest report", elem_id="ingest-report")

        def do_ingest(paths: list[str] | None) -> Any:
            from index.store import ingest_paths

            if not paths:
                return {"error": "choose one or more files first"}
            try:
                rt = app.wait_ready(READY_WAIT_S)
                # Keep uploads where Gradio's temp cleanup cannot reach them: the index
                # names a learner document by its path, and shows passages from it.
                kept = rt.settings.index.data_dir / "uploads"
                kept.mkdir(parents=True, exist_ok=True)
                targets = []
                for p in paths:
                    target = kept / Path(p).name
                    shutil.copyfile(p, target)
                    targets.append(target)
                return asdict(ingest_paths(rt.settings, rt.embedder, targets))
            except Exception as exc:
                return {"error": error_message(exc)}

        ingest_btn.click(do_ingest, files, ingest_out, api_name="ingest", concurrency_limit=1)
    with gr.Tab("Index"):
        idx = gr.JSON(label="Index status")
        gr.Button("Refresh").click(lambda: _index_status(app), None, idx, api_visibility="private")


def _index_status(app: AppState) -> dict[str, Any]:
    from index.store import index_status

    status = index_status(app.settings)
    out = asdict(status)
    out["documents"] = [
        {
            "name": render.document_name(d.name),
            "language": d.language,
            "kind": d.kind,
            "chunks": d.chunks,
            "origin": d.origin,
        }
        for d in status.documents
    ]
    return out


# ---------------------------------------------------------------- settings


def _settings_tab(gr: Any, app: AppState, status: Any) -> None:
    s = app.settings
    mode = gr.Radio(
        [
            ("Bundled model (llama.cpp, on this machine)", "embedded"),
            ("Remote OpenAI-compatible server (vLLM, llama.cpp server…)", "remote"),
        ],
        value="remote" if s.llm.base_url else "embedded",
        label="Answering model",
    )
    with gr.Row():
        base_url = gr.Textbox(
            s.llm.base_url or "",
            label="Endpoint URL (remote)",
            placeholder="http://127.0.0.1:8000/v1",
        )
        model = gr.Textbox(s.llm.model, label="Model name")
    with gr.Row():
        k = gr.Slider(
            1, 20, value=s.retrieval.k, step=1, label="Retrieval depth (passages per question)"
        )
        judge_url = gr.Textbox(
            s.evals.judge_base_url or "", label="Judge endpoint (empty: the tutor's model)"
        )
        judge_model = gr.Textbox(s.evals.judge_model or "", label="Judge model")
    with gr.Row():
        check = gr.Button("Check endpoint")
        apply = gr.Button("Apply", variant="primary")
    out = gr.JSON(label="Endpoint status")

    def do_check(m: str, url: str, name: str) -> dict[str, Any]:
        from agent.llm.client import describe_target

        llm = app.settings.llm.model_copy(
            update={
                "base_url": (url.strip() or None) if m == "remote" else None,
                "model": name or "local",
            }
        )
        return describe_target(llm, app.settings.index.data_dir)

    def do_apply(m: str, url: str, name: str, depth: float, jurl: str, jmodel: str) -> list[Any]:
        cur = app.settings
        try:
            if m == "remote" and not url.strip():
                raise ConfigError("give the remote endpoint URL, or choose the bundled model")
            new = cur.model_copy(
                update={
                    "llm": cur.llm.model_copy(
                        update={
                            "base_url": url.strip() or None if m == "remote" else None,
                            "model": name.strip() or "local",
                        }
                    ),
                    "retrieval": cur.retrieval.model_copy(update={"k": int(depth)}),
                    "evals": cur.evals.model_copy(
                        update={
                            "judge_base_url": jurl.strip() or None,
                            "judge_model": jmodel.strip() or None,
                        }
                    ),
                }
            )
            Settings.model_validate(new.model_dump())
            app.reconfigure(new)
        except Exception as exc:
            return [{"error": error_message(exc)}, _status_html(app)]
        return [
            {"applied": True, "llm": new.llm.base_url or "bundled model", "k": int(depth)},
            _status_html(app),
        ]

    check.click(do_check, [mode, base_url, model], out, api_visibility="private")
    apply.click(
        do_apply,
        [mode, base_url, model, k, judge_url, judge_model],
        [out, status],
        api_visibility="private",
        concurrency_limit=1,
    )


# ---------------------------------------------------------------- API endpoints


def _api_endpoints(gr: Any, app: AppState) -> None:
    def ask(
        question: str, history: str = "[]", language: str = "", answer_language: str = ""
    ) -> dict:
        """Ask the tutor. `history` is a JSON list of [question, answer] pairs; `language`
        restricts the sources ("en", "es", "zh", ...); `answer_language` ("en", "es",
        "fr", "ja", "zh-Hans", "zh-Hant") overrides the question's language for the
        answer. Returns the answer record."""
        try:
            pairs = parse_history(history)
            rt = app.wait_ready(READY_WAIT_S)
            return rt.tutor.ask(
                question,
                history=pairs,
                filters=filters_for(language),
                answer_language=answer_language or None,
            ).to_json()
        except Exception as exc:
            raise gr.Error(error_message(exc)) from exc

    def ask_stream(question: str, language: str = "", answer_language: str = "") -> Iterator[str]:
        """Ask the tutor, streaming: yields the answer text as it grows, then the answer
        record as JSON (a string starting with "{")."""
        try:
            rt = app.wait_ready(READY_WAIT_S)
            for event in stream_ask(
                rt.tutor.ask,
                question,
                (),
                filters_for(language),
                answer_language=answer_language or None,
            ):
                if event.answer is None:
                    yield event.text
                else:
                    yield json.dumps(event.answer.to_json(), ensure_ascii=False)
        except Exception as exc:
            raise gr.Error(error_message(exc)) from exc

    def ask_events(
        question: str, language: str = "", answer_language: str = ""
    ) -> Iterator[dict]:
        """Ask the tutor, as events: first {"type": "sources", "sources": [...]} the moment
        the passages are chosen (the model then reads them for seconds), then {"type":
        "text", "text": ...} with the draft so far (provisional: the checker may still
        decline it), then {"type": "answer", "answer": {...}}, the checked answer record."""
        try:
            rt = app.wait_ready(READY_WAIT_S)
            for event in stream_ask(
                rt.tutor.ask,
                question,
                (),
                filters_for(language),
                answer_language=answer_language or None,
            ):
                if event.answer is not None:
                    yield {"type": "answer", "answer": event.answer.to_json()}
                elif event.text:
                    yield {"type": "text", "text": event.text}
                elif event.sources is not None:
                    yield {"type": "sources", "sources": [asdict(c) for c in event.sources]}
        except Exception as exc:
            raise gr.Error(error_message(exc)) from exc

    def search(query: str, k: int = 5, language: str = "") -> list:
        """Hybrid search of the index: the top-k passages as JSON records."""
        try:
            rt = app.wait_ready(READY_WAIT_S)
            return [
                h.to_json()
                # k goes in as sent: the retriever refuses what is not a whole number in
                # 1..limits.max_k, as it does for `tutor search --k`.
                for h in rt.retriever.search(query, k=k, filters=filters_for(language))
            ]
        except Exception as exc:
            raise gr.Error(error_message(exc)) from exc

    def status() -> dict:
        """Startup status: phase (starting, indexing, loading model, ready, failed)."""
        s = app.status
        return {"phase": s.phase, "detail": s.detail, "ready": s.ready}

    def index_info() -> dict:
        """The index: build, documents, passages."""
        return _index_status(app)

    def grade(question_id: str, answer: str, learner: str = "default") -> dict:
        """Grade an answer to a self-check question, named by id (SQ01..SQ12) or asked in
        your own words: the grade report, with the question it matched and how closely."""
        try:
            return _grade(app.wait_ready(READY_WAIT_S), question_id, answer, learner)
        except Exception as exc:
            raise gr.Error(error_message(exc)) from exc

    def hint(question_id: str, level: int = 1, learner: str = "default") -> dict:
        """A hint (level 1..3) for a self-check question instead of grading."""
        try:
            return _hint(app.wait_ready(READY_WAIT_S), question_id, level, learner)
        except Exception as exc:
            raise gr.Error(error_message(exc)) from exc

    gr.api(ask, api_name="ask", **LLM_QUEUE)
    gr.api(ask_stream, api_name="ask_stream", **LLM_QUEUE)
    gr.api(ask_events, api_name="ask_events", **LLM_QUEUE)
    gr.api(search, api_name="search")
    gr.api(status, api_name="status", queue=False)
    gr.api(index_info, api_name="index_status", queue=False)
    gr.api(grade, api_name="grade", **LLM_QUEUE)
    gr.api(hint, api_name="hint")


# ---------------------------------------------------------------- launching


MCP_TOOLS = ("search", "ask", "grade", "hint")  # the tools docs/ui.md names (among others)


def mcp_enabled(settings: Settings, credentials: tuple[str, str] | None) -> bool:
    """Whether to serve the API as an MCP server too: ui.mcp_server, and no password.
    Gradio's MCP endpoint does not ask for the app's login, so a password-protected app
    (which is what any app listening beyond this machine is) does not serve it."""
    if not settings.ui.mcp_server:
        return False
    if credentials is not None:
        log.warning(
            "ui.mcp_server is on but the app has a password: Gradio's MCP endpoint does not "
            "check it, so the MCP server is off"
        )
        return False
    return True


def mcp_url(url: str) -> str:
    """The streamable-HTTP MCP endpoint of the app at `url` (SSE: add "sse")."""
    return url.rstrip("/") + "/gradio_api/mcp/"


def launch(
    settings: Settings,
    host: str | None = None,
    port: int | None = None,
    auth: str | tuple[str, str] | None = None,
    *,
    runtime_factory: RuntimeFactory | None = None,
    runtime: Runtime | None = None,
    block: bool = True,
    quiet: bool = False,
) -> tuple[gr.Blocks, str]:
    """Start the app on host:port (default: the UI settings, 127.0.0.1).

    Refuses a non-loopback host without auth. With `block=False` it returns
    (app, local URL) at once and the server runs in a background thread.
    """
    host = host or settings.ui.host
    port = settings.ui.port if port is None else port
    credentials = parse_auth(auth) if isinstance(auth, str) or auth is None else auth
    if credentials is None and settings.ui.auth:
        credentials = parse_auth(settings.ui.auth)
    check_exposure(host, credentials)
    mcp = mcp_enabled(settings, credentials)
    t0 = time.monotonic()
    source: AppState | Runtime | Settings = runtime if runtime is not None else settings
    demo = build_app(source, runtime_factory)
    _, url, _ = demo.launch(
        server_name=host,
        server_port=port,
        auth=credentials,
        prevent_thread_lock=True,
        quiet=quiet,
        share=False,
        ssr_mode=False,
        footer_links=["api"],
        css=render.CSS,
        show_error=False,
        strict_cors=True,
        mcp_server=mcp,
    )
    log.info("UI up in %.1f s at %s", time.monotonic() - t0, url)
    if mcp:
        log.info("MCP server at %s (tools: %s)", mcp_url(url), ", ".join(MCP_TOOLS))
    if block:
        try:
            demo.block_thread()
        finally:
            demo.tutor_app.close()  # type: ignore[attr-defined]
    return demo, url


def stop(demo: gr.Blocks) -> None:
    """Close the server and the Runtime behind it (stops an embedded model server)."""
    demo.close()
    app = getattr(demo, "tutor_app", None)
    if app is not None:
        app.close()
