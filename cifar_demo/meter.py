"""The run's clock and the points readers chart: the loss over windows of steps, images per second with the test
passes left out, elapsed time and ETA, and a point for each test pass."""
from __future__ import annotations

import contextlib
import time
from typing import Iterator

import torch

from .device import synchronize
from .job import JobRecord

POINTS_PER_EPOCH = 20
MAX_STEPS_PER_POINT = 25  # the loss is read at least every 25 steps; each read waits for the device


class Meter:
    """Times a run from its first step and writes its loss and test points, and its progress, into the record."""

    def __init__(self, record: JobRecord, device: torch.device, steps_per_epoch: int, total_steps: int,
                 train_pictures: int):
        self.record, self.device = record, device
        self.steps_per_epoch, self.total_steps, self.train_pictures = steps_per_epoch, total_steps, train_pictures
        self.steps_per_point = max(1, min(MAX_STEPS_PER_POINT, steps_per_epoch // POINTS_PER_EPOCH))
        self.step = 0
        self.smooth_loss: float | None = None
        self.started = time.perf_counter()
        self.test_seconds = 0.0  # spent in test passes: left out of the training time and images/s
        self.test_passes = 0
        self.first_step_seconds: float | None = None  # it pays for compilation and warm-up: timed on its own
        self._window_loss = torch.zeros((), device=device)  # summed on the device: no sync until it is read
        self._window_steps = self._window_pictures = 0
        self._window_start, self._window_tests = self.started, 0.0

    def count(self, loss: torch.Tensor, pictures: int) -> bool:
        """A step done: its loss added on the device, its pictures counted. True when a loss point is due."""
        self._window_loss += loss.detach()
        self._window_steps += 1
        self._window_pictures += pictures
        self.step += 1
        if self.step == 1:
            synchronize(self.device)
            self.first_step_seconds = time.perf_counter() - self.started
        return self._window_steps == self.steps_per_point or self.step == self.total_steps

    @property
    def pending(self) -> bool:
        """Whether steps were taken since the last loss point."""
        return self._window_steps > 0

    def window_loss(self) -> float:
        """The mean loss of the steps since the last point (this waits for the device)."""
        return self._window_loss.item() / self._window_steps

    @property
    def epochs_done(self) -> float:
        """Where the run is, in epochs: a point's place on the charts, which may fall inside an epoch."""
        return self.step / self.steps_per_epoch

    def record_step(self, loss: float, epoch: int, lr: float) -> None:
        """A loss point with its speed, and the progress it brings; a new window opens."""
        # each point already averages up to 25 steps: a light touch keeps the curve on the raw one
        self.smooth_loss = loss if self.smooth_loss is None else 0.6 * self.smooth_loss + 0.4 * loss
        now = time.perf_counter()
        training_seconds = now - self._window_start - (self.test_seconds - self._window_tests)
        speed = self._window_pictures / max(training_seconds, 1e-9)
        elapsed = now - self.started
        self.record.add_step(
            {"step": self.step, "epoch": self.epochs_done, "loss": loss,
             "smooth_loss": self.smooth_loss, "lr": lr, "images_per_second": speed},
            epoch=epoch + 1, step=self.step, fraction=self.step / self.total_steps, images_per_second=speed,
            elapsed_seconds=elapsed, eta_seconds=elapsed / self.step * (self.total_steps - self.step))
        self._window_loss.zero_()
        self._window_steps = self._window_pictures = 0
        self._window_start, self._window_tests = now, self.test_seconds

    @contextlib.contextmanager
    def test_pass(self) -> Iterator[None]:
        """Times a test pass, to leave it out of the training time."""
        synchronize(self.device)  # queued training work is not counted as test time
        started = time.perf_counter()
        yield
        self.test_seconds += time.perf_counter() - started
        self.test_passes += 1

    def record_test(self, loss: float, accuracy: float, **about) -> None:
        """A test point, and the run's result as of it: the accuracy, `about` (what was tested) and the times."""
        seconds, epochs_done = time.perf_counter() - self.started, self.epochs_done
        self.record.add_test(
            {"epoch": epochs_done, "test_loss": loss, "test_accuracy": accuracy, "seconds": seconds,
             "train_seconds": seconds - self.test_seconds},
            {"test_accuracy": accuracy, **about, "seconds": seconds,
             "images_per_second": self.train_pictures * epochs_done / seconds, "epochs_done": epochs_done,
             "first_step_seconds": self.first_step_seconds},
            elapsed_seconds=seconds)
