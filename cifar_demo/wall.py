"""The class wall: every photo the class shares, kept as the 32x32 picture the net sees, with the active model's guess;
and how the net does on our photos against the test set, where a shift in the pictures shows at once."""
from __future__ import annotations

import csv
import dataclasses
import io
import threading
import zipfile
from collections import deque
from dataclasses import dataclass
from typing import Callable, TypeVar

import torch
from PIL import Image, ImageDraw

from . import names
from .access import Budget, Caller, check
from .checkpoints import Checkpoint
from .database import MEMORY, StoreError
from .evaluation import confusion_matrix, most_confused_pairs, predict_logits
from .images import png_bytes
from .inference import picture_tensor
from .plots import CORRECT, GAP, WRONG, Caption, captioned_grid, write
from .serving import quote
from .store import Store
from .words import ENGLISH, Say, class_names, class_words, listed, text

CAPACITY = 300       # pictures on the wall: a class of 30 sharing ten each; beyond it the oldest drop off
PER_SESSION = 10     # shares from one open page until the wall is cleared: a flood from one tab stops here
PER_ADDRESS = 20     # shares from one computer until the wall is cleared: reopening the page does not reset it
MIN_PER_CLASS = 3    # our photos of a class before its own accuracy is worth a line
CONFUSIONS = 3       # the most common (truth, guess) mix-ups listed
NAMED_CLASSES = 12   # classes a refusal lists: a model may know up to 1,000
UNKNOWN = "don't know"
NOT_LISTED = "not one of these"
COLUMNS = 8          # tiles a row: 8 enlarged pictures fill a projector's width and stay readable from the back
SCALE = 4            # each of the 32x32 pixels as a 4x4 block: 128-pixel tiles
CAPTION = 52         # pixels under each tile's frame for its three lines (the last runs into the gap below)
PLACEHOLDER = "no-photo-yet.png"  # train/<class>/ of a class without photos, so the zip's classes are the model's
GREY = "#57606a"
T = TypeVar("T")


class WallRefusal(ValueError):
    """A share, relabel, hide or download the wall turns down; the message says why in plain words."""


@dataclass
class Entry:
    id: int
    picture: torch.Tensor  # uint8 (3, 32, 32): what the net saw; the upload itself is never kept
    truth: str | None      # a class name, NOT_LISTED, or None where the student did not say
    guess: str
    confidence: float
    by: Caller             # who shared it: only that page may say what it really is
    hidden: bool = False

    def right(self, classes: list[str]) -> bool | None:
        """Guess against truth; None where the truth is not one of these classes, so there is nothing to compare."""
        return self.guess == self.truth if self.truth in classes else None

    def as_dict(self, classes: list[str]) -> dict:
        """What /wall tells anyone: never who shared it, never the picture's bytes."""
        return {"id": self.id, "guess": self.guess, "confidence": round(self.confidence, 4), "truth": self.truth,
                "right": self.right(classes)}


@dataclass(frozen=True)
class PageShare:
    """What one page last put on the wall: the picture file it sent, the entry it made, the truth it said."""
    picture: object
    entry: Entry
    truth: object


@dataclass
class Snapshot:
    """The wall as one reader saw it: copies, read and drawn without holding the wall's lock."""
    version: int
    entries: list[Entry]  # the shown ones (not hidden), newest first
    classes: list[str]
    model: str
    test_accuracy: float | None
    test_per_class: dict[str, float]
    dropped: int
    capacity: int


@dataclass
class ClassLine:
    name: str
    right: int
    total: int
    test_accuracy: float | None


@dataclass
class Summary:
    shown: int
    compared: int            # pictures whose truth is one of the model's classes
    right: int
    accuracy: float | None   # right / compared; None before the first comparable picture
    test_accuracy: float | None
    per_class: list[ClassLine]  # classes with at least MIN_PER_CLASS compared pictures: most first, then in order
    confusions: list[tuple[str, str, int]]  # (truth, guess, count), most common first
    not_listed: int
    unknown: int
    other_classes: list[str]  # truths the model does not know (it was trained on other classes)
    dropped: int
    capacity: int

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def guesses(checkpoint: Checkpoint, pictures: torch.Tensor) -> list[tuple[str, float]]:
    """The top class and its probability for each uint8 picture, in one batched forward pass (as Classify sees it)."""
    logits = predict_logits(checkpoint.model, pictures, checkpoint.meta["mean"], checkpoint.meta["std"])
    best = torch.softmax(logits, dim=1).max(dim=1)
    return [(checkpoint.classes[i], p) for p, i in zip(best.values.tolist(), best.indices.tolist())]


def truth_choices(classes: list[str]) -> list[str]:
    """What a student may say a picture really is."""
    return [UNKNOWN, *classes, NOT_LISTED]


def checked_truth(truth: object, classes: list[str]) -> str | None:
    """A truth from the choices, stored as a class name, NOT_LISTED, or None for "don't know"."""
    if truth is None or truth == UNKNOWN:
        return None
    if isinstance(truth, str) and (truth in classes or truth == NOT_LISTED):
        return truth
    named = class_words(classes)[:NAMED_CLASSES] + (["…"] if len(classes) > NAMED_CLASSES else [])
    raise WallRefusal(Say("wall.truth", truth=quote(truth), named=listed(named)))


class Wall:
    """The shared pictures in memory, oldest first, behind one lock, written through to the store: each change is
    committed there before it is made here, so what a page was told survives a restart. Every change bumps
    `version`."""

    def __init__(self, capacity: int = CAPACITY, per_session: int = PER_SESSION, per_address: int = PER_ADDRESS,
                 store: Store | None = None):
        self.capacity, self.per_session, self.per_address = capacity, per_session, per_address
        self._store = store or Store(MEMORY)
        self._lock = threading.Lock()
        self._entries: deque[Entry] = deque()
        self._shares = Budget(per_session, per_address,
                              "wall.page_shares", "wall.computer_shares")
        self._model: Checkpoint | None = None  # the model every guess on the wall comes from
        self._dropped = 0
        self.version = 0
        self.reload()
        self.version = 0  # no page has seen the wall yet

    def reload(self, change: Callable[[], T] = lambda: None) -> T:
        """Run `change` (a store's lesson switch) with the wall held, then read the store's current wall; the
        guesses are re-made by the next look, as after a model switch. Returns what `change` returned."""
        with self._lock:
            done = change()
            state = self._store.wall()
            self._entries = deque(Entry(row.id, row.picture, row.truth, "", 0.0, Caller(row.session, row.address),
                                        row.hidden) for row in state.entries)
            self._shares.restore(state.by_session, state.by_address)
            self._dropped, self._model = state.dropped, None
            self.version += 1
            return done

    def _saved(self, write: Callable[[], T]) -> T:
        """A store write, its refusal in the wall's words (a full or read-only disk)."""
        try:
            return write()
        except StoreError as error:
            raise WallRefusal(*error.args) from None

    def share(self, checkpoint: Checkpoint, image: object, truth: object, caller: Caller) -> Entry:
        """Put a picture on the wall; raises images.ImageError for what is no picture and access.AccessError past a
        page's or a computer's cap."""
        truth = checked_truth(truth, checkpoint.classes)
        self._shares.check(caller)
        tensor, _ = picture_tensor(image)  # decoded and guessed outside the lock: other shares go on meanwhile
        ((guess, confidence),) = guesses(checkpoint, tensor)
        with self._lock:
            self._shares.take(caller)  # the authoritative check: two shares of one page may race here
            try:  # the store numbers it: never reused, not even after a clear, so a number always means one picture
                number = self._saved(lambda: self._store.add_wall_entry(tensor[0], truth, caller.browser,
                                                                         caller.address, self.capacity))
            except WallRefusal:
                self._shares.give_back(caller)
                raise
            entry = Entry(number, tensor[0], truth, guess, confidence, caller)
            self._entries.append(entry)
            while len(self._entries) > self.capacity:
                self._entries.popleft()
                self._dropped += 1
            if self._model is not checkpoint:  # every guess from one model: the latest caller's (the next look at
                self._rescore(checkpoint)      # the wall follows the active one, should they differ)
            self.version += 1
            return dataclasses.replace(entry)

    def from_page(self, checkpoint: Checkpoint, picture: object, truth: object, caller: Caller,
                  last: PageShare | None) -> PageShare | None:
        """A page's share, with its box ticked: a new picture goes on the wall once; the same picture with another
        truth says what that picture is; the same picture and truth again change nothing (None)."""
        if last is not None and last.picture == picture:
            if last.truth == truth:
                return None
            return PageShare(picture, self.relabel(checkpoint, last.entry.id, truth, caller), truth)
        return PageShare(picture, self.share(checkpoint, picture, truth, caller), truth)

    def relabel(self, checkpoint: Checkpoint, entry_id: int, truth: object, caller: Caller) -> Entry:
        """A student says, after seeing the guess, what their own picture really is."""
        truth = checked_truth(truth, checkpoint.classes)
        with self._lock:
            entry = self._find(entry_id)
            check(caller, "relabel", owner=entry.by, thing=entry.id)
            self._saved(lambda: self._store.set_truth(entry.id, truth))
            entry.truth = truth
            self.version += 1
            return dataclasses.replace(entry)

    def hide(self, entry_id: int) -> Entry:
        """Take one picture off the wall (the teacher's moderation); its number is never given to another."""
        with self._lock:
            entry = self._find(entry_id)
            if not entry.hidden:
                self._saved(lambda: self._store.hide(entry.id))
                entry.hidden = True
                self.version += 1
            return dataclasses.replace(entry)

    def clear(self) -> int:
        """Empty the wall and every share count; returns how many pictures were shown."""
        with self._lock:
            self._saved(self._store.clear_wall)
            shown = sum(not e.hidden for e in self._entries)
            self._entries.clear()
            self._shares.reset()
            self._dropped = 0
            self.version += 1
            return shown

    def _find(self, entry_id: object) -> Entry:
        for entry in self._entries:
            if entry.id == entry_id:
                return entry
        raise WallRefusal(Say("wall.no_picture", entry=quote(entry_id)))

    def follow(self, checkpoint: Checkpoint) -> bool:
        """Make every guess the given model's (one forward pass over the wall); False when they already are."""
        with self._lock:
            if self._model is checkpoint:
                return False
            self._rescore(checkpoint)
            self.version += 1
            return True

    def _rescore(self, checkpoint: Checkpoint) -> None:
        """Under the lock: a share that arrives meanwhile waits, so no picture keeps an old model's guess."""
        if self._entries:
            pictures = torch.stack([entry.picture for entry in self._entries])
            for entry, (guess, confidence) in zip(self._entries, guesses(checkpoint, pictures)):
                entry.guess, entry.confidence = guess, confidence
        self._model = checkpoint

    def snapshot(self, checkpoint: Checkpoint) -> Snapshot:
        """The shown pictures, newest first, with the given model's guesses (rescored first if needed)."""
        self.follow(checkpoint)
        with self._lock:
            shown = [dataclasses.replace(e) for e in reversed(self._entries) if not e.hidden]
            version, dropped = self.version, self._dropped
        meta = checkpoint.meta
        label = f"{meta['model']} ({checkpoint.path.name})"
        return Snapshot(version, shown, list(checkpoint.classes), label, meta.get("test_accuracy"),
                        dict(meta.get("per_class") or {}), dropped, self.capacity)


def summarize(snapshot: Snapshot) -> Summary:
    """Our photos' accuracy against the test set's, per class where there are enough, and the common mix-ups."""
    classes = snapshot.classes
    compared = [e for e in snapshot.entries if e.truth in classes]
    index = {name: i for i, name in enumerate(classes)}
    confusion = confusion_matrix(torch.tensor([index[e.guess] for e in compared], dtype=torch.int64),
                                 torch.tensor([index[e.truth] for e in compared], dtype=torch.int64), len(classes))
    totals, hits = confusion.sum(dim=1).tolist(), confusion.diag().tolist()
    right = sum(hits)
    per_class = [ClassLine(classes[i], hits[i], totals[i], snapshot.test_per_class.get(classes[i]))
                 for i in sorted(range(len(classes)), key=lambda i: -totals[i]) if totals[i] >= MIN_PER_CLASS]
    others = sorted({e.truth for e in snapshot.entries if e.truth not in classes and e.truth not in (None, NOT_LISTED)})
    return Summary(
        shown=len(snapshot.entries), compared=len(compared), right=right,
        accuracy=right / len(compared) if compared else None, test_accuracy=snapshot.test_accuracy,
        per_class=per_class, confusions=most_confused_pairs(confusion, classes, CONFUSIONS),
        not_listed=sum(e.truth == NOT_LISTED for e in snapshot.entries),
        unknown=sum(e.truth is None for e in snapshot.entries), other_classes=others,
        dropped=snapshot.dropped, capacity=snapshot.capacity)


# ---------------------------------------------------------------- the wall as one picture


def draw(snapshot: Snapshot, language: str = ENGLISH) -> Image.Image:
    """Every shown picture enlarged, newest first, with the guess and its confidence; a frame where a truth was given:
    green when the net is right, red when it is wrong. Class names and words in `language`."""
    entries = snapshot.entries
    pictures = (torch.stack([e.picture for e in entries]) if entries
                else torch.empty((0, 3, 32, 32), dtype=torch.uint8))
    shown = {**dict(zip(snapshot.classes, class_names(snapshot.classes, language))),
             NOT_LISTED: text("page.not_listed", language)}
    captions, frames = [], []
    for entry in entries:
        right = entry.right(snapshot.classes)
        lines = [Caption(shown.get(entry.guess, entry.guess), size=21),
                 Caption(f"{entry.confidence:.0%} · #{entry.id}", GREY, 16, False)]
        if entry.truth is not None:
            truth = shown.get(entry.truth, entry.truth)
            said = (truth if right is None else text("text.wall_right", language) if right
                    else text("text.wall_really", language, truth=truth))
            lines.append(Caption(said, GREY if right is None else CORRECT if right else WRONG, 16, False))
        captions.append(lines)
        frames.append(None if right is None else CORRECT if right else WRONG)
    canvas = captioned_grid(pictures, captions, frames, COLUMNS, SCALE, CAPTION)
    if not entries:
        write(ImageDraw.Draw(canvas), (GAP + 8, GAP + 16 * SCALE), text("text.wall_empty", language), 21, fill=GREY)
    return canvas


# ---------------------------------------------------------------- saving the wall as a data set


def export_zip(snapshot: Snapshot) -> tuple[bytes, int]:
    """The shown pictures as a .zip the --data option reads, and how many carry one of the model's classes.

    Each labelled picture lies in both test/<class>/ and train/<class>/, so that `python3 -m cifar_demo eval --data
    wall.zip --checkpoint X.pt` measures a model on our photos (eval reads test/; the loader takes the class list from
    train/). A class with no photo gets one grey placeholder in train/ only, so the classes match the model's; the
    rest (no truth, "not one of these", a class the model lacks) lie in unlabelled/. wall.csv and README.txt say all.
    """
    try:
        names.check_stored(snapshot.classes)  # each names a folder: only names that --data reads back as they are
    except names.ClassNameError as error:
        raise WallRefusal(Say("wall.folders", reason=error.clause())) from None
    labelled = {e.id for e in snapshot.entries if e.truth in snapshot.classes}
    if not labelled:
        raise WallRefusal(Say("wall.none_labelled"))
    buffer = io.BytesIO()
    rows = [["id", "truth", "guess", "confidence", "file"]]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in snapshot.entries:
            name = f"{entry.id:04d}.png"
            png = png_bytes(entry.picture)
            if entry.id in labelled:
                for split in ("test", "train"):
                    archive.writestr(f"wall/{split}/{entry.truth}/{name}", png)
                where = f"wall/test/{entry.truth}/{name}"
            else:
                where = f"wall/unlabelled/{name}"
                archive.writestr(where, png)
            rows.append([entry.id, entry.truth or "", entry.guess, f"{entry.confidence:.4f}", where])
        grey = png_bytes(torch.full((3, 32, 32), 128, dtype=torch.uint8))
        missing = sorted(set(snapshot.classes) - {e.truth for e in snapshot.entries}, key=snapshot.classes.index)
        for name in missing:
            archive.writestr(f"wall/train/{name}/{PLACEHOLDER}", grey)
        table = io.StringIO()
        csv.writer(table).writerows(rows)
        archive.writestr("wall/wall.csv", table.getvalue())
        archive.writestr("wall/README.txt", _readme(snapshot, len(labelled), missing))
    return buffer.getvalue(), len(labelled)


def _readme(snapshot: Snapshot, labelled: int, missing: list[str]) -> str:
    lines = [f"The class wall: {len(snapshot.entries)} pictures as the net saw them (32x32), guesses by "
             f"{snapshot.model}.",
             f"{labelled} carry a true class: each lies in test/<class>/ and, the same file, in train/<class>/.",
             "Measure a model on them:  python3 -m cifar_demo eval --data wall.zip --checkpoint MODEL.pt",
             "Pictures with no true class of this model lie in unlabelled/; wall.csv lists every picture."]
    if missing:
        lines.append(f"No photo of: {', '.join(missing)}. Each has one grey {PLACEHOLDER} in train/ only, so the "
                     "classes match the model's; remove them before training on train/.")
    return "\n".join(lines) + "\n"

