"""The trainer process for real: runs mirrored into the server's handle, Stop, and a worker killed with SIGKILL."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import torch

from cifar_demo.checkpoints import load_checkpoint
from cifar_demo.data import DataNotFoundError
from cifar_demo.trainer import Trainer, WorkerJob, died_message, server_threads, trainer_threads
from cifar_demo.training import TrainingJob, preset


@pytest.fixture(scope="module")
def trainer():
    trainer = Trainer(threads=torch.get_num_threads()).start()  # the same kernels as here: the same numbers
    yield trainer
    trainer.close()


def job_for(trainer: Trainer, tiny_data, out, epochs: int = 2, **hooks) -> WorkerJob:
    config = preset("lenet", epochs=epochs, batch_size=16, device="cpu")
    return WorkerJob(trainer, config, lambda: tiny_data, out, out.stem, **hooks)


def wait_for_steps(job: WorkerJob, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not job.history.steps:
        assert job.state == "running", job.message
        assert time.monotonic() < deadline, "the worker made no step"
        time.sleep(0.05)


def test_a_run_in_the_worker_reads_exactly_like_one_in_this_process(trainer, tiny_data, tmp_path):
    seen_at_end = []
    job = job_for(trainer, tiny_data, tmp_path / "remote.pt", on_end=lambda j: seen_at_end.append(j.snapshot()))
    assert job.start().wait(120) and job.state == "finished", job.message
    local = TrainingJob(preset("lenet", epochs=2, batch_size=16, device="cpu"), tiny_data).run()
    remote = job.snapshot()
    losses = [s["loss"] for s in remote["history"]["steps"]]
    assert losses == pytest.approx([s["loss"] for s in local.history.steps], rel=1e-4)  # the same seed, the same run
    assert [e["epoch"] for e in remote["history"]["epochs"]] == [e["epoch"] for e in local.history.epochs]
    assert remote["result"]["test_accuracy"] == pytest.approx(local.result["test_accuracy"], abs=0.03)
    assert load_checkpoint(job.checkpoint_path).meta["run"] == "remote"
    # the server took up the checkpoint before the job said it had ended: 'finished' never comes before the model
    assert seen_at_end[0]["state"] == "running" and seen_at_end[0]["checkpoint"] == str(tmp_path / "remote.pt")


def test_stop_ends_a_worker_run_and_keeps_what_it_learnt(trainer, tiny_data, tmp_path):
    job = job_for(trainer, tiny_data, tmp_path / "stopped.pt", epochs=500).start()
    wait_for_steps(job)
    job.stop()
    assert job.wait(60) and job.state == "stopped", job.message
    assert job.progress["step"] < job.progress["steps"] and load_checkpoint(job.checkpoint_path)


def test_a_stop_while_the_data_loads_starts_nothing(trainer, tiny_data, tmp_path):
    def slow_data():
        time.sleep(1)
        return tiny_data

    config = preset("lenet", epochs=500, batch_size=16, device="cpu")
    job = WorkerJob(trainer, config, slow_data, tmp_path / "never.pt", "never").start()
    job.stop()
    assert job.wait(60) and job.state == "stopped" and "nothing was saved" in job.message
    assert not (tmp_path / "never.pt").exists()


def test_missing_data_fails_the_run_with_the_paragraph(trainer, tmp_path):
    def no_data():
        raise DataNotFoundError("No training data found at 'x'. Tried: ...")

    config = preset("lenet", epochs=1, batch_size=16, device="cpu")
    job = WorkerJob(trainer, config, no_data, tmp_path / "x.pt", "x").start()
    assert job.wait(30) and job.state == "failed" and str(job.message).startswith("No training data found")


def test_a_killed_worker_fails_its_run_with_a_clear_message_and_the_next_run_works(trainer, tiny_data, tmp_path):
    earlier = job_for(trainer, tiny_data, tmp_path / "earlier.pt", epochs=1).start()
    assert earlier.wait(120) and earlier.state == "finished", earlier.message
    victim = job_for(trainer, tiny_data, tmp_path / "victim.pt", epochs=500).start()
    wait_for_steps(victim)
    killed = trainer.pid
    os.kill(killed, signal.SIGKILL)
    assert victim.wait(30) and victim.state == "failed"
    assert victim.message == died_message(-signal.SIGKILL) and "SIGKILL" in str(victim.message)
    assert not (tmp_path / "victim.pt").exists() and not list(tmp_path.glob(".victim.pt.*"))  # no half file
    after = job_for(trainer, tiny_data, tmp_path / "after.pt", epochs=1).start()
    assert after.wait(180) and after.state == "finished", after.message
    assert trainer.pid not in (None, killed)
    assert load_checkpoint(tmp_path / "earlier.pt") and load_checkpoint(tmp_path / "after.pt")


def test_the_cores_are_split_between_trainer_and_server():
    assert (trainer_threads(1), server_threads(1)) == (1, 1)
    assert (trainer_threads(2), server_threads(2)) == (1, 1)
    assert (trainer_threads(8), server_threads(8)) == (4, 4)


def test_the_worker_is_named_so_a_teacher_can_find_it(trainer):
    deadline = time.monotonic() + 60  # start() returns while the worker still boots: it names itself once it serves
    while Path(f"/proc/{trainer.pid}/comm").read_text().strip() != "cifar-trainer":
        assert time.monotonic() < deadline, "the worker never named itself"
        time.sleep(0.05)
