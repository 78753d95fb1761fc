"""The class challenge's rows in the class store (its tables are the store's migration 2): challenges, and each
entry's recipe, place in the queue, state, scores and curve. Each write is one transaction of the store."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .store import Store

WAITING, RUNNING, DONE, FAILED, LOST, CANCELLED = "waiting", "running", "done", "failed", "lost", "cancelled"
ENTRY_COLUMNS = ("id", "challenge", "nickname", "owner", "address", "recipe", "state", "turn", "submitted", "started",
                 "ended", "run", "checkpoint", "public", "private", "seconds", "epochs_done", "message")
UPDATABLE = ("state", "turn", "started", "ended", "run", "checkpoint", "public", "private", "seconds", "epochs_done",
             "message", "history", "nickname", "recipe", "submitted")


@dataclass(frozen=True)
class ChallengeRow:
    id: int
    opened: str
    state: str  # open, closed or ended
    budget_seconds: float | None
    budget_epochs: int | None
    nets: tuple[str, ...]
    ended: str | None


@dataclass(frozen=True)
class EntryRow:
    id: int
    challenge: int
    nickname: str
    owner: str  # the submitting browser (access.Caller.browser), never shown
    address: str
    recipe: dict
    state: str  # waiting, running, done, failed, lost or cancelled
    turn: float  # the queue's order: smallest first
    submitted: str
    started: float | None  # wall-clock seconds (time.time())
    ended: float | None
    run: str | None
    checkpoint: str | None  # the file's name in the challenge's folder
    public: float | None  # accuracy on the validation pictures
    private: float | None  # accuracy on the test set
    seconds: float | None  # of training, test passes included
    epochs_done: float | None
    message: str


def _entry(row: tuple) -> EntryRow:
    values = dict(zip(ENTRY_COLUMNS, row))
    return EntryRow(**{**values, "recipe": json.loads(values["recipe"])})


def _challenge(row: tuple) -> ChallengeRow:
    identity, opened, state, seconds, epochs, nets, ended = row
    return ChallengeRow(identity, opened, state, seconds, epochs, tuple(json.loads(nets)), ended)


class ChallengeRecords:
    """The challenge's reads and writes, on the class store."""

    def __init__(self, store: Store):
        self.store = store

    def open(self, budget_seconds: float | None, budget_epochs: int | None, nets: list[str]) -> int:
        with self.store.transaction() as db:
            return db.execute("INSERT INTO challenges (opened, state, budget_seconds, budget_epochs, nets) VALUES "
                              "(?, 'open', ?, ?, ?)", (time.strftime("%Y-%m-%d %H:%M:%S"), budget_seconds,
                                                       budget_epochs, json.dumps(nets))).lastrowid

    def current(self) -> ChallengeRow | None:
        """The latest challenge, whatever its state."""
        rows = self.store.query("SELECT id, opened, state, budget_seconds, budget_epochs, nets, ended FROM challenges "
                                "ORDER BY id DESC LIMIT 1")
        return _challenge(rows[0]) if rows else None

    def set_state(self, challenge: int, state: str) -> None:
        ended = time.strftime("%Y-%m-%d %H:%M:%S") if state == "ended" else None
        with self.store.transaction() as db:
            db.execute("UPDATE challenges SET state = ?, ended = ? WHERE id = ?", (state, ended, challenge))

    def submit(self, challenge: int, nickname: str, owner: str, address: str, recipe: dict) -> tuple[int, bool]:
        """A new entry at the end of the queue, or the owner's waiting one given the new nickname and recipe in its
        place. Returns (the entry's number, whether it replaced one)."""
        now, recipe_json = time.strftime("%Y-%m-%d %H:%M:%S"), json.dumps(recipe)
        with self.store.transaction() as db:
            waiting = db.execute("SELECT id FROM challenge_entries WHERE challenge = ? AND owner = ? AND state = ?",
                                 (challenge, owner, WAITING)).fetchone()
            if waiting:
                db.execute("UPDATE challenge_entries SET nickname = ?, recipe = ?, submitted = ? WHERE id = ?",
                           (nickname, recipe_json, now, waiting[0]))
                return waiting[0], True
            turn = db.execute("SELECT coalesce(max(turn), 0) + 1 FROM challenge_entries WHERE challenge = ?",
                              (challenge,)).fetchone()[0]
            return db.execute("INSERT INTO challenge_entries (challenge, nickname, owner, address, recipe, state, "
                              "turn, submitted) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                              (challenge, nickname, owner, address, recipe_json, WAITING, turn, now)).lastrowid, False

    def entries(self, challenge: int) -> list[EntryRow]:
        """Every entry of a challenge, in the queue's order (without their curves)."""
        return [_entry(row) for row in self.store.query(
            f"SELECT {', '.join(ENTRY_COLUMNS)} FROM challenge_entries WHERE challenge = ? ORDER BY turn, id",
            challenge)]

    def entry(self, entry: int) -> EntryRow | None:
        rows = self.store.query(f"SELECT {', '.join(ENTRY_COLUMNS)} FROM challenge_entries WHERE id = ?", entry)
        return _entry(rows[0]) if rows else None

    def next_waiting(self, challenge: int) -> EntryRow | None:
        """The entry at the front of the queue."""
        rows = self.store.query(f"SELECT {', '.join(ENTRY_COLUMNS)} FROM challenge_entries WHERE challenge = ? AND "
                                "state = ? ORDER BY turn, id LIMIT 1", challenge, WAITING)
        return _entry(rows[0]) if rows else None

    def history(self, entry: int) -> dict:
        """An entry's loss and accuracy points, as a run's history: {"steps": [...], "epochs": [...]}."""
        rows = self.store.query("SELECT history FROM challenge_entries WHERE id = ?", entry)
        return {"steps": [], "epochs": [], **(json.loads(rows[0][0]) if rows else {})}

    def update(self, entry: int, **fields) -> None:
        """Set some of an entry's fields (names from UPDATABLE; a history or recipe as a dict)."""
        unknown = set(fields) - set(UPDATABLE)
        if unknown:
            raise KeyError(f"not an entry field: {', '.join(sorted(unknown))}")
        values = {key: json.dumps(value) if key in ("history", "recipe") else value for key, value in fields.items()}
        with self.store.transaction() as db:
            db.execute(f"UPDATE challenge_entries SET {', '.join(f'{key} = ?' for key in values)} WHERE id = ?",
                       (*values.values(), entry))

    def first_turn(self, challenge: int) -> float:
        """A turn before every entry of the challenge: the front of the queue."""
        return self.store.query("SELECT coalesce(min(turn), 1) - 1 FROM challenge_entries WHERE challenge = ?",
                                challenge)[0][0]

    def mark_running_lost(self, message: str) -> list[int]:
        """Every entry left running by a server that stopped, marked lost with this message; returns their numbers."""
        with self.store.transaction() as db:
            lost = [row[0] for row in db.execute("SELECT id FROM challenge_entries WHERE state = ?", (RUNNING,))]
            db.execute("UPDATE challenge_entries SET state = ?, message = ?, ended = ? WHERE state = ?",
                       (LOST, message, time.time(), RUNNING))
        return lost

    def drop_waiting(self, challenge: int, message: str) -> int:
        """The waiting entries of a challenge taken off the queue unrun; returns how many."""
        with self.store.transaction() as db:
            return db.execute("UPDATE challenge_entries SET state = ?, message = ? WHERE challenge = ? AND state = ?",
                              (CANCELLED, message, challenge, WAITING)).rowcount
