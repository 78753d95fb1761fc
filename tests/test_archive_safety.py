"""Data archives from strangers: members that would land outside their folder, links and damage are refused."""
from __future__ import annotations

import gzip
import io
import re
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cifar_demo import names
from cifar_demo.data import DataNotFoundError, cache_dir, load_dataset
from conftest import make_picture_tree


@pytest.fixture(scope="module")
def small_tree(tmp_path_factory) -> Path:
    return make_picture_tree(tmp_path_factory.mktemp("small") / "pictures", per_class=(2, 1), seed=5)


def files_under(*folders: Path) -> set[Path]:
    return {p for folder in folders if folder.exists() for p in folder.rglob("*")}


def tree_members(tree: Path) -> list[tuple[str, bytes]]:
    return [(f"pictures/{file.relative_to(tree)}", file.read_bytes()) for file in sorted(tree.rglob("*.png"))]


def write_tar(path: Path, members: list[tuple[str, bytes]], links: list[tuple[str, str, bytes]] = ()) -> Path:
    """`links` are (name, target, type) with type tarfile.SYMTYPE or tarfile.LNKTYPE."""
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target, kind in links:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, target
            archive.addfile(info)
    return path


def write_zip(path: Path, members: list[tuple[str, bytes]], symlinks: list[tuple[str, str]] = ()) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(zipfile.ZipInfo(name), data)  # ZipInfo keeps the name exactly as given
        for name, target in symlinks:
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16  # a Unix symbolic link, as `zip --symlinks` stores it
            archive.writestr(info, target)
    return path


def test_clean_archives_of_the_same_tree_load(small_tree, tmp_path):
    """The control: the archives below differ from these only by their one bad member."""
    members = tree_members(small_tree)
    for archive in (write_tar(tmp_path / "clean.tar.gz", members), write_zip(tmp_path / "clean.zip", members)):
        assert len(load_dataset(archive, download=False).train) == 6


def escaping_names(tmp_path: Path) -> dict[str, str]:
    return {"parent": "../../x.png", "inside-then-up": "pictures/train/circle/../../../../x.png",
            "absolute": str(tmp_path / "absolute.png"), "backslashes": "..\\..\\x.png", "drive": "C:/x.png"}


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
@pytest.mark.parametrize("case", list(escaping_names(Path("/"))))
def test_members_that_would_land_outside_are_refused_and_nothing_is_written(small_tree, tmp_path, kind, case):
    name = escaping_names(tmp_path)[case]
    folder = tmp_path / "deep" / "er"
    folder.mkdir(parents=True)
    members = tree_members(small_tree) + [(name, tree_members(small_tree)[0][1])]
    writer = write_tar if kind == "tar.gz" else write_zip
    archive = writer(folder / f"evil.{kind}", members)
    before = files_under(tmp_path, cache_dir())
    with pytest.raises(DataNotFoundError, match="outside its folder") as refused:
        load_dataset(archive, download=False)
    assert names.shown(name) in str(refused.value)  # the name as a refusal quotes it (a long path is cut short)
    assert files_under(tmp_path, cache_dir()) == before


@pytest.mark.parametrize("link", ["symlink-out", "symlink-in", "hardlink"])
def test_links_in_a_tar_are_refused(small_tree, tmp_path, link):
    target, kind = {"symlink-out": ("/etc/passwd", tarfile.SYMTYPE),
                    "symlink-in": ("000.png", tarfile.SYMTYPE),
                    "hardlink": ("../../../outside.png", tarfile.LNKTYPE)}[link]
    archive = write_tar(tmp_path / "links.tar.gz", tree_members(small_tree),
                        [("pictures/train/circle/link.png", target, kind)])
    before = files_under(tmp_path, cache_dir())
    with pytest.raises(DataNotFoundError, match="pictures/train/circle/link.png' is a link"):
        load_dataset(archive, download=False)
    assert files_under(tmp_path, cache_dir()) == before


def test_symlinks_in_a_zip_are_refused(small_tree, tmp_path):
    link = ("pictures/train/circle/link.png", "/etc/passwd")
    archive = write_zip(tmp_path / "links.zip", tree_members(small_tree), [link])
    before = files_under(tmp_path, cache_dir())
    with pytest.raises(DataNotFoundError, match="symbolic link"):
        load_dataset(archive, download=False)
    assert files_under(tmp_path, cache_dir()) == before


def damaged(good: bytes, how: str) -> bytes:
    if how == "truncated":
        return good[: len(good) // 2]
    if how == "random":
        return np.random.default_rng(2).bytes(len(good))
    if how == "empty":
        return b""
    middle = len(good) // 2  # "scrambled": the header is fine, the compressed data is not
    return good[:middle] + bytes(b ^ 0x5A for b in good[middle:middle + 64]) + good[middle + 64:]


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
@pytest.mark.parametrize("how", ["truncated", "random", "empty", "scrambled"])
def test_damaged_archives_give_a_clear_message(small_tree, tmp_path, kind, how):
    writer = write_tar if kind == "tar.gz" else write_zip
    good = writer(tmp_path / f"good.{kind}", tree_members(small_tree)).read_bytes()
    archive = tmp_path / f"damaged.{kind}"
    archive.write_bytes(damaged(good, how))
    try:
        data = load_dataset(archive, download=False)
    except DataNotFoundError as error:
        assert str(archive) in str(error)
    else:  # damage inside the compressed pictures only spoils those pictures: they are skipped and counted
        assert how == "scrambled" and data.skipped >= 1


def test_a_member_that_inflates_past_the_picture_limit_is_skipped_unread(small_tree, tmp_path):
    from cifar_demo.data import MAX_PICTURE_BYTES

    members = tree_members(small_tree)
    bomb_name, bomb = "pictures/train/circle/bomb.png", bytes(MAX_PICTURE_BYTES + 1)  # zeros: a few KB compressed
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members + [(bomb_name, bomb)]:
            archive.writestr(name, data)
    tar = write_tar(tmp_path / "bomb.tar.gz", members + [(bomb_name, bomb)])
    for archive_path in (tmp_path / "bomb.zip", tar):
        assert archive_path.stat().st_size < MAX_PICTURE_BYTES / 100
        data = load_dataset(archive_path, download=False)
        assert len(data.train) == 6 and data.skipped == 1


# ---------------------------------------------------------------- budgets: entries, bytes, pixels, memory


def peak_growth(read) -> tuple[int, object]:
    """(bytes, result) of read(): how far this process's peak memory (RSS) rose above where it stood before."""
    status = Path("/proc/self/status")
    if not status.is_file():
        pytest.skip("peak memory is read from Linux's /proc")
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets the peak to the memory in use now
    except OSError:
        pytest.skip("this system does not let a process reset its peak memory")

    def kilobytes(field: str) -> int:
        return int(re.search(rf"{field}:\s+(\d+) kB", status.read_text()).group(1))

    before = kilobytes("VmRSS")
    try:
        result = read()
    except DataNotFoundError as error:
        result = error
    return (kilobytes("VmHWM") - before) * 1024, result


def stored_zip(path: Path, names: list[str]) -> Path:
    """A zip of empty stored entries, written byte by byte: 100,000 entries take a moment, not zipfile's seconds."""
    local, index = bytearray(), bytearray()
    for name in names:
        raw = name.encode()
        index += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, 0, 0, 0, len(raw), 0, 0, 0, 0, 0,
                             len(local)) + raw
        local += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0x21, 0, 0, 0, len(raw), 0) + raw
    count = min(len(names), 0xFFFF)
    path.write_bytes(bytes(local + index) + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(index),
                                                        len(local), 0))
    return path


def test_a_zip_of_more_entries_than_cifar_twice_over_is_refused_from_its_index(tmp_path):
    from cifar_demo.picture_files import MAX_ENTRIES

    archive = stored_zip(tmp_path / "many.zip", [f"p/train/c/{i}.png" for i in range(MAX_ENTRIES + 1)])
    assert archive.stat().st_size < 20 * 2**20
    growth, refused = peak_growth(lambda: load_dataset(archive, download=False))
    assert isinstance(refused, DataNotFoundError)
    assert str(refused) == (f"Refusing '{archive}': it holds more than {MAX_ENTRIES:,} files and folders, more than "
                            "any data set this app reads. Unpack it, keep the pictures you need and point --data at "
                            "that folder.")
    assert growth < 150 * 2**20, "counted from the index: no entry of it is ever made into an object"


def test_a_zip_whose_end_record_understates_its_entries_is_still_counted(small_tree, tmp_path, monkeypatch):
    from cifar_demo import picture_files

    archive = write_zip(tmp_path / "lying.zip", tree_members(small_tree))
    raw = bytearray(archive.read_bytes())
    end = raw.rfind(b"PK\x05\x06")
    raw[end + 8:end + 12] = struct.pack("<2H", 1, 1)  # "one entry", while the index holds nine
    archive.write_bytes(raw)
    monkeypatch.setattr(picture_files, "MAX_ENTRIES", 5)
    with pytest.raises(DataNotFoundError, match="more than 5 files and folders"):
        load_dataset(archive, download=False)


def test_a_tar_of_more_entries_than_the_budget_is_refused_as_it_streams(small_tree, tmp_path, monkeypatch):
    from cifar_demo import picture_files

    empties = [(f"pictures/train/circle/empty{i}.png", b"") for i in range(30)]
    archive = write_tar(tmp_path / "many.tar.gz", tree_members(small_tree) + empties)
    monkeypatch.setattr(picture_files, "MAX_ENTRIES", 25)
    with pytest.raises(DataNotFoundError, match="more than 25 files and folders"):
        load_dataset(archive, download=False)


def test_a_picture_folder_of_more_entries_than_the_budget_is_refused(small_tree, tmp_path, monkeypatch):
    from cifar_demo import picture_files

    monkeypatch.setattr(picture_files, "MAX_ENTRIES", 8)
    with pytest.raises(DataNotFoundError, match=f"Refusing '{small_tree}': it holds more than 8 files"):
        load_dataset(small_tree, download=False)


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_an_archive_that_unpacks_past_the_byte_budget_is_refused(small_tree, tmp_path, monkeypatch, kind):
    from cifar_demo import picture_files

    members = tree_members(small_tree)
    monkeypatch.setattr(picture_files, "MAX_ARCHIVE_BYTES", sum(len(d) for _, d in members) - 1)  # one byte short
    writer = write_tar if kind == "tar.gz" else write_zip
    with pytest.raises(DataNotFoundError, match="its contents come to more than"):
        load_dataset(writer(tmp_path / f"big.{kind}", members), download=False)


def streamed_tar(path: Path, members: list[tuple[str, bytes | int]], kind: bytes = tarfile.REGTYPE) -> Path:
    """A .tar.gz written as many gzip members, which gzip reads as one stream (as `cat a.gz b.gz` makes). A member
    given as a number of MB is that many zero bytes: one compressed MB repeated, so a big archive costs no time."""
    megabyte = gzip.compress(bytes(2**20), compresslevel=9, mtime=0)
    parts = []
    for number, (name, data) in enumerate(members):
        info = tarfile.TarInfo(name)
        info.size = data * 2**20 if isinstance(data, int) else len(data)
        info.type = kind if number == 0 else tarfile.REGTYPE  # `kind` is the first member's type
        if isinstance(data, int):
            parts += [gzip.compress(info.tobuf(tarfile.GNU_FORMAT), mtime=0)] + [megabyte] * data
        else:
            parts.append(gzip.compress(info.tobuf(tarfile.GNU_FORMAT) + data + bytes(-len(data) % 512), mtime=0))
    path.write_bytes(b"".join(parts) + gzip.compress(bytes(1024), mtime=0))  # tar's end: two empty blocks
    return path


def test_a_tar_is_read_one_member_at_a_time_never_held(small_tree, tmp_path):
    """Under 1 MB on disk; 320 MB of members named as pictures, which main held in memory all at once."""
    from cifar_demo.picture_files import MAX_BYTES_WAITING

    zeros = [(f"pictures/train/circle/zeros{i:02d}.png", 16) for i in range(20)]
    archive = streamed_tar(tmp_path / "stream.tar.gz", tree_members(small_tree) + zeros)
    assert archive.stat().st_size < 2**20
    growth, data = peak_growth(lambda: load_dataset(archive, download=False))
    assert len(data.train) == 6 and data.skipped == 20
    assert growth < MAX_BYTES_WAITING + 100 * 2**20


def test_a_tar_header_that_asks_for_a_huge_read_is_refused_before_it_is_read(small_tree, tmp_path):
    """A GNU 'long name' header of 300 MB: tarfile itself would read it whole into memory."""
    archive = streamed_tar(tmp_path / "longname.tar.gz", [("././@LongLink", 300)] + tree_members(small_tree),
                           kind=tarfile.GNUTYPE_LONGNAME)
    assert archive.stat().st_size < 2 * 2**20
    growth, refused = peak_growth(lambda: load_dataset(archive, download=False))
    assert isinstance(refused, DataNotFoundError)
    assert f"Refusing '{archive}': a header or member asks for {300 * 2**20:,} bytes at once" in str(refused)
    assert growth < 100 * 2**20


def huge_png(side: int) -> bytes:
    """A grey side x side PNG, all one shade: a few tens of KB that decode to side * side pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = zlib.compress(bytes(side + 1) * side, 9)  # each row: filter byte 0, then the pixels
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">2I5B", side, side, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


def test_a_small_zip_of_huge_pictures_stops_at_the_pixel_budget(small_tree, tmp_path):
    """Seventeen copies of a 16-megapixel PNG (the largest decoded whole): a small zip, 272 M pixels to decode; main
    spent 14 s and 400 MB on such."""
    from cifar_demo.images import MAX_WHOLE_DECODE_PIXELS
    from cifar_demo.picture_files import MAX_DECODED_PIXELS

    side = int(MAX_WHOLE_DECODE_PIXELS ** 0.5)
    png = huge_png(side)
    copies = MAX_DECODED_PIXELS // (side * side) + 1
    members = tree_members(small_tree) + [(f"pictures/train/square/big{i}.png", png) for i in range(copies)]
    archive = write_zip(tmp_path / "huge.zip", members)
    assert archive.stat().st_size < 2**20
    growth, refused = peak_growth(lambda: load_dataset(archive, download=False))
    assert isinstance(refused, DataNotFoundError)
    assert str(refused).startswith(f"Refusing '{archive}': its pictures add up to more than "
                                   f"{MAX_DECODED_PIXELS / 1e6:,.0f} million pixels, more than any data set")
    assert growth < 200 * 2**20, "one huge picture decodes at a time"


def test_a_class_of_a_few_hundred_phone_photos_fits_every_budget(tmp_path):
    """What the budgets must let through: 300 photos of 12 megapixels, as JPEGs of 5 MB."""
    from cifar_demo.images import read_header
    from cifar_demo.picture_files import MAX_ARCHIVE_BYTES, MAX_DECODED_PIXELS, MAX_ENTRIES

    gradient = np.linspace(0, 255, 4000, dtype=np.uint8)[None, :, None].repeat(3000, axis=0).repeat(3, axis=2)
    photo = io.BytesIO()
    Image.fromarray(gradient).save(photo, "JPEG", quality=90)
    width, height = read_header(photo.getvalue()).size  # as a JPEG decodes: at an eighth of its size
    assert 300 * width * height < MAX_DECODED_PIXELS / 4
    assert 300 * 5 * 2**20 < MAX_ARCHIVE_BYTES and 300 < MAX_ENTRIES
    tree = tmp_path / "photos"
    for split, count in (("train", 3), ("test", 1)):
        for name in ("mug", "pen"):
            (tree / split / name).mkdir(parents=True)
            for i in range(count):
                (tree / split / name / f"IMG_{i:04d}.jpg").write_bytes(photo.getvalue())
    assert len(load_dataset(tree, download=False).train) == 6
