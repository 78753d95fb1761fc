"""Data archives from strangers: members that would land outside their folder, links and damage are refused."""
from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

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
    assert name in str(refused.value)
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


def test_a_tar_whose_pictures_add_up_past_the_memory_limit_is_refused(small_tree, tmp_path, monkeypatch):
    from cifar_demo import data

    members = tree_members(small_tree)
    monkeypatch.setattr(data, "MAX_ARCHIVE_BYTES", sum(len(d) for _, d in members) - 1)  # one byte short
    with pytest.raises(DataNotFoundError, match="add up to more than"):
        load_dataset(write_tar(tmp_path / "big.tar.gz", members), download=False)
