"""The database under the store, with a schema of its own: migrations in order and once, a foreign file moved aside,
a transaction that fails leaves nothing half-written. The store's tests cover bad disks, locks and kill -9."""
from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from cifar_demo.database import Database, StoreError

OURS, THEIRS = 0x7E57, 0x0BAD
NOTES = "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE)"
AUTHORS = "ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT 'nobody'"


def write_note(path: Path, text: str, application_id: int) -> None:
    """A file of the first version with one note, closed again."""
    database = Database(path, [NOTES], application_id)
    with database.transaction() as db:
        db.execute("INSERT INTO notes (text) VALUES (?)", (text,))
    database.close()


def test_a_newer_version_runs_only_the_steps_the_file_lacks(tmp_path):
    path = tmp_path / "notes.sqlite3"
    write_note(path, "kept", OURS)
    second = Database(path, [NOTES, AUTHORS], OURS)  # NOTES again would fail: the table exists
    assert second.query("PRAGMA user_version") == [(2,)] and second.moved_aside is None
    assert second.query("SELECT text, author FROM notes") == [("kept", "nobody")]
    second.close()


def test_another_applications_file_is_moved_aside_whole_and_a_new_one_started(tmp_path):
    path = tmp_path / "notes.sqlite3"
    write_note(path, "theirs", THEIRS)
    ours = Database(path, [NOTES], OURS)
    assert ours.moved_aside.name.startswith("notes.sqlite3.bad-") and ours.query("SELECT * FROM notes") == []
    with closing(sqlite3.connect(ours.moved_aside)) as aside:
        assert aside.execute("SELECT text FROM notes").fetchall() == [("theirs",)]
    ours.close()


def test_a_transaction_that_fails_half_way_leaves_nothing_and_says_the_file_by_name(tmp_path):
    database = Database(tmp_path / "notes.sqlite3", [NOTES], OURS)
    with pytest.raises(ValueError):  # the caller's own error: rolled back, and raised as it was
        with database.transaction() as db:
            db.execute("INSERT INTO notes (text) VALUES ('first')")
            raise ValueError("changed its mind")
    with pytest.raises(StoreError) as refusal:  # SQLite's refusal: rolled back, and said in a sentence
        with database.transaction() as db:
            db.execute("INSERT INTO notes (text) VALUES ('twice')")
            db.execute("INSERT INTO notes (text) VALUES ('twice')")
    assert "notes.sqlite3" in str(refusal.value) and str(tmp_path) not in str(refusal.value)
    assert database.query("SELECT count(*) FROM notes") == [(0,)] and database.integrity() == "ok"
    database.close()
