"""What a reader may know about a training run, kept consistent under one lock, copied whole or as changes.

The loop in the trainer process writes a JobRecord; the web server's handle keeps a mirror of it, fed by the
changes the loop sends, so both sides answer snapshot() with the same dict.
"""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .words import Say, plain

ENDED = ("finished", "stopped", "failed")


@dataclass
class History:
    steps: list[dict] = field(default_factory=list)   # every few steps: step, epoch, loss, smooth_loss, lr, images_per_second
    epochs: list[dict] = field(default_factory=list)  # every test pass: epoch, test_loss, test_accuracy, seconds


def fresh_progress(epochs: int) -> dict:
    return {"epoch": 0, "epochs": epochs, "step": 0, "steps": 0, "fraction": 0.0, "images_per_second": 0.0,
            "eta_seconds": None, "elapsed_seconds": 0.0}


class JobRecord:
    """The readable state of one run: state, message, progress, history, result and checkpoint."""

    SCALARS = ("state", "message", "progress", "result", "checkpoint_path", "error_traceback")

    def __init__(self, config, run_name: str):
        self.config = config
        self.run_name = run_name
        self._lock = threading.Lock()
        self.state = "idle"
        self.message = ""
        self.error_traceback = ""
        self.history = History()
        self.progress = fresh_progress(config.epochs)
        self.result: dict = {}
        self.checkpoint_path: Path | None = None

    @property
    def done(self) -> bool:
        return self.state in ENDED

    def update(self, **fields) -> None:
        with self._lock:
            for key, value in fields.items():
                setattr(self, key, value)

    def add_step(self, point: dict, **progress) -> None:
        """A loss point and the progress it brings, together: a reader never sees one without the other."""
        with self._lock:
            self.history.steps.append(point)
            self.progress.update(progress)

    def add_test(self, point: dict, result: dict, **progress) -> None:
        """A test point, the result as of it and the progress, together."""
        with self._lock:
            self.history.epochs.append(point)
            self.progress.update(progress)
            self.result = result

    def snapshot(self) -> dict:
        """A consistent copy of everything a reader may show, safe to take at any moment."""
        with self._lock:
            return {
                "run": self.run_name, "state": self.state, "message": str(self.message),
                "said": plain(self.message) if isinstance(self.message, Say) else None,  # for the page's language
                "config": asdict(self.config), "progress": dict(self.progress),
                "history": {"steps": [dict(s) for s in self.history.steps],
                            "epochs": [dict(e) for e in self.history.epochs]},
                "result": dict(self.result),
                "checkpoint": str(self.checkpoint_path) if self.checkpoint_path else None,
            }

    def changes_since(self, mark: tuple[int, int]) -> tuple[dict, tuple[int, int]]:
        """What changed since `mark` (the history lengths a mirror holds): the small fields whole, new history only."""
        with self._lock:
            changes = {key: getattr(self, key) for key in self.SCALARS}
            changes["progress"], changes["result"] = dict(self.progress), dict(self.result)
            changes["steps"], changes["epochs"] = self.history.steps[mark[0]:], self.history.epochs[mark[1]:]
            return changes, (len(self.history.steps), len(self.history.epochs))

    def apply(self, changes: dict) -> None:
        """Bring a mirror up to date with changes_since() of the original."""
        with self._lock:
            for key in self.SCALARS:
                if key in changes:
                    setattr(self, key, changes[key])
            self.history.steps.extend(changes.get("steps", ()))
            self.history.epochs.extend(changes.get("epochs", ()))
