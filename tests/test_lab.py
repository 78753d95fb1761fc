"""The app's shared state without the app: runs to compare, one job at a time, the active model swapped whole."""
from __future__ import annotations

import shutil
import time

import pytest

from cifar_demo.lab import RUNNING, JobRunning, Lab
from cifar_demo.training import preset


@pytest.fixture
def lab(tiny_tree, trained_checkpoint, tmp_path):
    shutil.copy(trained_checkpoint.path, tmp_path / "shipped.pt")
    return Lab(data_path=tiny_tree, checkpoint_dir=tmp_path, device="cpu", download=False)


def wait_for(condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_runs_list_the_checkpoints_then_the_job_training_now_then_its_checkpoint(lab, tmp_path):
    label, history = lab.runs()["shipped.pt"]  # clients see names inside the checkpoint folder, not server paths
    assert label.startswith("smallcnn · 6 epochs · ") and label.endswith("%")
    assert history["steps"] and history["epochs"]

    job = lab.start_training(preset("lenet", epochs=200, batch_size=4, lr=0.01))
    wait_for(lambda: job.history.steps)
    label, history = lab.runs()[RUNNING]
    assert label == "lenet · training now" and history["steps"]
    assert RUNNING in lab.runs(lab.status())  # a status the caller already holds gives the same runs
    with pytest.raises(JobRunning):
        lab.start_training(preset("lenet"))
    assert lab.stop_training()
    assert job.wait(120) and job.state == "stopped"

    runs = lab.runs()
    key = f"runs/{job.checkpoint_path.name}"
    assert RUNNING not in runs and key in runs and lab.status()["checkpoint"] == key
    assert runs[key][0].startswith("lenet · ")
    assert lab.shelf.active.path == job.checkpoint_path  # the finished run is every tab's model now


def test_a_checkpoint_without_history_is_not_offered_for_comparison(lab, trained_checkpoint, tmp_path):
    from cifar_demo.checkpoints import save_checkpoint

    meta = {key: value for key, value in trained_checkpoint.meta.items() if key != "history"}
    save_checkpoint(tmp_path / "bare.pt", trained_checkpoint.model, meta)
    fresh = Lab(checkpoint_dir=tmp_path, device="cpu", download=False)
    assert "bare.pt" in fresh.shelf.models
    assert "bare.pt" not in fresh.runs()
    assert "shipped.pt" in fresh.runs()


def test_two_runs_started_in_the_same_second_keep_separate_checkpoints(lab):
    first = lab.start_training(preset("lenet", epochs=1, batch_size=64), name="same-second")
    assert first.wait(120) and first.state == "finished", first.message
    second = lab.start_training(preset("lenet", epochs=1, batch_size=64), name="same-second")
    assert second.wait(120) and second.state == "finished", second.message
    assert first.checkpoint_path != second.checkpoint_path
    assert first.checkpoint_path.is_file() and second.checkpoint_path.is_file()
    assert {lab.shelf.key(first.checkpoint_path), lab.shelf.key(second.checkpoint_path)} <= set(lab.shelf.models)
