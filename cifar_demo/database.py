"""One SQLite file that a single process owns: checked as this app's, migrated step by step, moved aside (never
deleted) when bad, and written one transaction at a time, so that kill -9 loses nothing committed."""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from .words import Say

MEMORY = ":memory:"  # a file-less database: the library's default (tests, scripts); nothing outlives the process


class StoreError(RuntimeError):
    """The store cannot open or save; the message is one sentence a person can act on."""


class Database:
    """One SQLite file (WAL) behind one lock; each write is one transaction, committed before the method returns."""

    def __init__(self, path: str | os.PathLike, migrations: list[str], application_id: int):
        self.path = Path(path)
        self.migrations = migrations  # step n brings the file from user_version n-1 to n
        self.application_id = application_id  # in the file's header: tells ours from another program's file
        self._lock = threading.Lock()
        # released by the kernel when the process dies, kill -9 included
        self._lock_file = None if self.in_memory else self._hold_lock()
        self.moved_aside: Path | None = None  # where a bad file went, for the page to say
        try:
            try:
                self._db = self._connect()
            except sqlite3.DatabaseError:
                self.moved_aside = self._move_aside()
                self._db = self._connect()
        except BaseException:
            self._release()  # a database that did not open holds nothing
            raise

    @property
    def in_memory(self) -> bool:
        return str(self.path) == MEMORY

    def notice(self) -> Say | None:
        """What the page's header says after a bad file was moved aside at start; None otherwise."""
        return Say("store.moved_aside", name=self.moved_aside.name) if self.moved_aside else None

    def _release(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()

    def _hold_lock(self) -> TextIO:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            file = open(self.path.with_name(self.path.name + ".lock"), "a")
        except OSError as error:
            raise StoreError(Say("store.cannot_open", path=self.path, reason=error.strerror)) from None
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            raise StoreError(Say("store.in_use", path=self.path)) from None
        return file

    def _connect(self) -> sqlite3.Connection:
        """Opened, checked as ours and migrated; a DatabaseError for a file that is corrupt, foreign or newer."""
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            # One process holds the store (the flock above), so SQLite may too: its WAL index then lives in this
            # process's memory, not in a mapped -shm file, whose pages kill the process (SIGBUS) if the disk
            # turns read-only under it.
            db.execute("PRAGMA locking_mode = EXCLUSIVE")
            # A new file's pages: six 32x32 PNGs (2-3 kB each) fill 16 kB, where a 4 kB page holds one, half empty.
            db.execute("PRAGMA page_size = 16384")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            ours = db.execute("PRAGMA application_id").fetchone()[0] == self.application_id
            tables = db.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
            if (not ours and tables) or version > len(self.migrations):
                raise sqlite3.DatabaseError("not a store this code knows")
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("damaged")
            db.execute("PRAGMA journal_mode = WAL")
            # NORMAL: a commit has written its WAL frames to the OS before it returns, so kill -9 of this process
            # loses nothing committed; only a power cut or OS crash can drop the last commits (never corrupt the
            # file). FULL would add an fsync to every share (6 ms against 1 ms a commit on the test machine's disk),
            # queueing a class's burst of shares behind the disk.
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA foreign_keys = ON")
            if version < len(self.migrations):  # else nothing is written: a store on a full disk still opens
                db.execute("BEGIN IMMEDIATE")
                for step in self.migrations[version:]:
                    for statement in step.split(";"):
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {len(self.migrations)}")
                db.execute(f"PRAGMA application_id = {self.application_id}")
                db.execute("COMMIT")
        except sqlite3.OperationalError as error:  # a full or read-only disk: not the file's fault
            db.close()
            raise StoreError(Say("store.cannot_open", path=self.path, reason=error)) from None
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _move_aside(self) -> Path:
        """The bad file (and its WAL) renamed beside itself, never deleted; returns its new name."""
        aside = self.path.with_name(f"{self.path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
        while aside.exists():
            aside = aside.with_name(aside.name + "+")
        for suffix in ("-wal", "-shm", ""):  # the main file last: until it moves, the old store is whole
            part = self.path.with_name(self.path.name + suffix)
            if part.exists():
                part.rename(aside.with_name(aside.name + suffix))
        return aside

    def integrity(self) -> str:
        """SQLite's own check of every page and index: 'ok' for a whole file, else what is wrong."""
        return "\n".join(row[0] for row in self.query("PRAGMA integrity_check"))

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._release()

    @contextmanager
    def transaction(self):
        """One write (the store's, or a companion module's to its own tables, as challenge_store.py's): committed when
        the block ends, rolled back and a StoreError when it cannot be saved."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as error:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if not isinstance(error, sqlite3.Error):
                    raise
                name = getattr(error, "sqlite_errorname", "")
                why = (Say("store.disk_full") if name == "SQLITE_FULL" else Say("store.read_only")
                       if name.startswith(("SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN")) else str(error))
                # by name only: a student's refusal shows no server path
                raise StoreError(Say("store.not_saved", name=self.path.name, why=why)) from None

    def query(self, sql: str, *args) -> list[tuple]:
        """One read, under the lock the writes take."""
        with self._lock:
            return self._db.execute(sql, args).fetchall()
