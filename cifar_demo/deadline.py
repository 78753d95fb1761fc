"""A run given minutes: after each epoch its remaining steps are planned again from what that epoch's steps and
test passes took, so a run on a machine slower or faster than its probe said still ends on time. The last epoch
may be a part of one."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .meter import Meter

DEADLINE_SHARE = 0.97  # a plan aims at this share of the minutes: an epoch's pace is the last one's within a few
# per cent, and the final test and the save come after the last plan


@dataclass(frozen=True)
class EvalPoints:
    """Where a run tests: every `every` steps inside an epoch, and at each epoch's end."""
    steps_per_epoch: int
    every: int

    def inside(self, step: int) -> bool:
        """Whether a test point falls after this step, inside its epoch (not at its end)."""
        into = step % self.steps_per_epoch
        return into > 0 and into % self.every == 0

    def between(self, first: int, last: int) -> int:
        """The test points after step `first` and before step `last`."""
        count = 0
        for epoch in range(first // self.steps_per_epoch, math.ceil(last / self.steps_per_epoch)):
            start = epoch * self.steps_per_epoch
            inside = range(start + self.every, start + self.steps_per_epoch, self.every)
            count += sum(first < point < last for point in (*inside, start + self.steps_per_epoch))
        return count


class Deadline:
    """Plans a run's steps so that they, the plain tests among them and the final test end within the minutes."""

    def __init__(self, minutes: float, points: EvalPoints, final_passes: int, test_steps: float):
        self.limit = minutes * 60
        self.seconds = self.limit * DEADLINE_SHARE
        self.points, self.final_passes = points, final_passes
        self.test_steps = test_steps  # a test pass's cost in steps' time until one is measured: a forward pass
        # over a picture costs about a third of a step's, so this errs long, and only at a first plan
        self._since = (0, 0.0, 0.0, 0)  # at the last plan: steps, seconds, test seconds, test passes
        self.test_pass: float | None = None  # a plain test pass's seconds, as the last plan measured it

    def total_steps(self, meter: Meter, most: int) -> int:
        """The run's steps in all: as many more as fit the seconds left at the last epoch's pace, at most `most`."""
        now = (meter.step, time.perf_counter() - meter.started, meter.test_seconds, meter.test_passes)
        steps, seconds, test_seconds, tests = (a - b for a, b in zip(now, self._since))
        self._since = now
        step_seconds = (seconds - test_seconds) / max(1, steps)
        test_pass = self.test_pass = test_seconds / tests if tests else step_seconds * self.test_steps
        left = self.seconds - now[1] - self.final_passes * test_pass

        def cost(more: int) -> float:  # with more steps, the test due now is a plain one, and the final comes later
            tests = self.points.between(meter.step, meter.step + more) + (more > 0)
            return more * step_seconds + tests * test_pass

        fits, could = 0, most - meter.step  # a bisection: `fits` steps fit, no more than `could` might
        while fits < could:
            middle = (fits + could + 1) // 2
            fits, could = (middle, could) if cost(middle) <= left else (fits, middle - 1)
        return min(most, meter.step + fits)

    def overdue(self, meter: Meter) -> bool:
        """Whether the final test, started now, would end past the minutes: a machine that slowed down since the
        last plan ends its run at once. Never before a first plan: no test pass is timed until then."""
        return (self.test_pass is not None
                and time.perf_counter() - meter.started + self.final_passes * self.test_pass > self.limit)
