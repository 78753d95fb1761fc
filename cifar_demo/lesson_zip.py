"""The lesson zip: one class's lesson as pictures in the picture-tree layout --data reads, with a manifest that
keeps the order and the held-out seed; and the checks that refuse a hostile zip before anything is written."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

from .collection import MAX_CLASSES, MAX_PER_CLASS
from .files import written_whole
from .held_out import held_out_positions
from .images import png_bytes, read_header, square_pixels
from .names import clean_name, name_key
from .picture_files import is_link, outside
from .serving import quote
from .wall import CAPACITY, NOT_LISTED
from .words import Say

MANIFEST = "lesson.json"
MAX_MEMBERS = 2 * CAPACITY + MAX_CLASSES * MAX_PER_CLASS + 1  # a lesson zip's most files: a full lesson's
MAX_PNG_BYTES = 16_384        # a 32x32 PNG is at most ~3.2 kB; a bigger member is no picture of ours
MAX_MANIFEST_BYTES = 1 << 20


def write_lesson(path: Path, started: str, seed: int, classes: dict[str, list[bytes]],
                 wall: list[tuple[int, bytes, str | None]]) -> Path:
    """classes/{train,test}/<class>/ (the held-out share in test/, split as the collection splits it), the wall's
    (id, PNG, truth) in wall/{train,test}/<truth>/ or wall/unlabelled/, and lesson.json. Written whole, renamed."""
    held = held_out_positions({name: len(pictures) for name, pictures in classes.items()}, seed)
    manifest = {"format": "cifar-demo lesson", "version": 1, "started": started, "seed": seed, "classes": [],
                "wall": []}
    with written_whole(path) as file, zipfile.ZipFile(file, "w", zipfile.ZIP_STORED) as archive:
        for name, pictures in classes.items():
            files = [f"classes/{'test' if n in held[name] else 'train'}/{name}/{n + 1:04d}.png"
                     for n in range(len(pictures))]
            for where, png in zip(files, pictures):
                archive.writestr(where, png)
            manifest["classes"].append({"name": name, "pictures": files})
        for entry, png, truth in wall:
            splits = ("test", "train") if truth not in (None, NOT_LISTED) else ()
            files = [f"wall/{split}/{truth}/{entry:04d}.png" for split in splits] or [
                f"wall/unlabelled/{entry:04d}.png"]
            for where in files:
                archive.writestr(where, png)
            manifest["wall"].append({"file": files[0], "truth": truth})
        archive.writestr(MANIFEST, json.dumps(manifest, indent=1))
    return path


def read_lesson(path: Path) -> tuple[int, list[tuple[str, list[bytes]]], list[tuple[bytes, str | None]]]:
    """(seed, classes, wall) from a lesson zip; a ValueError (or zipfile's, or an OSError) says what is wrong."""
    with zipfile.ZipFile(path) as archive:
        return _read(archive)


def _expect(condition: object, why: Say | str) -> None:
    if not condition:
        raise ValueError(why)


def _read(archive: zipfile.ZipFile) -> tuple[int, list[tuple[str, list[bytes]]], list[tuple[bytes, str]]]:
    """(seed, classes, wall) from a lesson zip, every picture re-encoded from its checked pixels; a ValueError
    names the first thing wrong. Nothing is unpacked to disk."""
    members = archive.infolist()
    _expect(len(members) <= MAX_MEMBERS,
            Say("lesson_zip.members", count=f"{len(members):,}", most=f"{MAX_MEMBERS:,}"))
    names: dict[str, zipfile.ZipInfo] = {}
    for info in members:
        _expect(not outside(info.filename), Say("lesson_zip.outside", name=quote(info.filename)))
        _expect(not is_link(info), Say("lesson_zip.link", name=quote(info.filename)))
        _expect(info.filename not in names, Say("lesson_zip.twice", name=quote(info.filename)))
        names[info.filename] = info
    manifest = names.get(MANIFEST)
    _expect(manifest and manifest.file_size <= MAX_MANIFEST_BYTES, Say("lesson_zip.no_manifest", manifest=MANIFEST))
    try:
        lesson = json.loads(archive.read(manifest))
    except RecursionError:  # nesting deeper than Python's stack: no manifest of ours
        raise ValueError(Say("lesson_zip.not_manifest", manifest=MANIFEST)) from None
    _expect(isinstance(lesson, dict) and isinstance(lesson.get("seed"), int) and isinstance(lesson.get("classes"),
            list) and isinstance(lesson.get("wall"), list), Say("lesson_zip.not_manifest", manifest=MANIFEST))

    def picture(file: object) -> bytes:
        info = names.get(file) if isinstance(file, str) else None
        _expect(info and info.file_size <= MAX_PNG_BYTES, Say("lesson_zip.picture_missing", name=quote(file)))
        try:  # the size is read from the header before anything decodes: a picture bomb costs nothing
            image = read_header(archive.read(info))
            _expect(image.format == "PNG" and image.size == (32, 32), "")
            return png_bytes(square_pixels(image))
        except (OSError, ValueError):  # ImageError, a failed _expect or a broken stream
            raise ValueError(Say("lesson_zip.not_png", name=quote(file))) from None

    _expect(len(lesson["classes"]) <= MAX_CLASSES,
            Say("lesson_zip.classes", count=len(lesson["classes"]), most=MAX_CLASSES))
    _expect(len(lesson["wall"]) <= CAPACITY, Say("lesson_zip.wall", count=len(lesson["wall"]), most=CAPACITY))
    classes, keys = [], set()
    for group in lesson["classes"]:
        _expect(isinstance(group, dict) and isinstance(group.get("pictures"), list),
                Say("lesson_zip.broken", manifest=MANIFEST))
        name = group.get("name")
        _expect(clean_name(name) == name, Say("lesson_zip.name", name=quote(name)))
        _expect(name_key(name) not in keys, Say("lesson_zip.class_twice", name=quote(name)))
        _expect(len(group["pictures"]) <= MAX_PER_CLASS,
                Say("lesson_zip.class_pictures", name=name, most=MAX_PER_CLASS))
        keys.add(name_key(name))
        classes.append((name, [picture(file) for file in group["pictures"]]))
    wall = []
    for entry in lesson["wall"]:
        _expect(isinstance(entry, dict), Say("lesson_zip.broken", manifest=MANIFEST))
        truth = entry.get("truth")
        _expect(truth is None or clean_name(truth) == truth, Say("lesson_zip.truth", truth=quote(truth)))
        wall.append((picture(entry.get("file")), truth))
    return lesson["seed"], classes, wall
