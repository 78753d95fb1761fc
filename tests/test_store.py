"""The store on real files: what it keeps across a reopen, lessons and their zips, hostile zips, bad files, a full or
read-only disk, a second process, and kill -9 in the middle of writes."""
from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import zipfile
import zlib
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cifar_demo.access import THIS_MACHINE
from cifar_demo.collection import Collection
from cifar_demo.data import load_dataset
from cifar_demo.database import MEMORY, StoreError
from cifar_demo.held_out import held_out_count
from cifar_demo.store import Store, measure
from cifar_demo.wall import CAPACITY

from conftest import REPO


def pictures(count: int, seed: int = 0) -> list[torch.Tensor]:
    rng = np.random.default_rng(seed)
    return [torch.from_numpy(rng.integers(0, 256, (3, 32, 32), dtype=np.uint8)) for _ in range(count)]


@pytest.fixture
def store(tmp_path):
    opened = Store(tmp_path / "class.sqlite3")
    yield opened
    opened.close()


def reopened(store: Store) -> Store:
    store.close()
    return Store(store.path)


def fill(store: Store, per_class: int = 5) -> None:
    """A small lesson: three wall pictures (one hidden, one without a truth) and two classes."""
    wall = pictures(3, seed=1)
    first = store.add_wall_entry(wall[0], "cat", "page-1", "10.0.0.1", CAPACITY)
    store.add_wall_entry(wall[1], None, "page-1", "10.0.0.1", CAPACITY)
    store.hide(store.add_wall_entry(wall[2], "ship", "page-2", "10.0.0.2", CAPACITY))
    store.set_truth(first, "dog")
    for name, seed in (("my mug", 2), ("Ice cream", 3)):
        store.add_class(name)
        for picture in pictures(per_class, seed):
            store.add_picture(name, picture, owner="browser-a")


# ---------------------------------------------------------------- what is kept


def test_the_wall_survives_a_reopen_with_its_counts_flags_and_ids(store):
    fill(store)
    store = reopened(store)
    wall = store.wall()
    assert [(e.truth, e.hidden, e.session) for e in wall.entries] == [
        ("dog", False, "page-1"), (None, False, "page-1"), ("ship", True, "page-2")]
    assert all(torch.equal(e.picture, p) for e, p in zip(wall.entries, pictures(3, seed=1)))
    assert wall.by_session == {"page-1": 2, "page-2": 1} and wall.by_address == {"10.0.0.1": 2, "10.0.0.2": 1}
    last = wall.entries[-1].id
    store.clear_wall()
    assert store.wall().entries == [] and store.wall().by_session == {}
    assert store.add_wall_entry(pictures(1)[0], None, "p", "a", CAPACITY) > last  # a number always means one picture
    store.close()


def test_the_oldest_drop_off_past_capacity_and_are_counted(store):
    ids = [store.add_wall_entry(p, None, "s", "a", capacity=4) for p in pictures(6)]
    wall = store.wall()
    assert [e.id for e in wall.entries] == ids[2:] and wall.dropped == 2


def test_classes_keep_their_order_pictures_and_owners_and_ids_are_never_reused(store):
    fill(store)
    store.remove_picture(store.classes()["my mug"][-1].id)
    store.set_seed(7)
    store = reopened(store)
    classes = store.classes()
    assert list(classes) == ["my mug", "Ice cream"] and [len(p) for p in classes.values()] == [4, 5]
    assert all(torch.equal(a.pixels, b) for a, b in zip(classes["Ice cream"], pictures(5, 3)))
    assert {p.owner for p in classes["my mug"]} == {"browser-a"} and store.seed() == 7
    highest = max(p.id for group in classes.values() for p in group)
    store.remove_class("Ice cream")
    store.add_class("Ice cream")
    assert list(store.classes()) == ["my mug", "Ice cream"] and store.classes()["Ice cream"] == []
    assert store.add_picture("Ice cream", pictures(1)[0]) > highest
    with pytest.raises(StoreError, match="no class 'nope'"):
        store.add_picture("nope", pictures(1)[0])
    store.close()


def test_a_fine_tuned_models_held_out_pictures_outlive_changes_to_the_classes(store):
    fill(store)
    images = torch.stack(pictures(4, seed=9))
    store.record_fine_tune("runs/x.pt", ["my mug", "Ice cream"], images, torch.tensor([0, 1, 1, 0]))
    store.clear_classes()
    store = reopened(store)
    classes, kept, labels = store.fine_tune("runs/x.pt")
    assert classes == ["my mug", "Ice cream"] and torch.equal(kept, images) and labels.tolist() == [0, 1, 1, 0]
    assert store.fine_tune("runs/other.pt") is None
    store.close()


# ---------------------------------------------------------------- lessons


def test_a_new_lesson_archives_the_old_one_and_restoring_brings_it_back(store):
    fill(store)
    first = store.lessons()[0].id
    second = store.new_lesson()
    assert store.wall().entries == [] and store.classes() == {}
    listed = {lesson.id: lesson for lesson in store.lessons()}
    assert (listed[first].wall, listed[first].classes, listed[first].pictures) == (3, 2, 10)
    assert listed[first].archived and listed[second].archived is None
    store.add_class("fresh")
    store = reopened(store)
    store.restore_lesson(first)
    assert list(store.classes()) == ["my mug", "Ice cream"] and len(store.wall().entries) == 3
    assert [lesson.archived is None for lesson in store.lessons()] == [True, False]  # the second, kept in its place
    store.new_lesson()
    third = store.new_lesson()  # the empty lesson between is forgotten: nothing of it to keep
    assert [lesson.id for lesson in store.lessons()] == [first, second, third]
    for missing in (99, 0, -1, 2 ** 63, 2 ** 70):  # past SQLite's integers too (the fuzz test's find)
        with pytest.raises(StoreError, match=f"no archived lesson #{missing}"):
            store.restore_lesson(missing)
    store.close()


def test_a_lesson_zip_is_a_picture_tree_and_imports_into_another_store(store, tmp_path):
    fill(store, per_class=10)
    store.set_seed(3)
    archive = store.export_lesson(tmp_path / "lesson.zip")
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(tmp_path / "unpacked")
    data = load_dataset(tmp_path / "unpacked" / "classes", download=False)
    assert data.classes == ["Ice cream", "my mug"] and len(data.test) == 2 * held_out_count(10)
    wall = load_dataset(tmp_path / "unpacked" / "wall", download=False)
    assert wall.classes == ["dog"] and len(wall.test) == 1  # the hidden picture does not travel
    same = Collection()  # the zip holds out what the collection holds out, with the lesson's seed
    for name, group in store.classes().items():
        same.add_class(name)
        for picture in group:
            same.add_picture(name, picture.pixels.permute(1, 2, 0).numpy(), THIS_MACHINE)
    expected = {f"classes/test/{name}/{number:04d}.png" for name, number, _ in same.split(0.2, 3).test}
    assert {n for n in opened.namelist() if n.startswith("classes/test/")} == expected

    other = Store(tmp_path / "another laptop" / "class.sqlite3")  # its folder made on first use
    other.add_class("before")
    lesson = other.import_lesson(archive)
    assert other.seed() == 3 and list(other.classes()) == ["my mug", "Ice cream"]
    assert all(torch.equal(a.pixels, b.pixels) for a, b in zip(other.classes()["my mug"], store.classes()["my mug"]))
    assert [(e.truth, e.session) for e in other.wall().entries] == [("dog", ""), (None, "")]
    assert [lesson.id for lesson in other.lessons()][-1] == lesson and other.lessons()[0].classes == 1
    other.close()


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header says it is width x height: a picture bomb if anything decoded it."""
    out = io.BytesIO()
    Image.new("RGB", (32, 32)).save(out, "png")
    data = bytearray(out.getvalue())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def hostile(kind: str, good: bytes) -> list[tuple[str, bytes]]:
    members = {"classes": [{"name": "cat", "pictures": ["classes/train/cat/0001.png"]}], "wall": [], "seed": 0}
    files = [("classes/train/cat/0001.png", good)]
    if kind == "traversal":
        files.append(("../../escaped.png", good))
    elif kind == "absolute":
        files.append(("/tmp/escaped.png", good))
    elif kind == "bomb":
        files[0] = ("classes/train/cat/0001.png", png_claiming(100_000, 100_000))
    elif kind == "many":
        files += [(f"x/{n}.png", b"") for n in range(100_000)]
    elif kind in ("twice", "slash", "control", "long"):
        name = {"twice": "C a t", "slash": "a/b", "control": "bell\x07", "long": "x" * 41}[kind]
        members["classes"].append({"name": name, "pictures": []})
    manifest = b"[" * 200_000 if kind == "nested" else json.dumps(members).encode()
    return files + [("lesson.json", manifest)]


@pytest.mark.parametrize("kind, words", [
    ("traversal", "points outside"), ("absolute", "points outside"), ("link", "is a link"),
    ("bomb", "not a 32x32 PNG"), ("many", "100,002 files"), ("twice", "appears twice"), ("slash", "cannot be used"),
    ("control", "cannot be used"), ("long", "41 characters"), ("nested", "is not a lesson's"),
    ("not a zip", "is not a zip")])
def test_a_hostile_lesson_zip_is_refused_whole(store, tmp_path, kind, words):
    fill(store)
    good = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(good, "png")
    path = tmp_path / "incoming" / "lesson.zip"
    path.parent.mkdir()
    if kind == "not a zip":
        path.write_bytes(os.urandom(5000))
    else:
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in hostile(kind, good.getvalue()):
                archive.writestr(zipfile.ZipInfo(name), data)
            if kind == "link":
                link = zipfile.ZipInfo("classes/train/cat/0002.png")
                link.external_attr = 0o120777 << 16
                archive.writestr(link, "/etc/passwd")
    before, files = store.lessons(), sorted(tmp_path.rglob("*"))
    with pytest.raises(StoreError, match=words) as refusal:
        store.import_lesson(path)
    message = str(refusal.value)
    assert message.startswith("Refusing the lesson 'lesson.zip': ") and not message.endswith("..")
    assert "\n" not in message
    assert store.lessons() == before and list(store.classes()) == ["my mug", "Ice cream"]
    assert sorted(tmp_path.rglob("*")) == files and not (tmp_path.parent / "escaped.png").exists()


# ---------------------------------------------------------------- bad files and disks


def plain_sqlite(path: Path, sql: str) -> list[tuple]:
    """One statement through a plain SQLite connection, closed at once (an open one would hold the file)."""
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        return db.execute(sql).fetchall()


def sqlite_of_another_schema(path: Path) -> None:
    plain_sqlite(path, "CREATE TABLE recipes (name TEXT)")


def sqlite_from_the_future(path: Path) -> None:
    Store(path).close()
    plain_sqlite(path, "PRAGMA user_version = 99")


@pytest.mark.parametrize("spoil", [lambda path: path.write_bytes(os.urandom(20_000)), sqlite_of_another_schema,
                                   sqlite_from_the_future], ids=["random bytes", "another schema", "newer version"])
def test_a_bad_store_file_is_moved_aside_and_a_new_one_started(tmp_path, spoil):
    path = tmp_path / "class.sqlite3"
    spoil(path)
    bad = path.read_bytes()
    store = Store(path)
    assert store.moved_aside.name.startswith("class.sqlite3.bad-") and store.moved_aside.read_bytes() == bad
    store.add_class("works")
    store = reopened(store)
    assert list(store.classes()) == ["works"] and store.moved_aside is None
    store.close()


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB tmpfs of its own where it can be mounted (as root); else None, and the test caps the file."""
    folder = tmp_path / "disk"
    folder.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                                           capture_output=True).returncode:
        yield None
        return
    yield folder
    subprocess.run(["umount", "--lazy", str(folder)], check=True)  # lazy: a failed test may leave the store open


def test_a_full_disk_refuses_the_write_and_keeps_what_was_saved(small_disk, tmp_path):
    path = (small_disk or tmp_path) / "class.sqlite3"
    store = Store(path)
    if small_disk is None:
        store.query("PRAGMA max_page_count = 100")  # SQLite's own cap stands in for a full disk
    store.add_class("cat")
    saved = []
    with pytest.raises(StoreError) as refusal:
        for picture in pictures(200):
            saved.append(store.add_picture("cat", picture))
    assert "disk is full" in str(refusal.value) and "everything saved before is kept" in str(refusal.value)
    assert [p.id for p in store.classes()["cat"]] == saved and saved
    store = reopened(store)
    assert [p.id for p in store.classes()["cat"]] == saved and store.integrity() == "ok"
    store.close()


def immutable(paths: list[Path], on: bool) -> bool:
    """chattr +i: the kernel refuses every write, even through files a process already holds open, as a disk gone
    read-only does; False where it cannot (not root, or a file system without the flag)."""
    flag = "+i" if on else "-i"
    return subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True).returncode == 0


def test_a_read_only_folder_refuses_the_write_and_keeps_what_was_saved(tmp_path):
    folder = tmp_path / "store"
    folder.mkdir()
    store = Store(folder / "class.sqlite3")
    fill(store)
    frozen = [folder, *folder.iterdir()]
    if not immutable(frozen, True):
        store.close()
        pytest.skip("needs root and a file system with the immutable flag (chattr +i)")
    try:
        with pytest.raises(StoreError, match="could not save this [(]the disk or folder is read-only"):
            store.add_wall_entry(pictures(1)[0], None, "s", "a", CAPACITY)
        with pytest.raises(StoreError, match="could not save this"):
            store.add_class("more")
        assert len(store.wall().entries) == 3 and len(store.classes()["my mug"]) == 5  # the page keeps working
        with pytest.raises(StoreError, match="elsewhere.sqlite3 cannot be opened"):
            Store(folder / "elsewhere.sqlite3")
    finally:
        immutable(frozen, False)
    store.add_class("more")  # writable again: the store goes on
    store = reopened(store)
    assert len(store.wall().entries) == 3 and list(store.classes()) == ["my mug", "Ice cream", "more"]
    store.close()


# ---------------------------------------------------------------- two processes, and kill -9

WRITER = """
import sys
from cifar_demo.store import Store
import torch
store = Store(sys.argv[1])
picture = torch.zeros((3, 32, 32), dtype=torch.uint8)
while True:
    print(store.add_wall_entry(picture, "cat", "s", "a", capacity=10**9), flush=True)
"""


def test_kill_9_during_writes_loses_no_acknowledged_write_and_frees_the_store(tmp_path):
    path = tmp_path / "class.sqlite3"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        printed = [int(writer.stdout.readline()) for _ in range(200)]
        with pytest.raises(StoreError, match=f"already using the store {path}"):
            Store(path)  # a second process on the store while the first lives
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    printed += [int(line) for line in writer.stdout.read().split()]
    assert plain_sqlite(path, "PRAGMA integrity_check") == [("ok",)]
    store = Store(path)  # the dead process's lock went with it
    assert store.moved_aside is None and set(printed) <= {e.id for e in store.wall().entries}
    store.close()


def test_one_process_cannot_open_a_store_twice(store):
    with pytest.raises(StoreError, match="stop it, or give this one its own with --store PATH"):
        Store(store.path)


def test_stores_in_memory_hold_no_file_and_no_lock_and_are_each_their_own():
    first, second = Store(MEMORY), Store(MEMORY)
    first.add_class("cat")
    assert list(first.classes()) == ["cat"] and second.classes() == {} and first.notice() is None
    first.close()
    second.close()


def test_a_store_of_the_first_version_is_migrated_and_keeps_its_pictures(tmp_path):
    path = tmp_path / "class.sqlite3"
    store = Store(path)
    store.add_class("cat")
    store.add_picture("cat", pictures(1)[0], "browser-a", "10.0.0.7")
    store.close()
    for step in ("DROP TABLE challenge_entries", "DROP TABLE challenges", "ALTER TABLE pictures DROP COLUMN address",
                 "PRAGMA user_version = 1"):  # the file as the first version left it
        plain_sqlite(path, step)
    store = Store(path)
    (picture,) = store.classes()["cat"]
    assert store.moved_aside is None and (picture.owner, picture.address) == ("browser-a", "")
    assert torch.equal(picture.pixels, pictures(1)[0])
    store.close()


def test_measure_reports_a_full_lessons_size(tmp_path):
    figures = measure(tmp_path, wall=30, classes=2, per_class=20)
    assert 1000 < figures["bytes_per_wall_picture"] < 10_000 and 1000 < figures["bytes_per_class_picture"] < 10_000
    assert figures["full_lesson_bytes"] > 70 * 1000 and figures["lesson_zip_bytes"] > 70 * 1000
