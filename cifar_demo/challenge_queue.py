"""The class challenge's queue: a thread that runs each waiting entry in turn in the Lab's one training slot, cut at
its budget, and records how it ended (`Running`, `QueueRunner`); each finished entry's test-set score is measured on a
thread of its own (`PrivateScores`). `challenge.py` starts both and asks them to stop, make way and go on."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Callable

from .challenge_rules import EntryBudget, recipe_config, said, stored, validation_split
from .challenge_store import CANCELLED, DONE, FAILED, LOST, RUNNING, WAITING, ChallengeRecords, EntryRow
from .checkpoints import CheckpointError, load_checkpoint
from .data import Dataset, DataNotFoundError
from .evaluation import EvalViews, evaluate
from .lab import JobRunning, Lab
from .trainer import TRAINER_DIED, WorkerJob
from .training import thinned
from .words import Clause

WATCH_SECONDS = 0.05        # how often the queue's thread looks at the running entry (the cut's precision)
HISTORY_SAVE_SECONDS = 2.0  # a running entry's curve is saved this often: a restart keeps it up to then
WAIT_SECONDS = 0.5          # how often the queue's thread looks again while another run holds the trainer
PREEMPT_SECONDS = 60.0      # the teacher's Train waits at most this long for the entry it stops
PREEMPTED, STOPPED_BY_OWNER, STOPPED_BY_END = "preempted", "cancelled", "ended"


def history_of(job: WorkerJob) -> dict:
    """A run's curve as an entry keeps it: at most the checkpoints' number of points."""
    history = job.snapshot()["history"]
    return {"steps": thinned(history["steps"]), "epochs": thinned(history["epochs"])}


def unscored(entries: list[EntryRow]) -> list[EntryRow]:
    """The finished entries whose test-set score is not measured yet."""
    return [entry for entry in entries if entry.state == DONE and entry.private is None]


class PrivateScores:
    """Each finished entry's accuracy on the test set, measured on a thread of its own (the next entry never waits
    for the last one's test) and kept hidden until the challenge ends."""

    def __init__(self, records: ChallengeRecords, lab: Lab, folder: Path, changed: Callable[[], None]):
        self.records, self.lab, self.folder, self.changed = records, lab, folder, changed
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="challenge-scorer")

    def ask(self, number: int) -> None:
        self._pool.submit(self.score, number)

    def later(self, entries: list[EntryRow]) -> None:
        """Measure the scores these finished entries still lack, one after another."""
        for entry in unscored(entries):
            self.ask(entry.id)

    def reveal(self, challenge: int) -> None:
        """The board is about to show every score: wait for those asked for, then measure any still missing here."""
        self._pool.submit(lambda: None).result()
        for entry in unscored(self.records.entries(challenge)):
            self.score(entry.id)

    def score(self, number: int) -> None:
        """An entry's accuracy on the test set, kept hidden until the challenge ends."""
        entry = self.records.entry(number)
        if entry is None or entry.state != DONE or entry.private is not None:
            return
        try:
            checkpoint = load_checkpoint(self.folder / entry.checkpoint, self.lab.device)
            data = self.lab.pictures.data()
        except (CheckpointError, DataNotFoundError) as error:
            self.records.update(number, message=stored(said("unscored", why=Clause(error, capital=True))))
            self.changed()
            return
        config = checkpoint.meta.get("config", {})
        result = evaluate(checkpoint.model, data.test, data.classes, checkpoint.meta["mean"], checkpoint.meta["std"],
                          views=EvalViews.of(config), cpu_bf16=config.get("cpu_bf16", False))
        self.records.update(number, private=result.accuracy)
        self.changed()

    def close(self) -> None:
        """The server is going away: the scores not yet measured are skipped (the next start asks for them)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class Running:
    """The entry the queue's thread is running: its job once started, why it was stopped, whether the budget cut it,
    and what the store keeps of its turn."""

    def __init__(self, entry: EntryRow):
        self.entry = entry
        self.job: WorkerJob | None = None
        self.why_stopped: str | None = None  # PREEMPTED, STOPPED_BY_OWNER or STOPPED_BY_END
        self.cut = False
        self.settled = threading.Event()  # the entry's outcome is in the store

    def stop(self, why: str) -> None:
        if why == PREEMPTED and self.job is not None and self.job.done:
            return  # it ran its turn: it is being recorded, not run again
        if self.why_stopped in (None, PREEMPTED):  # a cancel or the end outweighs going back to the queue
            self.why_stopped = why
        if self.job is not None:
            self.job.stop()

    def start(self, lab: Lab, data: Dataset, folder: Path) -> Exception | None:
        """The entry's run handed to the Lab's trainer; returns the error of settings this version refuses."""
        entry = self.entry
        name = f"challenge{entry.challenge}-entry{entry.id}-{entry.recipe['model']}"
        try:
            self.job = lab.start_training(
                recipe_config(entry.recipe), name, data, folder=folder,
                on_end=lambda job: None,  # not the active model: the teacher makes the winner so
                guard=said("guarded", entry=entry.id))
        except JobRunning:  # a Train got in first: this entry goes back to the front
            self.why_stopped = PREEMPTED
        except ValueError as error:  # settings kept from an older version that this one refuses
            return error
        return None

    def watch(self, limit: float, save_curve: Callable[[Running], None]) -> None:
        """Until the job ends: the budget's clock from its first step's start, the curve saved every few seconds."""
        job, saved, since = self.job, time.monotonic(), None
        while not job.wait(WATCH_SECONDS):
            now = time.monotonic()
            if since is None and job.progress.get("steps"):  # the run has set up and starts its steps
                since = now
            if since is not None and now - since >= limit and not self.cut:
                self.cut = True
                job.stop()
            if now - saved >= HISTORY_SAVE_SECONDS:
                save_curve(self)
                saved = now

    def outcome(self, failure: Exception | None = None) -> dict:
        """The store's fields for an entry whose turn is over (not one preempted, which waits again): withdrawn,
        ended, failed, lost or done."""
        job, why = self.job, self.why_stopped
        ended = {"ended": time.time(), "history": history_of(job) if job is not None else {}}
        if why in (STOPPED_BY_OWNER, STOPPED_BY_END):
            return {"state": CANCELLED if why == STOPPED_BY_OWNER else LOST, **ended,
                    "message": stored(said("withdrawn" if why == STOPPED_BY_OWNER else "ended_during"))}
        if failure is not None or job.state == "failed" or not job.checkpoint_path:
            message = failure or job.message
            return {"state": LOST if str(message).startswith(TRAINER_DIED) else FAILED, **ended,
                    "message": stored(message)}
        result = job.result
        return {"state": DONE, **ended, "checkpoint": Path(job.checkpoint_path).name,
                "public": result.get("test_accuracy"), "seconds": result.get("seconds"),
                "epochs_done": result.get("epochs_done"), "message": stored(said("cut")) if self.cut else ""}


class QueueRunner:
    """The queue's thread: whenever the Lab's training slot is free, the next waiting entry runs there, watched,
    cut at its budget and recorded; the thread ends when nothing waits. Test-set scores are measured on another."""

    def __init__(self, records: ChallengeRecords, lab: Lab, folder: Path, lock: threading.RLock,
                 changed: Callable[[], None], scores: PrivateScores):
        self.records, self.lab, self.folder, self.changed, self.scores = records, lab, folder, changed, scores
        self._lock = lock  # the challenge's: guards the queue's order and the running entry
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._running: Running | None = None
        self._split: Dataset | None = None
        self._split_lock = threading.Lock()
        self._closed = False
        self.teacher_first = False  # the teacher's Train is taking the slot: no entry starts meanwhile

    def resume(self) -> None:
        """Start the thread if it is not running (it ends at once when nothing waits)."""
        with self._lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._serve, name="challenge-queue", daemon=True)
                self._thread.start()
        self._wake.set()

    def close(self) -> None:
        """Stop the running entry's job and the thread (recording nothing more)."""
        with self._lock:
            self._closed = True
            thread = self._thread
            if self._running is not None and self._running.job is not None:
                self._running.job.stop()
        self._wake.set()
        if thread is not None:
            thread.join(PREEMPT_SECONDS)

    # ------------------------------------------------------------ asked by the challenge

    def stop_running(self, why: str, entry: int | None = None) -> bool:
        """Stop the running entry (only if it is `entry`, when given); False when none (or another) runs."""
        with self._lock:
            running = self._running
            if running is None or (entry is not None and running.entry.id != entry):
                return False
            running.stop(why)
            return True

    def make_way(self) -> Running | None:
        """The teacher's Train is coming: no entry starts, a running one goes back to the front of the queue."""
        with self._lock:
            self.teacher_first = True
            running = self._running
            if running is not None:
                running.stop(PREEMPTED)
            return running

    def go_on(self) -> None:
        with self._lock:
            self.teacher_first = False
        self._wake.set()

    def other_run(self) -> bool:
        """Whether a run that is no entry holds the trainer."""
        job = self.lab.job
        running = self._running
        return job is not None and not job.done and (running is None or running.job is not job)

    def other_run_seconds(self) -> float:
        """The seconds left of a run that is no entry, as its ETA says (0 when none runs or none is known)."""
        return (self.lab.job.progress.get("eta_seconds") or 0.0) if self.other_run() else 0.0

    def live(self) -> tuple[EntryRow, dict] | None:
        running = self._running
        if running is None or running.job is None or self.lab.job is not running.job:
            return None
        return running.entry, self.lab.status()

    # ------------------------------------------------------------ the thread

    def _serve(self) -> None:
        while True:
            self._wake.clear()
            running = self._claim()
            if running is False:
                return
            if running is None:
                self._wake.wait(WAIT_SECONDS)
                continue
            self._run(running)

    def _claim(self) -> Running | None | bool:
        """The next entry, marked running; None while another run holds the slot; False (the thread ends) when
        nothing waits."""
        with self._lock:
            challenge = self.records.current()
            entry = (self.records.next_waiting(challenge.id) if challenge and challenge.state != "ended"
                     and not self._closed else None)
            if entry is None:
                self._thread = None
                return False
            if self.teacher_first or (self.lab.job is not None and not self.lab.job.done):
                return None
            self.records.update(entry.id, state=RUNNING, started=time.time(), history={})
            self._running = Running(replace(entry, state=RUNNING))
            self.changed()
            return self._running

    def _data(self) -> Dataset:
        """The entries' split of the Lab's data, made once: the trainer is handed the same pictures every time."""
        with self._split_lock:
            if self._split is None:
                self._split = validation_split(self.lab.pictures.data())
            return self._split

    def _run(self, running: Running) -> None:
        try:
            data = self._data()
        except DataNotFoundError as error:
            return self._settle(running, failure=error)
        failure = None
        with self._lock:
            if running.why_stopped is None and not self._closed:
                failure = running.start(self.lab, data, self.folder)
        if running.job is not None:
            running.watch(EntryBudget.of_row(self.records.current()).cut_seconds, self._save_curve)
        self._settle(running, failure)

    def _save_curve(self, running: Running) -> None:
        """The running entry's curve so far, kept in the store (unless the server is going away)."""
        if not self._closed:
            self.records.update(running.entry.id, history=history_of(running.job))

    def _settle(self, running: Running, failure: Exception | None = None) -> None:
        """The entry's outcome in the store; the next one may start."""
        entry, job = running.entry, running.job
        with self._lock:
            self._running = None
            why = running.why_stopped  # no stop reaches it once it is not the running entry
        if self._closed:
            running.settled.set()
            return  # the server is going away: the next start marks the entry lost
        if why == PREEMPTED:
            self.records.update(entry.id, state=WAITING, turn=self.records.first_turn(entry.challenge), started=None,
                                history={})
        else:
            outcome = running.outcome(failure)
            self.records.update(entry.id, **outcome)
            if outcome["state"] == DONE:
                self.scores.ask(entry.id)
        if job is not None and why is not None and job.checkpoint_path:
            Path(job.checkpoint_path).unlink(missing_ok=True)  # an entry that ran no full turn leaves no model
        self.changed()
        running.settled.set()
        self._wake.set()
