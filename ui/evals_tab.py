"""The Evals tab: run the evals on a subset, and show the latest report with its trend."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ui import render
from ui.common import LLM_QUEUE, READY_WAIT_S, error_html
from ui.state import AppState


def evals_tab(gr: Any, app: AppState) -> None:
    """The Evals tab: run a subset of the eval set, show the latest report and the trend."""
    with gr.Row():
        subset = gr.Slider(
            1, 40, value=3, step=1, label="Questions to run (a subset)", elem_id="eval-subset"
        )
        run_btn = gr.Button("Run evals", variant="primary", elem_id="eval-run")
        refresh = gr.Button("Show latest report", elem_id="eval-latest")
    trend = gr.HTML("", padding=True, elem_id="eval-trend")
    report = gr.HTML("", padding=True, elem_id="eval-report")

    def latest() -> list[str]:
        from evals.history import history
        from evals.report import history_svg, render_report
        from evals.runner import load_run, load_validation

        runs = history(app.settings)
        if not runs:
            return ["<p>No eval run yet.</p>", ""]
        run = load_run(Path(runs[-1]["run_dir"]))
        return [
            history_svg(runs),
            report_iframe(render_report(run, load_validation_default(load_validation))),
        ]

    def run(n: float, progress: Any = gr.Progress()) -> list[str]:  # noqa: B008
        from evals.runner import run_eval

        try:
            rt = app.wait_ready(READY_WAIT_S)

            def tick(stage: str, done: int, total: int) -> None:
                progress((done, total), desc=stage)

            run_eval(rt, rt.settings.evals.eval_set, subset=int(n), progress=tick)
        except Exception as exc:
            return [error_html(exc), ""]
        return latest()

    run_btn.click(run, subset, [trend, report], api_visibility="private", **LLM_QUEUE)
    refresh.click(latest, None, [trend, report], api_visibility="private")


def load_validation_default(loader: Callable[[Path], Any]) -> Any:
    from evals.runner import JUDGE_VALIDATION

    return loader(JUDGE_VALIDATION)


def report_iframe(document: str) -> str:
    """A full HTML report shown in a sandboxed frame (no scripts, no same-origin access)."""
    return (
        f'<iframe sandbox="" srcdoc="{render.esc(document)}" '
        'style="width:100%;height:70vh;border:1px solid #ddd"></iframe>'
    )
