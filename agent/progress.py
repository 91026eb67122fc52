"""Learner progress: attempts and spaced repetition (SM-2) in one SQLite file.

The schema is built by numbered migrations registered with `@migration` and recorded in
a `_migrations` table, so opening an old file upgrades it and opening a current one does
nothing. Every write runs in its own transaction and is committed before the call
returns: a crash after `record_attempt` loses nothing already recorded.

Damage (a disk, a copy cut short, another program writing into the file) is handled
here too: opening runs SQLite's `quick_check`; the store keeps rolling backups in
`backups/` beside the file (SQLite's online backup API, before a migration and at most
once a day); a damaged file is moved aside, the newest backup that passes its check is
put in its place, and `LearnerDataError` says what was restored and what was lost.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import json
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from core.errors import ConfigError, InputError, LearnerDataError
from core.limits import check_profile

BACKUPS_KEPT = 7  # a week of daily backups, or fewer days and the pre-migration copies
DEFAULT_MAX_PROFILE_CHARS = 64

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


@dataclass(frozen=True)
class DatabaseCheck:
    """What `tutor progress --check` reports."""

    path: str
    ok: bool
    problems: list[str]
    profiles: int
    attempts: int
    backups: list[str] = field(default_factory=list)  # oldest first
    # When not ok: what was done (the backup restored and what was lost, or that none
    # was sound and a new database will be started).
    recovery: str | None = None


def backup_dir(path: Path) -> Path:
    return Path(path).parent / "backups"


def list_backups(path: Path) -> list[Path]:
    """The backups of the database at `path`, oldest first (names sort by time)."""
    folder = backup_dir(path)
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"{Path(path).stem}-*.sqlite"))


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), isolation_level="DEFERRED")
    db.execute("PRAGMA foreign_keys = ON")
    return db


def _problems(db: sqlite3.Connection, full: bool = False) -> list[str]:
    """[] when SQLite finds the file sound, else what it found (or the error it raised)."""
    try:
        rows = db.execute("PRAGMA integrity_check" if full else "PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    found = [str(r[0]) for r in rows]
    return [] if found == ["ok"] else found


def _counts(db: sqlite3.Connection) -> tuple[int, int, str | None]:
    """(profiles, attempts, time of the last attempt) of a sound database."""
    has = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "attempts" not in has:
        return 0, 0, None
    profiles = db.execute("SELECT COUNT(*) FROM profiles").fetchone()[0]
    attempts, last = db.execute("SELECT COUNT(*), MAX(created_at) FROM attempts").fetchone()
    return int(profiles), int(attempts), last


def backup_database(db: sqlite3.Connection, path: Path, label: str) -> Path:
    """Copy the open database with SQLite's online backup API (a consistent snapshot even
    while it is in use) into `backups/`, as a self-contained file; keep the newest
    `BACKUPS_KEPT`."""
    folder = backup_dir(path)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{Path(path).stem}-{label}.sqlite"
    partial = target.with_name(target.name + ".partial")
    dst = sqlite3.connect(str(partial))
    try:
        db.backup(dst)
        dst.execute("PRAGMA journal_mode = DELETE")  # no -wal file to lose beside it
    finally:
        dst.close()
    os.replace(partial, target)
    for old in list_backups(path)[:-BACKUPS_KEPT]:
        with contextlib.suppress(OSError):
            old.unlink()
    return target


_T = TypeVar("_T")


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    """Whether SQLite's error says the file is damaged. An OperationalError is about the
    moment (locked, disk full, read-only) unless its message says otherwise."""
    if not isinstance(exc, sqlite3.OperationalError):
        return True
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


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
            if _is_damage(exc):
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
        problems = _problems(self.db) if existed else []
        if size == 0 and list_backups(self.path):
            # SQLite takes an empty file for a new database; ours is never empty once
            # written (WAL mode writes the header), so this one was cut to nothing.
            problems = ["the file is empty"]
        if problems:
            self._recover(problems)
        try:
            self.db.execute("PRAGMA journal_mode = WAL")
            if existed:
                self._backup_if_due()
            migrate(self.db)
        except sqlite3.OperationalError as exc:
            self.db.close()
            raise ConfigError(
                f"cannot open the learner database {self.path}: {exc}; "
                "check index.data_dir or move the broken file away"
            ) from exc
        except sqlite3.DatabaseError as exc:
            self._recover([str(exc)])

    # ---------------------------------------------------------------- damage and backups

    def _backup_if_due(self) -> None:
        """A backup before a migration changes the schema, and at most one a day."""
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master")}
        done = (
            {r[0] for r in self.db.execute("SELECT name FROM _migrations")}
            if "_migrations" in tables
            else set()
        )
        pending = [name for name, _ in MIGRATIONS if name not in done]
        day = self._today().strftime("%Y%m%d")
        stamp = f"{day}-{datetime.now(UTC):%H%M%S%f}"
        if pending and tables:
            backup_database(self.db, self.path, f"{stamp}-before-{pending[0]}")
        elif not any(
            b.name.startswith(f"{self.path.stem}-{day}-") for b in list_backups(self.path)
        ):
            backup_database(self.db, self.path, f"{stamp}-daily")

    def _recover(self, problems: Sequence[str]) -> None:
        """Move the damaged file aside, put the newest sound backup in its place, and raise
        LearnerDataError saying what happened; the next open finds a sound database."""
        with contextlib.suppress(sqlite3.Error):
            self.db.close()
        damaged_counts = None
        with contextlib.suppress(sqlite3.Error):
            # immutable: probing must not create -wal/-shm files beside the damaged one.
            probe = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True)
            try:
                damaged_counts = _counts(probe)
            finally:
                probe.close()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        os.replace(self.path, aside)
        for suffix in ("-wal", "-shm"):  # the journal belongs with the file it journals
            side = Path(str(self.path) + suffix)
            if side.exists():
                os.replace(side, Path(str(aside) + suffix))
        what = f"the learner database {self.path} is damaged ({problems[0]})"
        kept = f"the damaged file is kept as {aside}"
        for backup in reversed(list_backups(self.path)):
            try:
                probe = sqlite3.connect(f"file:{backup}?mode=ro&immutable=1", uri=True)
                try:
                    if _problems(probe, full=True):
                        continue
                    _, n_attempts, last = _counts(probe)
                finally:
                    probe.close()
            except sqlite3.Error:
                continue
            partial = self.path.with_name(self.path.name + ".restoring")
            shutil.copyfile(backup, partial)
            os.replace(partial, self.path)
            lost = "attempts recorded after it are lost"
            if damaged_counts is not None and damaged_counts[1] >= n_attempts:
                lost += f" ({damaged_counts[1] - n_attempts} by the damaged file's own count)"
            raise LearnerDataError(
                f"{what}: restored the backup {backup.name} ({n_attempts} attempts, the last "
                f"at {last or '-'}); {lost}; {kept}; run the command again"
            )
        raise LearnerDataError(
            f"{what} and there is no sound backup: the learner history is lost and a new "
            f"database will be started; {kept} (`sqlite3 {aside} .recover` may save part of it)"
        )

    @_guarded
    def check(self) -> DatabaseCheck:
        """SQLite's full integrity check (`tutor progress --check`). It finds damage the
        quick_check of opening does not (an index that disagrees with its table); a
        damaged file is recovered as on opening, and the report says what was found
        (`ok` False, `problems`) and what was done (`recovery`). After a recovery this
        store is closed: open the database again to go on."""
        problems = _problems(self.db, full=True)
        if not problems:
            profiles, attempts, _ = _counts(self.db)
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
            profiles, attempts, _ = _counts(self.db)
        recovery = None
        try:
            self._recover(problems)  # raises, saying what it restored or that nothing was
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
                "INSERT OR IGNORE INTO profiles (name, created_at) VALUES (?, ?)", (name, _now())
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

    @_guarded
    def mastery_by_section(self, profile: str) -> list[SectionMastery]:
        """Per section of the bank: attempted, mastered (last score >= 4), mean, due now."""
        profile = self._profile(profile)
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
