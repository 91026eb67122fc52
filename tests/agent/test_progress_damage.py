"""The learner database survives damage: rolling backups (SQLite's online backup API),
an integrity check on opening and on demand, and a damaged file moved aside and replaced
by the newest sound backup, with what was lost said. Each test damages a real file."""

from __future__ import annotations

import os
import sqlite3
from datetime import date, timedelta

import pytest

from agent.progress import ProgressStore
from agent.progress_recovery import BACKUPS_KEPT, list_backups
from agent.progress_schema import MIGRATIONS
from core.errors import InputError, LearnerDataError

pytestmark = pytest.mark.unit

BANK = [("SQ01", "Neural"), ("SQ02", "Neural"), ("SQ07", "Transformer")]
DAY = date(2026, 3, 1)
BIG_REPORT = {"feedback": "x" * 3000}  # a few attempts fill many pages


def open_on(path, day):
    return ProgressStore(path, BANK, today=lambda: day)


def record(s, n, start=0):
    for i in range(start, start + n):
        s.record_attempt("ana", "SQ01", f"answer {i}", "correct", 4, BIG_REPORT, section="Neural")


def history_with_backup(tmp_path, kept=6, lost=3):
    """`kept` attempts on day 1; reopened on day 2 (the daily backup); `lost` more."""
    path = tmp_path / "learners.sqlite"
    with open_on(path, DAY) as s:
        record(s, kept)
    assert list_backups(path) == []  # nothing to back up when the file was new
    with open_on(path, DAY + timedelta(days=1)) as s:
        record(s, lost, start=kept)
    assert len(list_backups(path)) == 1
    return path


def damaged_copies(path):
    return sorted(p for p in path.parent.iterdir() if ".damaged-" in p.name)


def assert_restored(path, err, kept, lost):
    message = str(err.value)
    assert "is damaged" in message and "restored the backup" in message
    assert f"({kept} attempts" in message and "attempts recorded after it are lost" in message
    assert "\n" not in message
    with open_on(path, DAY + timedelta(days=1)) as s:  # the next open just works
        assert [a.answer for a in s.history("ana")] == [f"answer {i}" for i in range(kept)]
        assert s.check().ok is True


def test_daily_backups_roll_and_are_self_contained(tmp_path):
    path = tmp_path / "learners.sqlite"
    with open_on(path, DAY) as s:
        record(s, 1)
    for day in range(1, BACKUPS_KEPT + 4):
        for _ in range(2):  # at most one a day
            with open_on(path, DAY + timedelta(days=day)):
                pass
    backups = list_backups(path)
    assert len(backups) == BACKUPS_KEPT
    assert all(b.name.endswith("-daily.sqlite") for b in backups)
    newest = sqlite3.connect(backups[-1])
    assert newest.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert newest.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 1
    newest.close()
    assert not list(backups[-1].parent.glob("*-wal"))


def test_a_backup_is_taken_before_a_migration(tmp_path):
    path = tmp_path / "learners.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    name, first = MIGRATIONS[0]
    first(db)
    db.execute("INSERT INTO _migrations VALUES (?, 'then')", (name,))
    db.execute("INSERT INTO profiles VALUES ('ana', 'then')")
    db.commit()
    db.close()
    with open_on(path, DAY):
        pass
    (backup,) = list_backups(path)
    assert backup.name.endswith(f"-before-{MIGRATIONS[1][0]}.sqlite")
    old = sqlite3.connect(backup)
    tables = {r[0] for r in old.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    old.close()
    assert "review_state" not in tables  # the schema as it was before the step


def test_truncated_file_is_moved_aside_and_the_backup_restored(tmp_path):
    path = history_with_backup(tmp_path)
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size // 2)
    damaged_bytes = path.read_bytes()
    with pytest.raises(LearnerDataError) as err:
        open_on(path, DAY + timedelta(days=1))
    assert_restored(path, err, kept=6, lost=3)
    (aside,) = damaged_copies(path)
    assert aside.read_bytes() == damaged_bytes  # kept byte for byte
    assert str(aside) in str(err.value)


def test_pages_overwritten_mid_file_are_found_and_the_backup_restored(tmp_path):
    path = history_with_backup(tmp_path)
    page = 4096
    pages = path.stat().st_size // page
    assert pages >= 6
    with open(path, "r+b") as f:
        for n in range(2, pages - 1):  # everything but the header page and the last
            f.seek(n * page)
            f.write(os.urandom(page))
    with pytest.raises(LearnerDataError) as err:
        open_on(path, DAY + timedelta(days=1))
    assert_restored(path, err, kept=6, lost=3)


def test_a_file_emptied_by_accident_is_damage_when_backups_exist(tmp_path):
    path = history_with_backup(tmp_path)
    path.write_bytes(b"")
    with pytest.raises(LearnerDataError) as err:
        open_on(path, DAY + timedelta(days=1))
    assert "the file is empty" in str(err.value)
    assert_restored(path, err, kept=6, lost=3)


def test_garbage_with_no_backup_is_moved_aside_and_a_new_database_started(tmp_path):
    path = tmp_path / "learners.sqlite"
    path.write_bytes(b"not a database at all " * 500)
    with pytest.raises(LearnerDataError, match="no sound backup: the learner history is lost"):
        open_on(path, DAY)
    assert len(damaged_copies(path)) == 1
    with open_on(path, DAY) as s:
        assert s.history("ana") == []
        s.record_attempt("ana", "SQ01", "again", "correct", 5, {})


def test_a_damaged_backup_is_skipped_for_an_older_sound_one(tmp_path):
    path = history_with_backup(tmp_path)
    with open_on(path, DAY + timedelta(days=2)):
        pass  # a second daily backup, with all 9 attempts
    older, newer = list_backups(path)
    newer.write_bytes(b"\0" * 8192)
    path.write_bytes(b"\0" * 8192)
    with pytest.raises(LearnerDataError, match=rf"restored the backup {older.name} \(6 attempts"):
        open_on(path, DAY + timedelta(days=2))


def test_check_runs_the_full_integrity_check(tmp_path):
    path = history_with_backup(tmp_path)
    with open_on(path, DAY + timedelta(days=1)) as s:
        report = s.check()
    assert report.ok is True and report.problems == []
    assert report.attempts == 9 and report.profiles == 1
    assert report.backups == [b.name for b in list_backups(path)]


def test_profile_names_are_bounded_everywhere(tmp_path):
    with open_on(tmp_path / "learners.sqlite", DAY) as s:
        assert s.ensure_profile("  ana  ") == "ana"
        for call in (
            lambda: s.ensure_profile("x" * 100_000),
            lambda: s.record_attempt("", "SQ01", "a", "correct", 5, {}),
            lambda: s.history("x" * 100_000),
            lambda: s.due_items("\udcff"),
            lambda: s.mastery_by_section(""),
        ):
            with pytest.raises(InputError):
                call()
        assert s.profiles() == ["ana"]


def test_export_does_not_create_folders(tmp_path):
    with open_on(tmp_path / "learners.sqlite", DAY) as s:
        with pytest.raises(InputError, match="does not exist"):
            s.export_csv("ana", tmp_path / "no" / "such" / "folder" / "out.csv")
        with pytest.raises(InputError, match="is a folder"):
            s.export_csv("ana", tmp_path)
    assert not (tmp_path / "no").exists()


def _unindex(path):
    """Damage that opening's quick_check does not see and the full integrity_check does:
    the index attempts_profile no longer matches the rows of its table."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA writable_schema = ON")
    db.execute(
        "UPDATE sqlite_master SET sql = 'CREATE INDEX attempts_profile ON attempts(answer)' "
        "WHERE name = 'attempts_profile'"
    )
    db.commit()
    db.close()


def test_check_reports_damage_the_quick_check_of_opening_misses(tmp_path):
    path = history_with_backup(tmp_path)
    _unindex(path)
    with open_on(path, DAY + timedelta(days=1)) as s:  # quick_check passes: it opens
        report = s.check()
    assert report.ok is False and report.problems
    assert report.attempts == 9  # the damaged file's own count
    assert report.recovery is not None and "restored the backup" in report.recovery
    assert len(damaged_copies(path)) == 1
    with open_on(path, DAY + timedelta(days=1)) as s:
        assert len(s.history("ana")) == 6 and s.check().ok is True


def test_a_locked_database_is_busy_not_damaged(tmp_path):
    path = tmp_path / "learners.sqlite"
    with open_on(path, DAY) as s:
        record(s, 1)
        s.db.execute("PRAGMA busy_timeout = 0")  # fail at once instead of after 5 s
        other = sqlite3.connect(path)
        other.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
        try:
            with pytest.raises(LearnerDataError) as err:
                record(s, 1, start=1)
        finally:
            other.rollback()
            other.close()
        message = str(err.value)
        assert "is busy" in message and "retry" in message
        assert "--check" not in message and "damaged" not in message
        record(s, 1, start=1)  # once the other writer is gone, it works
        assert len(s.history("ana")) == 2


@pytest.mark.parametrize(
    ("exc", "damaged"),
    [
        (sqlite3.OperationalError("database or disk is full"), False),
        (sqlite3.OperationalError("attempt to write a readonly database"), False),
        (sqlite3.OperationalError("database disk image is malformed"), True),
        (sqlite3.DatabaseError("file is not a database"), True),
        (sqlite3.DatabaseError("database disk image is malformed"), True),
    ],
)
def test_only_corruption_is_reported_as_damage(tmp_path, exc, damaged):
    with open_on(tmp_path / "learners.sqlite", DAY) as s:

        def fail(*args, **kwargs):
            raise exc

        s.db = _FailingDb(s.db, fail)  # type: ignore[assignment]
        with pytest.raises(LearnerDataError) as err:
            s.history("ana")
        s.db = s.db.real  # type: ignore[attr-defined]
    assert ("--check" in str(err.value)) is damaged
    assert ("retry" in str(err.value)) is not damaged


class _FailingDb:
    def __init__(self, real, fail):
        self.real, self.execute = real, fail
