"""The learner database's schema: numbered migrations, and the timestamps its rows hold.

Steps are registered with `@migration` and recorded in a `_migrations` table, so opening
an old file upgrades it and opening a current one does nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    """Register a schema step; steps run once each, in definition order."""
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_profiles_attempts(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE profiles (
            name TEXT PRIMARY KEY,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE attempts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            profile TEXT NOT NULL REFERENCES profiles(name),
            question_id TEXT NOT NULL,
            section TEXT NOT NULL DEFAULT '',
            answer TEXT NOT NULL,
            verdict TEXT NOT NULL,
            score INTEGER NOT NULL CHECK (score BETWEEN 0 AND 5),
            report TEXT NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX attempts_profile ON attempts(profile, created_at)")


@migration
def m002_review_state(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE review_state (
            profile TEXT NOT NULL REFERENCES profiles(name),
            question_id TEXT NOT NULL,
            section TEXT NOT NULL DEFAULT '',
            easiness REAL NOT NULL,
            interval_days INTEGER NOT NULL,
            repetitions INTEGER NOT NULL,
            due TEXT NOT NULL,
            last_score INTEGER NOT NULL,
            PRIMARY KEY (profile, question_id)
        )"""
    )


@migration
def m003_generated_questions(db: sqlite3.Connection) -> None:
    # A learner's own practice questions (`tutor practice generate`): the question, its
    # checked key points as JSON, and the passage they were checked against.
    db.execute(
        """CREATE TABLE generated_questions (
            profile TEXT NOT NULL REFERENCES profiles(name),
            id TEXT NOT NULL,
            question TEXT NOT NULL,
            key_points TEXT NOT NULL,
            doc TEXT NOT NULL,
            chunk_id TEXT NOT NULL,
            section TEXT NOT NULL,
            language TEXT NOT NULL,
            passage TEXT NOT NULL,
            passage_start INTEGER NOT NULL,
            passage_end INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            edited_at TEXT,
            PRIMARY KEY (profile, id)
        )"""
    )


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply the migrations not yet recorded; returns the names applied now."""
    with db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
        )
    done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    applied = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        with db:  # the step and its record commit together, or not at all
            fn(db)
            db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, now_iso())
            )
        applied.append(name)
    return applied


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
