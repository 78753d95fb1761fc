"""Checkpoints: same predictions after a round trip, clear errors for bad files, no code run, no torn writes."""
from __future__ import annotations

import copy
import multiprocessing
import os
import pickle
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from cifar_demo.checkpoints import CheckpointError, checkpoint_path, list_checkpoints, load_checkpoint, save_checkpoint
from cifar_demo.evaluation import predict_logits
from cifar_demo.models import create_model


def temporaries(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.tmp"))


def logits(checkpoint_model, data, meta) -> torch.Tensor:
    return predict_logits(checkpoint_model, data.test.images, meta["mean"], meta["std"])


def same_weights(model_a, model_b) -> bool:
    a, b = model_a.state_dict(), model_b.state_dict()
    return a.keys() == b.keys() and all(torch.equal(a[k].float(), b[k].float()) for k in a)


# ------------------------------------------------------------------ round trip


def test_full_precision_round_trip_gives_identical_predictions(trained_checkpoint, tiny_data, tmp_path):
    path = save_checkpoint(tmp_path / "exact.pt", trained_checkpoint.model, trained_checkpoint.meta, half=False)
    loaded = load_checkpoint(path)
    assert torch.equal(logits(loaded.model, tiny_data, loaded.meta),
                       logits(trained_checkpoint.model, tiny_data, loaded.meta))
    assert loaded.classes == trained_checkpoint.classes and loaded.meta["weights_dtype"] == "float32"
    assert loaded.meta["mean"] == trained_checkpoint.meta["mean"] and loaded.meta["model"] == "smallcnn"


def test_half_precision_storage_keeps_the_predictions(trained_checkpoint, tiny_data, tmp_path):
    model = copy.deepcopy(trained_checkpoint.model)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():  # weights that float16 cannot hold exactly, so the rounding is really exercised
        for parameter in model.parameters():
            parameter.mul_(1 + 1e-3 * torch.randn(parameter.shape, generator=generator))
    path = save_checkpoint(tmp_path / "half.pt", model, trained_checkpoint.meta, half=True)
    stored = torch.load(path, weights_only=True)["state_dict"]
    assert all(t.dtype == torch.float16 for t in stored.values() if t.is_floating_point())
    before = logits(model, tiny_data, trained_checkpoint.meta)
    after = logits(load_checkpoint(path).model, tiny_data, trained_checkpoint.meta)
    assert not torch.equal(before, after)
    assert torch.equal(before.argmax(1), after.argmax(1))
    assert torch.allclose(before.softmax(1), after.softmax(1), atol=5e-3)


def test_a_normal_save_leaves_only_the_checkpoint(trained_checkpoint, tmp_path):
    save_checkpoint(tmp_path / "clean.pt", trained_checkpoint.model, trained_checkpoint.meta)
    save_checkpoint(tmp_path / "clean.pt", trained_checkpoint.model, trained_checkpoint.meta)
    assert [p.name for p in tmp_path.iterdir()] == ["clean.pt"]


def test_a_save_that_fails_keeps_the_previous_checkpoint(trained_checkpoint, tmp_path):
    path = save_checkpoint(tmp_path / "kept.pt", trained_checkpoint.model, trained_checkpoint.meta)
    with pytest.raises(Exception):
        save_checkpoint(path, create_model("lenet", 3), {**trained_checkpoint.meta, "oops": lambda: None})
    assert same_weights(load_checkpoint(path).model, trained_checkpoint.model)
    assert [p.name for p in tmp_path.iterdir()] == ["kept.pt"]


# ------------------------------------------------------------------ damaged and wrong files


def damaged_files(good: bytes) -> dict[str, bytes]:
    return {"truncated.pt": good[: len(good) // 2], "cut-short.pt": good[:100], "empty.pt": b"",
            "random.pt": np.random.default_rng(0).bytes(5000), "text.pt": b"hello world\n" * 10,
            "a-picture.pt": b"\x89PNG\r\n\x1a\n" + bytes(64)}


@pytest.mark.parametrize("name", list(damaged_files(b"")))
def test_a_damaged_file_gives_a_clear_error_naming_it(trained_checkpoint, tmp_path, name):
    good = save_checkpoint(tmp_path / "good.pt", trained_checkpoint.model, trained_checkpoint.meta).read_bytes()
    path = tmp_path / name
    path.write_bytes(damaged_files(good)[name])
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    assert str(path) in str(error.value) and "damaged or not a PyTorch checkpoint" in str(error.value)
    assert "refused" not in str(error.value)  # damage is not reported as an attack


def test_a_missing_file_or_a_folder_is_not_a_checkpoint(tmp_path):
    for path in (tmp_path / "nothing.pt", tmp_path):
        with pytest.raises(CheckpointError, match="does not exist"):
            load_checkpoint(path)


def wrong_contents(state: dict, meta: dict) -> dict[str, tuple[object, str]]:
    lenet = create_model("lenet", 3).state_dict()
    return {
        "unknown net": ({"state_dict": state, "meta": {**meta, "model": "vgg99"}}, "unknown net 'vgg99'"),
        "other net's weights": ({"state_dict": lenet, "meta": meta}, "does not fit the net 'smallcnn'"),
        "wrong class count": ({"state_dict": state, "meta": {**meta, "classes": list("abcde")}}, "does not fit"),
        "a list": ([1, 2, 3], "not written by cifar-demo"),
        "no meta": ({"state_dict": state}, "not written by cifar-demo"),
        "text for weights": ({"state_dict": {"conv1.weight": "x"}, "meta": meta}, "not written by cifar-demo"),
        "no classes": ({"state_dict": state, "meta": {**meta, "classes": []}}, "class names"),
        "no normalization": ({"state_dict": state, "meta": {k: v for k, v in meta.items() if k != "std"}},
                             "normalization 'std'"),
    }


@pytest.mark.parametrize("case", list(wrong_contents({}, {})))
def test_a_checkpoint_for_another_net_or_without_metadata_is_refused_clearly(trained_checkpoint, tmp_path, case):
    contents, message = wrong_contents(trained_checkpoint.model.state_dict(), trained_checkpoint.meta)[case]
    path = tmp_path / "wrong.pt"
    torch.save(contents, path)
    with pytest.raises(CheckpointError, match=message) as error:
        load_checkpoint(path)
    assert str(path) in str(error.value)


def test_listing_skips_damaged_files_and_saves_in_progress(trained_checkpoint, tmp_path):
    save_checkpoint(tmp_path / "good.pt", trained_checkpoint.model, trained_checkpoint.meta)
    (tmp_path / "broken.pt").write_bytes(b"not a checkpoint")
    (tmp_path / ".good.pt.999999.abc.tmp").write_bytes((tmp_path / "good.pt").read_bytes()[:300])
    assert [c.path.name for c in list_checkpoints(tmp_path)] == ["good.pt"]


# ------------------------------------------------------------------ a checkpoint that would run code


class WritesAFile:
    """Unpickling this calls Path.write_text: the classic pickle attack, harmless only if never unpickled."""

    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self):
        return Path.write_text, (Path(self.target), "this code ran")


def write_crafted(path: Path, target: Path, how: str, state: dict, meta: dict) -> None:
    """A real checkpoint with the payload in its metadata; the raw pickle holds the payload alone."""
    contents = {"format": "cifar-demo/1", "state_dict": state, "meta": {**meta, "note": WritesAFile(target)}}
    if how == "zip":
        torch.save(contents, path)
    elif how == "legacy":
        torch.save(contents, path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps({"meta": {"note": WritesAFile(target)}}, protocol=2))


def unsafe_load(path: Path, how: str) -> None:
    if how == "raw-pickle":
        pickle.loads(path.read_bytes())
    else:
        torch.load(path, weights_only=False)


@pytest.mark.parametrize("how", ["zip", "legacy", "raw-pickle"])
def test_a_checkpoint_that_would_run_code_is_refused_and_the_code_never_runs(trained_checkpoint, tmp_path, how):
    state, meta = trained_checkpoint.model.state_dict(), trained_checkpoint.meta
    control, target = tmp_path / "control-ran.txt", tmp_path / "attack-ran.txt"
    write_crafted(tmp_path / "control.pt", control, how, state, meta)
    unsafe_load(tmp_path / "control.pt", how)  # the payload is live: loaded carelessly, it does write its file
    assert control.read_text() == "this code ran"

    path = tmp_path / "crafted.pt"
    write_crafted(path, target, how, state, meta)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    assert not target.exists()
    message = str(error.value)
    assert str(path) in message and "refused" in message and "nothing in it was run" in message


# ------------------------------------------------------------------ names typed by people


@pytest.mark.parametrize("name", ["../../x", "..", "../x.pt", "/etc/passwd", "/tmp/x", "a/b", "a\\b", "", ".pt",
                                  ".hidden", "x\n", "x\0y", "C:evil", "..\\x", "a" * 81, "é", None])
def test_checkpoint_names_cannot_escape_their_folder(tmp_path, name):
    with pytest.raises(CheckpointError, match="not a valid checkpoint name"):
        checkpoint_path(name, tmp_path)


@pytest.mark.parametrize("name, file", [("run-1", "run-1.pt"), ("lenet_2024.05", "lenet_2024.05.pt"),
                                        ("x.pt", "x.pt"), ("A" * 80, "A" * 80 + ".pt")])
def test_ordinary_names_land_in_the_folder(tmp_path, name, file):
    path = checkpoint_path(name, tmp_path)
    assert path == tmp_path / file and path.resolve().parent == tmp_path.resolve()


# ------------------------------------------------------------------ killed while writing

FORK = multiprocessing.get_context("fork")  # the child shares the imported torch: no second slow start


def _save_forever(path: Path, model: torch.nn.Module, meta: dict) -> None:
    while True:  # half=False: no tensor arithmetic in the forked child, only writing bytes
        save_checkpoint(path, model, meta, half=False)


def kill_while_saving(path: Path, model: torch.nn.Module, meta: dict) -> bool:
    """SIGKILL a writer as soon as its temporary file appears; True when it died mid-save (the file is left)."""
    child = FORK.Process(target=_save_forever, args=(path, model, meta), daemon=True)
    child.start()
    try:
        while not temporaries(path.parent):
            assert child.is_alive(), "the writer ended on its own"
            time.sleep(0.001)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.is_alive():
            child.kill()
        child.join()
    assert child.exitcode == -signal.SIGKILL
    return bool(temporaries(path.parent))


def test_a_writer_killed_mid_save_leaves_the_previous_checkpoint_loadable(trained_checkpoint, tmp_path):
    meta = {**trained_checkpoint.meta, "model": "resnet"}
    torch.manual_seed(1)
    previous_model, writer_model = create_model("resnet", 3), create_model("resnet", 3)  # 26 MB each in float32
    path = save_checkpoint(tmp_path / "shared-name.pt", previous_model, meta, half=False)
    torn = [kill_while_saving(path, writer_model, meta) for _ in range(5)]
    assert any(torn), "never caught the writer in the middle of a save"
    survivor = load_checkpoint(path).model  # the old file, or one the writer finished: never a mixture
    assert same_weights(survivor, previous_model) or same_weights(survivor, writer_model)
    save_checkpoint(path, previous_model, meta, half=False)  # the next save clears what the killed writers left
    assert temporaries(tmp_path) == [] and same_weights(load_checkpoint(path).model, previous_model)
