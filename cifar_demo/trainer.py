"""The trainer process: one warm worker that trains one job at a time, away from the web server's interpreter.

In one process the web server and the training loop share one interpreter lock: a class classifying photos
stalls the curve on the projector, and the loop slows every answer. Here the loop runs in a worker process
(torch imported once, the data set in shared memory, not copied); the server's handle mirrors its progress.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import torch
import torch.multiprocessing as multiprocessing  # the stdlib's, with torch's reducers: tensors cross as shared memory

from .data import Dataset, DataNotFoundError
from .device import usable_cores
from .job import ENDED, JobRecord
from .training import TrainConfig, TrainingJob
from .words import Say, said_by

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.context import BaseContext

# The web server wins a contended core: a student's answer waits less, and training takes every cycle left over.
TRAINER_NICENESS = 5


def trainer_threads(cores: int) -> int:
    """Torch threads for the trainer: the cores the server does not keep. Threads that share a core with a busy
    server stall each other at every parallel step: two threads on a laptop's two cores ran 11x slower under a
    class's load, one thread on its own core keeps most of its speed."""
    return max(1, cores - server_threads(cores))


def server_threads(cores: int) -> int:
    """Torch threads for the web server's own work (a batch of photos, an evaluation): half the cores."""
    return max(1, cores // 2)


TRAINER_DIED = "The training process stopped unexpectedly"  # how a run lost with its worker begins its message


def died_message(exitcode: int | None) -> Say:
    """Its English begins with TRAINER_DIED."""
    how = (Say("training.killed", signal=signal.Signals(-exitcode).name) if exitcode and exitcode < 0
           else Say("training.exit", status=exitcode))
    return Say("training.died", how=how)


class WorkerJob(JobRecord):
    """The server's handle on a run in the trainer process: the same snapshot() as a TrainingJob, fed by changes."""

    def __init__(self, trainer: "Trainer", config: TrainConfig, data: Callable[[], Dataset], out: Path,
                 run_name: str, on_end: Callable[["WorkerJob"], None] = lambda job: None):
        config.validate()
        super().__init__(config, run_name)
        self.trainer, self._data, self.out, self._on_end = trainer, data, Path(out), on_end
        self.stop_asked = False
        self._ended = threading.Event()

    def start(self) -> "WorkerJob":
        self.update(state="running", message="loading data")
        threading.Thread(target=self._hand_over, name=f"hand-over-{self.run_name}", daemon=True).start()
        return self

    def _hand_over(self) -> None:
        """Load the data here (once per server; the trainer shares it), then give the run to the trainer."""
        try:
            data = self._data()
        except DataNotFoundError as error:
            return self.end({"state": "failed", "message": said_by(error) or str(error)})
        if self.stop_asked:
            return self.end({"state": "stopped", "message": "stopped before the first step; nothing was saved"})
        self.trainer.run(self, data)

    def stop(self) -> None:
        self.stop_asked = True
        self.trainer.stop(self)

    def wait(self, timeout: float | None = None) -> bool:
        return self._ended.wait(timeout)

    def end(self, changes: dict) -> None:
        """The run's last changes: the server takes up its checkpoint first, then says it has ended, so a reader
        who sees 'finished' finds the new model active everywhere."""
        final = {key: changes.pop(key) for key in ("state", "message") if key in changes}
        self.apply(changes)
        self._on_end(self)
        self.apply(final)
        self._ended.set()


class Trainer:
    """A worker process kept warm that runs the jobs it is handed, one at a time, and is replaced if it dies."""

    def __init__(self, threads: int | None = None):
        self.threads = threads or trainer_threads(usable_cores())
        self._lock = threading.Lock()  # guards the fields below and every send on the pipe
        self._process: multiprocessing.Process | None = None
        self._pipe: Connection | None = None
        self._job: WorkerJob | None = None

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    def start(self) -> "Trainer":
        """Start the worker now (torch takes seconds to import there), so the first Train need not wait."""
        with self._lock:
            self._ensure_running()
        return self

    def _ensure_running(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        context = _process_context()
        pipe, child_end = context.Pipe()
        process = context.Process(target=serve, args=(child_end, self.threads), name="cifar-demo-trainer", daemon=True)
        process.start()
        child_end.close()
        self._process, self._pipe = process, pipe
        threading.Thread(target=self._listen, args=(process, pipe), name="trainer-listener", daemon=True).start()

    def run(self, job: WorkerJob, data: Dataset) -> None:
        with self._lock:
            self._ensure_running()
            self._job = job
            self._pipe.send(("train", job.config, data, job.out, job.run_name))
            if job.stop_asked:  # a Stop that came while the data loaded
                self._pipe.send(("stop",))

    def stop(self, job: WorkerJob) -> None:
        with self._lock:
            if self._job is job:
                self._pipe.send(("stop",))

    def close(self) -> None:
        """End the worker (the server is shutting down)."""
        with self._lock:
            process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.join(5)

    def _listen(self, process: multiprocessing.Process, pipe: Connection) -> None:
        """Mirror the worker's reports into the job; if the worker dies, the job fails and a new worker starts."""
        while True:
            try:
                changes = pipe.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                job = self._job
                if changes.get("state") in ENDED:
                    self._job = None
            if job is None:
                continue
            if changes.get("state") in ENDED:
                job.end(changes)
            else:
                job.apply(changes)
        process.join(5)
        with self._lock:
            replaced = self._process is not process
            job, self._job = (None, self._job) if replaced else (self._job, None)  # a new worker's job is its own
        if job is not None:
            job.end({"state": "failed", "message": died_message(process.exitcode)})
        if not replaced and not sys.is_finalizing():  # a worker that died (not one closed on purpose, nor at exit)
            try:                                          # has a successor ready for the next Train
                self.start()
            except (OSError, RuntimeError):  # the interpreter is shutting down: the next Train starts one anyway
                pass


def _process_context() -> BaseContext:
    """forkserver where there is one: each new worker forks from a process that has imported torch already."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


# ---------------------------------------------------------------- inside the worker process


PROCESS_NAME = b"cifar-trainer"  # what top, ps and pgrep show for the worker


def serve(pipe: Connection, threads: int) -> None:
    """The worker's loop: run each job it is sent in a thread, stop it when asked, report each change."""
    _name_this_process(PROCESS_NAME)
    torch.set_num_threads(threads)
    try:
        os.nice(TRAINER_NICENESS)
    except OSError:  # not allowed here: the worker just runs at the server's priority
        pass
    job: TrainingJob | None = None
    while True:
        try:
            message = pipe.recv()
        except (EOFError, OSError):
            return  # the server has gone, and its trainer with it
        if message[0] == "train":
            if job is not None:
                job.wait()
            _, config, data, out, run_name = message
            job = TrainingJob(config, data, out=out, run_name=run_name, on_event=reporter(pipe)).start()
        elif message[0] == "stop" and job is not None:
            job.stop()


def _name_this_process(name: bytes) -> None:
    """Linux's short process name (prctl PR_SET_NAME), so a teacher can find the trainer in top; elsewhere no-op."""
    try:
        ctypes.CDLL(None).prctl(15, ctypes.c_char_p(name), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def reporter(pipe: Connection) -> Callable[[str, TrainingJob], None]:
    """An on_event that sends what changed since its last report; the training thread is the only sender."""
    mark = (0, 0)

    def report(event: str, job: TrainingJob) -> None:
        nonlocal mark
        changes, mark = job.changes_since(mark)
        pipe.send(changes)

    return report


_shared: Trainer | None = None
_shared_lock = threading.Lock()


def shared_trainer() -> Trainer:
    """The one trainer of this process, made on first use: every Lab in it (the app's, the tests') shares it."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Trainer()
        return _shared
