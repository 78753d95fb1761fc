import time
from types import SimpleNamespace

import pytest

from cifar_demo.deadline import DEADLINE_SHARE, Deadline, EvalPoints


@pytest.mark.parametrize("steps_per_epoch, every", [(10, 10), (10, 3), (7, 2), (196, 49), (1, 1)])
def test_the_points_between_two_steps_are_the_ones_a_run_tests_at(steps_per_epoch, every):
    points = EvalPoints(steps_per_epoch, every)
    tested = [step for step in range(1, 5 * steps_per_epoch + 1)
              if step % steps_per_epoch == 0 or points.inside(step)]  # train_one_epoch's points, and each epoch's end
    assert all(step % steps_per_epoch % every == 0 for step in tested if step % steps_per_epoch)
    for first in range(0, 2 * steps_per_epoch + 1):
        for last in range(first, 5 * steps_per_epoch + 1):
            assert points.between(first, last) == sum(first < step < last for step in tested), (first, last)


def meter_at(step: int, seconds: float, test_seconds: float, test_passes: int) -> SimpleNamespace:
    """What a Deadline reads of a run's Meter: its steps, its clock's start, its test passes and their time."""
    return SimpleNamespace(step=step, started=time.perf_counter() - seconds, test_seconds=test_seconds,
                           test_passes=test_passes)


def seconds_of(more: int, step: int, points: EvalPoints, step_seconds: float, test_pass: float, final: int) -> float:
    """Steps, then the plain tests: the one due now (the plan comes before an epoch's test) and those among the
    steps, then the final test."""
    return more * step_seconds + (points.between(step, step + more) + (more > 0) + final) * test_pass


def test_a_plan_fills_the_minutes_left_at_the_last_epochs_pace_with_its_tests_and_the_final_one():
    points, final = EvalPoints(100, 50), 6
    deadline = Deadline(10, points, final_passes=final, test_steps=40)
    # the first epoch: 100 steps in 60.25 s, of which 2 test passes took 4 s: 0.5625 s a step, 2 s a test pass
    total = deadline.total_steps(meter_at(100, 60.25, 4.0, 2), most=100_000)
    left = 600 * DEADLINE_SHARE - 60.25
    more = total - 100
    assert seconds_of(more, 100, points, 0.5625, 2.0, final) <= left < seconds_of(more + 1, 100, points, 0.5625, 2.0,
                                                                                 final)
    # the second epoch ran faster (0.3 s a step): the plan grows, from that epoch's pace alone
    grown = deadline.total_steps(meter_at(200, 60.25 + 34.25, 8.0, 4), most=100_000)
    left = 600 * DEADLINE_SHARE - 94.5
    more = grown - 200
    assert grown > total
    assert seconds_of(more, 200, points, 0.3025, 2.0, final) <= left < seconds_of(more + 1, 200, points, 0.3025, 2.0,
                                                                                 final)


def test_a_first_plan_before_any_test_counts_a_test_pass_as_the_steps_given():
    deadline = Deadline(1, EvalPoints(100, 100), final_passes=2, test_steps=10)
    total = deadline.total_steps(meter_at(100, 10.5, 0.0, 0), most=100_000)  # 0.105 s a step: a test 1.05 s
    left, more = 60 * DEADLINE_SHARE - 10.5, total - 100
    points = EvalPoints(100, 100)
    assert seconds_of(more, 100, points, 0.105, 1.05, 2) <= left < seconds_of(more + 1, 100, points, 0.105, 1.05, 2)


def test_a_plan_with_no_time_left_ends_the_run_now_and_one_never_passes_the_most():
    late = Deadline(1, EvalPoints(100, 100), final_passes=1, test_steps=40)
    assert late.total_steps(meter_at(100, 120.0, 1.0, 1), most=100_000) == 100
    early = Deadline(60, EvalPoints(100, 100), final_passes=1, test_steps=40)
    assert early.total_steps(meter_at(100, 1.0, 0.1, 1), most=1000) == 1000


def test_a_run_slower_than_its_last_plan_is_overdue_once_its_final_test_would_pass_the_minutes():
    deadline = Deadline(1, EvalPoints(100, 100), final_passes=6, test_steps=40)
    assert not deadline.overdue(meter_at(50, 59.0, 0.0, 0))  # before a first plan: no test pass measured yet
    deadline.total_steps(meter_at(100, 20.5, 0.5, 1), most=100_000)  # a plain test pass: 0.5 s, the final 3 s
    assert not deadline.overdue(meter_at(150, 56.5, 0.5, 1))
    assert deadline.overdue(meter_at(150, 57.5, 0.5, 1))
