"""The app's shared state in one place: the data, the shelf of models, the training job, the class's collection,
the wall, and the store that keeps the class's own work across restarts."""
from __future__ import annotations

import itertools
import logging
import os
import random
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

import torch
from PIL import Image

from .checkpoints import CHECKPOINT_DIR, Checkpoint, CheckpointError, checkpoint_path, new_run_name, runs_folder
from .collection import SOURCE, Collection, CollectionError
from .data import Dataset, DataNotFoundError, ImageSet, load_dataset
from .database import MEMORY, StoreError
from .device import device_name, device_words, pick_device
from .evaluation import EvalResult, EvalViews, evaluate, predict_logits
from .images import ImageError, as_picture
from .inference import Prediction, classify_many
from .plots import labelled_grid, run_label
from .trainer import Trainer, WorkerJob, shared_trainer
from .shelf import NoModel, Shelf
from .store import Lesson, Store
from .training import TrainConfig, preset_for_your_classes
from .wall import Wall
from .words import ENGLISH, Say, class_names, class_words, listed, text

RUNNING = "running"  # the key of the job still training among the runs to compare
T = TypeVar("T")
log = logging.getLogger(__name__)


class JobRunning(Exception):
    """A second Train while one runs: one job per server."""


@dataclass
class BrowsePage:
    grid: "object"  # PIL image
    summary: str
    offset: int
    total: int


class Lab:
    def __init__(self, data_path: str | Path | None = None, checkpoint: str | Path | None = None,
                 device: str = "auto", checkpoint_dir: str | Path = CHECKPOINT_DIR, download: bool = True,
                 trainer: Trainer | None = None, store: Store | None = None):
        self.data_path = data_path
        self.download = download
        self.device = pick_device(device)
        self.device_label = device_name(self.device)
        self.checkpoint_dir = Path(checkpoint_dir)
        self.runs_dir = runs_folder(self.checkpoint_dir)
        self.shelf = Shelf(self.checkpoint_dir, [self.checkpoint_dir, self.runs_dir], self.device, checkpoint)
        self.store = store or Store(MEMORY)  # the app passes a file; a library user or a test keeps it in memory
        self.collection = Collection(store=self.store)  # the class's own classes, shared by every page
        self.wall = Wall(store=self.store)  # the class's shared photos
        self._lock = threading.RLock()      # guards the fields below
        self._data_lock = threading.Lock()  # one loader at a time; others wait for its result
        self._data: Dataset | None = None
        self.trainer = trainer or shared_trainer()
        self.job: WorkerJob | None = None
        self._guard: str | Say | None = None  # what a Stop is told instead of stopping the job (a challenge's entry)
        self._job_data: Dataset | None = None  # the running job's own data set (a collection's), None for the main one
        self._held_out: dict[str, Dataset] = {}  # per fine-tuned model's key: the collection it was trained on
        self._predictions: dict[str, torch.Tensor] = {}  # test-set predictions per model key

    # ------------------------------------------------------------ data

    def data(self, progress=None) -> Dataset:
        """Loaded on first use, once; raises DataNotFoundError with a paragraph a teacher can act on."""
        with self._data_lock:
            if self._data is None:
                self._data = load_dataset(self.data_path, download=self.download, progress=progress)
            return self._data

    def data_for(self, checkpoint: Checkpoint | None, progress=None) -> Dataset:
        """The pictures a model is browsed and evaluated on: a fine-tuned model's own held-out collection, else the
        main data set."""
        held_out = self._held_out_for(checkpoint)
        return held_out if held_out is not None else self.data(progress)

    def _held_out_for(self, checkpoint: Checkpoint | None) -> Dataset | None:
        """A fine-tuned model's held-out collection: held since it trained, or read once from the store."""
        if checkpoint is None:
            return None
        key = self.shelf.key(checkpoint.path)
        with self._lock:
            if key not in self._held_out and checkpoint.meta.get("data_source") == SOURCE:
                recorded = self.store.fine_tune(key)
                if recorded is not None:
                    classes, images, labels = recorded
                    empty = ImageSet(images[:0], labels[:0])
                    self._held_out[key] = Dataset(empty, ImageSet(images, labels), classes, SOURCE,
                                                  mean=tuple(checkpoint.meta["mean"]), std=tuple(checkpoint.meta["std"]))
            return self._held_out.get(key)

    def test_classes(self) -> list[str]:
        """The classes of the pictures the active model is browsed on, for the pages' menus; loads nothing."""
        active = self.shelf.active
        held_out = self._held_out_for(active)
        if held_out is not None or self._data is not None:
            return list((held_out or self._data).classes)
        return list(active.classes) if active else []

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
            self.job = WorkerJob(self.trainer, config, self.data if data is None else lambda: data, out, out.stem,
                                 on_end=on_end or self._on_job_end)
            return self.job.start()

    def train_your_classes(self, train_layers: str = "head") -> WorkerJob:
        """Fine-tune the active model's trained layers on the collection, its held-out share kept to test on."""
        base = self.base_for_your_classes()
        data = self.collection.dataset(base)  # a CollectionError says what the collection still needs
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
                if data is not None:
                    self._held_out[self.shelf.key(checkpoint.path)] = data
            if data is not None:  # kept apart from the collection, which may change after training
                try:
                    self.store.record_fine_tune(self.shelf.key(checkpoint.path), data.classes, data.test.images,
                                                data.test.labels)
                except StoreError as error:  # held in memory still: Browse and Evaluate work until a restart
                    log.warning("%s", error)

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

    # ------------------------------------------------------------ actions on the active model

    def classify_many(self, images: list, k: int = 5) -> list[Prediction | ImageError]:
        return classify_many(self.shelf.require(), images, k=k)

    def test_predictions(self, checkpoint: Checkpoint, data: Dataset) -> torch.Tensor:
        """Predictions of a model on its whole test set, computed once per model."""
        key = self.shelf.key(checkpoint.path)
        with self._lock:
            cached = self._predictions.get(key)
        if cached is None:
            logits = predict_logits(checkpoint.model, data.test.images, checkpoint.meta["mean"], checkpoint.meta["std"])
            cached = logits.argmax(dim=1)
            with self._lock:
                self._predictions[key] = cached
        return cached

    def browse(self, offset: int = 0, count: int = 16, true_class: str | None = None,
               only_mistakes: bool = False, language: str = ENGLISH) -> BrowsePage:
        """A page of the test set, each picture labelled with the truth and the active model's guess, in
        `language` (CIFAR-10's class names translated)."""
        checkpoint = self.shelf.active
        data = self.data_for(checkpoint)
        fits = checkpoint is not None and list(checkpoint.classes) == list(data.classes)
        predicted = self.test_predictions(checkpoint, data) if fits else None
        keep = torch.ones(len(data.test), dtype=torch.bool)
        if true_class:
            if true_class not in data.classes:
                raise ValueError(Say("lab.unknown_class", name=str(true_class)[:80], classes=", ".join(data.classes)))
            keep &= data.test.labels == data.classes.index(true_class)
        if only_mistakes and predicted is not None:
            keep &= predicted != data.test.labels
        index = keep.nonzero().flatten()
        total = len(index)
        if total == 0:
            raise ValueError(Say("lab.no_match"))
        offset = offset % total
        page = index[offset:offset + count]
        truth = data.test.labels[page].tolist()
        guesses = predicted[page].tolist() if predicted is not None else None
        grid = labelled_grid(data.test.images[page], truth, guesses, class_names(data.classes, language))
        shown = dict(first=offset + 1, last=offset + len(page), total=f"{total:,}")
        if guesses is None:
            why = "text.browse_truth_only" if checkpoint is None else "text.browse_other_classes"
            return BrowsePage(grid, text(why, language, **shown), offset, total)
        correct = sum(t == g for t, g in zip(truth, guesses))
        summary = "text.browse_summary_held_out" if data.source == SOURCE else "text.browse_summary"
        return BrowsePage(grid, text(summary, language, correct=correct, count=len(page), **shown), offset, total)

    def random_test_picture(self) -> tuple[Image.Image, str]:
        """A test picture of the active model's data and its true class, for the "random test picture" buttons."""
        data = self.data_for(self.shelf.active)
        index = random.randrange(len(data.test))
        picture = as_picture(data.test.images[index])
        return picture, data.classes[int(data.test.labels[index])]

    def evaluate(self, progress=None) -> tuple[Checkpoint, Dataset, EvalResult]:
        """The active model on every picture of its test set (a fine-tuned model's: the held-out ones)."""
        checkpoint = self.shelf.require()
        data = self.data_for(checkpoint, progress)
        if list(data.classes) != list(checkpoint.classes):
            if checkpoint.meta.get("data_source") == SOURCE:
                raise ValueError(Say("models.held_out_gone", file=checkpoint.path.name))
            raise ValueError(Say("models.other_classes", known=listed(class_words(checkpoint.classes)),
                                 classes=listed(class_words(data.classes))))
        result = evaluate(checkpoint.model, data.test, data.classes, checkpoint.meta["mean"], checkpoint.meta["std"],
                          views=EvalViews.of(checkpoint.meta.get("config", {})))
        with self._lock:
            self._predictions[self.shelf.key(checkpoint.path)] = result.predictions
        return checkpoint, data, result


__all__ = ["Lab", "JobRunning", "NoModel", "BrowsePage", "DataNotFoundError", "CheckpointError", "CollectionError",
           "StoreError"]
