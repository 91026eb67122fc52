"""Learner progress: attempts and spaced repetition (SM-2) in one SQLite file.

The schema is built by numbered migrations registered with `@migration` and recorded in
a `_migrations` table, so opening an old file upgrades it and opening a current one does
nothing. Every write runs in its own transaction and is committed before the call
returns: a crash after `record_attempt` loses nothing already recorded.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from tutor.errors import ConfigError

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
            db.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, _now()))
        applied.append(name)
    return applied


# ------------------------------------------------------------------ SM-2 (pure)


@dataclass(frozen=True)
class ReviewState:
    easiness: float = 2.5
    interval: int = 0  # days
    repetitions: int = 0


def quality_from_score(score: int) -> int:
    """Our 0-5 grade is SM-2's 0-5 response quality; clamp stray values."""
    return max(0, min(5, int(score)))


def sm2_update(state: ReviewState, quality: int) -> ReviewState:
    """SM-2 (Wozniak 1990): the next interval and easiness after an answer of `quality` 0-5.

    Quality below 3 restarts the repetitions at a one-day interval; otherwise the
    interval goes 1, 6, then the previous interval times the (previous) easiness. Easiness moves
    by 0.1 - (5 - q)(0.08 + (5 - q)0.02) and never drops below 1.3.

    >>> s = sm2_update(ReviewState(), 5); (s.interval, s.repetitions, round(s.easiness, 2))
    (1, 1, 2.6)
    >>> s = sm2_update(s, 4); (s.interval, s.repetitions, round(s.easiness, 2))
    (6, 2, 2.6)
    >>> s = sm2_update(s, 3); (s.interval, s.repetitions, round(s.easiness, 2))
    (16, 3, 2.46)
    >>> sm2_update(s, 1).interval
    1
    """
    q = quality_from_score(quality)
    easiness = max(1.3, state.easiness + 0.1 - (5 - q) * (0.08 + (5 - q) * 0.02))
    if q < 3:
        return ReviewState(easiness, 1, 0)
    reps = state.repetitions + 1
    if reps == 1:
        interval = 1
    elif reps == 2:
        interval = 6
    else:
        # As in SuperMemo's SM-2: the interval grows by the easiness *before* this answer.
        interval = round(state.interval * state.easiness)
    return ReviewState(easiness, interval, reps)


# ------------------------------------------------------------------ the store


@dataclass(frozen=True)
class Attempt:
    id: int
    profile: str
    question_id: str
    section: str
    answer: str
    verdict: str
    score: int
    report: dict[str, Any]
    created_at: str


@dataclass(frozen=True)
class DueItem:
    question_id: str
    section: str
    due: str  # ISO date
    interval: int
    easiness: float
    last_score: int | None  # None: never attempted


@dataclass(frozen=True)
class SectionMastery:
    section: str
    questions: int
    attempted: int
    mastered: int  # last score >= 4
    mean_last_score: float | None
    due: int


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ProgressStore:
    """Attempts and review state of every profile, in one SQLite file."""

    def __init__(
        self,
        path: Path,
        questions: Sequence[tuple[str, str]] = (),
        today: Callable[[], date] | None = None,
    ) -> None:
        """`questions`: the bank as (question id, section) in order; `today` for tests."""
        self.path = Path(path)
        self.questions = list(questions)
        self._today = today or (lambda: datetime.now(UTC).date())
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(self.path), isolation_level="DEFERRED")
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA journal_mode = WAL")
            migrate(self.db)
        except sqlite3.Error as exc:
            raise ConfigError(
                f"cannot open the learner database {self.path}: {exc}; "
                "check index.data_dir or move the broken file away"
            ) from exc

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> ProgressStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self.db:
            yield self.db

    # ---------------------------------------------------------------- writes

    def ensure_profile(self, name: str) -> None:
        if not name or not name.strip():
            raise ConfigError("a profile name cannot be empty")
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO profiles (name, created_at) VALUES (?, ?)", (name, _now())
            )

    def record_attempt(
        self,
        profile: str,
        question_id: str,
        answer: str,
        verdict: str,
        score: int,
        report: dict[str, Any],
        section: str = "",
    ) -> int:
        """Store one graded attempt and move the question's review schedule, atomically."""
        quality = quality_from_score(score)
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO profiles (name, created_at) VALUES (?, ?)", (profile, _now())
            )
            cur = db.execute(
                "INSERT INTO attempts (profile, question_id, section, answer, verdict, score, "
                "report, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    profile,
                    question_id,
                    section,
                    answer,
                    verdict,
                    quality,
                    json.dumps(report, ensure_ascii=False, default=str),
                    _now(),
                ),
            )
            row = db.execute(
                "SELECT easiness, interval_days, repetitions FROM review_state "
                "WHERE profile = ? AND question_id = ?",
                (profile, question_id),
            ).fetchone()
            state = ReviewState(*row) if row else ReviewState()
            new = sm2_update(state, quality)
            due = (self._today() + timedelta(days=new.interval)).isoformat()
            db.execute(
                "INSERT INTO review_state (profile, question_id, section, easiness, interval_days,"
                " repetitions, due, last_score) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(profile, question_id) DO UPDATE SET section = excluded.section, "
                "easiness = excluded.easiness, interval_days = excluded.interval_days, "
                "repetitions = excluded.repetitions, due = excluded.due, "
                "last_score = excluded.last_score",
                (
                    profile,
                    question_id,
                    section,
                    new.easiness,
                    new.interval,
                    new.repetitions,
                    due,
                    quality,
                ),
            )
            return int(cur.lastrowid or 0)

    # ---------------------------------------------------------------- reads

    def profiles(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT name FROM profiles ORDER BY name")]

    def history(self, profile: str) -> list[Attempt]:
        rows = self.db.execute(
            "SELECT id, profile, question_id, section, answer, verdict, score, report, created_at "
            "FROM attempts WHERE profile = ? ORDER BY id",
            (profile,),
        ).fetchall()
        return [Attempt(*r[:7], json.loads(r[7]), r[8]) for r in rows]  # type: ignore[arg-type]

    def _states(self, profile: str) -> dict[str, tuple[str, float, int, str, int]]:
        rows = self.db.execute(
            "SELECT question_id, section, easiness, interval_days, due, last_score "
            "FROM review_state WHERE profile = ?",
            (profile,),
        )
        return {r[0]: (r[1], r[2], r[3], r[4], r[5]) for r in rows}

    def due_items(self, profile: str, section: str | None = None) -> list[DueItem]:
        """Questions due today or earlier, most overdue first; never-seen questions count as
        due today, in bank order after the overdue ones."""
        today = self._today().isoformat()
        states = self._states(profile)
        items = []
        for order, (qid, sec) in enumerate(self.questions):
            if section and section.casefold() not in sec.casefold():
                continue
            if qid in states:
                _, ease, interval, due, last = states[qid]
                if due <= today:
                    items.append((due, 0, order, DueItem(qid, sec, due, interval, ease, last)))
            else:
                items.append((today, 1, order, DueItem(qid, sec, today, 0, 2.5, None)))
        return [it[-1] for it in sorted(items, key=lambda t: t[:3])]

    def next_due(self, profile: str, section: str | None = None) -> DueItem | None:
        due = self.due_items(profile, section)
        return due[0] if due else None

    def mastery_by_section(self, profile: str) -> list[SectionMastery]:
        """Per section of the bank: attempted, mastered (last score >= 4), mean, due now."""
        states = self._states(profile)
        due_ids = {d.question_id for d in self.due_items(profile)}
        out: dict[str, list[str]] = {}
        for qid, sec in self.questions:
            out.setdefault(sec, []).append(qid)
        result = []
        for sec, qids in out.items():
            lasts = [states[q][4] for q in qids if q in states]
            result.append(
                SectionMastery(
                    section=sec,
                    questions=len(qids),
                    attempted=len(lasts),
                    mastered=sum(s >= 4 for s in lasts),
                    mean_last_score=round(sum(lasts) / len(lasts), 2) if lasts else None,
                    due=sum(q in due_ids for q in qids),
                )
            )
        return result

    def export_csv(self, profile: str, path: Path) -> int:
        """Write the profile's attempts to CSV (no report JSON); returns the row count."""
        attempts = self.history(profile)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(
                ["created_at", "profile", "question_id", "section", "verdict", "score", "answer"]
            )
            for a in attempts:
                w.writerow(
                    [
                        a.created_at,
                        a.profile,
                        a.question_id,
                        a.section,
                        a.verdict,
                        a.score,
                        a.answer,
                    ]
                )
        return len(attempts)
