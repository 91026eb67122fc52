"""The judgment cache: the judge's answers on disk, keyed by what produced them.

A key is the sha256 of the judge model id, the prompt version (`evals.judge_prompts`),
the kind of call and its inputs, so a rerun with nothing changed makes no model call and
a changed prompt or model never reuses an old answer.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from evals.judge_prompts import PROMPT_VERSION


def cache_key(model_id: str, kind: str, payload: Any) -> str:
    """sha256 of (judge model id, prompt version, kind of call, inputs)."""
    blob = json.dumps([model_id, PROMPT_VERSION, kind, payload], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class JudgmentCache:
    """Judgments on disk (SQLite): key -> JSON value. Thread-safe; one file per cache dir."""

    FILE_NAME = "judge-cache.sqlite"

    def __init__(self, cache_dir: Path) -> None:
        cache_dir = Path(cache_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.path = cache_dir / self.FILE_NAME
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS judgments (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        self._db.commit()

    def get(self, key: str) -> Any | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM judgments WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO judgments (key, value) VALUES (?, ?)",
                (key, json.dumps(value, ensure_ascii=False)),
            )
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()
