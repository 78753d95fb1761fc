"""The class challenge: every student submits a recipe (the Train tab's settings) under a nickname, the trainer runs
the entries in turn, each cut at the same budget, and a board ranks them by their accuracy on pictures carved from
the training set (public). When the teacher ends it, the board reveals each entry's accuracy on the test set
(private) and how the order changed: tuning to the board is overfitting too.

`Challenge` is what the page calls. Its parts, each read top to bottom: `challenge_rules.py` (what an entry may be),
`challenge_board.py` (what the board and the queue show), `challenge_queue.py` (the thread that runs the entries in
the Lab's one training slot, and the test-set scorer).
"""
from __future__ import annotations

import threading
import time

from .access import Caller, check
from .challenge_board import Board, QueueView, compare_label, queue_view, rank, winner
from .challenge_queue import PREEMPT_SECONDS, STOPPED_BY_END, STOPPED_BY_OWNER, PrivateScores, QueueRunner
from .challenge_rules import (MAX_WAITING, ChallengeError, EntryBudget, chosen_nets, clean_nickname, compared_numbers,
                              entry_number, make_recipe, said, stored)
from .challenge_store import CANCELLED, RUNNING, WAITING, ChallengeRecords, ChallengeRow, EntryRow
from .lab import Lab
from .serving import quote
from .store import Store
from .trainer import WorkerJob
from .training import TrainConfig


class Challenge:
    """One class challenge at a time on a Lab, kept in the class store: the teacher opens, closes and ends it,
    students submit and cancel, everyone reads the board and the queue. `version` changes with every change."""

    def __init__(self, lab: Lab, store: Store):
        self.lab, self.records = lab, ChallengeRecords(store)
        self.folder = lab.checkpoint_dir / "challenge"  # beside runs/: entries stay off the model menu
        self._lock = threading.RLock()  # guards the queue's order and the running entry
        self.version = 0
        self.scores = PrivateScores(self.records, lab, self.folder, self.changed)
        self.runner = QueueRunner(self.records, lab, self.folder, self._lock, self.changed, self.scores)
        if self.records.mark_running_lost(stored(said("restart"))):  # a run the last server was training when it stopped
            self.changed()
        challenge = self.current()
        self.scores.later(self.records.entries(challenge.id) if challenge else [])
        self.runner.resume()

    def changed(self) -> None:
        self.version += 1

    def current(self) -> ChallengeRow | None:
        return self.records.current()

    def _require(self, *states: str, why: str = "not_open") -> ChallengeRow:
        """The current challenge when it is in one of these states, else a ChallengeError in said(why)."""
        challenge = self.current()
        if challenge is None:
            raise ChallengeError(said("none"))
        if challenge.state not in states:
            raise ChallengeError(said(why, state=said(f"state_{challenge.state}")))
        return challenge

    # ------------------------------------------------------------ the teacher's

    def open(self, budget: EntryBudget, nets: object) -> ChallengeRow:
        """A new challenge taking entries; the last one must have ended."""
        allowed = chosen_nets(nets)
        with self._lock:
            last = self.current()
            if last is not None and last.state != "ended":
                raise ChallengeError(said("still_on", state=said(f"state_{last.state}")))
            self.records.open(budget.seconds, budget.epochs, allowed)
            self.changed()
        return self.current()

    def close(self) -> ChallengeRow:
        """No new entries; the queue runs on."""
        with self._lock:
            challenge = self._require("open")
            self.records.set_state(challenge.id, "closed")
            self.changed()
        return self.current()

    def end(self) -> Board:
        """The end: no entry runs any more (a training one is cut, the waiting ones never run), each finished entry's
        test-set score is measured if it is not yet, and the board reveals them."""
        with self._lock:
            challenge = self._require("open", "closed", why="not_on")
            self.records.set_state(challenge.id, "ended")
            self.records.drop_waiting(challenge.id, stored(said("not_run")))
            self.runner.stop_running(STOPPED_BY_END)
            self.changed()
        self.scores.reveal(challenge.id)
        return self.board()

    def activate_winner(self) -> EntryRow:
        """The best entry on the test set becomes the active model of every tab."""
        self._require("ended", why="winner_later")
        best = winner(self.board())
        if best is None:
            raise ChallengeError(said("no_winner"))
        if self.lab.shelf.load(self.folder / best.checkpoint) is None:
            raise ChallengeError(said("unreadable", file=quote(best.checkpoint)))
        return best

    # ------------------------------------------------------------ the students'

    def submit(self, nickname: object, net: object, settings: dict, by: Caller) -> tuple[EntryRow, int, bool]:
        """An entry in the queue for this browser, replacing its waiting one (which keeps its place). Returns the
        entry, its place in the queue (1: next) and whether it replaced one."""
        name = clean_nickname(nickname)
        with self._lock:
            challenge = self._require("open")
            recipe = make_recipe(net, settings, challenge)
            waiting = [e for e in self.records.entries(challenge.id) if e.state == WAITING]
            if len(waiting) >= MAX_WAITING and not any(e.owner == by.browser for e in waiting):
                raise ChallengeError(said("full", waiting=MAX_WAITING))
            number, replaced = self.records.submit(challenge.id, name, by.browser, by.address, recipe)
            self.changed()
        self.runner.resume()  # its place is counted from the queue read above: a class's burst reads it once each
        place = next((n for n, e in enumerate(waiting, 1) if e.id == number), len(waiting) + 1)
        return self.records.entry(number), place, replaced

    def cancel(self, number: object, by: Caller) -> EntryRow:
        """Take an entry off the queue or the board (a training one stops): its own browser's, or the teacher's."""
        number = entry_number(number)
        with self._lock:
            entry = self.records.entry(number)
            if entry is None:
                raise ChallengeError(said("no_entry", entry=number))
            check(by, "challenge_cancel", Caller(entry.owner, entry.address), thing=number)
            if entry.state == CANCELLED:
                raise ChallengeError(said("cancelled_already", entry=number))
            if not self.runner.stop_running(STOPPED_BY_OWNER, entry.id):
                self.records.update(entry.id, state=CANCELLED, message=stored(said("withdrawn")))
            self.changed()
        return entry

    def own_entry(self, by: Caller) -> EntryRow | None:
        """This browser's entry that waits or trains, if any."""
        challenge = self.current()
        mine = [e for e in (self.records.entries(challenge.id) if challenge else [])
                if by.browser and e.owner == by.browser and e.state in (WAITING, RUNNING)]
        return mine[-1] if mine else None

    # ------------------------------------------------------------ anyone's

    def board(self) -> Board:
        challenge = self.current()
        return rank(challenge, self.records.entries(challenge.id) if challenge else [])

    def queue(self) -> QueueView:
        """The running entry and the waiting ones in order, each with an estimated start."""
        challenge = self.current()
        entries = self.records.entries(challenge.id) if challenge else []
        return queue_view(entries, EntryBudget.of_row(challenge) if challenge else None,
                          self.runner.teacher_first or self.runner.other_run(), self.runner.other_run_seconds(),
                          time.time())

    def compared(self, numbers: object) -> list[tuple[str, dict]]:
        """(label, curve) of each chosen entry that has one, for runs_figure."""
        entries = [self.records.entry(number) for number in compared_numbers(numbers)]
        return [(compare_label(entry), self.records.history(entry.id))
                for entry in entries if entry is not None and entry.state != CANCELLED]

    def live(self) -> tuple[EntryRow, dict] | None:
        """The training entry and the Lab's status of its run, while one trains."""
        return self.runner.live()

    # ------------------------------------------------------------ the Train tab's run

    def start_training(self, config: TrainConfig, by: Caller) -> WorkerJob:
        """The Train tab's run. The teacher's goes first: a training entry stops and runs again from the start
        after it. Anyone else's waits until the queue is empty."""
        with self._lock:
            challenge = self.current()
            waiting = (sum(e.state in (WAITING, RUNNING) for e in self.records.entries(challenge.id))
                       if challenge and challenge.state != "ended" else 0)
            if waiting and not by.teacher:
                raise ChallengeError(said("queue_busy", count=waiting))
            stopped = self.runner.make_way()
        try:
            if stopped is not None:
                stopped.settled.wait(PREEMPT_SECONDS)
            return self.lab.start_training(config)
        finally:
            self.runner.go_on()

    def close_down(self) -> None:
        """The server is going away: the queue stops where it is (a training entry is marked lost at the next start)."""
        self.runner.close()
        self.scores.close()

