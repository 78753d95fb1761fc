"""Your classes split for a run: each class's held-out pictures drawn by the lesson's seed, the rest to train on.
One draw, so that a fine-tuning run, the exported zip and the lesson zip hold out the same pictures."""
from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from .checkpoints import Checkpoint
from .data import Dataset, ImageSet
from .files import written_whole
from .images import png_bytes
from .words import Say

MIN_CLASSES = 2
MIN_PER_CLASS = 2             # one to learn from, one to test on
HELD_OUT = 0.2                # share of each class kept out of training to test the net on
SOURCE = "your classes"       # a Dataset's and a checkpoint's data_source: trained on the class's own pictures

Member = tuple[str, int, torch.Tensor]  # (class, its place in the class from 1, uint8 (3, 32, 32) pixels)


def held_out_count(pictures: int, share: float = HELD_OUT) -> int:
    """Pictures of a class kept out of training: the share, but at least 1 and never all of them."""
    return 0 if pictures < MIN_PER_CLASS else min(pictures - 1, max(1, round(pictures * share)))


def held_out_positions(counts: dict[str, int], seed: int, share: float = HELD_OUT) -> dict[str, set[int]]:
    """Each class's held-out pictures by their place in it (from 0), drawn by one generator seeded with the lesson's
    seed over the classes in sorted order: the same pictures whether the lesson trains, exports or is zipped."""
    generator = torch.Generator().manual_seed(seed)
    return {name: set(torch.randperm(counts[name], generator=generator)[:held_out_count(counts[name], share)].tolist())
            for name in sorted(counts)}


def readiness(counts: dict[str, int]) -> Say | None:
    """The first reason these class sizes cannot train a net, or None."""
    filled = [name for name, count in counts.items() if count]
    empty = [name for name, count in counts.items() if not count]
    if not filled:
        return Say("collection.nothing", classes=MIN_CLASSES, pictures=MIN_PER_CLASS)
    if len(counts) < MIN_CLASSES:
        return Say("collection.one_class", name=filled[0])
    if len(filled) < MIN_CLASSES:
        return Say("collection.one_filled", name=filled[0], empty=empty[0], pictures=MIN_PER_CLASS)
    if empty:
        return Say("collection.empty", name=empty[0], pictures=MIN_PER_CLASS)
    short = [name for name, count in counts.items() if count < MIN_PER_CLASS]
    if short:
        return Say("collection.short", name=short[0], pictures=MIN_PER_CLASS)
    return None


@dataclass(frozen=True)
class Split:
    """Each class's pictures in train or test, and the classes in sorted order, as load_dataset reads them back."""
    train: list[Member]
    test: list[Member]
    classes: list[str]

    @classmethod
    def of(cls, groups: dict[str, list[torch.Tensor]], seed: int, share: float = HELD_OUT) -> Split:
        """Each class's pictures, oldest first, split by a generator seeded with `seed`."""
        chosen = held_out_positions({name: len(pictures) for name, pictures in groups.items()}, seed, share)
        train, test = [], []
        for name in sorted(groups):
            for number, pixels in enumerate(groups[name], 1):
                (test if number - 1 in chosen[name] else train).append((name, number, pixels))
        return cls(train, test, sorted(groups))

    def dataset(self, base: Checkpoint | None = None) -> Dataset:
        """The split as a Dataset. With a base checkpoint, its normalization: the base's layers expect pictures
        scaled as its own were."""
        mean, std = (tuple(base.meta["mean"]), tuple(base.meta["std"])) if base else ((), ())
        return Dataset(self._image_set(self.train), self._image_set(self.test), self.classes, SOURCE, mean=mean,
                       std=std)

    def write_zip(self, path: str | os.PathLike) -> Path:
        """train/<class>/*.png and test/<class>/*.png, so that `python -m cifar_demo train --data that.zip` trains
        on the same pictures. Written whole, then renamed."""
        path = Path(path)
        with written_whole(path) as file, zipfile.ZipFile(file, "w", zipfile.ZIP_STORED) as archive:
            for split, members in (("train", self.train), ("test", self.test)):
                for name, number, pixels in members:
                    archive.writestr(f"{split}/{name}/{number:04d}.png", png_bytes(pixels))
        return path

    def _image_set(self, members: list[Member]) -> ImageSet:
        """Pictures labelled by their class's place in the class list."""
        return ImageSet(torch.stack([pixels for _, _, pixels in members]),
                        torch.tensor([self.classes.index(name) for name, _, _ in members], dtype=torch.int64))
