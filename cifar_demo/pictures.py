"""The pictures the lab trains and tests on: the data set, loaded once, and each model's test set (a fine-tuned
model's held-out pictures of the class's own classes, kept in the store across restarts) with its guesses there,
for Browse, Evaluate and the random test picture."""
from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from .checkpoints import Checkpoint
from .data import Dataset, ImageSet, load_dataset
from .database import StoreError
from .evaluation import EvalResult, EvalViews, evaluate, predict_logits
from .held_out import SOURCE
from .images import as_picture
from .plots import labelled_grid
from .serving import quote
from .shelf import Shelf
from .store import Store
from .words import ENGLISH, Say, class_names, class_words, listed, text

log = logging.getLogger(__name__)


@dataclass
class BrowsePage:
    grid: Image.Image
    summary: str
    offset: int
    total: int


class Pictures:
    """One per lab, shared by every page: the loads and the guesses are made once."""

    def __init__(self, data_path: str | Path | None, download: bool, shelf: Shelf, store: Store):
        self.data_path, self.download, self.shelf, self.store = data_path, download, shelf, store
        self._data_lock = threading.Lock()  # one loader at a time; others wait for its result
        self._data: Dataset | None = None
        self._lock = threading.Lock()  # guards the two caches below
        self._held_out: dict[str, Dataset] = {}  # per fine-tuned model's key: the collection it was trained on
        self._predictions: dict[str, torch.Tensor] = {}  # test-set predictions per model key

    def data(self, progress=None) -> Dataset:
        """Loaded on first use, once; raises DataNotFoundError with a paragraph a teacher can act on."""
        with self._data_lock:
            if self._data is None:
                self._data = load_dataset(self.data_path, download=self.download, progress=progress)
            return self._data

    def for_model(self, checkpoint: Checkpoint | None, progress=None) -> Dataset:
        """The pictures a model is browsed and evaluated on: a fine-tuned model's own held-out collection, else the
        main data set."""
        held_out = self._held_out_for(checkpoint)
        return held_out if held_out is not None else self.data(progress)

    def keep_held_out(self, checkpoint: Checkpoint, data: Dataset) -> None:
        """A fine-tune's data, kept apart from the collection (which may change after training): in memory, and in
        the store for the next start."""
        key = self.shelf.key(checkpoint.path)
        with self._lock:
            self._held_out[key] = data
        try:
            self.store.record_fine_tune(key, data.classes, data.test.images, data.test.labels)
        except StoreError as error:  # held in memory still: Browse and Evaluate work until a restart
            log.warning("%s", error)

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
                    mean, std = tuple(checkpoint.meta["mean"]), tuple(checkpoint.meta["std"])
                    self._held_out[key] = Dataset(empty, ImageSet(images, labels), classes, SOURCE, mean=mean, std=std)
            return self._held_out.get(key)

    def test_classes(self) -> list[str]:
        """The classes of the pictures the active model is browsed on, for the pages' menus; loads nothing."""
        active = self.shelf.active
        held_out = self._held_out_for(active)
        if held_out is not None or self._data is not None:
            return list((held_out or self._data).classes)
        return list(active.classes) if active else []

    def predictions(self, checkpoint: Checkpoint, data: Dataset) -> torch.Tensor:
        """A model's guesses on its whole test set, computed once per model."""
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
        data = self.for_model(checkpoint)
        fits = checkpoint is not None and list(checkpoint.classes) == list(data.classes)
        predicted = self.predictions(checkpoint, data) if fits else None
        keep = torch.ones(len(data.test), dtype=torch.bool)
        if true_class:
            if true_class not in data.classes:
                raise ValueError(Say("lab.unknown_class", name=quote(true_class), classes=", ".join(data.classes)))
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
        data = self.for_model(self.shelf.active)
        index = random.randrange(len(data.test))
        picture = as_picture(data.test.images[index])
        return picture, data.classes[int(data.test.labels[index])]

    def evaluate(self, progress=None) -> tuple[Checkpoint, Dataset, EvalResult]:
        """The active model on every picture of its test set (a fine-tuned model's: the held-out ones)."""
        checkpoint = self.shelf.require()
        data = self.for_model(checkpoint, progress)
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
