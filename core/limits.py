"""Checks on what a person sends: empty, too long, not text, not valid UTF-8.

Library entry points (the retriever, the tutor, practice, the progress store) call these
on their inputs, so the CLI and the web app refuse the same things with the same words.
Each check raises `InputError` naming the input and, for a size, the `limits.*` setting.
The checks are cheap (one pass over the string) so a huge input is refused at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import InputError


def _describe(value: Any) -> str:
    """A short, printable description of a bad value (never the whole of a huge one)."""
    if isinstance(value, str):
        return f"{len(value):,} characters"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_utf8(value: str, what: str) -> str:
    """Refuse text holding lone surrogates: how Python carries bytes that were not valid
    UTF-8 in an argument (surrogateescape) or a JSON string ("\\udc80"); or a NUL, which
    no file name, SQLite key or model prompt should carry.

    >>> check_utf8("café", "the query")
    'café'
    >>> check_utf8("caf\\udce9", "the query")
    Traceback (most recent call last):
    ...
    core.errors.InputError: the query is not valid UTF-8 (byte 0xe9 at character 4): send UTF-8 text
    """
    for i, ch in enumerate(value):
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF:
            detail = f"byte 0x{code - 0xDC00:02x}" if code >= 0xDC80 else f"U+{code:04X}"
            raise InputError(
                f"{what} is not valid UTF-8 ({detail} at character {i + 1}): send UTF-8 text"
            )
        if code == 0:
            raise InputError(f"{what} contains a NUL character (at character {i + 1})")
    return value


def check_text(
    value: Any, what: str, max_chars: int, setting: str, *, allow_empty: bool = False
) -> str:
    """`value` if it is a string of at most `max_chars`, valid UTF-8, not blank (unless
    `allow_empty`); else InputError naming `what` and the `setting` that bounds it."""
    if not isinstance(value, str):
        raise InputError(f"{what} must be text, got {type(value).__name__} {_describe(value)}")
    if len(value) > max_chars:
        # Checked before anything that walks the string: a huge input is refused in O(1).
        raise InputError(
            f"{what} is {len(value):,} characters, over the limit of {max_chars:,} "
            f"(setting {setting}): shorten it"
        )
    check_utf8(value, what)
    if not allow_empty and not value.strip():
        raise InputError(f"{what} is empty")
    return value


def check_count(value: Any, what: str, low: int, high: int, setting: str | None = None) -> int:
    """`value` if it is a whole number in low..high; else InputError naming the bound
    (and the `setting` that sets it, when one does)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(
            f"{what} must be a whole number between {low} and {high}, got {_describe(value)}"
        )
    if not low <= value <= high:
        bound = f" (setting {setting})" if setting else ""
        raise InputError(f"{what} must be between {low} and {high}{bound}, got {value:,}")
    return value


def check_profile(value: Any, max_chars: int) -> str:
    """A learner profile name, stripped: non-empty, at most `max_chars`, one line.

    >>> check_profile("  ana ", 64)
    'ana'
    """
    if isinstance(value, str) and not value.strip():
        raise InputError("a profile name cannot be empty")
    name = check_text(value, "the profile name", max_chars, "limits.max_profile_chars").strip()
    if any(ch in name for ch in "\n\r\t") or not name.isprintable():
        raise InputError("the profile name must be one line of printable characters")
    return name


def read_bounded_bytes(path: Path, max_bytes: int, too_big: str) -> bytes:
    """The bytes of `path`, refused before reading when over `max_bytes`; `too_big` ends
    the refusal ("{path}: {size} bytes, more than {too_big}"). A missing or unreadable
    file is an InputError naming it."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(f"{path}: {size} bytes, more than {too_big}")
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from exc
