"""The class challenge: every student submits a recipe (the Train tab's settings) under a nickname, the trainer runs
the entries in turn, each cut at the same budget, and a board ranks them by their accuracy on pictures carved from
the training set (public). When the teacher ends it, the board reveals each entry's accuracy on the test set
(private) and how the order changed: tuning to the board is overfitting too.

The rules and the views are here; the queue's thread (QueueRunner) runs the entries in the Lab's one training slot.
"""
from __future__ import annotations

import json
import statistics
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from .access import Caller, check
from .challenge_store import CANCELLED, DONE, FAILED, LOST, RUNNING, WAITING, ChallengeRecords, ChallengeRow, EntryRow
from .checkpoints import CheckpointError, load_checkpoint
from .data import Dataset, DataNotFoundError, ImageSet
from .evaluation import EvalViews, evaluate
from .lab import JobRunning, Lab
from .models import NETS
from .serving import quote
from .settings import real, whole
from .store import Store
from .trainer import TRAINER_DIED, WorkerJob
from .training import TrainConfig, preset, thinned
from .words import Clause, Say, from_plain, plain

VALIDATION_PICTURES = 5000  # of CIFAR-10's 50,000 training pictures: the entries train on the other 45,000
VALIDATION_SHARE = 10       # a smaller data set gives a tenth of its training pictures
VALIDATION_SEED = 0         # the same pictures in every challenge, on every server
NICKNAME_CHARS = 30
MAX_WAITING = 100           # entries in the queue at once: 3 for each of a class of 30, and room
MAX_COMPARED = 5
BUDGET_SECONDS = real(1, 3600)
BUDGET_EPOCHS = whole(1, 100)
EPOCH_BUDGET_BACKSTOP = 600.0  # seconds: an epoch budget still cuts a run that would hold the trainer for longer
RECIPE = ("epochs", "batch_size", "lr", "optimizer", "augment", "seed")  # besides the net: the Train tab's settings
WATCH_SECONDS = 0.05        # how often the queue's thread looks at the running entry (the cut's precision)
HISTORY_SAVE_SECONDS = 2.0  # a running entry's curve is saved this often: a restart keeps it up to then
WAIT_SECONDS = 0.5          # how often the queue's thread looks again while another run holds the trainer
PREEMPT_SECONDS = 60.0      # the teacher's Train waits at most this long for the entry it stops
OVERHEAD_GUESS = 2.0        # seconds an entry takes beyond its budget, before one has been measured
PREEMPTED, STOPPED_BY_OWNER, STOPPED_BY_END = "preempted", "cancelled", "ended"

def said(key: str, **values: object) -> Say:
    """One of the challenge's sentences (the catalog's challenge.said section), shown in its reader's language."""
    return Say(f"challenge.said.{key}", **values)


class ChallengeError(ValueError):
    """A challenge action that cannot be done; the message is one sentence a person can act on."""


@dataclass(frozen=True)
class EntryBudget:
    """What each entry may spend: seconds of training (test passes included), or epochs."""
    seconds: float | None = None
    epochs: int | None = None

    @classmethod
    def of(cls, amount: object, unit: object) -> "EntryBudget":
        if unit == "seconds" and BUDGET_SECONDS.check(amount, None):
            return cls(seconds=float(amount))
        if unit == "epochs" and BUDGET_EPOCHS.check(amount, None):
            return cls(epochs=int(amount))
        raise ChallengeError(said("budget", seconds=BUDGET_SECONDS.must, epochs=BUDGET_EPOCHS.must))

    @classmethod
    def of_row(cls, row: ChallengeRow) -> "EntryBudget":
        return cls(row.budget_seconds, row.budget_epochs)

    @property
    def cut_seconds(self) -> float:
        return self.seconds if self.seconds is not None else EPOCH_BUDGET_BACKSTOP

    def words(self) -> Say:
        """'20 s of training' or '1 epoch', in its reader's language."""
        if self.seconds is not None:
            return Say("challenge.budget_seconds", seconds=f"{self.seconds:g}")
        return Say("challenge.budget_epoch") if self.epochs == 1 else Say("challenge.budget_epochs", epochs=self.epochs)


def clean_nickname(text: object) -> str:
    """A nickname as it will be shown (runs of spaces made one), or a ChallengeError: 1 to 30 characters of text,
    no control or invisible formatting characters (an emoji's joiner excepted)."""
    name = " ".join(text.split()) if isinstance(text, str) else ""
    hidden = [c for c in name if unicodedata.category(c).startswith("C") and c != "\u200d"]
    if not 1 <= len(name) <= NICKNAME_CHARS or hidden:
        raise ChallengeError(said("nickname", chars=NICKNAME_CHARS))
    return name


def make_recipe(net: object, settings: dict, challenge: ChallengeRow) -> dict:
    """The settings an entry trains with: the net's preset where a setting is not given, validated as /train's."""
    if not isinstance(net, str) or net not in challenge.nets:
        raise ChallengeError(said("net", nets=", ".join(challenge.nets)))
    config = preset(net, **{key: value for key, value in settings.items() if key in RECIPE and value is not None})
    try:
        config.validate()
    except ValueError as error:
        raise ChallengeError(*error.args) from None
    budget = EntryBudget.of_row(challenge)
    if budget.epochs is not None and config.epochs > budget.epochs:
        raise ChallengeError(said("epochs", epochs=budget.epochs))
    return {"model": net, **{key: getattr(config, key) for key in RECIPE}}


def recipe_config(recipe: dict) -> TrainConfig:
    return preset(recipe["model"], **{key: recipe[key] for key in RECIPE})


def validation_count(train_pictures: int) -> int:
    """How many of a data set's training pictures the entries are ranked on, not trained on (the classroom bench
    counts an entry's images a step from it)."""
    return max(1, min(VALIDATION_PICTURES, train_pictures // VALIDATION_SHARE))


def validation_split(data: Dataset) -> Dataset:
    """The entries' data: every training picture but a fixed, seeded share (5,000 of CIFAR-10's 50,000) to train
    on, and that share as the pictures they are tested and ranked on. The test set stays out of sight."""
    count = validation_count(len(data.train))
    order = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(VALIDATION_SEED))
    held, kept = order[:count].sort().values, order[count:].sort().values
    images, labels = data.train.images, data.train.labels
    return replace(data, train=ImageSet(images[kept], labels[kept]), test=ImageSet(images[held], labels[held]),
                   mean=data.mean, std=data.std)


def history_of(job: WorkerJob) -> dict:
    """A run's curve as an entry keeps it: at most the checkpoints' number of points."""
    history = job.snapshot()["history"]
    return {"steps": thinned(history["steps"]), "epochs": thinned(history["epochs"])}


# ---------------------------------------------------------------- what the board and the queue show


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


def rank(entries: list[EntryRow], revealed: bool) -> Board:
    ranked = sorted((e for e in entries if e.state == DONE), key=lambda e: (-(e.public or 0.0), e.id))
    scored = sorted((e for e in ranked if e.private is not None), key=lambda e: (-e.private, e.id))
    private_rank = {e.id: n for n, e in enumerate(scored, 1)} if revealed else {}
    standings = [Standing(e, n, private_rank.get(e.id)) for n, e in enumerate(ranked, 1)]
    return Board(None, standings, [e for e in entries if e.state in (FAILED, LOST)], revealed)


def stored(message: object) -> str:
    """An entry's note as the store keeps it: a Say (or an error carrying one) as JSON of its key and values, so an
    old entry is read in each reader's language; other text as it is."""
    data = plain(message)
    return json.dumps(data) if isinstance(data, dict) else str(message)


def note(entry: EntryRow) -> Say | str:
    """An entry's stored note, to be shown in a reader's language (a note stored as English text stays so)."""
    if entry.message.startswith("{"):
        try:
            return from_plain(json.loads(entry.message))
        except ValueError:
            pass
    return entry.message


def entry_dict(entry: EntryRow, revealed: bool) -> dict:
    """An entry as the API shows it: never its browser or address."""
    shown = {"entry": entry.id, "nickname": entry.nickname, "recipe": entry.recipe, "state": entry.state,
             "validation_accuracy": entry.public, "seconds": entry.seconds, "epochs_done": entry.epochs_done,
             "note": str(note(entry))}
    return {**shown, "test_accuracy": entry.private} if revealed else shown


# ---------------------------------------------------------------- the challenge


class Challenge:
    """One class challenge at a time on a Lab, kept in the class store: the teacher opens, closes and ends it,
    students submit and cancel, everyone reads the board and the queue. `version` changes with every change."""

    def __init__(self, lab: Lab, store: Store):
        self.lab, self.records = lab, ChallengeRecords(store)
        self.folder = lab.checkpoint_dir / "challenge"  # beside runs/: entries stay off the model menu
        self._lock = threading.RLock()  # guards the queue's order and the running entry
        self.version = 0
        self.scores = PrivateScores(self)
        self.runner = QueueRunner(self)
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
        if (not isinstance(nets, (list, tuple)) or not nets or len(nets) > len(NETS)
                or not all(isinstance(net, str) and net in NETS for net in nets)):
            raise ChallengeError(said("nets", nets=", ".join(NETS)))
        with self._lock:
            last = self.current()
            if last is not None and last.state != "ended":
                raise ChallengeError(said("still_on", state=said(f"state_{last.state}")))
            self.records.open(budget.seconds, budget.epochs, list(dict.fromkeys(nets)))
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
        self.scores.done()
        for entry in self.records.entries(challenge.id):
            if entry.state == DONE and entry.private is None:
                self.scores.score(entry.id)
        return self.board()

    def activate_winner(self) -> EntryRow:
        """The best entry on the test set becomes the active model of every tab."""
        self._require("ended", why="winner_later")
        board = self.board()
        winners = sorted((s for s in board.standings if s.private_rank is not None), key=lambda s: s.private_rank)
        if not winners:
            raise ChallengeError(said("no_winner"))
        winner = winners[0].entry
        if self.lab.shelf.load(self.folder / winner.checkpoint) is None:
            raise ChallengeError(said("unreadable", file=quote(winner.checkpoint)))
        return winner

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
        if not whole(1, 2**62).check(number, None):
            raise ChallengeError(said("number"))
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
        if challenge is None:
            return Board(None, [], [], False)
        return replace(rank(self.records.entries(challenge.id), challenge.state == "ended"), challenge=challenge)

    def queue(self) -> QueueView:
        """The running entry and the waiting ones in order, each with an estimated start."""
        challenge = self.current()
        entries = self.records.entries(challenge.id) if challenge else []
        running = next((e for e in entries if e.state == RUNNING), None)
        waiting = [e for e in entries if e.state == WAITING]
        each = self._typical_seconds(challenge, entries) if challenge else None
        paused = self.runner.teacher_first or self.runner.other_run()
        if each is None:
            return QueueView(running, [Turn(n, e, None) for n, e in enumerate(waiting, 1)], paused)
        now, ahead = time.time(), self.runner.other_run_seconds()
        left = max(0.0, each - (now - running.started)) if running and running.started else 0.0
        return QueueView(running, [Turn(n, e, ahead + left + (n - 1) * each) for n, e in enumerate(waiting, 1)],
                         paused)

    def _typical_seconds(self, challenge: ChallengeRow, entries: list[EntryRow]) -> float | None:
        """Seconds an entry takes from its start to the next one's: its budget and the overhead measured so far (the
        median: the first entry also waits for the trainer and the data)."""
        took = [e.ended - e.started for e in entries if e.state == DONE and e.started and e.ended]
        budget = EntryBudget.of_row(challenge)
        if budget.seconds is None:
            return statistics.median(took) if took else None
        overhead = statistics.median(took) - budget.seconds if took else OVERHEAD_GUESS
        return budget.seconds + max(0.0, overhead)

    def compared(self, numbers: object) -> list[tuple[str, dict]]:
        """(label, curve) of each chosen entry that has one, for runs_figure."""
        if not isinstance(numbers, list) or not all(whole(1, 2**62).check(n, None) for n in numbers):
            raise ChallengeError(said("number"))
        chosen = list(dict.fromkeys(numbers))
        if len(chosen) > MAX_COMPARED:
            raise ChallengeError(said("compare", compared=MAX_COMPARED))
        found = []
        for number in chosen:
            entry = self.records.entry(number)
            if entry is not None and entry.state != CANCELLED:
                score = f" · {entry.public:.1%}" if entry.public is not None else ""
                found.append((f"#{entry.id} {entry.nickname} · {entry.recipe['model']}{score}",
                              self.records.history(entry.id)))
        return found

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


class PrivateScores:
    """Each finished entry's accuracy on the test set, measured on a thread of its own (the next entry never waits
    for the last one's test) and kept hidden until the challenge ends."""

    def __init__(self, challenge: Challenge):
        self.challenge, self.records, self.lab = challenge, challenge.records, challenge.lab
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="challenge-scorer")

    def ask(self, number: int) -> None:
        self._pool.submit(self.score, number)

    def later(self, entries: list[EntryRow]) -> None:
        """Measure the scores these finished entries still lack, one after another."""
        for entry in entries:
            if entry.state == DONE and entry.private is None:
                self.ask(entry.id)

    def done(self) -> None:
        """Wait for the scores already asked for."""
        self._pool.submit(lambda: None).result()

    def score(self, number: int) -> None:
        """An entry's accuracy on the test set, kept hidden until the challenge ends."""
        entry = self.records.entry(number)
        if entry is None or entry.state != DONE or entry.private is not None:
            return
        try:
            checkpoint = load_checkpoint(self.challenge.folder / entry.checkpoint, self.lab.device)
            data = self.lab.data()
        except (CheckpointError, DataNotFoundError) as error:
            self.records.update(number, message=stored(said("unscored", why=Clause(error, capital=True))))
            self.challenge.changed()
            return
        config = checkpoint.meta.get("config", {})
        result = evaluate(checkpoint.model, data.test, data.classes, checkpoint.meta["mean"], checkpoint.meta["std"],
                          views=EvalViews.of(config), cpu_bf16=config.get("cpu_bf16", False))
        self.records.update(number, private=result.accuracy)
        self.challenge.changed()

    def close(self) -> None:
        """The server is going away: the scores not yet measured are skipped (the next start asks for them)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class Running:
    """The entry the queue's thread is running: its job once started, why it was stopped, whether the budget cut it."""

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


class QueueRunner:
    """The queue's thread: whenever the Lab's training slot is free, the next waiting entry runs there, watched,
    cut at its budget and recorded; the thread ends when nothing waits. Test-set scores are measured on another."""

    def __init__(self, challenge: Challenge):
        self.challenge, self.records, self.lab = challenge, challenge.records, challenge.lab
        self._lock = challenge._lock
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
            self.challenge.changed()
            return self._running

    def _data(self) -> Dataset:
        """The entries' split of the Lab's data, made once: the trainer is handed the same pictures every time."""
        with self._split_lock:
            if self._split is None:
                self._split = validation_split(self.lab.data())
            return self._split

    def _run(self, running: Running) -> None:
        entry = running.entry
        try:
            data = self._data()
        except DataNotFoundError as error:
            return self._settle(running, failure=error)
        failure = None
        with self._lock:
            if running.why_stopped is None and not self._closed:
                try:
                    name = f"challenge{entry.challenge}-entry{entry.id}-{entry.recipe['model']}"
                    running.job = self.lab.start_training(
                        recipe_config(entry.recipe), name, data, folder=self.challenge.folder,
                        on_end=lambda job: None,  # not the active model: the teacher makes the winner so
                        guard=said("guarded", entry=entry.id))
                except JobRunning:  # a Train got in first: this entry goes back to the front
                    running.why_stopped = PREEMPTED
                except ValueError as error:  # settings kept from an older version that this one refuses
                    failure = error
        if running.job is not None:
            self._watch(running, EntryBudget.of_row(self.records.current()).cut_seconds)
        self._settle(running, failure)

    def _watch(self, running: Running, limit: float) -> None:
        """Until the job ends: the budget's clock from its first step's start, the curve saved every few seconds."""
        job, saved, since = running.job, time.monotonic(), None
        while not job.wait(WATCH_SECONDS):
            now = time.monotonic()
            if since is None and job.progress.get("steps"):  # the run has set up and starts its steps
                since = now
            if since is not None and now - since >= limit and not running.cut:
                running.cut = True
                job.stop()
            if now - saved >= HISTORY_SAVE_SECONDS and not self._closed:
                self.records.update(running.entry.id, history=history_of(job))
                saved = now

    def _settle(self, running: Running, failure: Exception | None = None) -> None:
        """The entry's outcome in the store; the next one may start."""
        entry, job, why = running.entry, running.job, running.why_stopped
        with self._lock:
            self._running = None
        if self._closed:
            running.settled.set()
            return  # the server is going away: the next start marks the entry lost
        history = history_of(job) if job is not None else {}
        ended = {"ended": time.time(), "history": history}
        if why == PREEMPTED:
            self.records.update(entry.id, state=WAITING, turn=self.records.first_turn(entry.challenge), started=None,
                                history={})
        elif why in (STOPPED_BY_OWNER, STOPPED_BY_END):
            self.records.update(entry.id, state=CANCELLED if why == STOPPED_BY_OWNER else LOST, **ended,
                                message=stored(said("withdrawn" if why == STOPPED_BY_OWNER else "ended_during")))
        elif failure is not None or job.state == "failed" or not job.checkpoint_path:
            message = failure or job.message
            self.records.update(entry.id, state=LOST if str(message).startswith(TRAINER_DIED) else FAILED, **ended,
                                message=stored(message))
        else:
            result = job.result
            self.records.update(entry.id, state=DONE, **ended, checkpoint=Path(job.checkpoint_path).name,
                                public=result.get("test_accuracy"), seconds=result.get("seconds"),
                                epochs_done=result.get("epochs_done"), message=stored(said("cut")) if running.cut else "")
            self.challenge.scores.ask(entry.id)
        if job is not None and why is not None and job.checkpoint_path:
            Path(job.checkpoint_path).unlink(missing_ok=True)  # an entry that ran no full turn leaves no model
        self.challenge.changed()
        running.settled.set()
        self._wake.set()
