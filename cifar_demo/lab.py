"""The app's shared state in one place: the shelf of models, the training job, the pictures (the data set and each
model's tests), the class's collection, the wall, and the store that keeps the class's own work across restarts."""
from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path
from typing import Callable, TypeVar

from .checkpoints import CHECKPOINT_DIR, Checkpoint, checkpoint_path, new_run_name, runs_folder
from .collection import Collection, CollectionError
from .data import Dataset, DataNotFoundError
from .database import MEMORY
from .device import device_name, device_words, pick_device
from .held_out import SOURCE
from .images import ImageError
from .inference import Prediction, classify_many
from .pictures import Pictures
from .plots import run_label
from .shelf import NoModel, Shelf
from .store import Lesson, Store
from .trainer import Trainer, WorkerJob, shared_trainer
from .training import TrainConfig, preset_for_your_classes
from .wall import Wall
from .words import Say

RUNNING = "running"  # the key of the job still training among the runs to compare
T = TypeVar("T")


class JobRunning(Exception):
    """A second Train while one runs: one job per server."""


class Lab:
    def __init__(self, data_path: str | Path | None = None, checkpoint: str | Path | None = None,
                 device: str = "auto", checkpoint_dir: str | Path = CHECKPOINT_DIR, download: bool = True,
                 trainer: Trainer | None = None, store: Store | None = None):
        self.device = pick_device(device)
        self.device_label = device_name(self.device)
        self.checkpoint_dir = Path(checkpoint_dir)
        self.runs_dir = runs_folder(self.checkpoint_dir)
        self.shelf = Shelf(self.checkpoint_dir, [self.checkpoint_dir, self.runs_dir], self.device, checkpoint)
        self.store = store or Store(MEMORY)  # the app passes a file; a library user or a test keeps it in memory
        self.collection = Collection(store=self.store)  # the class's own classes, shared by every page
        self.wall = Wall(store=self.store)  # the class's shared photos
        self.pictures = Pictures(data_path, download, self.shelf, self.store)  # the data set, each model's tests
        self._lock = threading.RLock()      # guards the fields below
        self.trainer = trainer or shared_trainer()
        self.job: WorkerJob | None = None
        self._guard: str | Say | None = None  # what a Stop is told instead of stopping the job (a challenge's entry)
        self._job_data: Dataset | None = None  # the running job's own data set (a collection's), None for the main one

    # ------------------------------------------------------------ the page's header

    def header(self) -> Say:
        """The page's header line: the device and the active model."""
        active = self.shelf.active
        model = (Say("status.header_model", net=active.meta["model"], accuracy=f"{active.meta['test_accuracy']:.1%}",
                     file=active.path.name) if active and active.meta.get("test_accuracy") is not None
                 else Say("status.header_model_plain", net=active.meta["model"], file=active.path.name) if active
                 else Say("status.header_none"))
        return Say("status.header", device=device_words(self.device), model=model)

    # ------------------------------------------------------------ training

    def start_training(self, config: TrainConfig, name: str | None = None, data: Dataset | None = None,
                       folder: Path | None = None, on_end: Callable[[WorkerJob], None] | None = None,
                       guard: str | Say | None = None) -> WorkerJob:
        """A run on the main data set, or on `data` (a collection's); one at a time. A class challenge's entry is
        saved in its own `folder`, ends in its own `on_end` (not as the active model), and `guard` is what a Stop
        is told instead of stopping it."""
        config.validate()
        with self._lock:
            if self.job is not None and not self.job.done:
                raise JobRunning(Say("lab.running"))
            run_name = name or new_run_name(config.model)
            out = checkpoint_path(run_name, folder or self.runs_dir)
            for n in itertools.count(2):  # two runs in one second must not share a file
                if not out.exists() and self.shelf.key(out) not in self.shelf.models:
                    break
                out = checkpoint_path(f"{run_name}-{n}", folder or self.runs_dir)
            config.device = str(self.device)
            self._job_data, self._guard = data, guard
            load = self.pictures.data if data is None else lambda: data
            self.job = WorkerJob(self.trainer, config, load, out, out.stem, on_end=on_end or self._on_job_end)
            return self.job.start()

    def train_your_classes(self, train_layers: str = "head") -> WorkerJob:
        """Fine-tune the active model's trained layers on the collection, its held-out share kept to test on."""
        base = self.base_for_your_classes()
        data = self.collection.split().dataset(base)  # a CollectionError says what the collection still needs
        config = preset_for_your_classes(base, len(data.train), train_layers)
        return self.start_training(config, new_run_name(config.model, "your-classes"), data)

    def base_for_your_classes(self) -> Checkpoint:
        """The active model, or when it was itself fine-tuned on a collection, the CIFAR model under it: a second
        run on the class's pictures starts from the same trained layers as the first, not from the first's."""
        base = self.shelf.require()
        for _ in range(len(self.shelf.models)):  # a chain of fine-tunes is at most as long as the shelf
            if base.meta.get("data_source") != SOURCE:
                break
            under = [c for _, c in self.shelf.items() if c.path.name == base.meta.get("base_checkpoint")
                     and c is not base]
            if not under:
                break  # its base is gone from the shelf: its own layers carry the base's
            base = under[0]
        return base

    def stop_training(self) -> bool:
        """Stop the running job (False when none runs); JobRunning with its guard's words for a challenge's entry."""
        with self._lock:
            job, guard = self.job, self._guard
        if job is None or job.done:
            return False
        if guard:
            raise JobRunning(guard)
        job.stop()
        return True

    def _on_job_end(self, job: WorkerJob) -> None:
        if job.checkpoint_path and (checkpoint := self.shelf.load(job.checkpoint_path)) is not None:
            with self._lock:
                data = self._job_data
            if data is not None:  # a fine-tune: tested on its held-out pictures from now on
                self.pictures.keep_held_out(checkpoint, data)

    def runs(self, status: dict | None = None) -> dict[str, tuple[Say, dict]]:
        """Every run with a recorded history, by key (a checkpoint path, or RUNNING): its legend label and history.
        A caller holding a fresh status() passes it, sparing a second copy of the job's history."""
        with self._lock:
            found = {key: (run_label(c.meta["model"], c.meta.get("epochs_done", 0), c.meta.get("test_accuracy")),
                           c.meta["history"])
                     for key, c in self.shelf.items() if c.meta.get("history", {}).get("steps")}
        status = status or self.status()
        if status["state"] == "running" and status["history"]["steps"]:
            found[RUNNING] = (Say("status.training_now", net=status["config"]["model"]), status["history"])
        return found

    def status(self) -> dict:
        job = self.job
        if job is None:
            return {"state": "idle", "message": "", "progress": {}, "history": {"steps": [], "epochs": []},
                    "config": None, "result": {}, "checkpoint": None, "run": None}
        snapshot = job.snapshot()
        if snapshot["checkpoint"]:
            snapshot["checkpoint"] = self.shelf.key(snapshot["checkpoint"])
        if snapshot["config"].get("init_from"):  # the base a fine-tune started from, by name: no server paths
            snapshot["config"]["init_from"] = self.shelf.key(snapshot["config"]["init_from"])
        return snapshot

    # ------------------------------------------------------------ lessons

    def _switch_lesson(self, change: Callable[[], T]) -> T:
        """A lesson switch in the store, the wall and the collection held meanwhile and re-read after it."""
        return self.wall.reload(lambda: self.collection.reload(change))

    def lessons(self) -> list[Lesson]:
        return self.store.lessons()

    def new_lesson(self) -> int:
        """Archive the current wall and classes (kept, listed, restorable) and start empty."""
        return self._switch_lesson(self.store.new_lesson)

    def restore_lesson(self, lesson: int) -> None:
        self._switch_lesson(lambda: self.store.restore_lesson(lesson))

    def import_lesson(self, path: str | os.PathLike) -> int:
        """A lesson zip as the current lesson; the one before is archived."""
        return self._switch_lesson(lambda: self.store.import_lesson(path))

    def export_lesson(self, path: str | os.PathLike) -> Path:
        return self.store.export_lesson(path)

    # ------------------------------------------------------------ the active model

    def classify_many(self, images: list, k: int = 5) -> list[Prediction | ImageError]:
        return classify_many(self.shelf.require(), images, k=k)


__all__ = ["Lab", "JobRunning", "NoModel", "DataNotFoundError", "CollectionError"]
