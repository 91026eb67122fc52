"""The history of finished eval runs: one row per run in `<data_dir>/eval-history.sqlite`,
for `tutor eval history` and the trend plots."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from core.settings import Settings
from evals.records import EvalRun

HISTORY_DB = "eval-history.sqlite"


def _history_db(settings: Settings) -> sqlite3.Connection:
    settings.index.data_dir.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(settings.index.data_dir / HISTORY_DB)
    db.execute(
        "CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, run_dir TEXT, started_at TEXT,"
        " finished_at TEXT, eval_set_version TEXT, n_items INTEGER, git_commit TEXT,"
        " tutor_model TEXT, judge TEXT, summary TEXT)"
    )
    return db


def record_history(settings: Settings, run: EvalRun) -> None:
    db = _history_db(settings)
    try:
        c = run.config
        db.execute(
            "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run.run_id,
                str(run.run_dir),
                c.get("started_at"),
                c.get("finished_at"),
                c.get("eval_set_version"),
                len(run.records),
                c.get("git_commit"),
                json.dumps(c.get("tutor_model")),
                json.dumps(c.get("judge")),
                json.dumps(run.summary),
            ),
        )
        db.commit()
    finally:
        db.close()


def history(settings: Settings) -> list[dict[str, Any]]:
    """Every recorded run, oldest first, with its summary."""
    path = settings.index.data_dir / HISTORY_DB
    if not path.is_file():
        return []
    db = _history_db(settings)
    try:
        rows = db.execute(
            "SELECT run_id, run_dir, started_at, finished_at, eval_set_version, n_items,"
            " git_commit, tutor_model, judge, summary FROM runs ORDER BY started_at, run_id"
        ).fetchall()
    finally:
        db.close()
    out = []
    for row in rows:
        out.append(
            {
                "run_id": row[0],
                "run_dir": row[1],
                "started_at": row[2],
                "finished_at": row[3],
                "eval_set_version": row[4],
                "n_items": row[5],
                "git_commit": row[6],
                "tutor_model": json.loads(row[7] or "null"),
                "judge": json.loads(row[8] or "null"),
                "summary": json.loads(row[9] or "{}"),
            }
        )
    return out
