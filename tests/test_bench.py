"""The benchmark's quick mode end to end, in-process: every figure present and sane; no time is asserted."""
from __future__ import annotations

import json

from cifar_demo.__main__ import EXIT_BAD_INPUT, main
from cifar_demo.bench import TUTORIAL_EPOCHS, TUTORIAL_TRAIN_IMAGES, picture_folder, tutorial_train_set

REQUIRED_KEYS = {"tutorial_images_per_second", "lenet_images_per_second", "lenet_seconds_to_tutorial_accuracy",
                 "speedup_to_tutorial_accuracy", "preset", "preset_budget_minutes", "preset_test_accuracy",
                 "cached_load_seconds", "peak_rss_mb", "machine"}


def test_quick_bench_reports_every_figure(tiny_tree, capsys):
    code = main(["bench", "--data", str(tiny_tree), "--quick", "--json", "--no-download"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])

    assert REQUIRED_KEYS <= result.keys()
    assert result["quick"] is True
    assert result["tutorial_images_per_second"] > 0
    assert result["tutorial_seconds_to_accuracy"] == TUTORIAL_EPOCHS * TUTORIAL_TRAIN_IMAGES / result["tutorial_images_per_second"]
    assert result["lenet_images_per_second"] > 0
    assert result["lenet_config"]["model"] == "lenet"
    reached = [e for e in result["lenet_epochs"] if e["test_accuracy"] >= result["target_accuracy"]]
    if reached:  # the run stops at the first epoch that reaches the tutorial's accuracy, and reports its time
        assert result["lenet_epochs"][-1] == reached[0]
        assert result["lenet_seconds_to_tutorial_accuracy"] == reached[0]["seconds"]
        assert result["speedup_to_tutorial_accuracy"] == result["tutorial_seconds_to_accuracy"] / reached[0]["seconds"]
    else:
        assert result["lenet_seconds_to_tutorial_accuracy"] is None and result["speedup_to_tutorial_accuracy"] is None

    assert result["preset"] == "fastnet"
    assert result["preset_config"]["model"] == "fastnet"
    assert 0 < result["preset_budget_minutes"] <= 0.05  # quick mode caps the budget
    assert result["preset_config"]["epochs"] >= 1
    assert 0 <= result["preset_test_accuracy"] <= 1
    assert result["preset_test_accuracy"] == result["preset_epochs"][-1]["test_accuracy"]
    assert result["preset_training_seconds"] > 0
    assert result["cached_load_seconds"] >= 0
    assert result["peak_rss_mb"] > 50  # torch alone takes more than this: a unit slip (KiB vs bytes) would show
    machine = result["machine"]
    assert machine["torch"] and machine["cpu"] and machine["torch_threads"] >= 1

    assert "tutorial pipeline" in err and "speed-up" in err  # the readable table, for a person


def test_tutorial_reads_the_archive_unpacked(tiny_archive):
    with picture_folder(tiny_archive) as root:
        train_set = tutorial_train_set(root)
        assert train_set.classes == ["circle", "square", "stripes"]
        image, label = train_set[0]
        assert tuple(image.shape) == (3, 32, 32) and -1 <= image.min() and image.max() <= 1  # Normalize(0.5, 0.5)
    assert not root.exists()  # the temp folder is gone afterwards


def test_bench_without_data_says_so(tmp_path, capsys):
    code = main(["bench", "--data", str(tmp_path / "nowhere"), "--quick", "--json", "--no-download"])
    assert code == EXIT_BAD_INPUT
    assert "No training data found" in capsys.readouterr().err
