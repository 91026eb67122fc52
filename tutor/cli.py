"""`tutor`: the command-line shell over the library.

Each subcommand lives in a `tutor/cmd_*.py` module that registers its parser
and a handler `(args, runtime) -> int`. Errors of the project's own type are
turned into one line on stderr and exit status 2; nothing else is caught, so
our own bugs still show a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tutor.errors import TutorError
from tutor.runtime import Runtime
from tutor.settings import load_settings

Handler = Callable[[argparse.Namespace, Runtime], int]

EXIT_USER_ERROR = 2


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")
    sys.stdout.flush()


class StderrProgress:
    """Progress lines on stderr: stage, count, rate; a summary is the caller's job."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.quiet = not enabled
        self._stage: str | None = None
        self._t0 = 0.0
        self._last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        import time

        if self.quiet:
            return
        now = time.monotonic()
        if stage != self._stage:
            if self._stage is not None and self.enabled:
                sys.stderr.write("\n")
            self._stage, self._t0, self._last = stage, now, 0.0
        if now - self._last < 0.5 and done < total:
            return
        self._last = now
        rate = done / (now - self._t0) if now > self._t0 else 0.0
        line = f"{stage}: {done}/{total} ({rate:.1f}/s)"
        if self.enabled:
            sys.stderr.write("\r" + line)
            if done >= total:
                sys.stderr.write("\n")
                self._stage = None
        elif done >= total or done == 0:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Handler]]:
    from tutor import cmd_agent, cmd_eval, cmd_grade, cmd_index, cmd_papers, cmd_ui

    parser = argparse.ArgumentParser(
        prog="tutor", description="Roadmap Tutor: a local tutor for the Generative AI Roadmap."
    )
    parser.add_argument("--config", type=Path, help="TOML config file (default: user config dir)")
    parser.add_argument("--data-dir", type=Path, help="where the index and learner data live")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    handlers: dict[str, Handler] = {}
    for module in (cmd_index, cmd_agent, cmd_papers, cmd_grade, cmd_eval, cmd_ui):
        module.register(sub, handlers)
    return parser, handlers


def main(argv: Sequence[str] | None = None) -> int:
    parser, handlers = build_parser()
    args = parser.parse_args(argv)
    key = getattr(args, "handler_key", None)
    if key is None:
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        # A subcommand may map some of its options onto settings fields.
        overrides_fn = getattr(args, "settings_overrides", None)
        overrides = overrides_fn(args) if overrides_fn else {}
        settings = load_settings(
            config_path=args.config, overrides={"index.data_dir": args.data_dir, **overrides}
        )
        runtime = Runtime(settings)
        return handlers[key](args, runtime)
    except TutorError as exc:
        if getattr(args, "json", False):
            print_json({"error": str(exc), "type": type(exc).__name__})
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: the reader left, nothing is wrong.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
