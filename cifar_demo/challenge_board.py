"""What the class challenge's board and queue show: the entries ranked by their public score (and, once the challenge
has ended, by their private one), the queue with each waiting entry's estimated start, and an entry as the API and
the compare chart name it. Read models only: nothing here writes or runs."""
from __future__ import annotations

import statistics
from dataclasses import dataclass

from .challenge_rules import EntryBudget, note
from .challenge_store import DONE, FAILED, LOST, RUNNING, WAITING, ChallengeRow, EntryRow

OVERHEAD_GUESS = 2.0  # seconds an entry takes beyond its budget, before one has been measured


@dataclass(frozen=True)
class Standing:
    entry: EntryRow
    public_rank: int
    private_rank: int | None  # once the challenge has ended and the entry has its test-set score

    @property
    def moved(self) -> int | None:
        """Places climbed from the public order to the private one (negative: fallen)."""
        return None if self.private_rank is None else self.public_rank - self.private_rank


@dataclass(frozen=True)
class Board:
    challenge: ChallengeRow | None
    standings: list[Standing]  # the entries that ran to their budget, best public score first
    others: list[EntryRow]     # failed or lost: not ranked
    revealed: bool             # the challenge has ended: test-set scores shown


@dataclass(frozen=True)
class Turn:
    position: int
    entry: EntryRow
    starts_in: float | None  # seconds from now, estimated; None before any entry has shown how long one takes


@dataclass(frozen=True)
class QueueView:
    running: EntryRow | None
    turns: list[Turn]
    paused: bool  # another run holds the trainer (the teacher's goes first); the queue goes on after it


def rank(challenge: ChallengeRow | None, entries: list[EntryRow]) -> Board:
    """The board of a challenge's entries: test-set ranks only once it has ended."""
    revealed = challenge is not None and challenge.state == "ended"
    ranked = sorted((e for e in entries if e.state == DONE), key=lambda e: (-(e.public or 0.0), e.id))
    scored = sorted((e for e in ranked if e.private is not None), key=lambda e: (-e.private, e.id))
    private_rank = {e.id: n for n, e in enumerate(scored, 1)} if revealed else {}
    standings = [Standing(e, n, private_rank.get(e.id)) for n, e in enumerate(ranked, 1)]
    return Board(challenge, standings, [e for e in entries if e.state in (FAILED, LOST)], revealed)


def entry_dict(entry: EntryRow, revealed: bool) -> dict:
    """An entry as the API shows it: never its browser or address."""
    shown = {"entry": entry.id, "nickname": entry.nickname, "recipe": entry.recipe, "state": entry.state,
             "validation_accuracy": entry.public, "seconds": entry.seconds, "epochs_done": entry.epochs_done,
             "note": str(note(entry))}
    return {**shown, "test_accuracy": entry.private} if revealed else shown


def winner(board: Board) -> EntryRow | None:
    """The best entry on the test set, once the board reveals it."""
    ranked = sorted((s for s in board.standings if s.private_rank is not None), key=lambda s: s.private_rank)
    return ranked[0].entry if ranked else None


def typical_seconds(budget: EntryBudget, entries: list[EntryRow]) -> float | None:
    """Seconds an entry takes from its start to the next one's: its budget and the overhead measured so far (the
    median: the first entry also waits for the trainer and the data)."""
    took = [e.ended - e.started for e in entries if e.state == DONE and e.started and e.ended]
    if budget.seconds is None:
        return statistics.median(took) if took else None
    overhead = statistics.median(took) - budget.seconds if took else OVERHEAD_GUESS
    return budget.seconds + max(0.0, overhead)


def queue_view(entries: list[EntryRow], budget: EntryBudget | None, paused: bool, ahead: float,
               now: float) -> QueueView:
    """The running entry and the waiting ones in order, each starting after the `ahead` seconds another run holds
    the trainer, the running entry's rest and a typical entry's time for each before it."""
    running = next((e for e in entries if e.state == RUNNING), None)
    waiting = [e for e in entries if e.state == WAITING]
    each = typical_seconds(budget, entries) if budget is not None else None
    if each is None:
        return QueueView(running, [Turn(n, e, None) for n, e in enumerate(waiting, 1)], paused)
    left = max(0.0, each - (now - running.started)) if running and running.started else 0.0
    return QueueView(running, [Turn(n, e, ahead + left + (n - 1) * each) for n, e in enumerate(waiting, 1)], paused)


def compare_label(entry: EntryRow) -> str:
    """An entry's line on the compare chart: its number, nickname, net and public score when it has one."""
    score = f" · {entry.public:.1%}" if entry.public is not None else ""
    return f"#{entry.id} {entry.nickname} · {entry.recipe['model']}{score}"
