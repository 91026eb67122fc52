"""Learner progress: SM-2, migrations, atomic writes, profiles, CSV export."""

from __future__ import annotations

import csv
import sqlite3
import subprocess
import sys
import textwrap
from datetime import date, timedelta

import pytest

from agent.progress import ProgressStore
from agent.progress_schema import MIGRATIONS, migrate
from agent.spaced_repetition import ReviewState, quality_from_score, sm2_update
from core.errors import ConfigError, InputError
from core.paths import REPO_ROOT

pytestmark = pytest.mark.unit

BANK = [("SQ01", "Neural"), ("SQ02", "Neural"), ("SQ07", "Transformer")]
DAY = date(2026, 3, 1)


class Clock:
    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> date:
        return self.day


def store(tmp_path, clock=None):
    return ProgressStore(tmp_path / "learners.sqlite", BANK, today=clock or Clock(DAY))


def test_sm2_examples():
    s = sm2_update(ReviewState(), 5)
    assert (s.interval, s.repetitions, round(s.easiness, 2)) == (1, 1, 2.6)
    s = sm2_update(s, 4)
    assert (s.interval, s.repetitions, round(s.easiness, 2)) == (6, 2, 2.6)
    s = sm2_update(s, 3)
    assert (s.interval, s.repetitions, round(s.easiness, 2)) == (16, 3, 2.46)
    failed = sm2_update(s, 2)
    assert (failed.interval, failed.repetitions) == (1, 0)
    floor = ReviewState(1.3, 10, 4)
    assert sm2_update(floor, 0).easiness == 1.3
    assert [quality_from_score(x) for x in (-1, 0, 3, 5, 9)] == [0, 0, 3, 5, 5]


def test_migrations_are_idempotent(tmp_path):
    path = tmp_path / "learners.sqlite"
    with ProgressStore(path, BANK):
        pass
    db = sqlite3.connect(path)
    assert migrate(db) == []
    assert migrate(db) == []
    names = [r[0] for r in db.execute("SELECT name FROM _migrations ORDER BY name")]
    assert names == sorted(n for n, _ in MIGRATIONS)
    db.close()
    with ProgressStore(path, BANK) as s:  # reopening changes nothing
        assert s.history("nobody") == []


def test_old_database_is_upgraded(tmp_path):
    path = tmp_path / "learners.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    name, first = MIGRATIONS[0]
    first(db)
    db.execute("INSERT INTO _migrations VALUES (?, 'then')", (name,))
    db.commit()
    db.close()
    with store(tmp_path) as s:
        s.record_attempt("ana", "SQ01", "answer", "correct", 5, {})
        assert s.next_due("ana").question_id == "SQ02"


def test_record_history_due_and_profiles(tmp_path):
    clock = Clock(DAY)
    with store(tmp_path, clock) as s:
        assert s.next_due("ana").question_id == "SQ01"  # never seen: bank order
        s.record_attempt("ana", "SQ01", "good", "correct", 5, {"missing": []}, section="Neural")
        s.record_attempt("ana", "SQ02", "meh", "incorrect", 1, {}, section="Neural")
        s.record_attempt("ben", "SQ07", "ok", "partially_correct", 3, {}, section="Transformer")
        assert [a.question_id for a in s.history("ana")] == ["SQ01", "SQ02"]
        assert s.history("ana")[0].report == {"missing": []}
        assert [a.question_id for a in s.history("ben")] == ["SQ07"]
        assert s.profiles() == ["ana", "ben"]
        # Tomorrow both of ana's are due again (interval 1), the failed one is just as due.
        assert [d.question_id for d in s.due_items("ana")] == ["SQ07"]
        clock.day = DAY + timedelta(days=1)
        assert [d.question_id for d in s.due_items("ana")] == ["SQ01", "SQ02", "SQ07"]
        assert s.next_due("ana", section="transformer").question_id == "SQ07"
        s.record_attempt("ana", "SQ01", "good", "correct", 5, {}, section="Neural")
        clock.day = DAY + timedelta(days=2)
        assert "SQ01" not in [d.question_id for d in s.due_items("ana")]  # now 6 days away
        mastery = {m.section: m for m in s.mastery_by_section("ana")}
        assert (mastery["Neural"].attempted, mastery["Neural"].mastered) == (2, 1)
        assert mastery["Neural"].mean_last_score == 3.0
        assert mastery["Transformer"].attempted == 0 and mastery["Transformer"].due == 1


def test_failed_write_leaves_nothing_behind(tmp_path):
    with store(tmp_path) as s:
        with pytest.raises(sqlite3.IntegrityError):
            # question_id None passes the Python checks and fails SQLite's NOT NULL mid-write.
            s.record_attempt("ana", None, "x", "correct", 5, {})  # type: ignore[arg-type]
        assert s.db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 0
        assert s.db.execute("SELECT COUNT(*) FROM review_state").fetchone()[0] == 0
        with pytest.raises(InputError):
            s.ensure_profile("  ")


def test_a_crash_mid_session_loses_nothing_recorded(tmp_path):
    path = tmp_path / "learners.sqlite"
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(REPO_ROOT)!r})
        from agent.progress import ProgressStore
        s = ProgressStore({str(path)!r}, [("SQ01", "Neural"), ("SQ02", "Neural")])
        s.record_attempt("ana", "SQ01", "first", "correct", 5, {{}})
        s.record_attempt("ana", "SQ02", "second", "incorrect", 1, {{}})
        os._exit(9)  # dies without closing anything
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    with ProgressStore(path, BANK) as s:
        assert [a.answer for a in s.history("ana")] == ["first", "second"]


def test_export_csv(tmp_path):
    with store(tmp_path) as s:
        s.record_attempt("ana", "SQ01", 'an "answer", with commas\nand lines', "correct", 4, {})
        s.record_attempt("ben", "SQ02", "other", "incorrect", 0, {})
        (tmp_path / "out").mkdir()
        n = s.export_csv("ana", tmp_path / "out" / "ana.csv")
    assert n == 1
    with open(tmp_path / "out" / "ana.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["answer"] == 'an "answer", with commas\nand lines'
    assert (rows[0]["question_id"], rows[0]["score"], rows[0]["profile"]) == ("SQ01", "4", "ana")


def test_unopenable_database_is_a_config_error(tmp_path):
    (tmp_path / "learners.sqlite").mkdir()
    with pytest.raises(ConfigError, match="learner database"):
        ProgressStore(tmp_path / "learners.sqlite", BANK)
