"""CIFAR-10 (or any picture folder) as uint8 tensors in memory, cached on disk, served in batches."""
from __future__ import annotations

import hashlib
import os
import pickle
import tarfile
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

import numpy as np
import torch

from .images import MAX_UPLOAD_BYTES, ImageError, open_image, to_square_rgb

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp", ".gif"}
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
SPLITS = ("train", "test")
MAX_PICTURE_BYTES = MAX_UPLOAD_BYTES  # archive members bigger than an upload are skipped unread: zip bombs stay shut
MAX_ARCHIVE_BYTES = 4 * 1024**3  # a tar archive's pictures are held in memory while decoding: refuse more than this
CACHE_VERSION = 1

Progress = Callable[[float, str], None]


class DataNotFoundError(Exception):
    """No usable data set: the message is one paragraph a person can act on."""


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


def not_found_message(path: Path, tried: list[str]) -> str:
    return (
        f"No training data found at '{path}'. Tried: {'; '.join(tried)}. "
        "To fix it, do one of: connect to the internet once so torchvision can download CIFAR-10 "
        "into that folder; point --data (or the CIFAR_DEMO_DATA environment variable) at a copy of "
        "CIFAR-10 (a 'cifar-10-batches-py' folder, a folder with train/<class>/ and test/<class>/ "
        "pictures, or a .tar.gz/.zip archive of such a folder); or make your own picture folders "
        "in that layout, one sub-folder per class."
    )


def load_dataset(path: str | os.PathLike | None = None, download: bool = True,
                 progress: Progress | None = None) -> Dataset:
    """Load from the first source that fits; decoded tensors are cached so the next start takes seconds."""
    path = Path(path) if path else default_data_path()
    progress = progress or (lambda fraction, message: None)
    tried = []
    if _is_archive(path):
        return _cached(path, lambda: _decode_archive(path, progress), progress)
    if path.is_file():
        raise DataNotFoundError(not_found_message(path, [f"'{path.name}' is a file but not a .tar.gz, .tgz, .tar or .zip archive"]))
    batches = _find_batches_dir(path) if path.is_dir() else None
    if batches:
        return _read_cifar_batches(batches)
    tried.append("a torchvision 'cifar-10-batches-py' folder")
    tree = _find_image_tree(path) if path.is_dir() else None
    if tree:
        return _cached(tree, lambda: _decode_tree(tree, progress), progress)
    tried.append("a folder with train/<class>/ and test/<class>/ pictures")
    if download:
        try:
            progress(0.0, "downloading CIFAR-10 (about 170 MB)")
            return _download_cifar10(path)
        except Exception as error:  # no network, disk full, ... : all say the same to the user
            tried.append(f"downloading CIFAR-10 with torchvision ({type(error).__name__}: {error})")
    raise DataNotFoundError(not_found_message(path, tried))


def _download_cifar10(path: Path) -> Dataset:
    from torchvision.datasets import CIFAR10

    CIFAR10(str(path), train=True, download=True)
    return _read_cifar_batches(path / "cifar-10-batches-py")


def _read_cifar_batches(folder: Path) -> Dataset:
    """torchvision's CIFAR10 format: pickled dicts of HWC-flattened uint8 rows."""
    def read(names: list[str]) -> ImageSet:
        images, labels = [], []
        for name in names:
            with open(folder / name, "rb") as f:
                entry = pickle.load(f, encoding="latin1")  # the official files are trusted pickles
            images.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels.extend(entry.get("labels", entry.get("fine_labels", [])))
        return ImageSet(torch.from_numpy(np.concatenate(images)), torch.tensor(labels, dtype=torch.int64))

    with open(folder / "batches.meta", "rb") as f:
        classes = pickle.load(f, encoding="latin1")["label_names"]
    return Dataset(read([f"data_batch_{i}" for i in range(1, 6)]), read(["test_batch"]), classes, str(folder))


# ---------------------------------------------------------------- decoding picture trees and archives


@dataclass
class _Entry:
    split: str
    label: str
    name: str
    read: Callable[[], bytes]


def _entries_from_tree(root: Path) -> list[_Entry]:
    entries = []
    for split in SPLITS:
        for class_dir in sorted(p for p in (root / split).iterdir() if p.is_dir()):
            for file in sorted(class_dir.iterdir()):
                if file.suffix.lower() in IMAGE_SUFFIXES and file.is_file():
                    entries.append(_Entry(split, class_dir.name, str(file), file.read_bytes))
    return entries


def safe_member_name(name: str) -> PurePosixPath:
    """An archive member's path, refused when it could land outside the folder it unpacks to."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise DataNotFoundError(f"Refusing the archive: member '{name}' points outside its folder.")
    return path


def _split_member(path: PurePosixPath) -> tuple[str, str] | None:
    """(split, class) for '<prefix>/train/<class>/<file>'; None for anything else."""
    parts = path.parts
    for i, part in enumerate(parts[:-2]):
        if part in SPLITS and len(parts) - i == 3:
            return part, parts[i + 1]
    return None


def _oversized(name: str, size: int) -> Callable[[], bytes]:
    """The reader of a member too big to be a picture: it fails, so the member is counted as skipped."""
    def read() -> bytes:
        raise ImageError(f"'{name}' unpacks to {size:,} bytes, more than {MAX_PICTURE_BYTES:,}.")
    return read


def _entries_from_archive(path: Path) -> list[_Entry]:
    """Reads images straight from the archive: nothing is unpacked to disk, so nothing can escape."""
    entries = []
    if path.name.lower().endswith(".zip"):
        archive = zipfile.ZipFile(path)
        for info in archive.infolist():
            member = safe_member_name(info.filename)
            is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
            if is_link:
                raise DataNotFoundError(f"Refusing the archive: member '{info.filename}' is a symbolic link.")
            where = _split_member(member)
            if where and not info.is_dir() and member.suffix.lower() in IMAGE_SUFFIXES:
                read = (_oversized(info.filename, info.file_size) if info.file_size > MAX_PICTURE_BYTES
                        else lambda info=info: archive.read(info))  # zipfile never inflates past file_size
                entries.append(_Entry(*where, info.filename, read))
        return entries
    held = 0  # bytes of pictures read so far
    with tarfile.open(path) as archive:  # stream once, keep bytes: random access into .tar.gz is slow
        for info in archive:
            member = safe_member_name(info.name)
            if info.issym() or info.islnk():
                raise DataNotFoundError(f"Refusing the archive: member '{info.name}' is a link.")
            where = _split_member(member)
            if where and info.isfile() and member.suffix.lower() in IMAGE_SUFFIXES:
                if info.size > MAX_PICTURE_BYTES:
                    entries.append(_Entry(*where, info.name, _oversized(info.name, info.size)))
                    continue
                held += info.size
                if held > MAX_ARCHIVE_BYTES:
                    raise DataNotFoundError(f"Refusing the archive '{path.name}': its pictures add up to more than "
                                            f"{MAX_ARCHIVE_BYTES / 1024**3:g} GB. Unpack it and point --data at the folder.")
                data = archive.extractfile(info).read()
                entries.append(_Entry(*where, info.name, lambda data=data: data))
    return entries


def _decode_entries(entries: list[_Entry], source: str, progress: Progress) -> Dataset:
    entries = sorted(entries, key=lambda e: (e.split, e.label, PurePosixPath(e.name).name))  # same order from any source
    classes = sorted({e.label for e in entries if e.split == "train"})
    if not classes:
        raise DataNotFoundError(f"'{source}' has a train/ folder but no pictures in train/<class>/ sub-folders.")
    index = {name: i for i, name in enumerate(classes)}
    unknown = sorted({e.label for e in entries if e.label not in index})
    if unknown:
        raise DataNotFoundError(f"'{source}': test/ has classes that train/ lacks: {', '.join(unknown)}.")

    def decode(entry: _Entry) -> np.ndarray | None:
        try:
            return np.asarray(to_square_rgb(open_image(entry.read()), 32)).transpose(2, 0, 1)
        except (ImageError, OSError, zipfile.BadZipFile, zlib.error, EOFError):  # a damaged zip member too
            return None

    decoded: list[np.ndarray | None] = []
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:  # PIL releases the GIL while decoding
        for i, array in enumerate(pool.map(decode, entries, chunksize=256)):
            decoded.append(array)
            if i % 2000 == 0:
                progress(i / len(entries), f"decoding pictures {i:,}/{len(entries):,}")

    splits = {}
    for split in SPLITS:
        keep = [(a, index[e.label]) for e, a in zip(entries, decoded) if e.split == split and a is not None]
        images = torch.from_numpy(np.stack([a for a, _ in keep])) if keep else torch.zeros(0, 3, 32, 32, dtype=torch.uint8)
        splits[split] = ImageSet(images, torch.tensor([label for _, label in keep], dtype=torch.int64))
    if len(splits["train"]) == 0 or len(splits["test"]) == 0:
        raise DataNotFoundError(f"'{source}' needs readable pictures in both train/<class>/ and test/<class>/.")
    skipped = sum(a is None for a in decoded)
    return Dataset(splits["train"], splits["test"], classes, source, skipped)


def _decode_tree(root: Path, progress: Progress) -> Dataset:
    return _decode_entries(_entries_from_tree(root), str(root), progress)


def _decode_archive(path: Path, progress: Progress) -> Dataset:
    progress(0.0, f"reading {path.name}")
    try:
        entries = _entries_from_archive(path)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as error:
        raise DataNotFoundError(f"Could not read the archive '{path}': {error}. Is the file complete?") from None
    return _decode_entries(entries, str(path), progress)


# ---------------------------------------------------------------- the decoded-tensor cache


def _source_key(path: Path) -> str:
    """Changes whenever a file of the source is added, removed or rewritten; the same for any spelling of the path."""
    path = path.resolve()
    digest = hashlib.sha1(f"v{CACHE_VERSION}|{path}".encode())
    files = [path] if path.is_file() else sorted(p for split in SPLITS for p in (path / split).rglob("*") if p.is_file())
    for file in files:
        stat = file.stat()
        digest.update(f"|{file}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:20]


def _cached(path: Path, decode: Callable[[], Dataset], progress: Progress) -> Dataset:
    file = cache_dir() / f"{_source_key(path)}.pt"
    if file.is_file():
        try:
            saved = torch.load(file, weights_only=True)
            return Dataset(ImageSet(saved["train_images"], saved["train_labels"]),
                           ImageSet(saved["test_images"], saved["test_labels"]),
                           list(saved["classes"]), str(path), int(saved["skipped"]))
        except Exception:  # a damaged cache is only a cache: decode again
            file.unlink(missing_ok=True)
    data = decode()
    progress(1.0, "saving decoded tensors to the cache")
    saved = {"train_images": data.train.images, "train_labels": data.train.labels,
             "test_images": data.test.images, "test_labels": data.test.labels,
             "classes": data.classes, "skipped": data.skipped}
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(f".{os.getpid()}.tmp")
        torch.save(saved, tmp)
        os.replace(tmp, file)
    except OSError:
        pass  # a read-only cache folder costs speed next time, not correctness
    return data


# ---------------------------------------------------------------- batches for training


def normalize(images: torch.Tensor, mean, std) -> torch.Tensor:
    """uint8 (N, 3, H, W) to float, scaled to zero mean and unit variance per channel, in channels_last layout."""
    scale = torch.tensor([1 / (255 * s) for s in std], device=images.device).view(1, -1, 1, 1)
    shift = torch.tensor([-m / s for m, s in zip(mean, std)], device=images.device).view(1, -1, 1, 1)
    # (x / 255 - mean) / std as one multiply-add: half the passes over the batch of three in-place steps
    return torch.addcmul(shift, images.float().contiguous(memory_format=torch.channels_last), scale)


def random_crop_flip(images: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop of a zero-padded batch plus horizontal flip, for a whole uint8 batch in one gather."""
    n, _, h, w = images.shape
    padded = torch.nn.functional.pad(images, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n, 1), generator=generator).to(images.device)
    dx = torch.randint(0, 2 * pad + 1, (n, 1), generator=generator).to(images.device)
    flip = torch.rand(n, 1, generator=generator).to(images.device) < 0.5
    rows = dy + torch.arange(h, device=images.device)
    cols = torch.arange(w, device=images.device).expand(n, w)
    cols = torch.where(flip, cols.flip(1), cols) + dx  # flipping the column order mirrors the crop
    batch = torch.arange(n, device=images.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def train_batches(data: ImageSet, batch_size: int, mean, std, generator: torch.Generator,
                  augment: bool = True, device: torch.device | str = "cpu") -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch: a fresh permutation, whole-batch augmentation on the device, no per-image Python work."""
    order = torch.randperm(len(data), generator=generator)
    for start in range(0, len(order), batch_size):
        index = order[start:start + batch_size]
        images = data.images[index].to(device, non_blocking=True)
        if augment:
            images = random_crop_flip(images, generator)
        yield normalize(images, mean, std), data.labels[index].to(device, non_blocking=True)
