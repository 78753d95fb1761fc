"""Saving and loading trained nets: atomic writes, metadata for the app, and no code run on load."""
from __future__ import annotations

import glob
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .models import NETS, create_model

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")  # whole name: fullmatch, so no trailing newline


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
    stem = name.removesuffix(".pt") if isinstance(name, str) else ""
    if not _SAFE_NAME.fullmatch(stem) or ".." in stem:
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
            "versions": {"torch": str(torch.__version__)}, "weights_dtype": "float16" if half else "float32"}
    fd, tmp = tempfile.mkstemp(prefix=f"{_temporary_prefix(path)}{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({"format": "cifar-demo/1", "state_dict": state, "meta": meta}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _remove_orphaned_temporaries(path)
    return path


def _temporary_prefix(path: Path) -> str:
    """'.name.pt.': hidden, and never matching '*.pt', so listings skip a save in progress."""
    return f".{path.name}."


def _remove_orphaned_temporaries(path: Path) -> None:
    """Delete what writers killed mid-save left behind; the writer's process id is in the file name."""
    if os.name != "posix":  # os.kill(pid, 0) only asks on POSIX (elsewhere it would end the process)
        return
    prefix = _temporary_prefix(path)
    for tmp in path.parent.glob(f"{glob.escape(prefix)}*.tmp"):
        pid = tmp.name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and not _process_exists(int(pid)):
            tmp.unlink(missing_ok=True)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _read(path: Path) -> object:
    """torch.load with weights_only=True; anything that goes wrong becomes a CheckpointError naming the file."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a damaged file can break torch.load in many ways (zip, pickle, key, EOF errors)
        raise _load_failure(path, error) from None


def _load_failure(path: Path, error: Exception) -> CheckpointError:
    """Tell a refused attempt to run code apart from plain damage, in one sentence that names the file."""
    text = str(error)
    refused_global = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if refused_global:
        return CheckpointError(f"Checkpoint '{path}' was refused and nothing in it was run: loading it would call "
                               f"'{refused_global[1]}', which is code, not weights. Only load checkpoints from "
                               "people you trust.")
    if "WeightsUnpickler error:" in text:
        detail = text.split("WeightsUnpickler error:")[1].strip().splitlines()[0]
        reason = f"its contents are not saved weights: {detail}"
    elif isinstance(error, EOFError):
        reason = "the file is empty or ends too early"
    else:
        reason = f"{type(error).__name__}: {text.strip().split('. ')[0].splitlines()[0]}" if text.strip() \
            else type(error).__name__
    return CheckpointError(f"Checkpoint '{path}' is damaged or not a PyTorch checkpoint ({reason[:200]}).")


def _check_contents(path: Path, saved: object) -> tuple[dict, dict]:
    """The state_dict and metadata, after checking they have the shape cifar-demo writes."""
    shaped = isinstance(saved, dict) and isinstance(saved.get("state_dict"), dict) and isinstance(saved.get("meta"), dict)
    if not (shaped and all(isinstance(v, torch.Tensor) for v in saved["state_dict"].values())):
        raise CheckpointError(f"Checkpoint '{path}' was not written by cifar-demo (it needs 'state_dict' tensors and "
                              "'meta').")
    meta = saved["meta"]
    if not isinstance(meta.get("model"), str) or meta["model"] not in NETS:
        raise CheckpointError(f"Checkpoint '{path}' names an unknown net '{meta.get('model')}'; this version knows "
                              f"{', '.join(NETS)}.")
    classes = meta.get("classes")
    if not (isinstance(classes, list) and classes and all(isinstance(c, str) for c in classes)):
        raise CheckpointError(f"Checkpoint '{path}' has no list of class names.")
    for key in ("mean", "std"):
        values = meta.get(key)
        if not (isinstance(values, (list, tuple)) and len(values) == 3
                and all(isinstance(v, (int, float)) for v in values)):
            raise CheckpointError(f"Checkpoint '{path}' lacks the normalization '{key}' "
                                  "(three numbers, one per colour).")
    return saved["state_dict"], meta


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> Checkpoint:
    """Load with weights_only=True, so a crafted file cannot run code; every failure names the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Checkpoint '{path}' does not exist.")
    state, meta = _check_contents(path, _read(path))
    model = create_model(meta["model"], len(meta["classes"]))
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
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
