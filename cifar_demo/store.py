"""The class's own work on disk: the wall, Your classes and past lessons in one SQLite file, so that neither a
restart nor kill -9 of the server loses a picture whose answer reached the page."""
from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .database import Database, StoreError
from .images import png_bytes, square_pixels
from .serving import quote
from .words import Clause, Say, said_by

APPLICATION_ID = 0x43494641  # "CIFA" in the file's header: tells our store from another program's SQLite file
# Step n brings the file from user_version n-1 to n, in one transaction; a shipped step is never changed. The wall
# keeps no guesses: at start the Wall asks the active model again, as it does whenever the model changes.
MIGRATIONS = [
    """CREATE TABLE lessons (id INTEGER PRIMARY KEY AUTOINCREMENT, started TEXT NOT NULL, archived TEXT,
                             seed INTEGER NOT NULL DEFAULT 0, wall_dropped INTEGER NOT NULL DEFAULT 0);
       CREATE TABLE wall_entries (id INTEGER PRIMARY KEY AUTOINCREMENT, lesson INTEGER NOT NULL REFERENCES lessons,
                                  png BLOB NOT NULL, truth TEXT, hidden INTEGER NOT NULL DEFAULT 0,
                                  session TEXT NOT NULL, address TEXT NOT NULL);
       CREATE INDEX wall_entries_lesson ON wall_entries (lesson);
       CREATE TABLE wall_shares (lesson INTEGER NOT NULL REFERENCES lessons, kind TEXT NOT NULL
                                 CHECK (kind IN ('session', 'address')), who TEXT NOT NULL, shares INTEGER NOT NULL,
                                 PRIMARY KEY (lesson, kind, who));
       CREATE TABLE classes (id INTEGER PRIMARY KEY AUTOINCREMENT, lesson INTEGER NOT NULL REFERENCES lessons,
                             name TEXT NOT NULL, UNIQUE (lesson, name));
       CREATE TABLE pictures (id INTEGER PRIMARY KEY AUTOINCREMENT, class INTEGER NOT NULL
                              REFERENCES classes ON DELETE CASCADE, png BLOB NOT NULL, owner TEXT);
       CREATE INDEX pictures_class ON pictures (class);
       CREATE TABLE fine_tunes (id INTEGER PRIMARY KEY AUTOINCREMENT, checkpoint TEXT NOT NULL UNIQUE,
                                classes TEXT NOT NULL);
       CREATE TABLE fine_tune_pictures (fine_tune INTEGER NOT NULL REFERENCES fine_tunes ON DELETE CASCADE,
                                        label INTEGER NOT NULL, png BLOB NOT NULL);""",
    # the computer a picture came from, so that its per-computer budget holds across a restart
    "ALTER TABLE pictures ADD COLUMN address TEXT NOT NULL DEFAULT ''",
    # the class challenge (challenge_store.py): a challenge's budget and nets; each entry's recipe, place in the
    # queue (turn), state, scores and curve
    """CREATE TABLE challenges (id INTEGER PRIMARY KEY AUTOINCREMENT, opened TEXT NOT NULL, state TEXT NOT NULL
                                CHECK (state IN ('open', 'closed', 'ended')), budget_seconds REAL,
                                budget_epochs INTEGER, nets TEXT NOT NULL, ended TEXT);
       CREATE TABLE challenge_entries (id INTEGER PRIMARY KEY AUTOINCREMENT, challenge INTEGER NOT NULL
                                       REFERENCES challenges, nickname TEXT NOT NULL, owner TEXT NOT NULL,
                                       address TEXT NOT NULL, recipe TEXT NOT NULL, state TEXT NOT NULL,
                                       turn REAL NOT NULL, submitted TEXT NOT NULL, started REAL, ended REAL,
                                       run TEXT, checkpoint TEXT, public REAL, private REAL, seconds REAL,
                                       epochs_done REAL, message TEXT NOT NULL DEFAULT '',
                                       history TEXT NOT NULL DEFAULT '{}');
       CREATE INDEX challenge_entries_queue ON challenge_entries (challenge, state, turn);""",
]


@dataclass(frozen=True)
class WallRow:
    id: int
    picture: torch.Tensor  # uint8 (3, 32, 32)
    truth: str | None
    hidden: bool
    session: str
    address: str


@dataclass(frozen=True)
class WallState:
    entries: list[WallRow]  # oldest first, hidden ones included
    by_session: dict[str, int]
    by_address: dict[str, int]
    dropped: int


@dataclass(frozen=True)
class ClassPicture:
    id: int
    pixels: torch.Tensor  # uint8 (3, 32, 32)
    owner: str | None
    address: str = ""


@dataclass(frozen=True)
class Lesson:
    id: int
    started: str
    archived: str | None  # None for the current lesson
    wall: int
    classes: int
    pictures: int


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


class Store(Database):
    """The class's work in its database: the current lesson's wall and classes, fine-tunes and past lessons."""

    def __init__(self, path: str | os.PathLike):
        super().__init__(path, MIGRATIONS, APPLICATION_ID)
        try:
            self._lesson = self._current_lesson()
        except BaseException:
            self.close()  # a store that did not open holds nothing
            raise

    def _current_lesson(self) -> int:
        row = self.query("SELECT id FROM lessons WHERE archived IS NULL")
        if row:
            return row[0][0]
        with self.transaction() as db:
            return db.execute("INSERT INTO lessons (started) VALUES (?)", (_now(),)).lastrowid

    # ------------------------------------------------------------ the wall

    def add_wall_entry(self, picture: torch.Tensor, truth: str | None, session: str, address: str,
                       capacity: int) -> int:
        """A shared picture and its page's and computer's counts; the oldest beyond capacity drop. Returns its id."""
        png = png_bytes(picture)
        with self.transaction() as db:
            entry = db.execute("INSERT INTO wall_entries (lesson, png, truth, session, address) VALUES (?, ?, ?, ?, ?)",
                               (self._lesson, png, truth, session, address)).lastrowid
            for kind, who in (("session", session), ("address", address)):
                db.execute("INSERT INTO wall_shares VALUES (?, ?, ?, 1) ON CONFLICT DO UPDATE SET shares = shares + 1",
                           (self._lesson, kind, who))
            dropped = db.execute("DELETE FROM wall_entries WHERE lesson = ?1 AND id NOT IN (SELECT id FROM "
                                 "wall_entries WHERE lesson = ?1 ORDER BY id DESC LIMIT ?2)",
                                 (self._lesson, capacity)).rowcount
            db.execute("UPDATE lessons SET wall_dropped = wall_dropped + ? WHERE id = ?", (dropped, self._lesson))
        return entry

    def set_truth(self, entry_id: int, truth: str | None) -> None:
        with self.transaction() as db:
            db.execute("UPDATE wall_entries SET truth = ? WHERE id = ?", (truth, entry_id))

    def hide(self, entry_id: int) -> None:
        with self.transaction() as db:
            db.execute("UPDATE wall_entries SET hidden = 1 WHERE id = ?", (entry_id,))

    def clear_wall(self) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM wall_entries WHERE lesson = ?", (self._lesson,))
            db.execute("DELETE FROM wall_shares WHERE lesson = ?", (self._lesson,))
            db.execute("UPDATE lessons SET wall_dropped = 0 WHERE id = ?", (self._lesson,))

    def _wall_rows(self, lesson: int) -> list[tuple]:
        return self.query("SELECT id, png, truth, hidden, session, address FROM wall_entries WHERE lesson = ? "
                          "ORDER BY id", lesson)

    def wall(self) -> WallState:
        """The current lesson's wall as the Wall holds it."""
        rows = self._wall_rows(self._lesson)
        shares = self.query("SELECT kind, who, shares FROM wall_shares WHERE lesson = ?", self._lesson)
        ((dropped,),) = self.query("SELECT wall_dropped FROM lessons WHERE id = ?", self._lesson)
        return WallState([WallRow(i, square_pixels(png), truth, bool(hidden), s, a)
                          for i, png, truth, hidden, s, a in rows],
                         {who: n for kind, who, n in shares if kind == "session"},
                         {who: n for kind, who, n in shares if kind == "address"}, dropped)

    # ------------------------------------------------------------ your classes

    def add_class(self, name: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO classes (lesson, name) VALUES (?, ?)", (self._lesson, name))

    def remove_class(self, name: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM classes WHERE lesson = ? AND name = ?", (self._lesson, name))

    def clear_classes(self) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM classes WHERE lesson = ?", (self._lesson,))

    def add_picture(self, class_name: str, pixels: torch.Tensor, owner: str | None = None, address: str = "") -> int:
        """Returns the picture's id: never given to another picture, not even after a removal or a new lesson."""
        png = png_bytes(pixels)
        with self.transaction() as db:
            added = db.execute("INSERT INTO pictures (class, png, owner, address) SELECT id, ?, ?, ? FROM classes "
                               "WHERE lesson = ? AND name = ?", (png, owner, address, self._lesson, class_name))
            if not added.rowcount:
                raise StoreError(Say("store.no_class", name=quote(class_name)))
            return added.lastrowid

    def remove_picture(self, picture_id: int) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM pictures WHERE id = ?", (picture_id,))

    def set_seed(self, seed: int) -> None:
        with self.transaction() as db:
            db.execute("UPDATE lessons SET seed = ? WHERE id = ?", (seed, self._lesson))

    def seed(self) -> int:
        return self.query("SELECT seed FROM lessons WHERE id = ?", self._lesson)[0][0]

    def classes(self, lesson: int | None = None) -> dict[str, list[ClassPicture]]:
        """Every class in the order it was made, its pictures oldest first."""
        return {name: [ClassPicture(i, square_pixels(png), owner, address) for i, png, owner, address in pictures]
                for name, pictures in self._class_rows(lesson or self._lesson).items()}

    def _class_rows(self, lesson: int) -> dict[str, list[tuple[int, bytes, str | None, str]]]:
        found: dict[str, list[tuple]] = {}
        for name, picture, png, owner, address in self.query(
                "SELECT c.name, p.id, p.png, p.owner, p.address FROM classes c LEFT JOIN pictures p ON p.class = c.id "
                "WHERE c.lesson = ? ORDER BY c.id, p.id", lesson):
            found.setdefault(name, []).extend([(picture, png, owner, address)] if picture is not None else [])
        return found

    def record_fine_tune(self, checkpoint: str, classes: list[str], images: torch.Tensor, labels: torch.Tensor) -> None:
        """A fine-tuned model's held-out pictures, kept apart from the collection, which may change after training."""
        rows = [(png_bytes(image), int(label)) for image, label in zip(images, labels)]
        with self.transaction() as db:
            db.execute("DELETE FROM fine_tunes WHERE checkpoint = ?", (checkpoint,))
            run = db.execute("INSERT INTO fine_tunes (checkpoint, classes) VALUES (?, ?)",
                             (checkpoint, json.dumps(classes))).lastrowid
            db.executemany("INSERT INTO fine_tune_pictures VALUES (?, ?, ?)", [(run, label, png) for png, label in rows])

    def fine_tune(self, checkpoint: str) -> tuple[list[str], torch.Tensor, torch.Tensor] | None:
        """(classes, images, labels) of a fine-tuned model's held-out pictures, or None when none were recorded."""
        run = self.query("SELECT id, classes FROM fine_tunes WHERE checkpoint = ?", checkpoint)
        if not run:
            return None
        rows = self.query("SELECT png, label FROM fine_tune_pictures WHERE fine_tune = ? ORDER BY rowid", run[0][0])
        images = torch.stack([square_pixels(png) for png, _ in rows]) if rows else torch.zeros((0, 3, 32, 32), torch.uint8)
        return json.loads(run[0][1]), images, torch.tensor([label for _, label in rows], dtype=torch.int64)

    # ------------------------------------------------------------ lessons

    def lessons(self) -> list[Lesson]:
        """Every lesson, oldest first; the current one has archived None."""
        return [Lesson(*row) for row in self.query(
            "SELECT l.id, l.started, l.archived, (SELECT count(*) FROM wall_entries w WHERE w.lesson = l.id), "
            "(SELECT count(*) FROM classes c WHERE c.lesson = l.id), (SELECT count(*) FROM pictures p JOIN classes c "
            "ON p.class = c.id WHERE c.lesson = l.id) FROM lessons l ORDER BY l.id")]

    def _archive_current(self, db: sqlite3.Connection) -> None:
        """Inside a write: the current lesson kept and listed, or forgotten when it holds nothing."""
        held = db.execute("SELECT EXISTS (SELECT 1 FROM wall_entries WHERE lesson = ?1) OR EXISTS (SELECT 1 FROM "
                          "classes WHERE lesson = ?1)", (self._lesson,)).fetchone()[0]
        if held:
            db.execute("UPDATE lessons SET archived = ? WHERE id = ?", (_now(), self._lesson))
        else:
            db.execute("DELETE FROM wall_shares WHERE lesson = ?", (self._lesson,))
            db.execute("DELETE FROM lessons WHERE id = ?", (self._lesson,))

    def new_lesson(self) -> int:
        """Archive the current wall and classes and start empty; returns the new lesson's id."""
        with self.transaction() as db:
            self._archive_current(db)
            lesson = db.execute("INSERT INTO lessons (started) VALUES (?)", (_now(),)).lastrowid
        self._lesson = lesson
        return lesson

    def restore_lesson(self, lesson: int) -> None:
        """Make an archived lesson current again; the current one is archived in its place."""
        with self.transaction() as db:
            if not 0 < lesson < 2 ** 63 or not db.execute(  # past SQLite's integers no lesson can be
                    "SELECT 1 FROM lessons WHERE id = ? AND archived IS NOT NULL", (lesson,)).fetchone():
                raise StoreError(Say("store.no_lesson", lesson=quote(lesson)))
            self._archive_current(db)
            db.execute("UPDATE lessons SET archived = NULL WHERE id = ?", (lesson,))
        self._lesson = lesson

    def export_lesson(self, path: str | os.PathLike, lesson: int | None = None) -> Path:
        """The lesson (the current one by default) as one zip another laptop's app imports; hidden pictures stay."""
        from .lesson_zip import write_lesson  # it reads the wall's and the collection's limits, which import this

        lesson = lesson or self._lesson
        ((started, seed),) = self.query("SELECT started, seed FROM lessons WHERE id = ?", lesson)
        classes = {name: [row[1] for row in rows] for name, rows in self._class_rows(lesson).items()}
        wall = [(entry, png, truth) for entry, png, truth, hidden, _, _ in self._wall_rows(lesson) if not hidden]
        return write_lesson(Path(path), started, seed, classes, wall)

    def import_lesson(self, path: str | os.PathLike) -> int:
        """A lesson zip as the new current lesson (the current one archived); a hostile or broken zip is refused
        whole before anything is written. Returns the new lesson's id."""
        from .lesson_zip import read_lesson  # it reads the wall's and the collection's limits, which import this

        path = Path(path)
        try:
            seed, classes, wall = read_lesson(path)
        except (ValueError, OSError, zipfile.BadZipFile) as error:
            reason = Clause(said_by(error) or (
                Say("store.not_zip") if str(error) == "File is not a zip file" else
                Say("store.bad_zip", reason=error) if isinstance(error, zipfile.BadZipFile) else str(error)),
                capital=True)
            raise StoreError(Say("store.lesson_refused", name=quote(path.name), reason=reason)) from None
        with self.transaction() as db:
            self._archive_current(db)
            lesson = db.execute("INSERT INTO lessons (started, seed) VALUES (?, ?)", (_now(), seed)).lastrowid
            for name, pictures in classes:
                group = db.execute("INSERT INTO classes (lesson, name) VALUES (?, ?)", (lesson, name)).lastrowid
                db.executemany("INSERT INTO pictures (class, png) VALUES (?, ?)", [(group, png) for png in pictures])
            db.executemany("INSERT INTO wall_entries (lesson, png, truth, session, address) VALUES (?, ?, ?, '', '')",
                           [(lesson, png, truth) for png, truth in wall])
        self._lesson = lesson
        return lesson


# ---------------------------------------------------------------- python3 -m cifar_demo.store --measure


def measure(folder: str | os.PathLike, *, wall: int, classes: int, per_class: int) -> dict:
    """Bytes a picture takes in the file and a full lesson's size, open-and-read time, and a write's time, with
    random-noise pictures: the largest a 32x32 PNG gets, so real photos take less."""
    path, rng = Path(folder) / "class.sqlite3", np.random.default_rng(0)
    pictures = [torch.from_numpy(rng.integers(0, 256, (3, 32, 32), dtype=np.uint8)) for _ in range(64)]
    Store(path).close()
    empty = path.stat().st_size
    store, started = Store(path), time.perf_counter()
    for n in range(wall):
        store.add_wall_entry(pictures[n % 64], "cat", f"s{n % 30}", f"a{n % 30}", wall)
    write = (time.perf_counter() - started) / wall
    store.close()
    with_wall = path.stat().st_size
    store = Store(path)
    for c in range(classes):
        store.add_class(f"class {c}")
        for n in range(per_class):
            store.add_picture(f"class {c}", pictures[n % 64], "owner-token")
    store.close()
    started = time.perf_counter()
    store = Store(path)
    read = store.wall(), store.classes()
    seconds = time.perf_counter() - started
    zipped = store.export_lesson(Path(folder) / "lesson.zip").stat().st_size
    store.close()
    assert len(read[0].entries) == wall and sum(map(len, read[1].values())) == classes * per_class
    return {"bytes_per_wall_picture": (with_wall - empty) / wall,
            "bytes_per_class_picture": (path.stat().st_size - with_wall) / (classes * per_class),
            "full_lesson_bytes": path.stat().st_size, "lesson_zip_bytes": zipped, "open_and_read_seconds": seconds,
            "seconds_per_wall_write": write}


if __name__ == "__main__":
    if sys.argv[1:] != ["--measure"]:
        sys.exit("usage: python3 -m cifar_demo.store --measure")
    from .collection import MAX_CLASSES, MAX_PER_CLASS
    from .wall import CAPACITY

    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps(measure(folder, wall=CAPACITY, classes=MAX_CLASSES, per_class=MAX_PER_CLASS), indent=1))
