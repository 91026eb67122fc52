"""The Settings tab: which model answers (bundled or remote), retrieval depth, the judge."""

from __future__ import annotations

from typing import Any

from core.errors import ConfigError
from core.settings import Settings, updated_settings
from ui import render
from ui.common import error_message
from ui.state import AppState


def status_html(app: AppState) -> str:
    s = app.status
    return render.status_html(s.phase, s.detail, s.ok)


def settings_from_form(
    settings: Settings, mode: str, url: str, name: str, depth: float, jurl: str, jmodel: str
) -> Settings:
    """The settings the form asks for, checked as the config file's would be."""
    if mode == "remote" and not url.strip():
        raise ConfigError("give the remote endpoint URL, or choose the bundled model")
    return updated_settings(
        settings,
        {
            "llm.base_url": url.strip() or None if mode == "remote" else None,
            "llm.model": name.strip() or "local",
            "retrieval.k": int(depth),
            "evals.judge_base_url": jurl.strip() or None,
            "evals.judge_model": jmodel.strip() or None,
        },
    )


def settings_tab(gr: Any, app: AppState, status: Any) -> None:
    """The Settings tab: the answering model, retrieval depth and judge, applied live."""
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
        try:
            new = settings_from_form(app.settings, m, url, name, depth, jurl, jmodel)
            app.reconfigure(new)
        except Exception as exc:
            return [{"error": error_message(exc)}, status_html(app)]
        return [
            {"applied": True, "llm": new.llm.base_url or "bundled model", "k": int(depth)},
            status_html(app),
        ]

    check.click(do_check, [mode, base_url, model], out, api_visibility="private")
    apply.click(
        do_apply,
        [mode, base_url, model, k, judge_url, judge_model],
        [out, status],
        api_visibility="private",
        concurrency_limit=1,
    )
