import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from cifar_demo.data import (DataNotFoundError, ImageSet, cache_dir, load_dataset, normalize, random_crop_flip,
                             train_batches)
from conftest import TINY_CLASSES, make_picture_tree


def test_picture_tree_loads_as_uint8_tensors(tiny_data):
    assert tiny_data.classes == sorted(TINY_CLASSES)
    assert tiny_data.train.images.shape == (3 * 40, 3, 32, 32)
    assert tiny_data.test.images.shape == (3 * 12, 3, 32, 32)
    assert tiny_data.train.images.dtype == torch.uint8
    assert torch.bincount(tiny_data.train.labels).tolist() == [40, 40, 40]
    assert len(tiny_data.mean) == 3 and all(s > 0 for s in tiny_data.std)


def test_archives_give_the_same_tensors_as_the_folder(tiny_tree, tiny_archive, tiny_data, tmp_path):
    from_tar = load_dataset(tiny_archive, download=False)
    zipped = tmp_path / "pictures.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        for file in tiny_tree.rglob("*.png"):
            archive.write(file, f"top/{file.relative_to(tiny_tree)}")
    from_zip = load_dataset(zipped, download=False)
    for loaded in (from_tar, from_zip):
        assert loaded.classes == tiny_data.classes
        assert torch.equal(loaded.train.images, tiny_data.train.images)
        assert torch.equal(loaded.test.labels, tiny_data.test.labels)


def test_torchvision_cifar_batches_folder(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, n in [(f"data_batch_{i}", 5) for i in range(1, 6)] + [("test_batch", 7)]:
        rows = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        with open(folder / name, "wb") as f:
            pickle.dump({"data": rows, "labels": [int(label) for label in rng.integers(0, 10, n)]}, f, protocol=2)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, f, protocol=2)
    data = load_dataset(tmp_path, download=False)  # the parent folder, as torchvision's root
    assert len(data.train) == 25 and len(data.test) == 7
    assert data.classes[3] == "c3"
    with open(folder / "test_batch", "rb") as f:
        first = pickle.load(f)["data"][0]
    assert torch.equal(data.test.images[0], torch.from_numpy(first.reshape(3, 32, 32)))


def test_cache_is_used_and_refreshed_when_the_source_changes(tmp_path):
    tree = make_picture_tree(tmp_path / "pics", per_class=(4, 2), seed=1)
    before = set(cache_dir().glob("*.pt"))
    first = load_dataset(tree, download=False)
    written = set(cache_dir().glob("*.pt")) - before
    assert len(written) == 1
    cache_file = written.pop()
    # Prove the second load reads the cache: alter the cached tensors and see them come back.
    saved = torch.load(cache_file, weights_only=True)
    saved["train_images"][0].fill_(7)
    torch.save(saved, cache_file)
    assert (load_dataset(tree, download=False).train.images[0] == 7).all()
    # Adding a picture changes the key, so the folder is decoded again.
    shutil.copy(tree / "train" / "circle" / "000.png", tree / "train" / "circle" / "extra.png")
    again = load_dataset(tree, download=False)
    assert len(again.train) == len(first.train) + 1
    assert not (again.train.images[0] == 7).all()


def test_every_spelling_of_the_source_path_shares_one_cache_file(tiny_archive, monkeypatch):
    load_dataset(tiny_archive, download=False)
    before = set(cache_dir().glob("*.pt"))
    monkeypatch.chdir(tiny_archive.parent)
    load_dataset(Path(tiny_archive.name), download=False)
    load_dataset(Path("..") / tiny_archive.parent.name / tiny_archive.name, download=False)
    assert set(cache_dir().glob("*.pt")) == before


def test_damaged_cache_file_is_decoded_again(tmp_path):
    tree = make_picture_tree(tmp_path / "pics", per_class=(3, 2), seed=2)
    before = set(cache_dir().glob("*.pt"))
    expected = load_dataset(tree, download=False)
    (cache_file,) = set(cache_dir().glob("*.pt")) - before
    cache_file.write_bytes(b"not a tensor file")
    assert torch.equal(load_dataset(tree, download=False).train.images, expected.train.images)


def test_unreadable_pictures_are_skipped_and_counted(tmp_path):
    tree = make_picture_tree(tmp_path / "pics", per_class=(3, 2), seed=3)
    (tree / "train" / "square" / "broken.png").write_bytes(b"\x89PNG not really")
    data = load_dataset(tree, download=False)
    assert data.skipped == 1
    assert len(data.train) == 9


def test_missing_data_gives_one_paragraph_naming_the_path_and_the_fixes(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DataNotFoundError) as caught:
        load_dataset(missing, download=False)
    message = str(caught.value)
    assert str(missing) in message and "\n" not in message
    assert "--data" in message and "CIFAR_DEMO_DATA" in message and "train/<class>/" in message


def test_environment_variable_names_the_default_source(tiny_tree, monkeypatch):
    monkeypatch.setenv("CIFAR_DEMO_DATA", str(tiny_tree))
    assert load_dataset(download=False).classes == sorted(TINY_CLASSES)


def test_test_classes_must_exist_in_train(tmp_path):
    tree = make_picture_tree(tmp_path / "pics", per_class=(2, 2), seed=4)
    shutil.copytree(tree / "test" / "circle", tree / "test" / "unicorn")
    with pytest.raises(DataNotFoundError, match="unicorn"):
        load_dataset(tree, download=False)


def test_each_epoch_is_a_fresh_permutation_of_every_picture():
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 3, 32, 32).contiguous()
    data = ImageSet(images, torch.arange(10))
    generator = torch.Generator().manual_seed(0)
    epochs = [torch.cat([y for _, y in train_batches(data, 4, (0, 0, 0), (1, 1, 1), generator, augment=False)])
              for _ in range(2)]
    assert sorted(epochs[0].tolist()) == list(range(10)) == sorted(epochs[1].tolist())
    assert epochs[0].tolist() != epochs[1].tolist()
    x, y = next(train_batches(data, 4, (0, 0, 0), (1, 1, 1), generator, augment=False))
    assert torch.allclose(x[:, 0, 0, 0] * 255, y.float())  # pixels follow their labels, scaled to [0, 1]


def test_crop_and_flip_move_whole_pictures():
    """Every augmented picture is a 32x32 window of the zero-padded original, mirrored or not."""
    n = 24
    images = torch.randint(1, 255, (n, 3, 32, 32), dtype=torch.uint8)
    out = random_crop_flip(images, torch.Generator().manual_seed(1))
    padded = torch.nn.functional.pad(images, (4, 4, 4, 4))
    shifted = flipped = 0
    for i in range(n):
        matches = [(dy, dx, flip) for dy in range(9) for dx in range(9) for flip in (False, True)
                   if torch.equal(out[i], (padded[i].flip(2) if flip else padded[i])[:, dy:dy + 32, dx:dx + 32])]
        assert matches, f"picture {i} is not a crop of its padded original"
        shifted += any((dy, dx) != (4, 4) for dy, dx, _ in matches)
        flipped += all(flip for _, _, flip in matches)
    assert shifted > n // 2 and 0 < flipped < n


def test_given_flips_mirror_exactly_those_pictures_whatever_the_order():
    images = torch.randint(1, 255, (16, 3, 32, 32), dtype=torch.uint8)
    data = ImageSet(images, torch.arange(16))
    flips = torch.arange(16) % 3 == 0  # pictures 0, 3, 6, ...
    for epoch_flips in (flips, ~flips):  # alternating flip: the next epoch mirrors the others
        for x, y in train_batches(data, 5, (0, 0, 0), (1, 1, 1), torch.Generator().manual_seed(0), translate=0,
                                  flips=epoch_flips):
            for picture, label in zip((x * 255).round(), y):
                original = images[label].float()
                assert torch.equal(picture, original.flip(2) if epoch_flips[label] else original)


def test_translate_bounds_how_far_a_training_crop_moves():
    images = torch.randint(1, 255, (64, 3, 32, 32), dtype=torch.uint8)
    data = ImageSet(images, torch.arange(64))
    for translate in (0, 2):
        x, y = next(train_batches(data, 64, (0, 0, 0), (1, 1, 1), torch.Generator().manual_seed(0), translate=translate))
        padded = torch.nn.functional.pad(images[y], (translate,) * 4).float()
        reach = range(2 * translate + 1)
        for picture, original in zip(x * 255, padded):
            windows = [(original.flip(2) if flip else original)[:, dy:dy + 32, dx:dx + 32]
                      for dy in reach for dx in reach for flip in (False, True)]
            assert any(torch.allclose(picture, w, atol=1e-3) for w in windows)


def test_normalize_uses_the_given_statistics():
    images = torch.full((2, 3, 4, 4), 255, dtype=torch.uint8)
    out = normalize(images, (0.5, 0.5, 0.5), (0.25, 0.5, 1.0))
    assert torch.allclose(out[0, :, 0, 0], torch.tensor([2.0, 1.0, 0.5]))


def test_a_failed_download_is_told_in_words_not_errno():
    import errno
    import socket
    import urllib.error

    from cifar_demo.data import download_failure

    offline = urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))
    assert str(download_failure(offline)) == "no internet connection: the download server could not be reached"
    assert str(download_failure(OSError(errno.ENOSPC, "No space left on device"))) == "the disk is full"
    refused = urllib.error.HTTPError("https://x", 403, "Forbidden", {}, None)
    assert download_failure(refused).startswith("HTTPError: HTTP Error 403")
