"""Your own classes: pictures a class collects per name, held as the 32x32 input the net sees, safe to change from
many pages at once, each change written through to the store; split for a run by held_out.py."""
from __future__ import annotations

import os
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable, TypeVar

import torch
from PIL import Image

from . import names
from .access import Budget, Caller, check
from .database import MEMORY, StoreError
from .held_out import HELD_OUT, Split, readiness
from .images import MAX_WHOLE_DECODE_PIXELS, ImageError, as_picture, decoding_cost, read_header, square_pixels
from .plots import padded_grid
from .serving import MAX_FILES_PER_REQUEST, quote
from .store import Store
from .words import Say

MAX_CLASSES = 10
MAX_PER_CLASS = 200           # pictures a class holds: enough to learn from, little memory (200 x 3 kB)
STRIP_PICTURES = 12           # the newest pictures a class's thumbnail strip shows
PER_BROWSER = 300             # pictures one browser may hold in the collection: every class of a group's project
PER_ADDRESS = 600             # pictures one computer may hold: two browsers' worth, a third of the collection's room
PIXELS_PER_ADD = 2 * MAX_WHOLE_DECODE_PIXELS  # decoding cost of one add (images.decoding_cost): two of the largest pictures, or ten 3 MB phone photos (~0.35 s CPU)
T = TypeVar("T")


class CollectionError(ValueError):
    """A refused change or request; the message is one sentence a person can act on."""


@dataclass(frozen=True, eq=False)  # a picture is itself, not its pixels: two equal photos are two pictures
class Picture:
    id: str
    pixels: torch.Tensor  # uint8 (3, 32, 32): exactly what the net is trained and tested on
    by: Caller            # who added it: only that browser, or the teacher, removes it

    def image(self) -> Image.Image:
        return as_picture(self.pixels)


@dataclass(frozen=True)
class Added:
    """What add_pictures did: the new pictures' ids, and one sentence for each picture it refused."""
    ids: list[str]
    refused: list[Say]


def clean_name(name: object) -> str:
    """A typed class name as it will be shown and stored, or a CollectionError that says what is wrong with it."""
    try:
        return names.clean_name(name)
    except names.ClassNameError as error:
        raise CollectionError(*error.args) from None


class Collection:
    """Named classes of pictures, safe to change from many threads; a refused change leaves everything as it was.
    Held in memory and written through to the store: each change is committed there before it is made here."""

    def __init__(self, max_per_class: int = MAX_PER_CLASS, per_browser: int = PER_BROWSER,
                 per_address: int = PER_ADDRESS, store: Store | None = None):
        self.max_per_class = max_per_class
        self._store = store or Store(MEMORY)
        self.budget = Budget(  # pictures held: a removed picture gives its room back
            per_browser, per_address,
            "access.browser_pictures", "access.computer_pictures")
        self._lock = threading.Lock()  # guards _classes
        self._classes: dict[str, list[Picture]] = {}  # in the order they were made
        self.seed = 0  # draws each class's held-out pictures; a lesson keeps its own
        self.version = 0  # counts changes: a page redraws only when it moved
        self.reload()
        self.version = 0  # no page has seen the collection yet

    def reload(self, change: Callable[[], T] = lambda: None) -> T:
        """Run `change` (a store's lesson switch) with the collection held, then read the store's current classes.
        Returns what `change` returned."""
        with self._lock:
            done = change()
            self._classes = {name: [Picture(f"p{p.id}", p.pixels, Caller(p.owner or "", p.address)) for p in group]
                             for name, group in self._store.classes().items()}
            owners = [p.by for group in self._classes.values() for p in group if p.by.browser]
            self.budget.restore(Counter(o.browser for o in owners), Counter(o.address for o in owners))
            self.seed = self._store.seed()
            self.version += 1
            return done

    @staticmethod
    def _saved(write: Callable[[], T]) -> T:
        """A store write, its refusal in the collection's words (a full or read-only disk)."""
        try:
            return write()
        except StoreError as error:
            raise CollectionError(*error.args) from None

    # ------------------------------------------------------------ classes

    @property
    def classes(self) -> list[str]:
        with self._lock:
            return list(self._classes)

    def add_class(self, name: str) -> str:
        """Make an empty class; returns the name as stored (spaces tidied)."""
        name = clean_name(name)
        with self._lock:
            same = [c for c in self._classes if names.name_key(c) == names.name_key(name)]
            if same:
                raise CollectionError(Say("collection.same_name", name=quote(same[0]), typed=quote(name)))
            if len(self._classes) >= MAX_CLASSES:
                raise CollectionError(Say("collection.too_many", classes=MAX_CLASSES, name=quote(name)))
            self._saved(lambda: self._store.add_class(name))
            self._classes[name] = []
            self.version += 1
        return name

    def remove_class(self, name: str) -> str:
        """Remove a class and its pictures; returns the name as stored."""
        with self._lock:
            stored = self._find(name)
            self._saved(lambda: self._store.remove_class(stored))
            for picture in self._classes.pop(stored):
                self.budget.give_back(picture.by)
            self.version += 1
            return stored

    def clear(self) -> None:
        """Every class and picture gone: a fresh start for the next lesson."""
        with self._lock:
            self._saved(self._store.clear_classes)
            self._classes.clear()
            self.budget.reset()
            self.version += 1

    def _find(self, name: object) -> str:
        """The stored name of a class, matched ignoring case and spaces; the lock must be held."""
        key = names.name_key(name) if isinstance(name, str) else None
        for stored in self._classes:
            if names.name_key(stored) == key:
                return stored
        if not self._classes:
            raise CollectionError(Say("collection.no_class_yet", name=quote(name)))
        raise CollectionError(Say("collection.no_class", name=quote(name),
                                  known=", ".join(f"'{c}'" for c in self._classes)))

    # ------------------------------------------------------------ pictures

    def add_picture(self, class_name: str, source, caller: Caller) -> str:
        """Decode a picture into a class; returns its id. An unreadable picture raises images.ImageError."""
        self._check_room(class_name, caller)  # before the file is read: a full class costs nothing
        return self._insert(class_name, square_pixels(read_header(source)), caller)

    def add_pictures(self, class_name: str, sources: Iterable, caller: Caller) -> Added:
        """Add each picture that can be used, and say why each other one was not (an upload of many files). A source
        may be an ImageError: a file refused on its way here, named in its place among the others. The same file
        named twice is read once. Work is bounded before any decoding: at most MAX_FILES_PER_REQUEST files, a class
        with room and a caller within its budget, and PIXELS_PER_ADD of decoding cost in all."""
        numbered, refused = _distinct(list(sources))
        if len(numbered) > MAX_FILES_PER_REQUEST:
            raise CollectionError(Say("collection.at_once", most=MAX_FILES_PER_REQUEST, count=len(numbered)))
        self._check_room(class_name, caller)  # an unknown or full class, or a spent budget: refused once, not per file
        ids, pixels_left = [], PIXELS_PER_ADD
        for number, source in numbered:
            try:
                if isinstance(source, ImageError):
                    raise source
                self._check_room(class_name, caller)
                image = read_header(source)
                cost = decoding_cost(image)
                if cost > pixels_left:
                    raise CollectionError(Say("collection.too_long"))
                pixels_left -= cost
                ids.append(self._insert(class_name, square_pixels(image), caller))
            except ValueError as error:  # ImageError, CollectionError or AccessError: each speaks to the person
                refused.append((number, Say("collection.picture_refused", number=number, reason=error)))
        return Added(ids, [words for _, words in sorted(refused)])

    def _check_room(self, class_name: str, caller: Caller) -> None:
        """The cheap checks before a file is read: the class exists and has room, the caller's budget has room."""
        with self._lock:
            name = self._find(class_name)
            self._refuse_if_full(name)
        self.budget.check(caller)

    def _refuse_if_full(self, name: str) -> None:
        """The lock must be held."""
        if len(self._classes[name]) >= self.max_per_class:
            raise CollectionError(Say("collection.full", name=name, most=self.max_per_class))

    def _insert(self, class_name: str, pixels: torch.Tensor, caller: Caller) -> str:
        """The authoritative checks and the insertion, at one moment: requests that checked together may race here."""
        with self._lock:
            name = self._find(class_name)
            self._refuse_if_full(name)
            self.budget.take(caller)
            try:  # the store numbers it: never reused, so a stale id never removes a newer picture
                number = self._saved(lambda: self._store.add_picture(name, pixels, caller.browser, caller.address))
            except CollectionError:
                self.budget.give_back(caller)
                raise
            picture = Picture(f"p{number}", pixels, caller)
            self._classes[name].append(picture)
            self.version += 1
            return picture.id

    def remove_picture(self, picture_id: str, caller: Caller) -> None:
        """Remove one picture: the browser that added it may, and the teacher."""
        with self._lock:
            for pictures in self._classes.values():
                for index, picture in enumerate(pictures):
                    if picture.id == picture_id:
                        check(caller, "your_classes_remove_picture", owner=picture.by, thing=picture_id)
                        self._saved(lambda: self._store.remove_picture(int(picture_id[1:])))
                        del pictures[index]
                        self.budget.give_back(picture.by)
                        self.version += 1
                        return
        raise CollectionError(Say("collection.no_picture", picture=quote(picture_id)))

    def pictures(self, class_name: str) -> list[Picture]:
        with self._lock:
            return list(self._classes[self._find(class_name)])

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {name: len(pictures) for name, pictures in self._classes.items()}

    def ids(self) -> dict[str, list[str]]:
        """Every class's picture ids, oldest first, read at one moment."""
        with self._lock:
            return {name: [picture.id for picture in pictures] for name, pictures in self._classes.items()}

    def strip(self, class_name: str, limit: int = STRIP_PICTURES, scale: int = 2) -> Image.Image:
        """The newest pictures of a class in a row, each as the 32x32 the net sees (enlarged, not smoothed)."""
        pictures = self.pictures(class_name)[-limit:]
        tiles = (torch.stack([p.pixels for p in pictures]) if pictures
                 else torch.full((1, 3, 32, 32), 230, dtype=torch.uint8))  # an empty class: one blank tile
        big = tiles.repeat_interleave(scale, dim=2).repeat_interleave(scale, dim=3)
        return as_picture(padded_grid(big, len(big), 2, 255))

    # ------------------------------------------------------------ what training gets

    def not_ready(self) -> Say | None:
        """Why no Dataset can be made yet (one sentence for the page), or None when it can."""
        with self._lock:
            counts = {name: len(pictures) for name, pictures in self._classes.items()}
        return readiness(counts)

    def split(self, held_out: float = HELD_OUT, seed: int | None = None) -> Split:
        """The pictures split for a run, a zip or a Dataset, each class's held-out share drawn with the lesson's seed
        by default; a CollectionError says what the collection still needs."""
        with self._lock:
            groups = {name: [picture.pixels for picture in pictures] for name, pictures in self._classes.items()}
        problem = readiness({name: len(group) for name, group in groups.items()})
        if problem:
            raise CollectionError(problem)
        return Split.of(groups, self.seed if seed is None else seed, held_out)


def _distinct(sources: list) -> tuple[list[tuple[int, object]], list[tuple[int, str]]]:
    """(number, source) for each source named the first time, and a word for each repeat: a file is read once."""
    first: dict[object, int] = {}
    numbered, repeats = [], []
    for number, source in enumerate(sources, 1):
        key = os.fspath(source) if isinstance(source, (str, os.PathLike)) else source if isinstance(
            source, bytes) else id(source)
        if key in first:
            repeats.append((number, Say("collection.repeat", number=number, first=first[key])))
        else:
            first[key] = number
            numbered.append((number, source))
    return numbered, repeats
