"""Damage to the learner database, and the backups that undo it.

A disk, a copy cut short or another program writing into the file can damage it. The
store keeps rolling backups in `backups/` beside the file (SQLite's online backup API,
before a migration and at most once a day); a damaged file is moved aside, the newest
backup that passes SQLite's full check is put in its place, and `LearnerDataError` says
what was restored and what was lost.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NoReturn

from agent.progress_schema import MIGRATIONS
from core.errors import LearnerDataError

BACKUPS_KEPT = 7  # a week of daily backups, or fewer days and the pre-migration copies


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


def integrity_problems(db: sqlite3.Connection, full: bool = False) -> list[str]:
    """[] when SQLite finds the file sound, else what it found (or the error it raised)."""
    try:
        rows = db.execute("PRAGMA integrity_check" if full else "PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    found = [str(r[0]) for r in rows]
    return [] if found == ["ok"] else found


def database_counts(db: sqlite3.Connection) -> tuple[int, int, str | None]:
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


def is_damage(exc: sqlite3.DatabaseError) -> bool:
    """Whether SQLite's error says the file is damaged. An OperationalError is about the
    moment (locked, disk full, read-only) unless its message says otherwise."""
    if not isinstance(exc, sqlite3.OperationalError):
        return True
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def backup_if_due(db: sqlite3.Connection, path: Path, today: date) -> None:
    """A backup before a migration changes the schema, and at most one a day."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    done = (
        {r[0] for r in db.execute("SELECT name FROM _migrations")}
        if "_migrations" in tables
        else set()
    )
    pending = [name for name, _ in MIGRATIONS if name not in done]
    day = today.strftime("%Y%m%d")
    stamp = f"{day}-{datetime.now(UTC):%H%M%S%f}"
    if pending and tables:
        backup_database(db, path, f"{stamp}-before-{pending[0]}")
    elif not any(b.name.startswith(f"{path.stem}-{day}-") for b in list_backups(path)):
        backup_database(db, path, f"{stamp}-daily")


def recover(db: sqlite3.Connection, path: Path, problems: Sequence[str]) -> NoReturn:
    """Move the damaged file aside, put the newest sound backup in its place, and raise
    LearnerDataError saying what happened; the next open finds a sound database."""
    with contextlib.suppress(sqlite3.Error):
        db.close()
    damaged_counts = None
    with contextlib.suppress(sqlite3.Error):
        # immutable: probing must not create -wal/-shm files beside the damaged one.
        probe = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        try:
            damaged_counts = database_counts(probe)
        finally:
            probe.close()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    os.replace(path, aside)
    for suffix in ("-wal", "-shm"):  # the journal belongs with the file it journals
        side = Path(str(path) + suffix)
        if side.exists():
            os.replace(side, Path(str(aside) + suffix))
    what = f"the learner database {path} is damaged ({problems[0]})"
    kept = f"the damaged file is kept as {aside}"
    for backup in reversed(list_backups(path)):
        try:
            probe = sqlite3.connect(f"file:{backup}?mode=ro&immutable=1", uri=True)
            try:
                if integrity_problems(probe, full=True):
                    continue
                _, n_attempts, last = database_counts(probe)
            finally:
                probe.close()
        except sqlite3.Error:
            continue
        partial = path.with_name(path.name + ".restoring")
        shutil.copyfile(backup, partial)
        os.replace(partial, path)
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
