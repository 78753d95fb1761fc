"""Crafted data folders and caches: a batch file never runs code, and nothing loaded is trusted unchecked."""
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from cifar_demo.data import DataNotFoundError, _source_key, cache_dir, load_dataset
from conftest import REPO, make_picture_tree

CLASSES = [f"class{i}" for i in range(10)]
BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def python2_pickle(value) -> bytes:
    """value pickled as Python 2's cPickle wrote the official files: 8-bit strings, numpy.core names, raw pixels."""
    out = bytearray(b"\x80\x02")

    def string(raw: bytes) -> None:
        out.extend((b"U" + bytes([len(raw)]) if len(raw) < 256 else b"T" + struct.pack("<i", len(raw))) + raw)

    def put(item) -> None:
        if isinstance(item, str):
            string(item.encode("latin1"))
        elif isinstance(item, int):
            out.extend(b"J" + struct.pack("<i", item))
        elif isinstance(item, list):
            out.extend(b"](")
            for element in item:
                put(element)
            out.extend(b"e")
        elif isinstance(item, dict):
            out.extend(b"}(")
            for key, element in item.items():
                put(key)
                put(element)
            out.extend(b"u")
        else:  # a uint8 matrix, as numpy 1 under Python 2 pickled it
            out.extend(b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R(K\x01")
            put(item.shape[0])
            put(item.shape[1])
            out.extend(b"\x86cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R"  # dtype('u1', 0, 1), then its state
                       b"(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89")
            string(item.tobytes())
            out.extend(b"tb")

    put(value)
    return bytes(out + b".")


def official_entry(name: str, rows: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {"batch_label": f"{name} of 5", "labels": [int(x) for x in rng.integers(0, 10, rows)],
            "data": rng.integers(0, 256, (rows, 3072), dtype=np.uint8),
            "filenames": [f"picture_{seed}_{i}.png" for i in range(rows)]}


def write_folder(root: Path, dump=python2_pickle) -> tuple[Path, dict]:
    """A cifar-10-batches-py folder of tiny batches; returns it and the entries written."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    entries = {name: official_entry(name, 3 + i, i) for i, name in enumerate(BATCHES)}
    for name, entry in entries.items():
        (folder / name).write_bytes(dump(entry))
    (folder / "batches.meta").write_bytes(dump({"num_cases_per_batch": 10000, "label_names": CLASSES,
                                                "num_vis": 3072}))
    return folder, entries


def assert_loads_as_written(root: Path, entries: dict) -> None:
    data = load_dataset(root, download=False)
    assert data.classes == CLASSES
    train = [entries[name] for name in BATCHES[:-1]]
    assert torch.equal(data.train.images, torch.from_numpy(np.concatenate([e["data"] for e in train]))
                       .view(-1, 3, 32, 32))
    assert data.train.labels.tolist() == [label for e in train for label in e["labels"]]
    assert data.test.labels.tolist() == entries["test_batch"]["labels"]
    assert data.train.images.dtype == torch.uint8 and data.train.labels.dtype == torch.int64


def test_the_official_python2_batch_files_still_load(tmp_path):
    assert_loads_as_written(tmp_path, write_folder(tmp_path)[1])


def test_python3_protocol_2_batches_with_bytes_keys_load(tmp_path):
    """What pickle.dump(protocol=2) writes today: numpy._core names and bytes spelled through _codecs.encode."""
    def dump(entry: dict) -> bytes:
        return pickle.dumps({(k.encode() if k == "data" else k): v for k, v in entry.items()}, protocol=2)

    assert_loads_as_written(tmp_path, write_folder(tmp_path, dump)[1])


class Payload:
    """Unpickling this calls function(*args): what a crafted batch uses to run a command."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def payloads(marker: Path) -> dict:
    return {
        "os.system": Payload(os.system, f"touch '{marker}'"),
        "builtins.exec": Payload(exec, f"open({str(marker)!r}, 'w').close()"),
        "builtins.eval": Payload(eval, f"open({str(marker)!r}, 'w').close()"),
        "subprocess.call": Payload(subprocess.call, ["touch", str(marker)]),
    }


# how each payload's function is named in the file: protocols 0-2 use the Python 2 module names
SPELLINGS = {"os.system": ["posix.system"],
             "builtins.exec": ["builtins.exec", "__builtin__.exec"],
             "builtins.eval": ["builtins.eval", "__builtin__.eval"],
             "subprocess.call": ["subprocess.call", "commands.call"]}


@pytest.mark.parametrize("name", list(SPELLINGS))
@pytest.mark.parametrize("where", ["data", "labels", "meta"])
@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_a_crafted_batch_runs_nothing_and_is_refused_by_name(tmp_path, name, where, protocol):
    folder, entries = write_folder(tmp_path)
    marker = tmp_path / "marker"
    payload = payloads(marker)[name]
    target = folder / ("batches.meta" if where == "meta" else "test_batch")
    entry = ({"label_names": [payload]} if where == "meta"
             else {**entries["test_batch"], where: payload if where == "data" else [0, payload]})
    target.write_bytes(pickle.dumps(entry, protocol=protocol))
    with pytest.raises(DataNotFoundError) as caught:
        load_dataset(tmp_path, download=False)
    message = str(caught.value)
    assert not marker.exists()
    assert str(target) in message and "nothing in it was run" in message and "\n" not in message
    assert any(f"'{spelling}'" in message for spelling in SPELLINGS[name])


def test_a_refused_name_is_quoted_short_and_on_one_line(tmp_path):
    folder, _ = write_folder(tmp_path)
    name = "evil\n" + "x" * 500
    # protocol 4: STACK_GLOBAL of 'os' and the long name, which a text GLOBAL could not hold
    (folder / "test_batch").write_bytes(b"\x80\x04\x8c\x02osX" + struct.pack("<I", len(name)) + name.encode()
                                        + b"\x93.")
    with pytest.raises(DataNotFoundError) as caught:
        load_dataset(tmp_path, download=False)
    message = str(caught.value)
    assert "\n" not in message and "x" * 100 not in message and "'os.evil?xxx" in message


def unsafe_numpy(marker: Path) -> dict:
    """Pickles of admitted numpy names that would hold objects or allocate from a shape, with the reason to give."""
    return {
        "object array": (pickle.dumps({"data": np.array([Payload(os.system, f"touch '{marker}'")], dtype=object)},
                                      protocol=2), "not an integer type"),
        "structured array": (pickle.dumps({"data": np.zeros(2, dtype=[("a", "u1"), ("b", "O")])}, protocol=2),
                             "not an integer type"),
        # numpy.ndarray((10**6, 3072), 'u1') called directly: 3 GB from a 60-byte file
        "ndarray from a shape": (b"\x80\x02}X\x04\x00\x00\x00datacnumpy\nndarray\nJ@B\x0f\x00M\x00\x0c\x86"
                                 b"X\x02\x00\x00\x00u1\x86Rs.", "not callable"),
        # numpy's _reconstruct asked for 10**9 objects, which numpy would fill with None: 8 GB
        "_reconstruct of objects": (b"\x80\x02}X\x04\x00\x00\x00datacnumpy.core.multiarray\n_reconstruct\n"
                                    b"cnumpy\nndarray\nJ\x00\xca\x9a;\x85X\x01\x00\x00\x00O\x87Rs.",
                                    "not an integer type"),
        "another codec": (b"\x80\x02}X\x04\x00\x00\x00datac_codecs\nencode\nX\x01\x00\x00\x00x"
                          b"X\x04\x00\x00\x00zlib\x86Rs.", "latin-1"),
    }


def refusal_of_test_batch(root, folder, contents: bytes) -> str:
    """The one-line message loading refuses a test_batch of these contents with; it names the file."""
    (folder / "test_batch").write_bytes(contents)
    with pytest.raises(DataNotFoundError) as caught:
        load_dataset(root, download=False)
    message = str(caught.value)
    assert str(folder / "test_batch") in message and "\n" not in message
    return message


@pytest.mark.parametrize("case", ["object array", "structured array", "ndarray from a shape",
                                  "_reconstruct of objects", "another codec"])
def test_numpy_names_cannot_be_bent_into_objects_or_memory_bombs(tmp_path, case):
    folder, _ = write_folder(tmp_path)
    marker = tmp_path / "marker"
    contents, reason = unsafe_numpy(marker)[case]
    assert reason in refusal_of_test_batch(tmp_path, folder, contents)
    assert not marker.exists()


def malformed(entries: dict) -> dict:
    """test_batch contents that are not a batch, each with a word its message must hold."""
    good = entries["test_batch"]
    genuine = python2_pickle(good)
    rows = len(good["data"])
    return {
        "truncated": (genuine[:len(genuine) // 2], "does not unpickle"),
        "empty": (b"", "does not unpickle"),
        "garbage": (b"\x00\xffnot a pickle at all", "does not unpickle"),
        "persistent id": (b"\x80\x02K\x01Q.", "does not unpickle"),
        "a list": (python2_pickle([good["data"]]), "'data'"),
        "no labels": (python2_pickle({"data": good["data"]}), "'labels'"),
        "1024 columns": (python2_pickle({**good, "data": good["data"][:, :1024].copy()}), "3072"),
        "no rows": (python2_pickle({**good, "data": np.zeros((0, 3072), np.uint8), "labels": []}), "3072"),
        "label 10 of 10 classes": (python2_pickle({**good, "labels": [10] * rows}), "'labels'"),
        "negative label": (python2_pickle({**good, "labels": [-1] * rows}), "'labels'"),
        "too few labels": (python2_pickle({**good, "labels": good["labels"][:-1]}), "'labels'"),
        "text labels": (python2_pickle({**good, "labels": ["cat"] * rows}), "'labels'"),
        "pixels above 255": (pickle.dumps({**good, "data": np.full((rows, 3072), 300, np.int16)}, protocol=2),
                             "0-255"),
    }


@pytest.mark.parametrize("case", ["truncated", "empty", "garbage", "persistent id", "a list", "no labels",
                                  "1024 columns", "no rows", "label 10 of 10 classes", "negative label",
                                  "too few labels", "text labels", "pixels above 255"])
def test_a_malformed_batch_is_one_clear_message(tmp_path, case):
    folder, entries = write_folder(tmp_path)
    contents, expected = malformed(entries)[case]
    assert expected in refusal_of_test_batch(tmp_path, folder, contents)


def test_wider_integer_pixels_in_range_still_load(tmp_path):
    folder, entries = write_folder(tmp_path)
    good = entries["test_batch"]
    (folder / "test_batch").write_bytes(pickle.dumps({**good, "data": good["data"].astype(">i4")}, protocol=2))
    data = load_dataset(tmp_path, download=False)
    assert torch.equal(data.test.images, torch.from_numpy(good["data"]).view(-1, 3, 32, 32))


@pytest.mark.parametrize("names", [[], ["cat", "cat"], [b"cat", b"dog"], "cat dog", [1, 2]])
def test_meta_must_name_distinct_classes(tmp_path, names):
    folder, _ = write_folder(tmp_path)
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": names}, protocol=2))
    with pytest.raises(DataNotFoundError, match="label_names"):
        load_dataset(tmp_path, download=False)


def test_a_missing_or_oversized_batch_names_the_file(tmp_path):
    folder, _ = write_folder(tmp_path)
    (folder / "data_batch_3").unlink()
    with pytest.raises(DataNotFoundError, match="data_batch_3.*cannot be read"):
        load_dataset(tmp_path, download=False)
    with open(folder / "data_batch_3", "wb") as f:
        f.truncate(200 * 1024**2)  # sparse: costs no disk, and must not be read into memory either
    with pytest.raises(DataNotFoundError, match="data_batch_3.*more than"):
        load_dataset(tmp_path, download=False)


def test_the_cli_refuses_a_crafted_batch_in_one_line(tmp_path):
    folder, entries = write_folder(tmp_path)
    marker = tmp_path / "marker"
    (folder / "test_batch").write_bytes(pickle.dumps({**entries["test_batch"], "data": payloads(marker)["os.system"]},
                                                     protocol=2))
    done = subprocess.run([sys.executable, "-m", "cifar_demo", "eval", "--data", str(tmp_path), "--checkpoint",
                           str(REPO / "checkpoints" / "lenet.pt"), "--no-download"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert "test_batch" in done.stderr and "nothing in it was run" in done.stderr
    assert not marker.exists()


# ---------------------------------------------------------------- the decoded-tensor cache


def bad_caches(good: dict) -> dict:
    n = len(good["train_labels"])
    return {
        "label out of range": {**good, "train_labels": torch.full((n,), 3)},
        "negative label": {**good, "test_labels": -good["test_labels"] - 1},
        "8x8 pictures": {**good, "train_images": torch.zeros(n, 3, 8, 8, dtype=torch.uint8)},
        "empty train set": {**good, "train_images": torch.zeros(0, 3, 32, 32, dtype=torch.uint8),
                            "train_labels": torch.zeros(0, dtype=torch.int64)},
        "float pictures": {**good, "train_images": good["train_images"].float()},
        "int32 labels": {**good, "test_labels": good["test_labels"].int()},
        "labels one short": {**good, "train_labels": good["train_labels"][:-1].clone()},
        "classes a tuple": {**good, "classes": tuple(good["classes"])},
        "classes a string": {**good, "classes": ",".join(good["classes"])},
        "classes repeated": {**good, "classes": [good["classes"][0]] * 3},
        "classes the same ignoring case": {**good, "classes": [good["classes"][1].title(), *good["classes"][1:]]},
        "class name a Windows path": {**good, "classes": ["..\\x", *good["classes"][1:]]},
        "classes empty": {**good, "classes": []},
        "skipped negative": {**good, "skipped": -1},
        "skipped text": {**good, "skipped": "0"},
        "no test pictures key": {k: v for k, v in good.items() if k != "test_images"},
        "not a dict": list(good.values()),
        "strided view": {**good, "train_images": torch.zeros(1, dtype=torch.uint8).expand(n, 3, 32, 32)},
    }


@pytest.mark.parametrize("case", ["label out of range", "negative label", "8x8 pictures", "empty train set",
                                  "float pictures", "int32 labels", "labels one short", "classes a tuple",
                                  "classes a string", "classes repeated", "classes the same ignoring case",
                                  "class name a Windows path", "classes empty", "skipped negative",
                                  "skipped text", "no test pictures key", "not a dict", "strided view"])
def test_a_bad_cache_is_replaced_by_decoding_again(tiny_tree, tiny_data, case, capsys):
    load_dataset(tiny_tree, download=False)  # the cache exists
    file = cache_dir() / f"{_source_key(tiny_tree)}.pt"
    good = torch.load(file, weights_only=True)
    torch.save(bad_caches(good)[case], file)
    capsys.readouterr()
    data = load_dataset(tiny_tree, download=False)
    assert data.classes == tiny_data.classes and data.skipped == tiny_data.skipped
    assert torch.equal(data.train.images, tiny_data.train.images)
    assert torch.equal(data.test.labels, tiny_data.test.labels)
    warning = capsys.readouterr().err.strip().splitlines()
    assert len(warning) == 1 and str(file) in warning[0] and "Traceback" not in warning[0]
    rebuilt = torch.load(file, weights_only=True)
    assert rebuilt["classes"] == good["classes"] and rebuilt["skipped"] == good["skipped"]
    for key in ("train_images", "train_labels", "test_images", "test_labels"):
        assert torch.equal(rebuilt[key], good[key]), key


def test_a_failed_cache_save_leaves_no_temporary_file(tmp_path):
    tree = make_picture_tree(tmp_path / "pics", per_class=(2, 1), seed=6)
    file = cache_dir() / f"{_source_key(tree)}.pt"
    file.mkdir(parents=True)  # a folder where the cache file goes: the final rename fails
    try:
        data = load_dataset(tree, download=False)
        assert len(data.train) == 6
        assert not list(cache_dir().glob(f"{file.stem}.*.tmp"))
    finally:
        file.rmdir()


# ---------------------------------------------------------------- class names from folders and batch files


def tree_with_classes(root: Path, train: list[str], test: list[str] | None = None) -> Path:
    """root/train/<class>/ and root/test/<class>/ with two tiny pictures each, one per class name given."""
    from conftest import tiny_picture

    rng = np.random.default_rng(7)
    for split, classes in (("train", train), ("test", test if test is not None else train)):
        for label, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(2):
                tiny_picture(label % 3, rng).save(folder / f"{i}.png")
    return root


def as_archive(tree: Path, kind: str) -> Path:
    """The tree as a .zip or .tar.gz beside it, its folder names exactly as on disk."""
    import tarfile
    import zipfile

    archive = tree.with_name(f"{tree.name}.{kind}")
    if kind == "zip":
        with zipfile.ZipFile(archive, "w") as out:
            for file in sorted(tree.rglob("*.png")):
                out.write(file, str(file.relative_to(tree.parent)))
    else:
        with tarfile.open(archive, "w:gz") as out:
            out.add(tree, arcname=tree.name)
    return archive


BAD_FOLDERS = {  # a class folder's name: what the refusal says of it
    "backslashes and dots": ("..\\..\\evil", "holds '\\'"),
    "a trailing dot": ("cat.", "may not start with a dot"),
    "an invisible character": ("c\u200bat", "U+200B"),
    "a Cyrillic letter in a Latin word": ("\u0441at", "mixes Cyrillic and Latin"),
    "a Windows device": ("aux", "Windows keeps that name"),
}


@pytest.mark.parametrize("kind", ["folder", "zip", "tar.gz"])
@pytest.mark.parametrize("case", list(BAD_FOLDERS))
def test_a_class_folder_whose_name_fails_the_rule_is_refused_by_name(tmp_path, kind, case):
    folder, words = BAD_FOLDERS[case]
    tree = tree_with_classes(tmp_path / "pictures", ["dog", folder])
    source = tree if kind == "folder" else as_archive(tree, kind)
    with pytest.raises(DataNotFoundError) as refused:
        load_dataset(source, download=False)
    message = str(refused.value)
    assert "\n" not in message
    if kind != "folder" and "\\" in folder:  # in an archive a backslash separates folders, as Windows writes them
        assert message.startswith(f"Refusing the archive: member 'pictures/test/{folder}")
        assert message.endswith("' points outside its folder.")
        return
    assert message.startswith(f"Refusing '{source}': the folder ") and "cannot be a class" in message
    assert words in message


@pytest.mark.parametrize("kind", ["folder", "zip", "tar.gz"])
@pytest.mark.parametrize("pair", [("Cat", "cat"), ("cat", "\uff43\uff41\uff54"), ("cap", "\u0441\u0430\u0440")])
def test_two_class_folders_that_are_one_name_are_refused(tmp_path, kind, pair):
    tree = tree_with_classes(tmp_path / "pictures", list(pair))
    source = tree if kind == "folder" else as_archive(tree, kind)
    with pytest.raises(DataNotFoundError, match="are the same class name: names are compared ignoring case"):
        load_dataset(source, download=False)


@pytest.mark.parametrize("kind", ["folder", "zip", "tar.gz"])
def test_folder_names_in_any_script_load_as_nfc_and_test_folders_match_ignoring_case(tmp_path, kind):
    decomposed = "cafe\u0301"  # as a Mac's disk writes 'café'
    tree = tree_with_classes(tmp_path / "pictures", ["고양이", decomposed, "Dog"], ["고양이", "CAFÉ", "dog"])
    source = tree if kind == "folder" else as_archive(tree, kind)
    data = load_dataset(source, download=False)
    assert data.classes == sorted(["고양이", "café", "Dog"])
    assert torch.bincount(data.test.labels).tolist() == [2, 2, 2]


@pytest.mark.parametrize("names, words", [(["cat", "CAT"], "are the same class name"),
                                          (["cat", "a/b"], "holds '/'"), (["cat", " "], "needs a name")])
def test_batch_label_names_are_held_to_the_name_rule(tmp_path, names, words):
    folder, _ = write_folder(tmp_path)
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": names + CLASSES[2:]}, protocol=2))
    with pytest.raises(DataNotFoundError, match="label_names") as refused:
        load_dataset(tmp_path, download=False)
    assert words in str(refused.value)
