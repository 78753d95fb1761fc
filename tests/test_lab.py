"""The app's shared state without the app: runs to compare, one job at a time, the active model swapped whole."""
from __future__ import annotations

import shutil
import time

import numpy as np
import pytest
import torch

from cifar_demo.access import THIS_MACHINE
from cifar_demo.held_out import SOURCE, held_out_count
from cifar_demo.lab import RUNNING, CollectionError, JobRunning, Lab
from cifar_demo.store import Store
from cifar_demo.training import preset
from conftest import tiny_picture


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
    assert str(label).startswith("smallcnn · 6 epochs · ") and str(label).endswith("%")
    assert history["steps"] and history["epochs"]

    job = lab.start_training(preset("lenet", epochs=200, batch_size=4, lr=0.01))
    wait_for(lambda: job.history.steps)
    label, history = lab.runs()[RUNNING]
    assert str(label) == "lenet · training now" and history["steps"]
    assert RUNNING in lab.runs(lab.status())  # a status the caller already holds gives the same runs
    with pytest.raises(JobRunning):
        lab.start_training(preset("lenet"))
    assert lab.stop_training()
    assert job.wait(120) and job.state == "stopped"

    runs = lab.runs()
    key = f"runs/{job.checkpoint_path.name}"
    assert RUNNING not in runs and key in runs and lab.status()["checkpoint"] == key
    assert str(runs[key][0]).startswith("lenet · ")
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


def collected(lab: Lab, per_class: int = 6) -> None:
    """Two of the tiny kinds as a class's own, from bigger photos."""
    rng = np.random.default_rng(7)
    for label, name in enumerate(["spots", "bars"]):
        lab.collection.add_class(name)
        lab.collection.add_pictures(name, [tiny_picture(label, rng, size=96) for _ in range(per_class)],
                                    THIS_MACHINE)


def test_a_fine_tune_on_the_collection_is_browsed_and_evaluated_on_its_held_out_pictures(lab):
    lab.pictures.data()  # the main data set is loaded: the fine-tuned model still finds its own pictures
    collected(lab)
    job = lab.train_your_classes()
    assert job.wait(120) and job.state == "finished", job.message
    assert lab.status()["config"]["init_from"] == "shipped.pt"  # the base by name, not where the server keeps it
    assert lab.shelf.active.path == job.checkpoint_path and lab.shelf.active.classes == ["bars", "spots"]
    assert lab.pictures.test_classes() == ["bars", "spots"]
    checkpoint, data, result = lab.pictures.evaluate()
    assert data.source == SOURCE and len(data.test) == 2 * held_out_count(6)
    assert result.accuracy == pytest.approx(job.result["test_accuracy"])
    assert lab.pictures.browse(0, 16).summary.endswith(f"held-out pictures 1-{len(data.test)} of {len(data.test)}")
    picture, truth = lab.pictures.random_test_picture()
    assert truth in ("bars", "spots") and picture.size == (32, 32)

    assert lab.base_for_your_classes().path.name == "shipped.pt"  # a second run starts from the same layers
    lab.shelf.activate("shipped.pt")
    assert lab.pictures.test_classes() == lab.pictures.data().classes
    assert "held-out" not in lab.pictures.browse(0, 16).summary


def test_a_fine_tuned_model_whose_pictures_are_gone_says_so_in_evaluate(lab, tmp_path):
    collected(lab)
    job = lab.train_your_classes()
    assert job.wait(120) and job.state == "finished", job.message
    restarted = Lab(data_path=lab.pictures.data_path, checkpoint_dir=tmp_path, device="cpu", download=False,
                    trainer=lab.trainer)  # the server started again: the collection lived in memory
    restarted.shelf.activate(lab.shelf.key(job.checkpoint_path))
    with pytest.raises(ValueError, match="collected before the server last started"):
        restarted.pictures.evaluate()
    assert "trained on other classes" in restarted.pictures.browse(0, 16).summary


def test_a_fine_tuned_models_held_out_pictures_come_back_after_a_restart_on_the_same_store(lab, tmp_path):
    store = Store(tmp_path / "class.sqlite3")
    lab = Lab(data_path=lab.pictures.data_path, checkpoint_dir=tmp_path, device="cpu", download=False,
              trainer=lab.trainer, store=store)
    collected(lab)
    job = lab.train_your_classes()
    assert job.wait(120) and job.state == "finished", job.message
    _, held_out, result = lab.pictures.evaluate()
    lab.collection.clear()  # the collection may change after training: the model's pictures stay its own
    store.close()
    restarted = Lab(data_path=lab.pictures.data_path, checkpoint_dir=tmp_path, device="cpu", download=False,
                    trainer=lab.trainer, store=Store(store.path))
    restarted.shelf.activate(lab.shelf.key(job.checkpoint_path))
    _, data, again = restarted.pictures.evaluate()
    assert data.classes == held_out.classes and torch.equal(data.test.images, held_out.test.images)
    assert torch.equal(data.test.labels, held_out.test.labels) and again.accuracy == result.accuracy
    assert "held-out pictures" in restarted.pictures.browse(0, 16).summary and restarted.collection.counts() == {}
    restarted.store.close()


def test_training_with_nothing_collected_is_refused_and_starts_no_job(lab):
    with pytest.raises(CollectionError, match="Nothing collected yet"):
        lab.train_your_classes()
    assert lab.status()["state"] == "idle"
