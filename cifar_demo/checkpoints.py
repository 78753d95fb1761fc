"""Saving and loading trained nets: atomic writes, metadata for the app, and no code run on load."""
from __future__ import annotations

import os
import pickle
import re
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .models import NETS, create_model

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message names the file and says why."""


@dataclass
class Checkpoint:
    path: Path
    model: nn.Module
    meta: dict

    @property
    def classes(self) -> list[str]:
        return self.meta["classes"]

    @property
    def label(self) -> str:
        """'fastnet · 84.1% · 2026-11-23 (fastnet.pt)', for menus and the header."""
        accuracy = self.meta.get("test_accuracy")
        parts = [self.meta["model"], f"{accuracy:.1%}" if accuracy is not None else "accuracy unknown",
                 self.meta.get("date", "")[:10], f"({self.path.name})"]
        return " · ".join(p for p in parts[:-1] if p) + " " + parts[-1]


def checkpoint_path(name: str, folder: str | Path = CHECKPOINT_DIR) -> Path:
    """A file in `folder` for a name a user typed; names that could escape the folder are refused."""
    stem = name[:-3] if name.endswith(".pt") else name
    if not _SAFE_NAME.match(stem) or ".." in stem:
        raise CheckpointError(f"'{name}' is not a valid checkpoint name: use letters, digits, '-', '_' and '.', "
                              "starting with a letter or digit.")
    return Path(folder) / f"{stem}.pt"


def save_checkpoint(path: str | Path, model: nn.Module, meta: dict, half: bool = True) -> Path:
    """Write to a temporary file in the same folder, then rename: a crash never leaves a broken file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: (v.detach().cpu().half() if half and v.is_floating_point() else v.detach().cpu())
             for k, v in model.state_dict().items()}
    meta = {**meta, "date": meta.get("date") or time.strftime("%Y-%m-%d %H:%M"),
            "versions": {"torch": torch.__version__}, "weights_dtype": "float16" if half else "float32"}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({"format": "cifar-demo/1", "state_dict": state, "meta": meta}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> Checkpoint:
    """Load with weights_only=True, so a crafted file cannot run code; every failure names the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Checkpoint '{path}' does not exist.")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(f"Checkpoint '{path}' was refused: it holds objects other than weights and plain "
                              f"data, which could run code when loaded ({str(error).splitlines()[0]}).") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as error:
        raise CheckpointError(f"Checkpoint '{path}' is damaged or not a PyTorch checkpoint "
                              f"({str(error).splitlines()[0] if str(error) else type(error).__name__}).") from None
    if not isinstance(saved, dict) or "state_dict" not in saved or "meta" not in saved:
        raise CheckpointError(f"Checkpoint '{path}' was not written by cifar-demo (no 'state_dict' and 'meta').")
    meta = saved["meta"]
    if meta.get("model") not in NETS or not meta.get("classes"):
        raise CheckpointError(f"Checkpoint '{path}' names an unknown net '{meta.get('model')}'.")
    model = create_model(meta["model"], len(meta["classes"]))
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in saved["state_dict"].items()})
    except RuntimeError as error:
        raise CheckpointError(f"Checkpoint '{path}' does not fit the net '{meta['model']}': "
                              f"{str(error).splitlines()[0]}") from None
    return Checkpoint(path, model.to(device).eval(), meta)


def list_checkpoints(folder: str | Path = CHECKPOINT_DIR) -> list[Checkpoint]:
    """Every loadable checkpoint in a folder, best test accuracy first; damaged ones are skipped."""
    found = []
    for file in sorted(Path(folder).glob("*.pt")):
        try:
            found.append(load_checkpoint(file))
        except CheckpointError:
            continue
    return sorted(found, key=lambda c: -(c.meta.get("test_accuracy") or 0.0))
