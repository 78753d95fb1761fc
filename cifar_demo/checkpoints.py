"""Saving and loading trained nets: atomic writes, metadata for the app, and no code run on load."""
from __future__ import annotations

import contextlib
import io
import math
import os
import re
import reprlib
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from . import names
from .files import written_whole
from .models import NETS, allowed_width, create_model
from .words import Say

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")  # whole name: fullmatch, so no trailing newline
_TEMPORARY = re.compile(r"\..+\.pt\.(\d+)\.\w+\.tmp")  # what save_checkpoint writes: .NAME.pt.PID.RANDOM.tmp
MAX_BYTES = 100 * 2**20  # the shipped files are under 15 MB; a float32 resnet for 1,000 classes is about 28 MB
MAX_PICKLE_BYTES = 4 * 2**20  # the metadata part: 8-41 kB in the shipped files; one pickle byte can build 70 bytes
MAX_ZIP_PARTS = 10_000  # the shipped files have 16-55
MAX_CLASSES = 1000
MAX_HISTORY = 10_000  # entries per list, about 90 bytes each; one step in 25 is recorded: 250,000 steps
_HISTORY_NUMBERS = ("step", "epoch", "loss", "smooth_loss", "lr", "images_per_second", "test_accuracy", "test_loss",
                    "seconds", "train_seconds")
_HISTORY_NEEDS = {"steps": ("step", "epoch", "loss", "smooth_loss"), "epochs": ("epoch", "test_accuracy")}  # charted
_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_INTEGERS = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)
_CODE_REFUSED = re.compile(r"unsupported global|not an allowed global|is blocked|unrecognized function", re.I)


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message names the file and says why."""


class CheckpointSkipped(UserWarning):
    """list_checkpoints left a file out: the message is the CheckpointError's one line, naming the file."""


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
        """'fastnet · 84.1% · 2026-11-23 (fastnet.pt)', for menus and the header; a model fine-tuned on a class's
        own pictures names its classes: 'fastnet · mug, pen, face · 91.7% · ...'."""
        accuracy = self.meta.get("test_accuracy")
        classes = [", ".join(self.classes)[:60]] if self.meta.get("base_checkpoint") else []
        parts = [self.meta["model"], *classes, f"{accuracy:.1%}" if accuracy is not None else "accuracy unknown",
                 self.meta.get("date", "")[:10], f"({self.path.name})"]
        return " · ".join(p for p in parts[:-1] if p) + " " + parts[-1]


def checkpoint_path(name: str, folder: str | Path = CHECKPOINT_DIR) -> Path:
    """A file in `folder` for a name a user typed; names that could escape the folder are refused."""
    stem = name.removesuffix(".pt") if isinstance(name, str) else ""
    if not _SAFE_NAME.fullmatch(stem) or ".." in stem:
        raise CheckpointError(Say("training.checkpoint_name", name=name))
    return Path(folder) / f"{stem}.pt"


def runs_folder(checkpoint_dir: str | Path = CHECKPOINT_DIR) -> Path:
    """Where the runs trained here are saved, apart from the shipped checkpoints: checkpoints/runs/, which the app
    lists beside them."""
    return Path(checkpoint_dir) / "runs"


def new_run_name(model: str, kind: str | None = None) -> str:
    """A new run's name, its checkpoint's stem: the net, what it learns, when it started (lenet-20261202-052001)."""
    return "-".join([model, *([kind] if kind else []), time.strftime("%Y%m%d-%H%M%S")])


def save_checkpoint(path: str | Path, model: nn.Module, meta: dict, half: bool = True) -> Path:
    """Write to a temporary file in the same folder, then rename: a crash never leaves a broken file."""
    path = Path(path)
    state = {k: (v.detach().cpu().half() if half and v.is_floating_point() else v.detach().cpu())
             for k, v in model.state_dict().items()}
    meta = {**meta, "date": meta.get("date") or time.strftime("%Y-%m-%d %H:%M"),
            "versions": {"torch": str(torch.__version__)}, "weights_dtype": "float16" if half else "float32"}
    with written_whole(path) as file:
        torch.save({"format": "cifar-demo/1", "state_dict": state, "meta": meta}, file)
    _remove_orphaned_temporaries(path.parent)
    return path


def _remove_orphaned_temporaries(folder: Path) -> None:
    """Delete what writers killed mid-save left behind, of any name; the writer's process id is in the file name.
    Hidden and never matching '*.pt', a temporary is skipped by listings while its writer lives."""
    if os.name != "posix":  # os.kill(pid, 0) only asks on POSIX (elsewhere it would end the process)
        return
    for tmp in folder.glob(".*.tmp"):
        match = _TEMPORARY.fullmatch(tmp.name)
        if match and not _process_exists(int(match[1])) and tmp.is_file():
            with contextlib.suppress(OSError):  # a read-only folder, or another cleaner was first: harmless
                tmp.unlink()


def _process_exists(pid: int) -> bool:
    """Whether a writer still runs: signal 0 asks without sending anything."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # OverflowError: a number no process id can be
        return False
    except PermissionError:  # someone else's process
        return True
    return True


# ------------------------------------------------------------------ messages


_REPR = reprlib.Repr()  # bounded in depth and length: a crafted value can be deeply nested or huge
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 3, 80, 80, 40


class _Missing:
    """Stands for an absent field, so a check and its message treat it like any other value."""

    def __repr__(self) -> str:
        return "missing"


_MISSING = _Missing()


def _shown(value: object) -> str:
    """At most 80 characters of a value, on one line, for a message about it."""
    try:
        text = _REPR.repr(value)
    except ValueError:  # an int with more digits than Python will print
        text = f"a {type(value).__name__} too long to show"
    return text if len(text) <= 80 else text[:77] + "..."


def _failure(path: Path, problem: str) -> CheckpointError:
    """"Checkpoint 'PATH' PROBLEM"; a name with control characters is escaped, so the message stays one line."""
    name = str(path)
    quoted = f"'{name}'" if name.isprintable() else ascii(name)
    return CheckpointError(f"Checkpoint {quoted} {problem}")


def _load_failure(path: Path, error: Exception) -> CheckpointError:
    """Tell a refused attempt to run code apart from plain damage, in one sentence that names the file."""
    text = str(error)
    if _CODE_REFUSED.search(text):  # torch's wordings: "Unsupported global: GLOBAL x ...", "GLOBAL x whose module ..."
        called = re.search(r"\bGLOBAL\s+(\S+)", text)
        what = f"call {_shown(called[1])}" if called else "call a function"
        return _failure(path, f"was refused and nothing in it was run: loading it would {what}, which is code, not "
                              "weights. Only load checkpoints from people you trust.")
    if "WeightsUnpickler error:" in text:
        detail = text.split("WeightsUnpickler error:")[1].strip().splitlines()[0]
        reason = f"its contents are not saved weights: {detail}"
    elif isinstance(error, EOFError):
        reason = "the file is empty or ends too early"
    else:
        reason = f"{type(error).__name__}: {text.strip().split('. ')[0].splitlines()[0]}" if text.strip() \
            else type(error).__name__
    return _failure(path, f"is damaged or not a PyTorch checkpoint ({reason[:200]}).")


# ------------------------------------------------------------------ reading


def _read(path: Path) -> object:
    """The file's bytes, size-checked, then torch.load with weights_only=True; every failure names the file."""
    with open(path, "rb") as f:
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise _failure(path, f"was refused: it is larger than {MAX_BYTES // 2**20} MB, and a cifar-demo checkpoint "
                             "is a few MB.")
    try:
        _check_sizes(path, data)
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except CheckpointError:
        raise
    except Exception as error:  # a damaged file can break torch.load in many ways (zip, pickle, key, EOF errors)
        raise _load_failure(path, error) from None


def _check_sizes(path: Path, data: bytes) -> None:
    """Refuse what would take far more memory than the file's size: zip parts that inflate, and big pickles, whose
    one-byte opcodes can each build a 64-byte Python object."""
    if data.startswith(b"PK\x03\x04"):  # how torch.load tells its zip format from the old one
        if data.count(b"PK\x01\x02") > MAX_ZIP_PARTS:  # how each part's directory entry starts: counted unparsed
            raise _failure(path, f"was refused: it has more than {MAX_ZIP_PARTS:,} parts, and a checkpoint has a "
                                 "few dozen.")
        parts = zipfile.ZipFile(io.BytesIO(data)).infolist()
        unpacked = sum(part.file_size for part in parts)
        pickled = sum(part.file_size for part in parts if part.filename.endswith(".pkl"))
    else:  # the old format, or a bare pickle: torch.load reads all of it as pickles
        unpacked = pickled = len(data)
    if unpacked > MAX_BYTES:
        raise _failure(path, f"was refused: it would unpack to {unpacked / 2**20:,.0f} MB, more than the "
                             f"{MAX_BYTES // 2**20} MB a checkpoint may hold.")
    if pickled > MAX_PICKLE_BYTES:
        raise _failure(path, f"was refused: the part holding its metadata is {pickled / 2**20:,.1f} MB, more than "
                             f"the {MAX_PICKLE_BYTES // 2**20} MB a checkpoint needs.")


# ------------------------------------------------------------------ metadata


def _is_number(value: object, low: float = -math.inf, high: float = math.inf) -> bool:
    """A finite int or float from low to high; True and False are not numbers here."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value) and low <= value <= high
    except OverflowError:  # an int too large for a float
        return False


def _is_colour_triple(low: float, high: float) -> Callable[[object], bool]:
    """A check for one number per colour channel, each from low to high, as normalize() needs."""
    return lambda value: (isinstance(value, (list, tuple)) and len(value) == 3
                          and all(_is_number(v, low, high) for v in value))


def _class_list_problem(value: object) -> str | None:
    """Names for menus, charts and the zips' folders: each output of the net has one that passes the name rule,
    stored as the rule stores it, none the same as another; None when they do."""
    if not (isinstance(value, list) and 0 < len(value) <= MAX_CLASSES and all(isinstance(c, str) for c in value)):
        return f"must be a list of 1 to {MAX_CLASSES:,} class names, but it is {_shown(value)}"
    try:
        names.check_stored(value)
    except names.ClassNameError as error:
        return f"must each pass the class-name rule, but {error.clause()}"
    return None


def _is_per_class(value: object) -> bool:
    """Accuracy by class name; None for a class with no test pictures, as evaluation gives it."""
    return (isinstance(value, dict) and len(value) <= MAX_CLASSES
            and all(isinstance(k, str) and (v is None or _is_number(v)) for k, v in value.items()))


def _must_be(check: Callable[[object], bool], what: str) -> Callable[[object], str | None]:
    """A field check that answers None when the value is fine, else what is wrong with it."""
    return lambda value: None if check(value) else f"must be {what}, but it is {_shown(value)}"


def _history_problem(history: object) -> str | None:
    """What is wrong with a training history, naming the first bad entry; None when the charts can draw it."""
    if not isinstance(history, dict):
        return f"must be a table with 'steps' and 'epochs', but it is {_shown(history)}"
    for part, needs in _HISTORY_NEEDS.items():
        entries = history.get(part, _MISSING)
        if not (isinstance(entries, list) and len(entries) <= MAX_HISTORY):
            return f"needs '{part}', a list of at most {MAX_HISTORY:,} entries, but it is {_shown(entries)}"
        for number, entry in enumerate(entries, 1):
            if not (isinstance(entry, dict) and all(k in entry for k in needs)
                    and all(_is_number(entry[k]) for k in _HISTORY_NUMBERS if k in entry)):
                return (f"has a bad entry {number:,} in '{part}': it needs the numbers {', '.join(needs)}, "
                        f"but it is {_shown(entry)}")
    return None


_REQUIRED, _OPTIONAL = True, False
_FIELDS: dict[str, tuple[str, bool, Callable[[object], str | None]]] = {  # key: (what it is, required, check)
    "classes": ("class names ('classes')", _REQUIRED, _class_list_problem),
    "mean": ("normalization 'mean'", _REQUIRED, _must_be(
        _is_colour_triple(0, 1), "three numbers from 0 to 1, one per colour")),
    "std": ("normalization 'std'", _REQUIRED, _must_be(
        _is_colour_triple(0.001, 1), "three numbers from 0.001 to 1, one per colour")),
    "test_accuracy": ("test accuracy ('test_accuracy')", _OPTIONAL, _must_be(
        lambda v: v is None or _is_number(v, 0, 1), "a number from 0 to 1, or None")),
    "epochs_done": ("epoch count ('epochs_done')", _OPTIONAL, _must_be(
        lambda v: _is_number(v, 0), "a number of at least 0")),
    "date": ("date ('date')", _OPTIONAL, _must_be(lambda v: isinstance(v, str), "text")),
    "config": ("training settings ('config')", _OPTIONAL, _must_be(  # evaluation reads its test-time views
        lambda v: isinstance(v, dict) and all(isinstance(v.get(key, False), bool)
                                              for key in ("test_time_flip", "test_time_shift")),
        "a table whose 'test_time_flip' and 'test_time_shift', if there, are True or False")),
    "per_class": ("per-class accuracy ('per_class')", _OPTIONAL, _must_be(
        _is_per_class, "a table from class name to a number or None")),
    "history": ("training history ('history')", _OPTIONAL, _history_problem),
}


def _check_meta(path: Path, meta: dict) -> None:
    """The one schema check: after it the rest of the code may rely on each field's type and range."""
    if not (isinstance(meta.get("model"), str) and meta["model"] in NETS):
        raise _failure(path, f"names an unknown net {_shown(meta.get('model', _MISSING))} in its 'model'; this "
                             f"version knows {', '.join(NETS)}.")
    for key, (what, required, problem_of) in _FIELDS.items():
        if key in meta or required:
            problem = problem_of(meta.get(key, _MISSING))
            if problem:
                raise _failure(path, f"cannot be used: its {what} {problem}.")
    if not allowed_width(meta["model"], meta.get("config", {}).get("width")):
        raise _failure(path, f"cannot be used: its training settings ('config') name a 'width' that {meta['model']} "
                             "does not come in.")


# ------------------------------------------------------------------ weights


def _dtype_kind(dtype: torch.dtype) -> str:
    """'float' or 'integer' for what a net's state holds; any other dtype is a kind of its own that fits nothing."""
    return "float" if dtype in _FLOATS else "integer" if dtype in _INTEGERS else str(dtype)


def _is_plain(tensor: torch.Tensor) -> bool:
    """Dense and inside its storage: with stride tricks (a stride of 0) a tiny file can claim a huge tensor."""
    if tensor.layout != torch.strided:
        return False
    dense = tensor.is_contiguous() or (tensor.dim() == 4 and tensor.is_contiguous(memory_format=torch.channels_last))
    needed = (tensor.storage_offset() + tensor.numel()) * tensor.element_size()
    return dense and tensor.untyped_storage().nbytes() >= needed


def _described(tensor: torch.Tensor) -> str:
    """'shape 3x32 (float16)', for a message about a tensor that does not fit."""
    return f"shape {'x'.join(map(str, tensor.shape)) or 'scalar'} ({str(tensor.dtype).removeprefix('torch.')})"


def _check_weights(path: Path, net: str, state: dict, expected: dict[str, torch.Tensor]) -> None:
    """Names, shapes and kinds of number as the net's own, each stored plainly: checked before any tensor is used."""
    missing, unknown = [k for k in expected if k not in state], [k for k in state if k not in expected]
    if missing or unknown:
        lists = [f"{label} {', '.join(map(_shown, keys[:3]))}{' and more' if len(keys) > 3 else ''}"
                 for label, keys in (("lacks", missing), ("has unknown", unknown)) if keys]
        raise _failure(path, f"does not fit the net '{net}': it {' and '.join(lists)}.")
    for key, wanted in expected.items():
        tensor = state[key]
        if tensor.shape != wanted.shape or _dtype_kind(tensor.dtype) != _dtype_kind(wanted.dtype):
            raise _failure(path, f"does not fit the net '{net}': its '{key}' has {_described(tensor)} where the net "
                                 f"needs {_described(wanted)}.")
        if not _is_plain(tensor):
            raise _failure(path, f"was refused: its weights '{key}' claim {tensor.numel():,} numbers but do not "
                                 "store them one after another, as cifar-demo does.")


# ------------------------------------------------------------------ loading


def _check_contents(path: Path, saved: object) -> tuple[dict, dict]:
    """The state_dict and metadata, after checking they have the shape cifar-demo writes."""
    shaped = isinstance(saved, dict) and isinstance(saved.get("state_dict"), dict) and isinstance(saved.get("meta"), dict)
    if not (shaped and all(isinstance(v, torch.Tensor) for v in saved["state_dict"].values())):
        raise _failure(path, "was not written by cifar-demo (it needs 'state_dict' tensors and 'meta').")
    _check_meta(path, saved["meta"])
    return saved["state_dict"], saved["meta"]


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> Checkpoint:
    """Load with weights_only=True, so a crafted file cannot run code; every failure names the file."""
    path = Path(path)
    if not path.is_file():
        raise _failure(path, "does not exist or is not a file.")
    state, meta = _check_contents(path, _read(path))
    model = create_model(meta["model"], len(meta["classes"]), meta.get("config", {}).get("width"))
    _check_weights(path, meta["model"], state, model.state_dict())
    model.load_state_dict(state)  # copies into the net's own float32 tensors: no converted copy of the file's
    return Checkpoint(path, model.to(device).eval(), meta)


def list_checkpoints(folder: str | Path = CHECKPOINT_DIR) -> list[Checkpoint]:
    """Every loadable checkpoint in a folder, best test accuracy first; each bad file is skipped with a
    CheckpointSkipped warning naming it, and temporaries left by killed writers are deleted."""
    folder = Path(folder)
    _remove_orphaned_temporaries(folder)
    found = []
    for file in sorted(folder.glob("*.pt")):
        try:
            found.append(load_checkpoint(file))
        except CheckpointError as error:
            warnings.warn(str(error), CheckpointSkipped, stacklevel=2)
    return sorted(found, key=lambda c: -(c.meta.get("test_accuracy") or 0.0))
