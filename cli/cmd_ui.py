"""`tutor ui`: the Gradio app in the browser.

The page is up in seconds; the index is checked (built when missing) and the model
started in the background, with the progress shown at the top of the page.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agent.runtime import Runtime


def register(sub: Any, handlers: dict[str, Any]) -> None:
    p = sub.add_parser(
        "ui",
        help="open the tutor in the browser (Gradio app)",
        description=(
            "Serve the tutor on 127.0.0.1 (default). Listening on another interface needs "
            "--auth USER:PASSWORD (or ui.auth / TUTOR_UI_AUTH)."
        ),
    )
    p.add_argument("--host", help="interface to bind (default: ui.host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: ui.port, 7860)")
    p.add_argument("--auth", metavar="USER:PASS", help="password-protect the app")
    p.add_argument("--llm-url", help="OpenAI-compatible endpoint (default: the bundled model)")
    p.set_defaults(
        handler_key="ui",
        settings_overrides=lambda a: {
            "llm.base_url": a.llm_url,
            "ui.host": a.host,
            "ui.port": a.port,
            "ui.auth": a.auth,
        },
    )
    handlers["ui"] = cmd_ui


def cmd_ui(args: argparse.Namespace, rt: Runtime) -> int:
    from ui.app import check_exposure, is_loopback, launch, parse_auth

    s = rt.settings.ui
    # Refuse before importing Gradio or starting anything.
    check_exposure(s.host, parse_auth(s.auth))
    print(f"Roadmap Tutor: starting on http://{s.host}:{s.port} (Ctrl-C stops it)", flush=True)
    if not is_loopback(s.host):
        print(f"  listening on {s.host} with a password (ui.auth)", file=sys.stderr)
    launch(rt.settings, s.host, s.port, s.auth, runtime=rt, block=True)
    return 0
