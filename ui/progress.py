"""The Progress tab: a learner's mastery per section, due questions, attempts, export."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from agent.progress import ProgressStore
from core.settings import Settings
from corpus.questions import SelfCheckQuestion
from ui import render
from ui.common import error_html, error_message
from ui.state import AppState


@contextlib.contextmanager
def progress_store(settings: Settings) -> Iterator[tuple[ProgressStore, list[SelfCheckQuestion]]]:
    """The learner database and the question bank, opened per call (SQLite connections
    stay in their thread)."""
    from agent.practice import open_progress
    from agent.question_bank import load_settings_bank

    bank = load_settings_bank(settings)
    with open_progress(settings, bank) as store:
        yield store, bank


def attempt_rows(settings: Settings, learner: str | None) -> list[list[Any]]:
    with progress_store(settings) as (store, _):
        return [
            [a.created_at, a.question_id, a.verdict, a.score]
            for a in reversed(store.history(learner or "default"))
        ]


def progress_tab(gr: Any, app: AppState, profile: Any) -> None:
    """The Progress tab: mastery per section, what is due, the attempts, a CSV export."""
    who = gr.Markdown()
    refresh = gr.Button("Refresh", elem_id="progress-refresh")
    chart = gr.HTML("", padding=True, elem_id="mastery")
    path = gr.HTML("", padding=True, elem_id="learning-path")
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
        from agent.practice import due_now, path_for

        learner = p or "default"
        try:
            settings = app.settings
            steps = [asdict(s) for s in path_for(settings, learner)]
            with progress_store(settings) as (store, bank):
                mastery = [asdict(m) for m in store.mastery_by_section(learner)]
                due_rows = [
                    [d.question_id, d.section, d.due, d.last_score]
                    for d in due_now(settings, store, bank, learner)
                ]
            return [
                f"Learner profile: `{learner}`",
                render.mastery_html(mastery),
                render.path_html(steps),
                due_rows,
                attempt_rows(settings, learner),
            ]
        except Exception as exc:
            return [f"Learner profile: `{learner}`", error_html(exc), "", [], []]

    def do_export(p: str | None) -> Any:
        from agent.practice import export_attempts_file

        return str(export_attempts_file(app.settings, p or "default"))

    def do_deck(p: str | None) -> Any:
        from agent.flashcards import export_deck_download

        try:
            return str(export_deck_download(app.settings, p or "default"))
        except Exception as exc:
            raise gr.Error(error_message(exc)) from exc

    outs = [who, chart, path, due, history]
    refresh.click(show, profile, outs, api_visibility="private")
    profile.change(show, profile, outs, api_visibility="private")
    export.click(do_export, profile, download, api_visibility="private")
    deck.click(do_deck, profile, download, api_visibility="private")
