"""Checkpoints: same predictions after a round trip, clear errors for bad files, no code run, no torn writes."""
from __future__ import annotations

import copy
import multiprocessing
import os
import pickle
import shlex
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from cifar_demo.checkpoints import (CHECKPOINT_DIR, MAX_BYTES, MAX_HISTORY, CheckpointError, CheckpointSkipped,
                                    checkpoint_path, list_checkpoints, load_checkpoint, save_checkpoint)
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


def test_a_fastnet_of_another_width_loads_at_its_own_width(tiny_data, tmp_path):
    model = create_model("fastnet", len(tiny_data.classes), width=32).eval()
    meta = {"model": "fastnet", "classes": tiny_data.classes, "mean": list(tiny_data.mean), "std": list(tiny_data.std),
            "config": {"model": "fastnet", "width": 32}}
    loaded = load_checkpoint(save_checkpoint(tmp_path / "narrow.pt", model, meta, half=False))
    assert loaded.model.group3.conv2.out_channels == 32 and loaded.model.group1.conv1.out_channels == 8
    assert torch.equal(logits(loaded.model, tiny_data, meta), logits(model, tiny_data, meta))


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
    (tmp_path / f".good.pt.{os.getpid()}.abc.tmp").write_bytes((tmp_path / "good.pt").read_bytes()[:300])
    with pytest.warns(CheckpointSkipped, match="broken.pt"):
        assert [c.path.name for c in list_checkpoints(tmp_path)] == ["good.pt"]


# ------------------------------------------------------------------ a checkpoint that would run code


class WritesAFile:
    """Unpickling this calls Path.write_text: the classic pickle attack, harmless only if never unpickled."""
    called = "getattr"  # protocol 2 pickles a method as getattr(Path, "write_text")

    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self):
        return Path.write_text, (Path(self.target), "this code ran")


class RunsAShell(WritesAFile):
    """Unpickling this calls os.system: torch blocks the os module outright, in other words than for write_text."""
    called = "system"

    def __reduce__(self):
        return os.system, (f"printf %s 'this code ran' > {shlex.quote(str(self.target))}",)


def write_crafted(path: Path, payload: WritesAFile, how: str, state: dict, meta: dict) -> None:
    """A real checkpoint with the payload in its metadata; the raw pickle holds the payload alone."""
    contents = {"format": "cifar-demo/1", "state_dict": state, "meta": {**meta, "note": payload}}
    if how == "zip":
        torch.save(contents, path)
    elif how == "legacy":
        torch.save(contents, path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps({"meta": {"note": payload}}, protocol=2))


def unsafe_load(path: Path, how: str) -> None:
    if how == "raw-pickle":
        pickle.loads(path.read_bytes())
    else:
        torch.load(path, weights_only=False)


@pytest.mark.parametrize("payload", [WritesAFile, RunsAShell])
@pytest.mark.parametrize("how", ["zip", "legacy", "raw-pickle"])
def test_a_checkpoint_that_would_run_code_is_refused_and_the_code_never_runs(trained_checkpoint, tmp_path, how,
                                                                             payload):
    state, meta = trained_checkpoint.model.state_dict(), trained_checkpoint.meta
    control, target = tmp_path / "control-ran.txt", tmp_path / "attack-ran.txt"
    write_crafted(tmp_path / "control.pt", payload(control), how, state, meta)
    unsafe_load(tmp_path / "control.pt", how)  # the payload is live: loaded carelessly, it does write its file
    assert control.read_text() == "this code ran"

    path = tmp_path / "crafted.pt"
    write_crafted(path, payload(target), how, state, meta)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    assert not target.exists()
    message = str(error.value)
    assert str(path) in message and "refused" in message and "nothing in it was run" in message
    assert payload.called in message and "damaged" not in message


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


# ------------------------------------------------------------------ metadata: one schema, checked on load

STEP = {"step": 25, "epoch": 0.5, "loss": 1.2, "smooth_loss": 1.3, "lr": 0.01, "images_per_second": 900.0}
EPOCH = {"epoch": 1.0, "test_loss": 1.1, "test_accuracy": 0.5, "seconds": 9.0, "train_seconds": 8.0}
BAD_META = {  # case: (field, value)
    "accuracy as text": ("test_accuracy", "high"),
    "accuracy above 1": ("test_accuracy", 1.5),
    "accuracy not a number": ("test_accuracy", float("nan")),
    "accuracy a bool": ("test_accuracy", True),
    "accuracy a very long text": ("test_accuracy", "x" * 10_000),
    "date a number": ("date", 20261123),
    "date None": ("date", None),
    "history text": ("history", "x"),
    "history without epochs": ("history", {"steps": []}),
    "history steps text": ("history", {"steps": "x", "epochs": []}),
    "history step not a table": ("history", {"steps": [1], "epochs": []}),
    "history step loss text": ("history", {"steps": [STEP, {**STEP, "loss": "x"}], "epochs": []}),
    "history step loss infinite": ("history", {"steps": [{**STEP, "loss": float("inf")}], "epochs": []}),
    "history step without loss": ("history", {"steps": [{k: v for k, v in STEP.items() if k != "loss"}],
                                              "epochs": []}),
    "history epoch seconds nan": ("history", {"steps": [], "epochs": [{**EPOCH, "seconds": float("nan")}]}),
    "history too long": ("history", {"steps": [STEP] * (MAX_HISTORY + 1), "epochs": []}),
    "std zero": ("std", [0, 0, 0]),
    "std bools": ("std", [True, True, True]),
    "std two numbers": ("std", [0.2, 0.2]),
    "std an int too big for a float": ("std", [10 ** 400, 0.2, 0.2]),
    "mean nan": ("mean", [float("nan"), 0.5, 0.5]),
    "mean text": ("mean", "0.5"),
    "classes repeated": ("classes", ["circle", "circle", "square"]),
    "classes with an empty name": ("classes", ["circle", "", "square"]),
    "class name too long": ("classes", ["c" * 101, "stripes", "square"]),
    "class name a Windows path": ("classes", ["..\\..\\circle", "stripes", "square"]),
    "class name starting with a dot": ("classes", [".circle", "stripes", "square"]),
    "class name with an invisible character": ("classes", ["circ\u200ble", "stripes", "square"]),
    "class name mixing Latin and Cyrillic": ("classes", ["\u0441ircle", "stripes", "square"]),
    "class name not in NFC": ("classes", ["cafe\u0301", "stripes", "square"]),
    "classes the same ignoring case": ("classes", ["Circle", "circle", "square"]),
    "too many classes": ("classes", [str(i) for i in range(1001)]),
    "classes not text": ("classes", [1, 2, 3]),
    "classes one text": ("classes", "circle stripes square"),
    "epochs_done negative": ("epochs_done", -1),
    "epochs_done text": ("epochs_done", "3"),
    "config text": ("config", "x"),
    "config test_time_flip text": ("config", {"test_time_flip": "no"}),
    "config width for a net of one size": ("config", {"width": 64}),
    "config width text": ("config", {"width": "64"}),
    "per_class text values": ("per_class", {"circle": "x"}),
    "per_class number keys": ("per_class", {1: 0.5}),
    "model a number": ("model", 7),
    "model missing": ("model", None),
}


def write(path: Path, state: dict, meta: dict) -> Path:
    torch.save({"format": "cifar-demo/1", "state_dict": state, "meta": meta}, path)
    return path


def with_field(meta: dict, field: str, value: object) -> dict:
    """The metadata with one field changed; a missing model is left out, since None is a value for other fields."""
    if field == "model" and value is None:
        return {k: v for k, v in meta.items() if k != "model"}
    return {**meta, field: value}


@pytest.mark.parametrize("case", list(BAD_META))
def test_bad_metadata_is_refused_in_one_sentence_naming_the_file_and_the_field(trained_checkpoint, tmp_path, case):
    field, value = BAD_META[case]
    path = write(tmp_path / "bad-meta.pt", trained_checkpoint.model.state_dict(),
                 with_field(trained_checkpoint.meta, field, value))
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    message = str(error.value)
    assert str(path) in message and f"'{field}'" in message
    assert "\n" not in message and ". " not in message and message.endswith(".")  # one sentence, one line
    assert len(message) < len(str(path)) + 330  # the bad value is quoted in at most about 80 characters


VALID_META = {  # case: (changes, what the label shows)
    "accuracy unknown": ({"test_accuracy": None}, "accuracy unknown"),
    "whole-number accuracy and epochs": ({"test_accuracy": 1, "epochs_done": 3}, "100.0%"),
    "empty history and date": ({"history": {"steps": [], "epochs": []}, "date": ""}, "smallcnn · 12.5%"),
    "a long date": ({"date": "2026-11-23 16:13 in room 4"}, "2026-11-23 ("),
    "normalization as tuples": ({"mean": (0.5, 0.5, 0.5), "std": (0.25, 0.25, 0.25)}, "12.5%"),
    "per-class accuracy with a gap": ({"per_class": {"circle": None, "stripes": 0.5}}, "12.5%"),
    "classes in Korean": ({"classes": ["고양이", "비행기", "자동차"]}, "12.5%"),
}


@pytest.mark.parametrize("case", list(VALID_META))
def test_any_metadata_that_passes_the_check_gives_a_label(trained_checkpoint, tmp_path, case):
    changes, shown = VALID_META[case]
    meta = {**trained_checkpoint.meta, "test_accuracy": 0.125, **changes}
    loaded = load_checkpoint(write(tmp_path / "valid.pt", trained_checkpoint.model.state_dict(), meta))
    assert shown in loaded.label and loaded.label.endswith("(valid.pt)")


def test_metadata_without_the_optional_fields_loads_and_labels(trained_checkpoint, tmp_path):
    meta = {k: trained_checkpoint.meta[k] for k in ("model", "classes", "mean", "std")}
    loaded = load_checkpoint(write(tmp_path / "bare.pt", trained_checkpoint.model.state_dict(), meta))
    assert loaded.label == "smallcnn · accuracy unknown (bare.pt)"


def test_the_shipped_checkpoints_pass_every_check(recwarn):
    shipped = list_checkpoints(CHECKPOINT_DIR)
    assert {c.meta["model"] for c in shipped} == {"lenet", "smallcnn", "fastnet", "resnet"}
    assert not [w for w in recwarn if issubclass(w.category, CheckpointSkipped)]


# ------------------------------------------------------------------ weights: checked before they are used


def bad_weights(state: dict) -> dict[str, tuple[dict, str]]:
    fc1 = state["fc1.weight"]
    wide = torch.zeros(fc1.numel()).as_strided(fc1.shape, (1, 1))  # enough storage, but rows overlap
    return {
        "stride 0 at the right shape": ({**state, "fc1.weight": torch.zeros(1).expand(fc1.shape)}, "refused"),
        "overlapping rows": ({**state, "fc1.weight": wide}, "refused"),
        "sparse": ({**state, "fc1.weight": fc1.to_sparse()}, "refused"),
        "whole numbers for weights": ({**state, "fc1.weight": fc1.long()}, "does not fit"),
        "an unknown entry": ({**state, "bomb": torch.zeros(3)}, "has unknown 'bomb'"),
        "a missing entry": ({k: v for k, v in state.items() if k != "fc3.bias"}, "lacks 'fc3.bias'"),
        "a wrong shape": ({**state, "fc3.bias": torch.zeros(4)}, "'fc3.bias' has shape 4"),
    }


@pytest.mark.filterwarnings("ignore:Validating sparse tensor invariants")
@pytest.mark.parametrize("case", list(bad_weights({"fc1.weight": torch.zeros(2, 2)})))
def test_weights_that_do_not_match_the_net_or_play_stride_tricks_are_refused(trained_checkpoint, tmp_path, case):
    state, message = bad_weights(trained_checkpoint.model.state_dict())[case]
    path = write(tmp_path / "bad-weights.pt", state, trained_checkpoint.meta)
    with pytest.raises(CheckpointError, match=message) as error:
        load_checkpoint(path)
    assert str(path) in str(error.value)


PEAK_MEMORY_OF_A_LOAD = """
import resource, sys
from cifar_demo.checkpoints import CheckpointError, load_checkpoint
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    load_checkpoint(sys.argv[1])
except CheckpointError as error:
    print(error)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def load_in_a_fresh_process(path: Path) -> tuple[str, int]:
    """The error message and how many MB the process grew while loading: a fresh process's peak is this load's."""
    run = subprocess.run([sys.executable, "-c", PEAK_MEMORY_OF_A_LOAD, str(path)], cwd=Path(__file__).parent.parent,
                         capture_output=True, text=True, timeout=120)
    message, grown_mb = run.stdout.splitlines()
    return message, int(grown_mb)


def test_a_tiny_file_claiming_a_huge_tensor_is_refused_without_using_memory(trained_checkpoint, tmp_path):
    huge = torch.zeros(1, dtype=torch.half).expand(25000, 20000)  # 500 million values in 2 bytes: 1 GB as float16
    path = write(tmp_path / "stride-0.pt", {**trained_checkpoint.model.state_dict(), "fc1.weight": huge},
                 trained_checkpoint.meta)
    assert path.stat().st_size < 1_000_000
    message, grown_mb = load_in_a_fresh_process(path)
    assert "stride-0.pt" in message and "25000x20000" in message
    assert grown_mb < 200  # converting it to float32 first, as loads once did, took 2 GB


def test_weights_in_channels_last_layout_load_unchanged(trained_checkpoint, tiny_data, tmp_path):
    model = copy.deepcopy(trained_checkpoint.model).to(memory_format=torch.channels_last)
    path = save_checkpoint(tmp_path / "channels-last.pt", model, trained_checkpoint.meta, half=False)
    assert not torch.load(path, weights_only=True)["state_dict"]["conv1.weight"].is_contiguous()
    loaded = load_checkpoint(path)
    assert torch.equal(logits(loaded.model, tiny_data, loaded.meta), logits(model, tiny_data, loaded.meta))


# ------------------------------------------------------------------ size: refused before torch.load


def test_a_file_over_the_size_limit_is_refused_before_reading_it_as_a_checkpoint(trained_checkpoint, tmp_path):
    path = save_checkpoint(tmp_path / "huge.pt", trained_checkpoint.model, trained_checkpoint.meta)
    with open(path, "r+b") as f:
        f.truncate(MAX_BYTES + 1)  # sparse: no disk used
    with pytest.raises(CheckpointError, match="refused: it is larger than 100 MB") as error:
        load_checkpoint(path)
    assert str(path) in str(error.value)


def recompressed(source: Path, target: Path, padding: int = 0) -> Path:
    """The same checkpoint with every part deflated, plus `padding` zero bytes that deflate to almost nothing."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as packed:
        for member in original.infolist():
            packed.writestr(member.filename, original.read(member))
        if padding:
            with packed.open(f"{original.namelist()[0].split('/')[0]}/data/padding", "w", force_zip64=True) as out:
                for _ in range(padding // 2**20):
                    out.write(bytes(2**20))
                out.write(bytes(padding % 2**20))
    return target


def test_a_small_zip_that_would_unpack_past_the_limit_is_refused(trained_checkpoint, tmp_path):
    good = save_checkpoint(tmp_path / "good.pt", trained_checkpoint.model, trained_checkpoint.meta)
    assert load_checkpoint(recompressed(good, tmp_path / "deflated.pt")).classes == trained_checkpoint.classes
    bomb = recompressed(good, tmp_path / "bomb.pt", padding=MAX_BYTES + 1)
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(CheckpointError, match="refused: it would unpack to 100 MB") as error:
        load_checkpoint(bomb)
    assert str(bomb) in str(error.value)


def test_a_pickle_that_would_build_millions_of_objects_is_refused_unread(tmp_path):
    path = tmp_path / "lists.pt"
    path.write_bytes(b"\x80\x02" + b"]" * 20_000_000 + b".")  # 20 million empty lists: 1.4 GB once unpickled
    message, grown_mb = load_in_a_fresh_process(path)
    assert "lists.pt" in message and "refused: the part holding its metadata is 19.1 MB" in message
    assert grown_mb < 200


def test_a_checkpoint_with_oversized_metadata_is_refused(trained_checkpoint, tmp_path):
    path = write(tmp_path / "chatty.pt", trained_checkpoint.model.state_dict(),
                 {**trained_checkpoint.meta, "note": "x" * (5 * 2**20)})
    with pytest.raises(CheckpointError, match="refused: the part holding its metadata is 5.0 MB"):
        load_checkpoint(path)


def test_a_zip_of_too_many_parts_is_refused(trained_checkpoint, tmp_path):
    path = save_checkpoint(tmp_path / "parts.pt", trained_checkpoint.model, trained_checkpoint.meta)
    with zipfile.ZipFile(path, "a") as archive:
        for n in range(10_001):
            archive.writestr(f"archive/extra/{n}", b"")
    with pytest.raises(CheckpointError, match="refused: it has more than 10,000 parts"):
        load_checkpoint(path)


# ------------------------------------------------------------------ listing a folder with bad files in it


def test_listing_keeps_the_good_checkpoints_in_accuracy_order_and_warns_once_per_bad_file(trained_checkpoint,
                                                                                         tmp_path):
    state, meta = trained_checkpoint.model.state_dict(), trained_checkpoint.meta
    for name, accuracy in (("good", 0.5), ("better", 0.9), ("unknown", None)):
        write(tmp_path / f"{name}.pt", state, {**meta, "test_accuracy": accuracy})
    bad = {"high.pt": {**meta, "test_accuracy": "high"}, "date.pt": {**meta, "date": 20261123},
           "history.pt": {**meta, "history": "x"}, "std.pt": {**meta, "std": [0, 0, 0]}}
    for name, bad_meta in bad.items():
        write(tmp_path / name, state, bad_meta)
    write(tmp_path / "stride-0.pt", {**state, "fc1.weight": torch.zeros(1, dtype=torch.half).expand(25000, 20000)},
          meta)
    write_crafted(tmp_path / "crafted.pt", RunsAShell(tmp_path / "ran.txt"), "zip", state, meta)
    (tmp_path / "broken.pt").write_bytes(b"not a checkpoint")
    (tmp_path / "line\nbreak.pt").write_bytes(b"")
    (tmp_path / "a-folder.pt").mkdir()
    with pytest.warns(CheckpointSkipped) as warned:
        listed = list_checkpoints(tmp_path)
    assert [c.path.name for c in listed] == ["better.pt", "good.pt", "unknown.pt"]
    skipped = [str(w.message) for w in warned if w.category is CheckpointSkipped]
    bad_names = [*bad, "stride-0.pt", "crafted.pt", "broken.pt", "line\\nbreak.pt", "a-folder.pt"]
    assert all(sum(f"{n}'" in m for m in skipped) == 1 for n in bad_names) and len(skipped) == len(bad_names)
    assert all("\n" not in m for m in skipped) and not (tmp_path / "ran.txt").exists()
    assert {w.filename for w in warned} == {__file__}  # the warning points at the caller, not at checkpoints.py


def test_listing_deletes_what_dead_writers_left_behind_under_any_name(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = tmp_path / f".some-other-run.pt.{dead.pid}.k2j4h5gf.tmp"
    too_big_a_pid = tmp_path / ".other.pt.99999999999999999999.abcdefgh.tmp"
    in_progress = tmp_path / f".saving-now.pt.{os.getpid()}.a1b2c3d4.tmp"  # this process lives: its save goes on
    not_ours = tmp_path / ".notes.tmp"
    for file in (orphan, too_big_a_pid, in_progress, not_ours):
        file.write_bytes(b"half a checkpoint")
    folder_like_one = tmp_path / f".folder.pt.{dead.pid}.zzzzzzzz.tmp"
    folder_like_one.mkdir()
    assert list_checkpoints(tmp_path) == []
    assert temporaries(tmp_path) == sorted([in_progress, not_ours, folder_like_one])
