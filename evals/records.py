"""The record of one eval run, shared by the runner (which writes and loads runs) and the
report (which renders them), so neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class EvalRun:
    run_dir: Path
    config: dict[str, Any]
    records: list[dict[str, Any]]
    summary: dict[str, Any]

    @property
    def run_id(self) -> str:
        return self.run_dir.name
