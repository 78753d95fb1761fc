"""The checkpoints a server knows, by the names clients see, and the one every tab uses (the active model)."""
from __future__ import annotations

import threading
import warnings
from pathlib import Path

import torch

from .checkpoints import Checkpoint, CheckpointError, CheckpointSkipped, list_checkpoints, load_checkpoint
from .serving import quote
from .words import Say


class NoModel(Exception):
    """No checkpoint is active yet, or a name that is none of the known ones."""


class Shelf:
    """Checkpoints by key (the path inside the checkpoint folder); swapping the active one is one assignment, so a
    reader that took `active` keeps a whole model while another request switches."""

    def __init__(self, checkpoint_dir: Path, folders: list[Path], device: torch.device,
                 checkpoint: str | Path | None = None):
        self.checkpoint_dir, self.device = Path(checkpoint_dir), device
        self._lock = threading.Lock()  # guards models and active
        self.models: dict[str, Checkpoint] = {}
        self.active: Checkpoint | None = None
        self.problems: list[str] = []  # one line per checkpoint that could not be used, for the server's log
        with warnings.catch_warnings(record=True) as skipped:
            warnings.simplefilter("always", CheckpointSkipped)
            for folder in folders:
                for found in list_checkpoints(folder):
                    self.models[self.key(found.path)] = found
        self.problems += [str(w.message) for w in skipped if issubclass(w.category, CheckpointSkipped)]
        if checkpoint:
            try:
                self.add(load_checkpoint(checkpoint), activate=True)
            except CheckpointError as error:
                self.problems.append(str(error))
        if self.active is None and self.models:
            self.active = max(self.models.values(), key=lambda c: c.meta.get("test_accuracy") or 0.0)

    def key(self, path: str | Path) -> str:
        """A checkpoint's name for clients: its path inside the checkpoint folder, never where the server keeps it."""
        path = Path(path).resolve()
        try:
            return path.relative_to(self.checkpoint_dir.resolve()).as_posix()
        except ValueError:
            return path.name

    def add(self, checkpoint: Checkpoint, activate: bool = False) -> None:
        checkpoint.model.to(self.device).eval()
        with self._lock:
            self.models[self.key(checkpoint.path)] = checkpoint
            if activate:
                self.active = checkpoint

    def load(self, path: str | Path) -> Checkpoint | None:
        """A checkpoint just saved, as the active model; None (and a problem noted) when it cannot be read back."""
        try:  # reload from disk: every tab switches to exactly what was saved, in one assignment
            checkpoint = load_checkpoint(path)
        except CheckpointError as error:
            self.problems.append(str(error))
            return None
        self.add(checkpoint, activate=True)
        return checkpoint

    def activate(self, key: str) -> Checkpoint:
        with self._lock:
            if not isinstance(key, str) or key not in self.models:
                shown = quote(key) if isinstance(key, str) else type(key).__name__
                raise NoModel(Say("models.unknown", name=shown))
            self.active = self.models[key]
            return self.active

    @property
    def active_key(self) -> str | None:
        active = self.active
        return self.key(active.path) if active else None

    def choices(self) -> list[tuple[str, str]]:
        """(label, key) pairs, best first: for the model switcher."""
        with self._lock:
            ordered = sorted(self.models.items(), key=lambda item: -(item[1].meta.get("test_accuracy") or 0.0))
            return [(c.label, key) for key, c in ordered]

    def items(self) -> list[tuple[str, Checkpoint]]:
        with self._lock:
            return list(self.models.items())

    def require(self) -> Checkpoint:
        active = self.active  # one read: a reader keeps this model even if training swaps in another
        if active is None:
            raise NoModel(Say("models.none"))
        return active

    @property
    def notice(self) -> Say | str:
        """The page's word on unusable checkpoints: how many, and where the reasons are (not the server's paths)."""
        if not self.problems:
            return ""
        count = len(self.problems)
        return Say("models.skipped", count=count) if count > 1 else Say("models.skipped_one")
