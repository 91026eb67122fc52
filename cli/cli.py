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
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from agent.runtime import Runtime
from cli.output import EXIT_USER_ERROR, Handler, one_line, print_json
from core.errors import InputError, TutorError
from core.limits import check_utf8
from core.settings import load_settings


class UsageError(Exception):
    """argparse found the command line malformed (raised instead of exiting)."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is raised, so `main` reports it like any other error
    (one line, JSON under --json, exit 2) instead of printing the usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


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


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Handler]]:
    from cli import (
        cmd_agent,
        cmd_eval,
        cmd_flashcards,
        cmd_grade,
        cmd_index,
        cmd_papers,
        cmd_practice,
        cmd_ui,
    )

    parser = ArgumentParser(
        prog="tutor", description="Roadmap Tutor: a local tutor for the Generative AI Roadmap."
    )
    parser.add_argument("--config", type=Path, help="TOML config file (default: user config dir)")
    parser.add_argument("--data-dir", type=Path, help="where the index and learner data live")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    handlers: dict[str, Handler] = {}
    for module in (
        cmd_index,
        cmd_agent,
        cmd_papers,
        cmd_grade,
        cmd_practice,
        cmd_flashcards,
        cmd_eval,
        cmd_ui,
    ):
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
