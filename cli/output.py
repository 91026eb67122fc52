"""What every subcommand module shares: the handler type, the exit status of a user
error, JSON and one-line output, and progress on stderr. Kept apart from `cli.cli`
(which imports every `cmd_*` module) so the command modules need not import it back."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from agent.runtime import Runtime

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


def one_line(message: str) -> str:
    """An error message fit for the one-line contract: no line breaks, printable on any
    terminal, and not the whole of a huge value that was echoed into it."""
    text = " ".join(message.split())
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= 2000 else text[:1997] + "..."


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
