"""CIFAR-10 (or any picture folder) as uint8 tensors in memory, cached on disk, served in batches."""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import sys
import tarfile
import zipfile
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import reduce
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Iterator

import numpy as np
import torch

from . import names
from .device import usable_cores
from .files import written_whole
from .words import Say
from .images import ImageError, read_header, square_pixels
from .picture_files import (MAX_BYTES_WAITING, MAX_PICTURE_BYTES, SPLITS, Budget, ClassFolders, DataNotFoundError,
                            Member, archive_members, tree_files, tree_members)

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
CACHE_VERSION = 2  # 2: class names held to the name rule, so caches written before it are decoded again

Progress = Callable[[float, str], None]


@dataclass
class ImageSet:
    images: torch.Tensor  # uint8 (N, 3, 32, 32)
    labels: torch.Tensor  # int64 (N,)

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class Dataset:
    train: ImageSet
    test: ImageSet
    classes: list[str]
    source: str
    skipped: int = 0  # files that could not be decoded
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()

    def __post_init__(self):
        if not self.mean:  # normalization follows the data, so a class's own pictures get their own
            sample = self.train.images[:: max(1, len(self.train) // 10000)].float().div_(255)
            self.mean = tuple(sample.mean(dim=(0, 2, 3)).tolist())
            self.std = tuple(sample.std(dim=(0, 2, 3)).clamp_min(1e-3).tolist())


# ---------------------------------------------------------------- where the data is


def default_data_path() -> Path:
    return Path(os.environ.get("CIFAR_DEMO_DATA") or "data")


def cache_dir() -> Path:
    base = os.environ.get("CIFAR_DEMO_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "cifar-demo")
    return Path(base)


def _find_batches_dir(path: Path) -> Path | None:
    for candidate in (path, path / "cifar-10-batches-py"):
        if (candidate / "data_batch_1").is_file() and (candidate / "test_batch").is_file():
            return candidate
    return None


def _is_archive(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)


def _find_image_tree(path: Path) -> Path | None:
    """The folder holding train/ and test/, at the path or one level below it."""
    candidates = [path] + sorted(p for p in path.iterdir() if p.is_dir()) if path.is_dir() else []
    for candidate in candidates:
        if all((candidate / split).is_dir() for split in SPLITS):
            return candidate
    return None


def not_found_message(path: Path, tried: list[Say]) -> Say:
    return Say("data.not_found", path=path,
               tried=reduce(lambda first, second: Say("data.tried_more", first=first, second=second), tried))


def load_dataset(path: str | os.PathLike | None = None, download: bool = True,
                 progress: Progress | None = None) -> Dataset:
    """Load from the first source that fits; decoded tensors are cached so the next start takes seconds."""
    path = Path(path) if path else default_data_path()
    progress = progress or (lambda fraction, message: None)
    tried = []
    if _is_archive(path):
        return _cached(path, lambda: _decode_archive(path, progress), progress)
    if path.is_file():
        raise DataNotFoundError(not_found_message(path, [Say("data.not_archive", name=path.name)]))
    batches = _find_batches_dir(path) if path.is_dir() else None
    if batches:
        return _read_cifar_batches(batches)
    tried.append(Say("data.tried_batches"))
    tree = _find_image_tree(path) if path.is_dir() else None
    if tree:
        return _cached(tree, lambda: _decode_tree(tree, progress), progress)
    tried.append(Say("data.tried_tree"))
    if download:
        try:
            progress(0.0, "downloading CIFAR-10 (about 170 MB)")
            return _download_cifar10(path)
        except Exception as error:  # no network, disk full, ... : all say the same to the user
            tried.append(Say("data.tried_download", reason=download_failure(error)))
    raise DataNotFoundError(not_found_message(path, tried))


def download_failure(error: Exception) -> Say | str:
    """Why a download failed, in words: 'no internet connection' rather than a URLError's socket errno."""
    import urllib.error  # torchvision's download raises urllib's errors

    if isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError):
        return Say("data.offline")
    if isinstance(error, OSError) and error.errno == 28:
        return Say("data.disk_full")
    return f"{type(error).__name__}: {error}"


def _download_cifar10(path: Path) -> Dataset:
    from torchvision.datasets import CIFAR10

    CIFAR10(str(path), train=True, download=True)
    return _read_cifar_batches(path / "cifar-10-batches-py")


def _read_cifar_batches(folder: Path) -> Dataset:
    """torchvision's CIFAR-10 folder: pickled dicts of channel-major uint8 rows, read without running any code."""
    classes = _read_label_names(folder / "batches.meta")
    train = [_read_batch(folder / f"data_batch_{i}", len(classes)) for i in range(1, 6)]
    test = _read_batch(folder / "test_batch", len(classes))
    return Dataset(ImageSet(torch.cat([s.images for s in train]), torch.cat([s.labels for s in train])),
                   test, classes, str(folder))


# ---------------------------------------------------------------- unpickling CIFAR's batch files safely

MAX_BATCH_BYTES = 128 * 1024**2  # an official batch file is 31 MB; a bigger one is refused before it is read
_PIXELS_PER_ROW = 3 * 32 * 32
# What a batch gets for 'numpy.ndarray': not callable, only _empty_array takes it, so no array can be sized by a
# shape alone; every array is filled by its pickled state, whose bytes numpy checks against the shape.
_NDARRAY = object()


def _integer_dtype(spec: object, *_flags: object) -> np.dtype:
    """numpy.dtype for integer types only: object or structured types would let a pickle steer numpy's memory."""
    dtype = np.dtype(spec, False, True)  # a copy: a pickle's BUILD may change it, never numpy's shared one
    if dtype.kind not in "ui":
        raise pickle.UnpicklingError(f"dtype '{dtype.str}' is not an integer type")
    return dtype


def _empty_array(subtype: object, _shape: object, spec: object) -> np.ndarray:
    """numpy's _reconstruct as pickled arrays call it: an empty array that the pickle's state then fills."""
    if subtype is not _NDARRAY:
        raise pickle.UnpicklingError("_reconstruct is only admitted for plain numpy arrays")
    return np.ndarray((0,), _integer_dtype(spec))


def _latin1_bytes(text: object, encoding: object) -> bytes:
    """_codecs.encode as protocol-2 pickles use it to spell bytes: latin-1 only, so no other codec is looked up."""
    if not (isinstance(text, str) and isinstance(encoding, str) and encoding in ("latin1", "latin-1")):
        raise pickle.UnpicklingError("_codecs.encode is only admitted for latin-1 text")
    return text.encode("latin1")


_ADMITTED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _empty_array,  # numpy 1 and the official Python 2 files
    ("numpy._core.multiarray", "_reconstruct"): _empty_array,  # numpy 2
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _integer_dtype,
    ("_codecs", "encode"): _latin1_bytes,
}


def _printable(text: str, limit: int = 80) -> str:
    """Text taken from a file, safe to quote in a one-line message: control characters replaced, long text cut."""
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _unusable(file: Path, why: Say) -> Say:
    """The one paragraph every unusable batch file gets: what is wrong with it and how to fix it."""
    return Say("data.unusable", file=file, why=why)


class _BatchUnpickler(pickle.Unpickler):
    """Builds only dicts, lists, strings, ints and integer numpy arrays: a crafted file cannot call anything else."""

    def __init__(self, raw: bytes, file: Path):
        super().__init__(io.BytesIO(raw), encoding="latin1")  # the official files are Python 2 pickles
        self.file = file

    def find_class(self, module: str, name: str) -> object:
        admitted = _ADMITTED_GLOBALS.get((module, name))
        if admitted is None:
            raise DataNotFoundError(Say("data.object", file=self.file, name=_printable(f"{module}.{name}")))
        return admitted


def _unpickle(file: Path) -> object:
    """The object pickled in one batch file; every way the file can fail is a DataNotFoundError naming it."""
    try:
        size = file.stat().st_size
        if size > MAX_BATCH_BYTES:
            raise DataNotFoundError(_unusable(file, Say("data.batch_size", size=f"{size:,}", most=f"{MAX_BATCH_BYTES:,}")))
        raw = file.read_bytes()
    except OSError as error:
        raise DataNotFoundError(_unusable(file, Say("data.batch_unreadable", reason=error.strerror or error))) from None
    try:
        return _BatchUnpickler(raw, file).load()
    except DataNotFoundError:
        raise
    except Exception as error:  # truncated or garbled bytes fail in many ways; each means the same to a person
        reason = f"{type(error).__name__}: {_printable(str(error))}" if str(error) else type(error).__name__
        raise DataNotFoundError(_unusable(file, Say("data.batch_unpickle", reason=reason))) from None


def _field(entry: object, name: str, file: Path) -> object:
    """entry[name], with the key written as str (Python 2 files read as latin-1) or as bytes."""
    if isinstance(entry, dict):
        for key in (name, name.encode()):
            if key in entry:
                return entry[key]
    raise DataNotFoundError(_unusable(file, Say("data.batch_entry", name=name)))


def _read_label_names(file: Path) -> list[str]:
    """The class names from batches.meta, checked: labels index them and the page shows them."""
    labels = _field(_unpickle(file), "label_names", file)
    if not (isinstance(labels, list) and labels and all(isinstance(n, str) for n in labels)):
        raise DataNotFoundError(_unusable(file, Say("data.batch_labels")))
    try:
        return names.check_names(labels)
    except names.ClassNameError as error:
        raise DataNotFoundError(_unusable(file, Say("data.batch_label_name", reason=error.clause()))) from None


def _read_batch(file: Path, num_classes: int) -> ImageSet:
    """One data or test batch: N rows of 3072 pixel values and N labels, each checked before use."""
    entry = _unpickle(file)
    data, labels = _field(entry, "data", file), _field(entry, "labels", file)
    if not (isinstance(data, np.ndarray) and data.ndim == 2 and len(data) > 0 and data.shape[1] == _PIXELS_PER_ROW):
        raise DataNotFoundError(_unusable(file, Say("data.batch_data", row=_PIXELS_PER_ROW)))
    if data.dtype != np.uint8 and (data.min() < 0 or data.max() > 255):
        raise DataNotFoundError(_unusable(file, Say("data.batch_values")))
    if not (isinstance(labels, list) and len(labels) == len(data)
            and all(isinstance(label, int) and 0 <= label < num_classes for label in labels)):
        raise DataNotFoundError(_unusable(
            file, Say("data.batch_numbers", count=f"{len(data):,}", last=num_classes - 1)))
    images = torch.from_numpy(data.astype(np.uint8).reshape(-1, 3, 32, 32))  # a copy: writable, owned by torch
    return ImageSet(images, torch.tensor(labels, dtype=torch.int64))


# ---------------------------------------------------------------- decoding picture trees and archives


def _decode_tree(root: Path, progress: Progress) -> Dataset:
    budget = Budget(root)
    return _decode_members(tree_members(root, budget, ClassFolders(root)), str(root), budget, progress)


def _decode_archive(path: Path, progress: Progress) -> Dataset:
    progress(0.0, f"reading {path.name}")
    budget = Budget(path)
    try:
        return _decode_members(archive_members(path, budget, ClassFolders(path)), str(path), budget, progress)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as error:
        raise DataNotFoundError(Say("data.archive", path=path, reason=error)) from None


def _decode(member: Member, budget: Budget) -> torch.Tensor | None:
    """One picture as uint8 (3, 32, 32), its pixels counted before they are decoded; None when it cannot be read."""
    try:
        header = read_header(member.read(), MAX_PICTURE_BYTES)
        with budget.decoding(header.size[0] * header.size[1]):
            return square_pixels(header)
    except (ImageError, OSError, zipfile.BadZipFile, zlib.error, EOFError):  # a damaged zip member too
        return None


def _decode_members(members: Iterable[Member], source: str, budget: Budget, progress: Progress) -> Dataset:
    """Decode by a pool of threads as the members are read (PIL lets go of the GIL while decoding), with only a few
    batches read ahead: a tar's pictures are never all held, and a refusal stops the pool at once."""
    workers = usable_cores()
    decoded: list[tuple[str, str, str, torch.Tensor | None]] = []  # split, class, file name: never the member's bytes
    ahead: deque[tuple[int, float, Future]] = deque()  # each batch handed to the pool: its bytes, the share done
    waiting = 0  # bytes of the batches read ahead

    def collect() -> None:
        nonlocal waiting
        size, done, future = ahead.popleft()
        waiting -= size
        before = len(decoded)
        decoded.extend(future.result())
        if before // 2000 != len(decoded) // 2000:
            progress(done, f"decoding pictures: {len(decoded):,} done")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        try:
            for batch in _batches(members):
                size = sum(member.size for member in batch)
                ahead.append((size, batch[-1].done, pool.submit(_decode_batch, batch, budget)))
                waiting += size
                while ahead and (len(ahead) > 2 * workers or waiting > MAX_BYTES_WAITING):
                    collect()
            while ahead:
                collect()
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    return _dataset(decoded, source)


def _batches(members: Iterable[Member], count: int = 64, size: int = 8 * 2**20) -> Iterator[list[Member]]:
    """Members in groups of `count`, or fewer once they hold `size` bytes: a thread takes a group at a time, as
    handing 60,000 small pictures over one by one costs more than decoding them."""
    batch, held = [], 0
    for member in members:
        batch.append(member)
        held += member.size
        if len(batch) == count or held >= size:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


def _decode_batch(batch: list[Member], budget: Budget) -> list[tuple[str, str, str, torch.Tensor | None]]:
    return [(member.split, member.label, PurePosixPath(member.name).name, _decode(member, budget))
            for member in batch]


def _dataset(decoded: list[tuple[str, str, str, torch.Tensor | None]], source: str) -> Dataset:
    """The decoded pictures in one order whatever the source: by split, class, then file name."""
    classes = sorted({label for split, label, _, _ in decoded if split == "train"})
    if not classes:
        raise DataNotFoundError(Say("data.no_train", source=source))
    index = {names.name_key(name): i for i, name in enumerate(classes)}  # test/Cat is train/cat's class
    unknown = sorted({label for _, label, _, _ in decoded if names.name_key(label) not in index})
    if unknown:
        raise DataNotFoundError(Say("data.unknown_test", source=source, classes=", ".join(unknown)))
    decoded.sort(key=lambda picture: picture[:3])
    splits = {}
    for split in SPLITS:
        keep = [(a, index[names.name_key(label)]) for s, label, _, a in decoded if s == split and a is not None]
        images = torch.stack([a for a, _ in keep]) if keep else torch.zeros(0, 3, 32, 32, dtype=torch.uint8)
        splits[split] = ImageSet(images, torch.tensor([label for _, label in keep], dtype=torch.int64))
    if len(splits["train"]) == 0 or len(splits["test"]) == 0:
        raise DataNotFoundError(Say("data.both", source=source))
    skipped = sum(a is None for *_, a in decoded)
    return Dataset(splits["train"], splits["test"], classes, source, skipped)


# ---------------------------------------------------------------- the decoded-tensor cache


def _source_key(path: Path) -> str:
    """Changes whenever a file of the source is added, removed or rewritten; the same for any spelling of the path."""
    path = path.resolve()
    digest = hashlib.sha1(f"v{CACHE_VERSION}|{path}".encode())
    files = [path] if path.is_file() else tree_files(path)
    for file in files:
        stat = file.stat()
        digest.update(f"|{file}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:20]


def _cached(path: Path, decode: Callable[[], Dataset], progress: Progress) -> Dataset:
    file = cache_dir() / f"{_source_key(path)}.pt"
    if file.is_file():
        data = _read_cache(file, str(path))
        if data is not None:
            return data
    data = decode()
    progress(1.0, "saving decoded tensors to the cache")
    _write_cache(file, data)
    return data


def _read_cache(file: Path, source: str) -> Dataset | None:
    """The cached data set, or None after deleting a cache file that is damaged or does not hold one."""
    try:
        saved = torch.load(file, weights_only=True, map_location="cpu")
        problem = _cache_problem(saved)
    except Exception as error:  # a damaged cache is only a cache: decode again
        problem = f"it cannot be read ({type(error).__name__})"
    if problem is None:
        return Dataset(ImageSet(saved["train_images"], saved["train_labels"]),
                       ImageSet(saved["test_images"], saved["test_labels"]),
                       saved["classes"], source, saved["skipped"])
    print(f"cifar-demo: ignoring the cache file '{file}' ({problem}); decoding the pictures again.",
          file=sys.stderr, flush=True)
    file.unlink(missing_ok=True)
    return None


def _cache_problem(saved: object) -> str | None:
    """Why a loaded cache is not a data set as _write_cache writes one, or None when it is."""
    if not isinstance(saved, dict):
        return "it is not a dict"
    classes = saved.get("classes")
    if not (isinstance(classes, list) and classes):
        return "'classes' is not a list of distinct names"
    try:
        names.check_stored(classes)
    except names.ClassNameError as error:
        return f"in 'classes', {error.clause()}"
    skipped = saved.get("skipped")
    if not (isinstance(skipped, int) and not isinstance(skipped, bool) and skipped >= 0):
        return "'skipped' is not a count"
    for split in SPLITS:
        problem = _split_problem(saved.get(f"{split}_images"), saved.get(f"{split}_labels"), len(classes))
        if problem:
            return f"{split}: {problem}"
    return None


def _split_problem(images: object, labels: object, num_classes: int) -> str | None:
    """What is wrong with one split's cached tensors, or None: the rest of the code relies on each of these."""
    if not (_is_plain_tensor(images, torch.uint8) and images.dim() == 4 and images.shape[1:] == (3, 32, 32)):
        return "the pictures are not a uint8 tensor of shape (N, 3, 32, 32)"
    if len(images) == 0:
        return "there are no pictures"
    if not (_is_plain_tensor(labels, torch.int64) and labels.shape == (len(images),)):
        return f"the labels are not an int64 tensor of shape ({len(images)},)"
    if labels.min() < 0 or labels.max() >= num_classes:
        return f"a label is outside 0-{num_classes - 1}"
    return None


def _is_plain_tensor(value: object, dtype: torch.dtype) -> bool:
    """A dense CPU tensor whose storage backs every element: no strides that make a small file look big."""
    return (isinstance(value, torch.Tensor) and value.dtype == dtype and value.layout == torch.strided
            and value.device.type == "cpu"
            and value.untyped_storage().nbytes() >= value.numel() * value.element_size())


def _write_cache(file: Path, data: Dataset) -> None:
    """Written to a temporary file then renamed, so a reader never sees half a file; a failed save leaves none."""
    saved = {"train_images": data.train.images, "train_labels": data.train.labels,
             "test_images": data.test.images, "test_labels": data.test.labels,
             "classes": data.classes, "skipped": data.skipped}
    try:
        with written_whole(file) as out:
            torch.save(saved, out)
    except (OSError, RuntimeError):  # torch.save reports a full disk as RuntimeError
        pass  # a read-only or full cache folder costs speed next time, not correctness


# ---------------------------------------------------------------- batches for training


def normalize(images: torch.Tensor, mean, std) -> torch.Tensor:
    """uint8 (N, 3, H, W) to float, scaled to zero mean and unit variance per channel, in channels_last layout."""
    scale = torch.tensor([1 / (255 * s) for s in std], device=images.device).view(1, -1, 1, 1)
    shift = torch.tensor([-m / s for m, s in zip(mean, std)], device=images.device).view(1, -1, 1, 1)
    # (x / 255 - mean) / std as one multiply-add: half the passes over the batch of three in-place steps
    return torch.addcmul(shift, images.float().contiguous(memory_format=torch.channels_last), scale)


def random_crop_flip(images: torch.Tensor, generator: torch.Generator, pad: int = 4,
                     flip: torch.Tensor | None = None) -> torch.Tensor:
    """Random crop of a zero-padded batch plus horizontal flip, for a whole uint8 batch in one gather; flip says
    which pictures to mirror (bool, one per picture), or None for a coin each."""
    n, _, h, w = images.shape
    padded = torch.nn.functional.pad(images, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n, 1), generator=generator).to(images.device)
    dx = torch.randint(0, 2 * pad + 1, (n, 1), generator=generator).to(images.device)
    if flip is None:
        flip = torch.rand(n, generator=generator) < 0.5
    flip = flip.to(images.device)[:, None]
    rows = dy + torch.arange(h, device=images.device)
    cols = torch.arange(w, device=images.device).expand(n, w)
    cols = torch.where(flip, cols.flip(1), cols) + dx  # flipping the column order mirrors the crop
    batch = torch.arange(n, device=images.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def colour_jitter(images: torch.Tensor, generator: torch.Generator, strength: float = 0.3) -> torch.Tensor:
    """Random brightness and contrast per picture (each a factor in 1 +- strength) for a whole uint8 batch: a few
    photos taken in one room look like many lightings, so a net trained on them relies less on the light."""
    n = len(images)
    brightness, contrast = (1 + strength * (2 * torch.rand(2, n, 1, 1, 1, generator=generator) - 1)).to(images.device)
    pixels = images.float() * brightness
    grey = pixels.mean(dim=(1, 2, 3), keepdim=True)
    return torch.lerp(grey, pixels, contrast).round_().clamp_(0, 255).to(torch.uint8)


def train_batches(data: ImageSet, batch_size: int, mean, std, generator: torch.Generator,
                  augment: bool = True, device: torch.device | str = "cpu",
                  jitter: bool = False, translate: int = 4,
                  flips: torch.Tensor | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch: a fresh permutation, whole-batch augmentation on the device, no per-image Python work. flips
    (bool, one per picture of data) fixes which pictures this epoch mirrors; None tosses a coin each."""
    order = torch.randperm(len(data), generator=generator)
    for start in range(0, len(order), batch_size):
        index = order[start:start + batch_size]
        images = data.images[index].to(device, non_blocking=True)
        if augment:
            images = random_crop_flip(images, generator, pad=translate, flip=None if flips is None else flips[index])
        if jitter:
            images = colour_jitter(images, generator)
        yield normalize(images, mean, std), data.labels[index].to(device, non_blocking=True)
