"""The Gradio app: Chat, Practice, Progress, Evals, Library, Settings.

This module builds the Blocks from one module per tab (`ui.chat`, `ui.practice`,
`ui.progress`, `ui.evals_tab`, `ui.library`, `ui.settings_tab`) and the API endpoints
(`ui.api`), and launches it. Thin by design: each handler makes one library call (agent,
index, evals, corpus), the one the CLI makes for the same action, and renders its result
with `ui.render`. Gradio is imported inside `build_app`/`launch` only, so importing this
module is cheap. Per-session data (the conversation, the learner profile) is Gradio
session state; the Runtime in `AppState` is shared. With ui.mcp_server the API functions
are also MCP tools at /gradio_api/mcp/ (docs/ui.md).
"""

from __future__ import annotations

import ipaddress
import logging
import time
import uuid
from typing import TYPE_CHECKING

from agent.runtime import Runtime
from core.errors import ConfigError
from core.settings import Settings
from ui import render
from ui.api import api_endpoints, parse_history
from ui.chat import ANSWER_LANGUAGES, LANGUAGES, N_FOLLOWUPS, chat_tab, contexts_for, history_of
from ui.common import LLM_QUEUE, READY_WAIT_S, error_message, filters_for
from ui.evals_tab import evals_tab
from ui.library import library_tab
from ui.practice import practice_tab
from ui.progress import progress_tab
from ui.settings_tab import settings_tab, status_html
from ui.state import AppState, RuntimeFactory

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger(__name__)

# Names this module held before the tabs moved out, still importable from here.
__all__ = [
    "ANSWER_LANGUAGES",
    "LANGUAGES",
    "LLM_QUEUE",
    "N_FOLLOWUPS",
    "READY_WAIT_S",
    "build_app",
    "check_exposure",
    "contexts_for",
    "error_message",
    "filters_for",
    "history_of",
    "is_loopback",
    "launch",
    "new_profile",
    "parse_auth",
    "parse_history",
    "stop",
]


# ---------------------------------------------------------------- exposure


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
            status = gr.HTML(status_html(app), elem_id="status")
        timer = gr.Timer(2.0)
        timer.tick(
            lambda: status_html(app),
            None,
            status,
            queue=False,
            show_progress="hidden",
            api_visibility="private",
        )

        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chat_tab(gr, app)
            with gr.Tab("Practice", id="practice"):
                practice_tab(gr, app, profile)
            with gr.Tab("Progress", id="progress"):
                progress_tab(gr, app, profile)
            with gr.Tab("Evals", id="evals"):
                evals_tab(gr, app)
            with gr.Tab("Library", id="library"):
                library_tab(gr, app)
            with gr.Tab("Settings", id="settings"):
                settings_tab(gr, app, status)

        def ensure_profile(p: str | None) -> str:
            return p or new_profile()

        demo.load(ensure_profile, profile, profile, queue=False, api_visibility="private")
        api_endpoints(gr, app)

    demo.queue(default_concurrency_limit=settings.ui.concurrency, max_size=settings.ui.max_queue)
    return demo


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
