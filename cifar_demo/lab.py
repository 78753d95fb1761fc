"""The app's shared state in one place, behind one lock: the data, the models, the active model, the job."""
from __future__ import annotations

import itertools
import random
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from .checkpoints import (CHECKPOINT_DIR, Checkpoint, CheckpointError, CheckpointSkipped, checkpoint_path,
                          list_checkpoints, load_checkpoint)
from .data import Dataset, DataNotFoundError, load_dataset
from .device import device_name, pick_device
from .evaluation import EvalResult, evaluate, predict_logits
from .images import ImageError
from .inference import Prediction, classify, classify_many
from .plots import labelled_grid, run_label
from .trainer import Trainer, WorkerJob, shared_trainer
from .training import TrainConfig

RUNS_DIR_NAME = "runs"  # trained checkpoints go to checkpoints/runs/, apart from the shipped ones
RUNNING = "running"  # the key of the job still training among the runs to compare


class JobRunning(Exception):
    """A second Train while one runs: one job per server."""


class NoModel(Exception):
    """No checkpoint is active yet."""


@dataclass
class BrowsePage:
    grid: "object"  # PIL image
    summary: str
    offset: int
    total: int


class Lab:
    def __init__(self, data_path: str | Path | None = None, checkpoint: str | Path | None = None,
                 device: str = "auto", checkpoint_dir: str | Path = CHECKPOINT_DIR, download: bool = True,
                 trainer: Trainer | None = None):
        self.data_path = data_path
        self.download = download
        self.device = pick_device(device)
        self.device_label = device_name(self.device)
        self.checkpoint_dir = Path(checkpoint_dir)
        self.runs_dir = self.checkpoint_dir / RUNS_DIR_NAME
        self._lock = threading.RLock()      # guards the fields below
        self._data_lock = threading.Lock()  # one loader at a time; others wait for its result
        self._data: Dataset | None = None
        self.models: dict[str, Checkpoint] = {}
        self.active: Checkpoint | None = None
        self.trainer = trainer or shared_trainer()
        self.job: WorkerJob | None = None
        self._predictions: dict[str, torch.Tensor] = {}  # test-set predictions per model path
        self.problems: list[str] = []  # one line per checkpoint that could not be used, for the server's log
        with warnings.catch_warnings(record=True) as skipped:
            warnings.simplefilter("always", CheckpointSkipped)
            for found in list_checkpoints(self.checkpoint_dir) + list_checkpoints(self.runs_dir):
                self.models[self.key(found.path)] = found
        self.problems += [str(w.message) for w in skipped if issubclass(w.category, CheckpointSkipped)]
        if checkpoint:
            try:
                self.add_model(load_checkpoint(checkpoint), activate=True)
            except CheckpointError as error:
                self.problems.append(str(error))
        if self.active is None and self.models:
            self.active = max(self.models.values(), key=lambda c: c.meta.get("test_accuracy") or 0.0)

    # ------------------------------------------------------------ data

    def data(self, progress=None) -> Dataset:
        """Loaded on first use, once; raises DataNotFoundError with a paragraph a teacher can act on."""
        with self._data_lock:
            if self._data is None:
                self._data = load_dataset(self.data_path, download=self.download, progress=progress)
            return self._data

    @property
    def data_loaded(self) -> bool:
        return self._data is not None

    # ------------------------------------------------------------ models

    def key(self, path: str | Path) -> str:
        """A checkpoint's name for clients: its path inside the checkpoint folder, never where the server keeps it."""
        path = Path(path).resolve()
        try:
            return path.relative_to(self.checkpoint_dir.resolve()).as_posix()
        except ValueError:
            return path.name

    def add_model(self, checkpoint: Checkpoint, activate: bool = False) -> None:
        checkpoint.model.to(self.device).eval()
        with self._lock:
            self.models[self.key(checkpoint.path)] = checkpoint
            if activate:
                self.active = checkpoint

    def activate(self, key: str) -> Checkpoint:
        with self._lock:
            if not isinstance(key, str) or key not in self.models:
                shown = key[:80] if isinstance(key, str) else type(key).__name__
                raise NoModel(f"No model '{shown}' is known; choose one from the list.")
            self.active = self.models[key]
            return self.active

    @property
    def active_key(self) -> str | None:
        active = self.active
        return self.key(active.path) if active else None

    def model_choices(self) -> list[tuple[str, str]]:
        """(label, key) pairs, best first: for the model switcher."""
        with self._lock:
            ordered = sorted(self.models.items(), key=lambda item: -(item[1].meta.get("test_accuracy") or 0.0))
            return [(c.label, key) for key, c in ordered]

    def require_model(self) -> Checkpoint:
        active = self.active  # one read: a reader keeps this model even if training swaps in another
        if active is None:
            raise NoModel("No trained model yet: train one in the Train tab, or start the app with --checkpoint FILE.")
        return active

    def header(self) -> str:
        active = self.active
        model = (f"{active.meta['model']} · test accuracy {active.meta['test_accuracy']:.1%} · from {active.path.name}"
                 if active and active.meta.get("test_accuracy") is not None
                 else f"{active.meta['model']} · from {active.path.name}" if active else "none yet")
        return f"Device: {self.device_label} · Active model: {model}"

    # ------------------------------------------------------------ training

    def start_training(self, config: TrainConfig, name: str | None = None) -> WorkerJob:
        config.validate()
        with self._lock:
            if self.job is not None and not self.job.done:
                raise JobRunning("A training run is already in progress: stop it first, or watch it here.")
            run_name = name or f"{config.model}-{time.strftime('%Y%m%d-%H%M%S')}"
            out = checkpoint_path(run_name, self.runs_dir)
            for n in itertools.count(2):  # two runs in one second must not share a file
                if not out.exists() and self.key(out) not in self.models:
                    break
                out = checkpoint_path(f"{run_name}-{n}", self.runs_dir)
            run_name = out.stem
            config.device = str(self.device)
            self.job = WorkerJob(self.trainer, config, self.data, out, run_name, on_end=self._on_job_end)
            return self.job.start()

    def stop_training(self) -> bool:
        with self._lock:
            job = self.job
        if job is None or job.done:
            return False
        job.stop()
        return True

    def _on_job_end(self, job: WorkerJob) -> None:
        if job.checkpoint_path:
            try:  # reload from disk: every tab switches to exactly what was saved, in one assignment
                self.add_model(load_checkpoint(job.checkpoint_path), activate=True)
            except CheckpointError as error:
                self.problems.append(str(error))

    @property
    def notice(self) -> str:
        """The page's word on unusable checkpoints: how many, and where the reasons are (not the server's paths)."""
        if not self.problems:
            return ""
        count = len(self.problems)
        return (f"{count} checkpoint file{'s' if count > 1 else ''} could not be used and "
                f"{'were' if count > 1 else 'was'} skipped; the server's log says why.")

    def runs(self, status: dict | None = None) -> dict[str, tuple[str, dict]]:
        """Every run with a recorded history, by key (a checkpoint path, or RUNNING): its legend label and history.
        A caller holding a fresh status() passes it, sparing a second copy of the job's history."""
        with self._lock:
            found = {key: (run_label(c.meta["model"], c.meta.get("epochs_done", 0), c.meta.get("test_accuracy")),
                           c.meta["history"])
                     for key, c in self.models.items() if c.meta.get("history", {}).get("steps")}
        status = status or self.status()
        if status["state"] == "running" and status["history"]["steps"]:
            found[RUNNING] = (f"{status['config']['model']} · training now", status["history"])
        return found

    def status(self) -> dict:
        job = self.job
        if job is None:
            return {"state": "idle", "message": "", "progress": {}, "history": {"steps": [], "epochs": []},
                    "config": None, "result": {}, "checkpoint": None, "run": None}
        snapshot = job.snapshot()
        if snapshot["checkpoint"]:
            snapshot["checkpoint"] = self.key(snapshot["checkpoint"])
        return snapshot

    # ------------------------------------------------------------ actions on the active model

    def classify(self, image, k: int = 5) -> Prediction:
        return classify(self.require_model(), image, k=k)

    def classify_many(self, images: list, k: int = 5) -> list[Prediction | ImageError]:
        return classify_many(self.require_model(), images, k=k)

    def test_predictions(self, checkpoint: Checkpoint) -> torch.Tensor:
        """Predictions of a model on the whole test set, computed once per model."""
        key = self.key(checkpoint.path)
        with self._lock:
            cached = self._predictions.get(key)
        if cached is None:
            data = self.data()
            logits = predict_logits(checkpoint.model, data.test.images, checkpoint.meta["mean"], checkpoint.meta["std"])
            cached = logits.argmax(dim=1)
            with self._lock:
                self._predictions[key] = cached
        return cached

    def browse(self, offset: int = 0, count: int = 16, true_class: str | None = None,
               only_mistakes: bool = False) -> BrowsePage:
        """A page of the test set, each picture labelled with the truth and the active model's guess."""
        data = self.data()
        checkpoint = self.active
        fits = checkpoint is not None and list(checkpoint.classes) == list(data.classes)
        predicted = self.test_predictions(checkpoint) if fits else None
        keep = torch.ones(len(data.test), dtype=torch.bool)
        if true_class:
            if true_class not in data.classes:
                raise ValueError(f"Unknown class '{str(true_class)[:80]}'; the classes are {', '.join(data.classes)}.")
            keep &= data.test.labels == data.classes.index(true_class)
        if only_mistakes and predicted is not None:
            keep &= predicted != data.test.labels
        index = keep.nonzero().flatten()
        total = len(index)
        if total == 0:
            raise ValueError("No test pictures match this filter.")
        offset = offset % total
        page = index[offset:offset + count]
        truth = data.test.labels[page].tolist()
        guesses = predicted[page].tolist() if predicted is not None else None
        grid = labelled_grid(data.test.images[page], truth, guesses, data.classes)
        shown = f"pictures {offset + 1}-{offset + len(page)} of {total:,}"
        if guesses is None:
            why = "no model yet" if checkpoint is None else "the active model was trained on other classes"
            return BrowsePage(grid, f"{shown} · {why}, showing the true classes only", offset, total)
        correct = sum(t == g for t, g in zip(truth, guesses))
        return BrowsePage(grid, f"{correct}/{len(page)} correct in this batch · {shown}", offset, total)

    def random_test_picture(self) -> tuple[Image.Image, str]:
        """A test picture and its true class, for the Classify tab's "random test image" button."""
        data = self.data()
        index = random.randrange(len(data.test))
        picture = Image.fromarray(data.test.images[index].permute(1, 2, 0).numpy())
        return picture, data.classes[int(data.test.labels[index])]

    def evaluate(self, progress=None) -> tuple[Checkpoint, EvalResult]:
        checkpoint = self.require_model()
        data = self.data(progress)
        if list(data.classes) != list(checkpoint.classes):
            raise ValueError(f"The active model knows the classes {', '.join(checkpoint.classes)}, "
                             f"but the data has {', '.join(data.classes)}: train a model on this data first.")
        result = evaluate(checkpoint.model, data.test, data.classes, checkpoint.meta["mean"], checkpoint.meta["std"],
                          test_time_flip=checkpoint.meta.get("config", {}).get("test_time_flip", False))
        with self._lock:
            self._predictions[self.key(checkpoint.path)] = result.predictions
        return checkpoint, result


__all__ = ["Lab", "JobRunning", "NoModel", "BrowsePage", "DataNotFoundError", "CheckpointError"]
