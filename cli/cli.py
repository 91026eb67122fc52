"""`tutor`: the command-line shell over the library.

Each subcommand lives in a `cli/cmd_*.py` module that registers its parser
and a handler `(args, runtime) -> int`. Errors of the project's own type, and
usage errors (unknown options, missing arguments, arguments that are not valid
UTF-8), are turned into one line on stderr, a JSON `{"error": ...}` on stdout
under `--json`, and exit status 2; nothing else is caught, so our own bugs
still show a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from agent.runtime import Runtime
from core.errors import InputError, TutorError
from core.limits import check_utf8
from core.settings import load_settings

Handler = Callable[[argparse.Namespace, Runtime], int]

EXIT_USER_ERROR = 2


def print_json(data: Any) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: JSON's \u escapes carry it safely
        text = json.dumps(data, ensure_ascii=True, indent=2, default=str)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


class UsageError(Exception):
    """argparse found the command line malformed (raised instead of exiting)."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is raised, so `main` reports it like any other error
    (one line, JSON under --json, exit 2) instead of printing the usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def one_line(message: str) -> str:
    """An error message fit for the one-line contract: no line breaks, printable on any
    terminal, and not the whole of a huge value that was echoed into it."""
    text = " ".join(message.split())
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= 2000 else text[:1997] + "..."


def report_error(message: str, kind: str, want_json: bool) -> int:
    message = one_line(message)
    if want_json:
        print_json({"error": message, "type": kind})
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USER_ERROR


def check_argv(argv: Sequence[str]) -> None:
    """Every argument must be valid UTF-8: Python hands undecodable bytes on as lone
    surrogates, which would fail later, far from here, with a traceback."""
    for i, arg in enumerate(argv):
        prev = argv[i - 1] if i else ""
        what = f"the value of {prev}" if prev.startswith("-") and "=" not in prev else None
        if arg.startswith("--") and "=" in arg:
            what = f"the value of {arg.split('=', 1)[0]}"
        check_utf8(arg, what or f"argument {i + 1}")


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
    from cli import cmd_agent, cmd_eval, cmd_grade, cmd_index, cmd_papers, cmd_ui

    parser = ArgumentParser(
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
    argv = list(sys.argv[1:] if argv is None else argv)
    want_json = "--json" in argv
    # Undecodable bytes on stdin become lone surrogates too, which the library's input
    # checks refuse with a clear message (instead of a UnicodeDecodeError mid-read).
    reconfigure = getattr(sys.stdin, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="surrogateescape")
    parser, handlers = build_parser()
    try:
        check_argv(argv)
        args = parser.parse_args(argv)
    except (UsageError, InputError) as exc:
        return report_error(str(exc), type(exc).__name__, want_json)
    key = getattr(args, "handler_key", None)
    if key is None:
        parser.print_help(sys.stderr)
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
        return report_error(str(exc), type(exc).__name__, getattr(args, "json", False))
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
