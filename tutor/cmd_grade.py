"""`tutor grade ...`: registered by its module."""

from __future__ import annotations

from typing import Any


def register(sub: Any, handlers: dict[str, Any]) -> None:
    return None
