"""The benchmark end to end, in-process: the quick comparison with the tutorial, and the seeds mode of the GPU
fast path run on the CPU on a tiny set; every figure present and coherent, no time is asserted."""
from __future__ import annotations

import contextlib
import io
import json
import statistics

import pytest
import torch

from cifar_demo.__main__ import EXIT_BAD_INPUT, main
from cifar_demo.bench.speed import (TUTORIAL_EPOCHS, TUTORIAL_TRAIN_IMAGES, median_time, picture_folder, seed_figures,
                                    seeds_summary, seeds_table, tutorial_train_set)
from cifar_demo.checkpoints import load_checkpoint
from cifar_demo.sizing import WIDTHS, RunCost

REQUIRED_KEYS = {"tutorial_images_per_second", "lenet_images_per_second", "lenet_seconds_to_tutorial_accuracy",
                 "speedup_to_tutorial_accuracy", "preset", "preset_budget_minutes", "preset_test_accuracy",
                 "cached_load_seconds", "peak_rss_mb", "machine"}


def test_quick_bench_reports_every_figure(tiny_tree, tmp_path, capsys):
    saved = tmp_path / "bench.pt"
    code = main(["bench", "--data", str(tiny_tree), "--quick", "--json", "--no-download", "--out", str(saved)])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])

    assert REQUIRED_KEYS <= result.keys()
    assert result["quick"] is True
    assert result["tutorial_images_per_second"] > 0
    assert result["tutorial_seconds_to_accuracy"] == TUTORIAL_EPOCHS * TUTORIAL_TRAIN_IMAGES / result["tutorial_images_per_second"]
    assert result["lenet_config"]["model"] == "lenet" and "seed" not in result["lenet_config"]
    runs = result["lenet_runs"]
    assert [run["seed"] for run in runs] == [0, 1, 2]
    assert result["lenet_images_per_second"] == statistics.median(run["images_per_second"] for run in runs) > 0
    for run in runs:
        reached = [e for e in run["epochs"] if e["test_accuracy"] >= result["target_accuracy"]]
        if reached:  # each run stops at its first test point at the tutorial's accuracy and reports its time
            assert run["epochs"][-1] == reached[0]
            assert run["seconds_to_target"] == reached[0]["train_seconds"]  # test passes left out
            assert run["wall_seconds_to_target"] == reached[0]["seconds"] > reached[0]["train_seconds"]
        else:
            assert run["seconds_to_target"] is None
    assert result["lenet_seeds_reaching_accuracy"] == sum(run["seconds_to_target"] is not None for run in runs)
    assert result["lenet_seconds_to_tutorial_accuracy"] == median_time([run["seconds_to_target"] for run in runs])
    assert result["lenet_seconds_to_tutorial_accuracy_with_tests"] == median_time(
        [run["wall_seconds_to_target"] for run in runs])
    if result["lenet_seconds_to_tutorial_accuracy"] is None:  # two seeds of three or more missed it
        assert result["lenet_seeds_reaching_accuracy"] <= 1 and result["speedup_to_tutorial_accuracy"] is None
    else:
        assert result["speedup_to_tutorial_accuracy"] == (result["tutorial_seconds_to_accuracy"]
                                                          / result["lenet_seconds_to_tutorial_accuracy"])

    assert result["preset"] == "fastnet"
    assert result["preset_config"]["model"] == "fastnet"
    assert 0 < result["preset_budget_minutes"] <= 0.05  # quick mode caps the budget
    assert result["preset_config"]["epochs"] >= 1
    assert 0 <= result["preset_test_accuracy"] <= 1
    assert result["preset_test_accuracy"] == result["preset_epochs"][-1]["test_accuracy"]
    assert result["preset_training_seconds"] > 0
    assert result["preset_checkpoint"] == str(saved) and str(saved) in err  # the net to test again apart from it
    checkpoint = load_checkpoint(saved)
    assert checkpoint.meta["test_accuracy"] == result["preset_test_accuracy"]
    assert checkpoint.meta["config"] == result["preset_config"]
    cost = RunCost(**result["preset_cost"])
    assert cost.first_epochs == 3  # the preset's whitening bias learns for 3 epochs
    assert result["preset_estimated_seconds"] == cost.seconds(result["preset_config"]["epochs"]) > 0
    tried = result["preset_widths_tried"]
    assert tried[0]["width"] == WIDTHS[-1][0] and result["preset_config"]["width"] in [row["width"] for row in tried]
    assert f"at width {result['preset_config']['width']}" in err and "mirrored and shifted test views" in err
    assert 0 < result["preset_gflops_per_second"] and 0 < result["peak_gflops_per_second"]
    assert "GFLOP/s" in err and "of this machine's peak" in err
    assert result["cached_load_seconds"] >= 0
    assert result["peak_rss_mb"] > 50  # torch alone takes more than this: a unit slip (KiB vs bytes) would show
    machine = result["machine"]
    assert machine["torch"] and machine["cpu"] and machine["torch_threads"] >= 1
    assert ("AVX512-BF16" in machine["kind"]) == torch.ops.mkldnn._is_mkldnn_bf16_supported()
    assert machine["kind"] in err  # a person reads which kind of machine the figures are from

    assert "tutorial pipeline" in err and "speed-up" in err  # the readable table, for a person
    reached = result["lenet_seconds_to_tutorial_accuracy"] is not None
    assert ("(median of 3 seeds, " in err) == reached
    assert ("the last point with mirrored test views" in err) == reached  # lenet's preset: its final test's views
    assert ("/3 seeds reached it)" in err) == (result["lenet_seconds_to_tutorial_accuracy"] is None)


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


SEEDS_ARGS = ["--device", "cpu", "--seeds", "2", "--target-accuracy", "0.5", "--epochs", "3", "--batch-size", "30",
              "--no-download", "--json"]  # 30 a batch: 4 steps an epoch on the 120 tiny pictures, a test pass after each


@pytest.fixture(scope="module")
def seeds_run(tiny_tree) -> tuple[dict, str]:
    """The seeds mode on the CPU, run once for the tests below: its JSON figures and its table."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["bench", "--data", str(tiny_tree), *SEEDS_ARGS])
    assert code == 0, err.getvalue()
    return json.loads(out.getvalue().strip().splitlines()[-1]), err.getvalue()


def test_seeds_mode_runs_the_recipe_once_a_seed_with_coherent_figures(seeds_run):
    result, table = seeds_run
    runs = result["seeds"]
    assert [run["seed"] for run in runs] == [0, 1]
    assert result["model"] == result["config"]["model"] == "fastnet"  # the CPU's preset; resnet on CUDA
    assert "seed" not in result["config"] and result["config"]["compile"] is False
    assert result["target_accuracy"] == 0.5 and result["config"]["batch_size"] == 30

    accuracies = [run["test_accuracy"] for run in runs]
    assert result["min_accuracy"] == min(accuracies) and result["max_accuracy"] == max(accuracies)
    assert result["min_accuracy"] <= result["mean_accuracy"] <= result["max_accuracy"]
    assert result["mean_accuracy"] == pytest.approx(sum(accuracies) / 2)
    for run in runs:
        assert [e["epoch"] for e in run["epochs"]] == [0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75, 3]
        assert run["test_accuracy"] == run["epochs"][-1]["test_accuracy"]
        assert 0 < run["first_step_seconds"] <= run["train_seconds"] < run["seconds"]  # the test passes left out
        reached = [e for e in run["epochs"] if e["test_accuracy"] >= 0.5]
        if reached:  # the first point at the target, a quarter epoch at a time; its training time only
            assert run["epochs_to_target"] == reached[0]["epoch"]
            assert run["seconds_to_target"] == reached[0]["train_seconds"] < run["wall_seconds_to_target"]
        else:
            assert run["seconds_to_target"] is run["epochs_to_target"] is None
    times = [run["seconds_to_target"] for run in runs if run["seconds_to_target"] is not None]
    assert result["seeds_reaching_target"] == len(times) >= 1  # the three shapes pass 50% within 3 epochs
    if len(times) == 2:
        assert result["median_seconds_to_target"] == pytest.approx(statistics.median(times))

    losses = [[e["test_loss"] for e in run["epochs"]] for run in runs]
    assert losses[0] != losses[1]  # another seed, another run
    machine = result["machine"]
    assert machine["device"].startswith("CPU") and machine["torch"] == torch.__version__ and machine["cuda"] is None
    assert "median time to 50.0%" in table and f"torch {torch.__version__}" in table
    assert table.count("\n0  ") == table.count("\n1  ") == 1  # one row a seed


def test_a_target_never_reached_has_no_time_and_no_median(seeds_run):
    runs = seeds_run[0]["seeds"]
    missed = [seed_figures(run["seed"], run["epochs"], run, 1.01) for run in runs]
    assert all(run["seconds_to_target"] is run["epochs_to_target"] is None for run in missed)
    assert [run["test_accuracy"] for run in missed] == [run["test_accuracy"] for run in runs]
    summary = seeds_summary(missed)
    assert summary["seeds_reaching_target"] == 0 and summary["median_seconds_to_target"] is None
    table = seeds_table({**seeds_run[0], **summary, "seeds": missed, "target_accuracy": 1.01})
    assert "not reached (0/2 seeds reached it)" in table

    reached = [seed_figures(run["seed"], run["epochs"], run, 0) for run in runs]  # every point reaches 0
    assert [run["epochs_to_target"] for run in reached] == [0.25, 0.25]
    half = seeds_summary([reached[0], missed[1]])
    assert half["seeds_reaching_target"] == 1 and half["median_seconds_to_target"] is None  # a miss counts as slowest
    most = seeds_summary([*reached, missed[0]])
    assert most["median_seconds_to_target"] == max(run["seconds_to_target"] for run in reached)


@pytest.mark.parametrize("args, message", [
    (["--compile"], "--compile belongs to the seeds mode: add --seeds N"),
    (["--epochs", "2"], "--epochs belongs to the seeds mode"),
    (["--seeds", "0"], "--seeds must be at least 1"),
    (["--seeds", "1", "--target-accuracy", "94"], "a fraction in (0, 1], such as 0.94"),
    (["--seeds", "1", "--evals-per-epoch", "0"], "evaluations per epoch must be a whole number from 1"),
])
def test_seeds_options_that_do_not_fit_are_refused_before_any_work(tiny_tree, capsys, args, message):
    code = main(["bench", "--data", str(tiny_tree), "--device", "cpu", "--no-download", *args])
    assert code == EXIT_BAD_INPUT
    assert message in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_the_gpu_mode_without_a_gpu_says_so(tiny_tree, capsys):
    code = main(["bench", "--data", str(tiny_tree), "--device", "cuda", "--no-download"])
    assert code == EXIT_BAD_INPUT
    assert "no CUDA GPU is available here" in capsys.readouterr().err
