"""Learner progress: attempts and spaced repetition (SM-2) in one SQLite file.

The schema is built by numbered migrations (`agent.progress_schema`), the schedule is
SM-2 (`agent.spaced_repetition`). Every write runs in its own transaction and is
committed before the call returns: a crash after `record_attempt` loses nothing already
recorded.

Damage (a disk, a copy cut short, another program writing into the file) is handled by
`agent.progress_recovery`: opening runs SQLite's `quick_check`; the store keeps rolling
backups in `backups/` beside the file (SQLite's online backup API, before a migration
and at most once a day); a damaged file is moved aside, the newest backup that passes
its check is put in its place, and `LearnerDataError` says what was restored and what
was lost.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from agent.learner_questions import (
    GeneratedQuestion,
    LearnerQuestion,
    add_questions,
    delete_question,
    edit_question,
    list_questions,
    question_sections,
)
from agent.progress_recovery import (
    DatabaseCheck,
    backup_database,
    backup_if_due,
    database_counts,
    integrity_problems,
    is_damage,
    list_backups,
    recover,
)
from agent.progress_schema import migrate, now_iso
from agent.spaced_repetition import ReviewState, quality_from_score, sm2_update
from core.errors import ConfigError, InputError, LearnerDataError
from core.limits import check_profile

DEFAULT_MAX_PROFILE_CHARS = 64


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


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), isolation_level="DEFERRED")
    db.execute("PRAGMA foreign_keys = ON")
    return db


_T = TypeVar("_T")


def _guarded(method: Callable[..., _T]) -> Callable[..., _T]:
    """Damage found in the middle of a read or write is a clear error, not a traceback,
    and so is a database busy with another writer or a full disk; an IntegrityError is a
    bug of ours and stays one."""

    @functools.wraps(method)
    def wrapper(self: ProgressStore, *args: Any, **kwargs: Any) -> _T:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.IntegrityError:
            raise
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                raise LearnerDataError(
                    f"the learner database {self.path} failed ({exc}): run `tutor progress "
                    "--check`, which restores the last good backup if the file is damaged"
                ) from exc
            text = str(exc).lower()
            if "locked" in text or "busy" in text:
                raise LearnerDataError(
                    f"the learner database {self.path} is busy ({exc}): another program "
                    "(another tutor?) is writing to it - retry in a moment"
                ) from exc
            raise LearnerDataError(
                f"the learner database {self.path} cannot be used now ({exc}): fix the "
                "cause (disk space, permissions) and retry"
            ) from exc

    return wrapper


class ProgressStore:
    """Attempts and review state of every profile, in one SQLite file."""

    def __init__(
        self,
        path: Path,
        questions: Sequence[tuple[str, str]] = (),
        today: Callable[[], date] | None = None,
        max_profile_chars: int = DEFAULT_MAX_PROFILE_CHARS,
    ) -> None:
        """`questions`: the bank as (question id, section) in order; `today` for tests;
        `max_profile_chars`: the limits.max_profile_chars setting."""
        self.path = Path(path)
        self.questions = list(questions)
        self.max_profile_chars = max_profile_chars
        self._today = today or (lambda: datetime.now(UTC).date())
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            size = self.path.stat().st_size if self.path.is_file() else None
            existed = bool(size)
            self.db = _connect(self.path)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"cannot open the learner database {self.path}: {exc}; "
                "check index.data_dir or move the broken file away"
            ) from exc
        problems = integrity_problems(self.db) if existed else []
        if size == 0 and list_backups(self.path):
            # SQLite takes an empty file for a new database; ours is never empty once
            # written (WAL mode writes the header), so this one was cut to nothing.
            problems = ["the file is empty"]
        if problems:
            recover(self.db, self.path, problems)
        try:
            self.db.execute("PRAGMA journal_mode = WAL")
            if existed:
                backup_if_due(self.db, self.path, self._today())
            migrate(self.db)
        except sqlite3.OperationalError as exc:
            self.db.close()
            raise ConfigError(
                f"cannot open the learner database {self.path}: {exc}; "
                "check index.data_dir or move the broken file away"
            ) from exc
        except sqlite3.DatabaseError as exc:
            recover(self.db, self.path, [str(exc)])

    # ---------------------------------------------------------------- damage and backups

    @_guarded
    def check(self) -> DatabaseCheck:
        """SQLite's full integrity check (`tutor progress --check`). It finds damage the
        quick_check of opening does not (an index that disagrees with its table); a
        damaged file is recovered as on opening, and the report says what was found
        (`ok` False, `problems`) and what was done (`recovery`). After a recovery this
        store is closed: open the database again to go on."""
        problems = integrity_problems(self.db, full=True)
        if not problems:
            profiles, attempts, _ = database_counts(self.db)
            return DatabaseCheck(
                path=str(self.path),
                ok=True,
                problems=[],
                profiles=profiles,
                attempts=attempts,
                backups=[b.name for b in list_backups(self.path)],
            )
        profiles = attempts = 0  # the damaged file's own counts, as far as they can be read
        with contextlib.suppress(sqlite3.Error):
            profiles, attempts, _ = database_counts(self.db)
        recovery = None
        try:
            # raises, saying what it restored or that nothing was
            recover(self.db, self.path, problems)
        except LearnerDataError as exc:
            recovery = str(exc)
        return DatabaseCheck(
            path=str(self.path),
            ok=False,
            problems=problems,
            profiles=profiles,
            attempts=attempts,
            backups=[b.name for b in list_backups(self.path)],
            recovery=recovery,
        )

    def backup(self, label: str = "manual") -> Path:
        """Back the database up now (tests, and before anything risky)."""
        stamp = f"{self._today():%Y%m%d}-{datetime.now(UTC):%H%M%S%f}"
        return backup_database(self.db, self.path, f"{stamp}-{label}")

    def _profile(self, name: Any) -> str:
        return check_profile(name, self.max_profile_chars)

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

    @_guarded
    def ensure_profile(self, name: str) -> str:
        """Create the profile if new; returns its name as stored (stripped)."""
        name = self._profile(name)
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO profiles (name, created_at) VALUES (?, ?)", (name, now_iso())
            )
        return name

    @_guarded
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
        profile = self._profile(profile)
        quality = quality_from_score(score)
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO profiles (name, created_at) VALUES (?, ?)",
                (profile, now_iso()),
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
                    now_iso(),
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

    @_guarded
    def add_own_questions(self, profile: str, questions: list[GeneratedQuestion]) -> list[str]:
        """Add checked questions to the profile's own bank; returns the ids added."""
        profile = self.ensure_profile(profile)
        with self._tx() as db:
            return add_questions(db, profile, questions)

    @_guarded
    def edit_own_question(
        self,
        profile: str,
        question_id: str,
        question: str | None = None,
        points: list[str] | None = None,
    ) -> LearnerQuestion:
        with self._tx() as db:
            return edit_question(db, self._profile(profile), question_id, question, points)

    @_guarded
    def delete_own_question(self, profile: str, question_id: str) -> None:
        with self._tx() as db:
            delete_question(db, self._profile(profile), question_id)

    @_guarded
    def own_questions(self, profile: str) -> list[LearnerQuestion]:
        return list_questions(self.db, self._profile(profile))

    # ---------------------------------------------------------------- reads

    @_guarded
    def profiles(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT name FROM profiles ORDER BY name")]

    @_guarded
    def history(self, profile: str) -> list[Attempt]:
        profile = self._profile(profile)
        rows = self.db.execute(
            "SELECT id, profile, question_id, section, answer, verdict, score, report, created_at "
            "FROM attempts WHERE profile = ? ORDER BY id",
            (profile,),
        ).fetchall()
        return [Attempt(*r[:7], json.loads(r[7]), r[8]) for r in rows]  # type: ignore[arg-type]

    def _bank(self, profile: str) -> list[tuple[str, str]]:
        """The shared bank, then the profile's own questions (`agent.learner_questions`)."""
        return [*self.questions, *question_sections(self.db, profile)]

    def _states(self, profile: str) -> dict[str, tuple[str, float, int, str, int]]:
        rows = self.db.execute(
            "SELECT question_id, section, easiness, interval_days, due, last_score "
            "FROM review_state WHERE profile = ?",
            (profile,),
        )
        return {r[0]: (r[1], r[2], r[3], r[4], r[5]) for r in rows}

    @_guarded
    def due_items(self, profile: str, section: str | None = None) -> list[DueItem]:
        """Questions due today or earlier, most overdue first; never-seen questions count as
        due today, in bank order after the overdue ones."""
        profile = self._profile(profile)
        today = self._today().isoformat()
        states = self._states(profile)
        items = []
        for order, (qid, sec) in enumerate(self._bank(profile)):
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

    @_guarded
    def mastery_by_section(self, profile: str) -> list[SectionMastery]:
        """Per section of the bank: attempted, mastered (last score >= 4), mean, due now."""
        profile = self._profile(profile)
        states = self._states(profile)
        due_ids = {d.question_id for d in self.due_items(profile)}
        out: dict[str, list[str]] = {}
        for qid, sec in self._bank(profile):
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

    @_guarded
    def export_csv(self, profile: str, path: Path) -> int:
        """Write the profile's attempts to CSV (no report JSON); returns the row count."""
        attempts = self.history(profile)
        path = Path(path)
        # No mkdir: a typo in the folder should not create folders (even at the root).
        if not path.parent.is_dir():
            raise InputError(f"cannot write {path}: the folder {path.parent} does not exist")
        if path.is_dir():
            raise InputError(f"cannot write {path}: it is a folder")
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
