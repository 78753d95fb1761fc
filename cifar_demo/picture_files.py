"""The pictures of a picture tree or an archive (.zip, .tar.gz), listed and read within budgets: a small crafted
archive cannot make reading it cost more than the largest real data set does, nor land a file outside its folder."""
from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import os
import stat
import struct
import tarfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable, Iterator

from . import names
from .images import MAX_PIXELS, MAX_UPLOAD_BYTES, ImageError, read_upload
from .words import Clause, Say

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp", ".gif"}
SPLITS = ("train", "test")
MAX_PICTURE_BYTES = MAX_UPLOAD_BYTES  # archive members bigger than an upload are skipped unread: zip bombs stay shut
CIFAR10_PICTURES = 60_000  # the largest real data set this app reads: each budget below is sized from it
# Files and folders listed: CIFAR-10's archive holds 60,022; twice that leaves room for the '._' twin a Mac's zip adds.
MAX_ENTRIES = 2 * CIFAR10_PICTURES
# Pixels decoded in all: four times CIFAR-10's 61 M. A phone's JPEG decodes at 1/8 scale (about 0.2 M pixels), so a
# class's few hundred photos take a fifth of it; a zip of a few big PNGs repeated stops after about four seconds.
MAX_DECODED_PIXELS = 4 * CIFAR10_PICTURES * 32 * 32
# Bytes unpacked from an archive, skipped members included: CIFAR-10's tar is 93 MB and a class's few hundred phone
# photos about 1 GB; unpacking 2 GB takes seconds, not minutes.
MAX_ARCHIVE_BYTES = 2 * 1024**3
# A zip's index (central directory), which zipfile reads whole: 512 bytes an entry is room for a 400-character name.
MAX_INDEX_BYTES = 512 * MAX_ENTRIES
# Pixels being decoded at one moment by all threads: one picture at the size limit, never several side by side.
MAX_PIXELS_AT_ONCE = MAX_PIXELS
# Bytes of pictures read but not yet decoded: the reader of a tar waits for the decoders past this.
MAX_BYTES_WAITING = 64 * 1024**2


class DataNotFoundError(Exception):
    """No usable data set: the message is one paragraph a person can act on."""


@dataclass
class Member:
    """One picture file of a tree or archive, not yet read."""
    split: str
    label: str  # the class, as the name rule stores it
    name: str  # the file's path in the tree or archive
    read: Callable[[], bytes]
    size: int  # bytes read() returns, at most
    done: float  # the share of the source listed once this member is reached, for progress


class Budget:
    """What reading one data set may cost: entries, unpacked bytes and decoded pixels in all, and pixels at once."""

    def __init__(self, source: str | os.PathLike):
        self.source = str(source)
        self.entries = self.bytes = self.pixels = 0
        self._decoding = 0  # pixels being decoded now
        self._room = threading.Condition()

    def refusal(self, what: Say) -> DataNotFoundError:
        return DataNotFoundError(Say("files.too_big", source=self.source, what=what))

    def entry(self) -> None:
        """One more file or folder listed."""
        self.entries += 1
        if self.entries > MAX_ENTRIES:
            raise self.refusal(Say("files.entries", most=f"{MAX_ENTRIES:,}"))

    def unpacked(self, position: int) -> None:
        """`position` bytes of the archive unpacked so far (of a tree: its pictures' bytes listed so far)."""
        self.bytes = max(self.bytes, position)
        if self.bytes > MAX_ARCHIVE_BYTES:
            raise self.refusal(Say("files.bytes", most=f"{MAX_ARCHIVE_BYTES / 1024**3:g}"))

    @contextlib.contextmanager
    def decoding(self, pixels: int) -> Iterator[None]:
        """Room to decode one picture of `pixels`: counted against the total, and waiting while others decode."""
        with self._room:
            self.pixels += pixels
            if self.pixels > MAX_DECODED_PIXELS:
                raise self.refusal(Say("files.pixels", most=f"{MAX_DECODED_PIXELS / 1e6:,.0f}"))
            self._room.wait_for(lambda: self._decoding == 0 or self._decoding + pixels <= MAX_PIXELS_AT_ONCE)
            self._decoding += pixels
        try:
            yield
        finally:
            with self._room:
                self._decoding -= pixels
                self._room.notify_all()


class ClassFolders:
    """The class folders met so far, each name held to the name rule once; two folders of one split that are one
    class by the rule ('Cat' and 'cat') are refused, as they would be one folder on Windows and macOS."""

    def __init__(self, source: str | os.PathLike):
        self.source = str(source)
        self._stored: dict[tuple[str, str], str] = {}  # (split, folder name) -> the class name
        self._by_key: dict[tuple[str, str], str] = {}  # (split, name key) -> the first folder name with it

    def name(self, split: str, folder: str) -> str:
        stored = self._stored.get((split, folder))
        if stored is not None:
            return stored
        try:
            stored = names.clean_name(folder)
        except names.ClassNameError as error:
            raise DataNotFoundError(Say("files.folder", source=self.source, split=split, folder=names.shown(folder),
                                        reason=error.clause())) from None
        first = self._by_key.setdefault((split, names.name_key(stored)), folder)
        if first != folder:
            raise DataNotFoundError(Say("files.same", source=self.source, split=split,
                                        reason=Clause(names.same_names_refusal(first, folder))))
        self._stored[(split, folder)] = stored
        return stored


# ---------------------------------------------------------------- a folder of pictures


def tree_members(root: Path, budget: Budget, folders: ClassFolders) -> list[Member]:
    """root/<split>/<class>/<picture>, listed in name order; the listing stops at the entry budget."""
    found = []
    for split in SPLITS:
        for class_dir in _listed(root / split, budget):
            if not class_dir.is_dir():
                continue
            label = folders.name(split, class_dir.name)
            for file in _listed(Path(class_dir.path), budget):
                if Path(file.name).suffix.lower() in IMAGE_SUFFIXES and file.is_file():
                    path, size = Path(file.path), file.stat().st_size
                    found.append((split, label, path, size))
    listed = []
    for number, (split, label, path, size) in enumerate(found, 1):
        size = min(size, MAX_PICTURE_BYTES)  # a bigger file is refused unread
        budget.unpacked(budget.bytes + size)
        listed.append(Member(split, label, str(path), lambda path=path: read_upload(path, MAX_PICTURE_BYTES),
                             size, number / len(found)))
    return listed


def _listed(folder: Path, budget: Budget) -> list[os.DirEntry]:
    """A folder's entries in name order, each counted against the budget as it is read from the disk."""
    entries = []
    with os.scandir(folder) as scan:
        for entry in scan:
            budget.entry()
            entries.append(entry)
    return sorted(entries, key=lambda entry: entry.name)


def tree_files(root: Path) -> list[Path]:
    """The picture files tree_members reads, for a cache key that changes when any of them does."""
    return [Path(member.name) for member in tree_members(root, Budget(root), ClassFolders(root))]


# ---------------------------------------------------------------- archive members


def safe_member_name(name: str) -> PurePosixPath:
    """An archive member's path, refused when it could land outside the folder it unpacks to."""
    if outside(name):
        raise DataNotFoundError(Say("files.outside", name=names.shown(name)))
    return PurePosixPath(name.replace("\\", "/"))


def outside(name: str) -> bool:
    """An archive member's name that could land outside the folder it unpacks to: absolute, '..', or a drive."""
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or bool(path.parts and ":" in path.parts[0])


def is_link(info: zipfile.ZipInfo) -> bool:
    """A zip member that is a symbolic link, by the Unix file type its attributes carry."""
    return stat.S_ISLNK(info.external_attr >> 16)


def _split_member(path: PurePosixPath) -> tuple[str, str] | None:
    """(split, class folder) for '<prefix>/train/<class>/<file>'; None for anything else."""
    parts = path.parts
    for i, part in enumerate(parts[:-2]):
        if part in SPLITS and len(parts) - i == 3:
            return part, parts[i + 1]
    return None


def _oversized(name: str, size: int) -> Callable[[], bytes]:
    """The reader of a member too big to be a picture: it fails, so the member is counted as skipped."""
    def read() -> bytes:
        raise ImageError(Say("images.member_too_big", name=name, size=f"{size:,}", most=f"{MAX_PICTURE_BYTES:,}"))
    return read


def archive_members(path: Path, budget: Budget, folders: ClassFolders) -> Iterator[Member]:
    """The pictures of a .zip (listed from its index before any is read) or a tar (read one member at a time)."""
    if path.name.lower().endswith(".zip"):
        return iter(_zip_members(path, budget, folders))
    return _tar_members(path, budget, folders)


def _picture(path: PurePosixPath, folders: ClassFolders) -> tuple[str, str] | None:
    """(split, class) of a member that is a picture of the tree's layout, its class folder held to the name rule."""
    where = _split_member(path)
    if where is None or path.suffix.lower() not in IMAGE_SUFFIXES:
        return None
    return where[0], folders.name(*where)


# ---------------------------------------------------------------- zip


_END = struct.Struct("<4s4H2LH")  # end of central directory: signature, disks, entries, index size and offset
_END64 = struct.Struct("<4sQ2H2L4Q")  # its zip64 form: entries and index size and offset as 8-byte numbers
_LOCATOR64 = struct.Struct("<4sLQL")  # lies right before the end record when the zip64 one is used
_INDEX_ENTRY = struct.Struct("<4s6H3L5H2L")  # one central directory header; name, extra, comment lengths at 10..12


def _zip_members(path: Path, budget: Budget, folders: ClassFolders) -> list[Member]:
    """Every picture of a zip, from its index: entries and unpacked bytes are counted before anything is read."""
    with open(path, "rb") as file:
        _count_index(file, budget)
    archive = zipfile.ZipFile(path)  # left open: each member is read by a decoding thread
    listed = []
    for info in archive.infolist():
        member = safe_member_name(info.filename)
        if is_link(info):
            raise DataNotFoundError(Say("files.symlink", name=names.shown(info.filename)))
        where = None if info.is_dir() else _picture(member, folders)
        if where is None:
            continue
        if info.file_size > MAX_PICTURE_BYTES:
            listed.append(Member(*where, info.filename, _oversized(info.filename, info.file_size), 0, 0))
            continue
        budget.unpacked(budget.bytes + info.file_size)
        read = lambda info=info: archive.read(info)  # noqa: E731  zipfile never inflates past file_size
        listed.append(Member(*where, info.filename, read, info.file_size, 0))
    for number, member in enumerate(listed, 1):
        member.done = number / len(listed)
    return listed


def _count_index(file: BinaryIO, budget: Budget) -> None:
    """Count a zip's entries from its central directory, found as zipfile finds it, before zipfile reads any."""
    size = file.seek(0, os.SEEK_END)
    start = max(0, size - _END.size - 0xFFFF)  # the end record, then a comment of up to 65,535 bytes
    file.seek(start)
    tail = file.read()
    bare = tail[-_END.size:-_END.size + 4] == b"PK\x05\x06" and tail[-2:] == b"\0\0"  # no comment: zipfile's 1st try
    at = len(tail) - _END.size if bare else tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _END.size:
        raise zipfile.BadZipFile("File is not a zip file")
    index_size, end = _END.unpack_from(tail, at)[5], start + at
    if at >= _LOCATOR64.size and tail[at - _LOCATOR64.size:at - _LOCATOR64.size + 4] == b"PK\x06\x07":
        end -= _LOCATOR64.size + _END64.size
        file.seek(end)
        record = file.read(_END64.size)
        if len(record) < _END64.size or record[:4] != b"PK\x06\x06":
            raise zipfile.BadZipFile("The zip64 end record is damaged")
        index_size = _END64.unpack(record)[8]
    if index_size > MAX_INDEX_BYTES:
        raise budget.refusal(Say("files.index", size=f"{index_size:,}"))
    if not 0 <= end - index_size:
        raise zipfile.BadZipFile("The central directory lies outside the file")
    file.seek(end - index_size)
    index, offset = file.read(index_size), 0
    while offset + _INDEX_ENTRY.size <= len(index) and index[offset:offset + 4] == b"PK\x01\x02":
        budget.entry()
        lengths = _INDEX_ENTRY.unpack_from(index, offset)[10:13]
        offset += _INDEX_ENTRY.size + sum(lengths)


# ---------------------------------------------------------------- tar


_UNPACKERS = {b"\x1f\x8b": gzip.open, b"BZ": bz2.open, b"\xfd7": lzma.open}  # by the file's first two bytes


class _BoundedReads:
    """A tar's unpacked bytes as tarfile reads them: no single read bigger than a picture (a crafted header can ask
    tarfile to read a 'long name' of gigabytes into memory), and no more than the budget's bytes in all."""

    def __init__(self, file: BinaryIO, budget: Budget):
        self.file, self.budget = file, budget
        self.position = file.tell()  # kept here: a compressed stream's tell() is a seek, and tarfile asks often

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > MAX_PICTURE_BYTES:
            raise self.budget.refusal(Say("files.read", size=f"{size:,}"))
        self.budget.unpacked(self.position + size)
        data = self.file.read(size)
        self.position += len(data)
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:  # a forward seek in a compressed stream unpacks all the bytes it skips
            self.budget.unpacked(offset)
        self.position = self.file.seek(offset, whence)
        return self.position

    def tell(self) -> int:
        return self.position


def _tar_members(path: Path, budget: Budget, folders: ClassFolders) -> Iterator[Member]:
    """A tar's pictures one at a time, each read just before it is handed on: the archive is never held."""
    with open(path, "rb") as raw:
        size = max(1, raw.seek(0, os.SEEK_END))
        raw.seek(0)
        unpack = _UNPACKERS.get(raw.read(2))
        raw.seek(0)
        with (unpack(raw) if unpack else contextlib.nullcontext(raw)) as unpacked, \
                tarfile.open(fileobj=_BoundedReads(unpacked, budget), mode="r:") as archive:
            while (info := archive.next()) is not None:
                archive.members.clear()  # tarfile keeps each header it reads (740 bytes): a stream needs none back
                budget.entry()
                member = safe_member_name(info.name)
                if info.issym() or info.islnk():
                    raise DataNotFoundError(Say("files.link", name=names.shown(info.name)))
                where = _picture(member, folders) if info.isfile() else None
                if where is None:
                    continue
                if info.size > MAX_PICTURE_BYTES:
                    yield Member(*where, info.name, _oversized(info.name, info.size), 0, raw.tell() / size)
                    continue
                data = archive.extractfile(info).read(info.size)  # one read, not 8 kB at a time
                yield Member(*where, info.name, lambda data=data: data, len(data), raw.tell() / size)
