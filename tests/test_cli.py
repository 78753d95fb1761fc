import json
import re
import subprocess
import sys
from dataclasses import fields

import pytest
from PIL import Image

from cifar_demo.__main__ import build_parser, main
from cifar_demo.settings import markdown_table
from cifar_demo.training import TrainConfig
from conftest import REPO

SETTINGS_TABLE = ("<!-- training settings: cifar_demo.settings.markdown_table(TrainConfig) -->\n",
                  "\n<!-- end of training settings -->")


def run_cli(capsys, *argv: str) -> tuple[int, dict | None, str]:
    """main() in this process: exit status, the last stdout line as JSON (if any), stderr."""
    status = main(list(argv))
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    return status, json.loads(lines[-1]) if lines else None, captured.err


@pytest.fixture(scope="module")
def cli_checkpoint(tiny_tree, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "cli.pt"
    status = main(["train", "--data", str(tiny_tree), "--model", "smallcnn", "--epochs", "3", "--batch-size", "16",
                   "--lr", "0.05", "--no-download", "--out", str(out), "--json"])
    assert status == 0
    return out


def test_train_prints_progress_and_ends_with_json(tiny_tree, tmp_path, capsys):
    out = tmp_path / "lenet.pt"
    status, payload, err = run_cli(capsys, "train", "--data", str(tiny_tree), "--model", "lenet", "--epochs", "2",
                                   "--batch-size", "16", "--no-download", "--out", str(out), "--json")
    assert status == 0
    assert set(payload) >= {"test_accuracy", "per_class", "seconds", "images_per_second", "checkpoint"}
    assert 0 <= payload["test_accuracy"] <= 1 and payload["checkpoint"] == str(out) and out.is_file()
    assert set(payload["per_class"]) == {"circle", "square", "stripes"}
    assert "epoch 2/2: test accuracy" in err and "Accuracy for class: circle" in err


def test_a_run_planned_again_by_its_minutes_counts_each_epochs_steps_from_zero(tiny_tree, tmp_path, capsys):
    """--minutes plans the epochs again at each epoch's end (here more than the first plan's one): each epoch's bar
    counts that epoch's steps, and names the plan of the moment."""
    status, payload, err = run_cli(capsys, "train", "--data", str(tiny_tree), "--model", "lenet", "--epochs", "1",
                                   "--minutes", "0.05", "--batch-size", "16", "--no-download",
                                   "--out", str(tmp_path / "planned.pt"), "--json")
    assert status == 0 and payload["epochs_done"] > 1, "three seconds hold more than one epoch of 120 pictures"
    counts = [(int(done), int(total)) for done, total in re.findall(r"(-?\d+)/(\d+) \[", err)]
    assert counts and all(0 <= done <= total <= 8 for done, total in counts), counts  # 8 steps of 16 an epoch
    planned = [(int(epoch), int(total)) for epoch, total in re.findall(r"epoch (\d+)/(\d+)", err)]
    assert max(epoch for epoch, _ in planned) > 1 and all(epoch <= total for epoch, total in planned)


def test_eval_reproduces_the_training_accuracy(cli_checkpoint, tiny_tree, capsys):
    from cifar_demo.checkpoints import load_checkpoint

    recorded = load_checkpoint(cli_checkpoint).meta["test_accuracy"]
    status, payload, err = run_cli(capsys, "eval", "--data", str(tiny_tree), "--checkpoint", str(cli_checkpoint),
                                   "--no-download", "--json")
    assert status == 0
    assert abs(payload["test_accuracy"] - recorded) <= 0.002
    assert "Accuracy of the network on the 36 test images" in err


def test_predict_answers_for_odd_image_modes(cli_checkpoint, tmp_path, capsys):
    pictures = {"rgba.png": Image.new("RGBA", (40, 30), (255, 0, 0, 128)),
                "gray.jpg": Image.new("L", (50, 50), 128),
                "cmyk.jpg": Image.new("CMYK", (33, 33), (0, 255, 255, 0))}
    paths = []
    for name, picture in pictures.items():
        picture.save(tmp_path / name)
        paths.append(str(tmp_path / name))
    status, payload, _ = run_cli(capsys, "predict", "--checkpoint", str(cli_checkpoint), *paths, "--json")
    assert status == 0
    assert [p["image"] for p in payload["predictions"]] == paths
    for prediction in payload["predictions"]:
        assert len(prediction["top"]) == 3
        assert sum(p for _, p in prediction["top"]) <= 1.0 + 1e-6


def test_bad_input_exits_2_with_a_message_naming_the_file(cli_checkpoint, tiny_tree, tmp_path, capsys):
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(cli_checkpoint.read_bytes()[:500])
    status, payload, err = run_cli(capsys, "eval", "--data", str(tiny_tree), "--checkpoint", str(truncated))
    assert status == 2 and payload is None and str(truncated) in err

    missing = tmp_path / "no-such-folder"
    status, _, err = run_cli(capsys, "train", "--data", str(missing), "--no-download", "--epochs", "1")
    assert status == 2 and str(missing) in err and "Traceback" not in err

    not_a_picture = tmp_path / "notes.jpg"
    not_a_picture.write_text("hello")
    status, _, err = run_cli(capsys, "predict", "--checkpoint", str(cli_checkpoint), str(not_a_picture))
    assert status == 2 and str(not_a_picture) in err

    status, _, _ = run_cli(capsys, "train", "--model", "alexnet")
    assert status == 2
    status, _, err = run_cli(capsys, "train", "--data", str(tiny_tree), "--epochs", "0", "--no-download")
    assert status == 2 and "epochs" in err


def test_data_past_a_budget_or_with_a_bad_class_folder_exits_2_with_one_line(cli_checkpoint, tiny_archive,
                                                                             tmp_path, capsys, monkeypatch):
    from cifar_demo import picture_files

    archive = tmp_path / "pictures.tar.gz"  # a copy: not yet in the cache, which other tests may have filled
    archive.write_bytes(tiny_archive.read_bytes())
    with monkeypatch.context() as patch:
        patch.setattr(picture_files, "MAX_ENTRIES", 20)
        status, payload, err = run_cli(capsys, "eval", "--data", str(archive), "--checkpoint", str(cli_checkpoint),
                                       "--no-download")
    assert status == 2 and payload is None
    assert err.strip().splitlines()[-1] == (
        f"error: Refusing '{archive}': it holds more than 20 files and folders, more than any data set this app "
        "reads. Unpack it, keep the pictures you need and point --data at that folder.")
    for split in ("train", "test"):
        (tmp_path / "pictures" / split / "..\\evil").mkdir(parents=True)
        Image.new("RGB", (32, 32)).save(tmp_path / "pictures" / split / "..\\evil" / "0.png")
    status, _, err = run_cli(capsys, "train", "--data", str(tmp_path / "pictures"), "--no-download", "--epochs", "1")
    assert status == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(
        f"error: Refusing '{tmp_path / 'pictures'}': the folder train/..\\evil cannot be a class, as the class name")


def test_a_real_process_exits_2_without_a_traceback(tmp_path):
    """The one subprocess here: exit status and stderr as a shell sees them."""
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"PK\x03\x04 not a checkpoint")
    result = subprocess.run([sys.executable, "-m", "cifar_demo", "predict", "--checkpoint", str(broken), "x.png"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert str(broken) in result.stderr and "Traceback" not in result.stderr


def test_every_training_setting_has_a_flag_and_an_unset_one_leaves_the_preset():
    parse = build_parser().parse_args
    unset = parse(["train"])
    assert unset.model == TrainConfig.model
    assert all(getattr(unset, f.name) is None for f in fields(TrainConfig) if f.name != "model")
    given = parse(["train", "--model", "fastnet", "--whiten-bias-epochs", "2", "--no-augment", "--compile",
                   "--train-layers", "head", "--init-from", "base.pt", "--norm-lr-scale", "64", "--device", "cpu"])
    assert (given.model, given.whiten_bias_epochs, given.augment, given.compile, given.train_layers, given.init_from,
            given.norm_lr_scale, given.device) == ("fastnet", 2, False, True, "head", "base.pt", 64.0, "cpu")


def test_the_readme_table_of_training_settings_is_the_one_the_fields_make():
    readme = (REPO / "README.md").read_text()
    start, end = readme.index(SETTINGS_TABLE[0]) + len(SETTINGS_TABLE[0]), readme.index(SETTINGS_TABLE[1])
    assert readme[start:end] == markdown_table(TrainConfig), "regenerate the README's table with markdown_table"


def test_a_train_setting_out_of_its_range_is_refused_before_the_data_loads(tmp_path, capsys):
    status, _, err = run_cli(capsys, "train", "--data", str(tmp_path / "nowhere"), "--no-download",
                             "--translate", "9", "--norm-lr-scale", "0")
    assert status == 2 and "translate must be a whole number from 0 to 8" in err and "BatchNorm" in err
    assert "No training data found" not in err
