"""Sizing fastnet to a budget: the run's arithmetic, the choice of width, and a real probe on this machine."""
from __future__ import annotations

from dataclasses import replace

import pytest

from cifar_demo.evaluation import EvalViews
from cifar_demo.sizing import WIDTHS, Probe, RunCost, best_in, measure, widest_that_fits
from cifar_demo.training import preset


def test_the_run_estimate_pays_the_first_epochs_extra_and_the_final_test_once():
    cost = RunCost(steady_epoch_seconds=40, first_epoch_extra_seconds=8, first_epochs=3, warmup_seconds=2,
                   plain_test_seconds=3, final_test_seconds=9)
    assert cost.seconds(1) == 2 + 40 + 8 + 9  # one epoch: its steps, the bias's extra, the final test only
    assert cost.seconds(5) == 2 + 5 * 40 + 3 * 8 + 4 * 3 + 9  # the extra for the first 3 epochs, 4 plain tests
    assert cost.epochs_within(cost.seconds(5)) == 5
    assert cost.epochs_within(cost.seconds(5) - 0.1) == 4
    assert cost.epochs_within(cost.seconds(6) - 0.1) == 5
    assert cost.epochs_within(10) == 1  # nothing fits: one epoch, which the budget's backstop stops
    always = RunCost(40, 8, first_epochs=10**6, warmup_seconds=0, plain_test_seconds=0, final_test_seconds=0)
    assert always.seconds(5) == 5 * 48  # a bias that never stops learning: every epoch pays the extra


def test_a_test_with_views_costs_a_pass_for_each_view():
    assert [EvalViews(flip, shift).passes for flip in (False, True) for shift in (False, True)] == [1, 3, 2, 6]


def costs(epoch_seconds: dict[int, float]) -> list:
    """Widths measured narrowest first, each an epoch of the given seconds and nothing else."""
    return [(width, replace(preset("fastnet"), width=width), RunCost(epoch_seconds[width], 0, 0, 0, 0, 0))
            for width, _ in reversed(WIDTHS) if width in epoch_seconds]


def test_the_widest_width_that_fits_its_fewest_epochs_is_chosen_with_every_epoch_that_fits():
    fewest = dict(WIDTHS)
    narrowest, next_up = WIDTHS[-1][0], WIDTHS[-2][0]
    budget = 600.0
    fits = {narrowest: budget / 20, next_up: budget / fewest[next_up]}  # the wider one just fits its fewest
    sized = widest_that_fits(costs(fits), budget)
    assert sized.config.width == next_up and sized.config.epochs == fewest[next_up]
    assert [row["width"] for row in sized.tried] == [narrowest, next_up]

    short = {narrowest: budget / 20, next_up: budget / (fewest[next_up] - 0.5)}  # one epoch short of its fewest
    sized = widest_that_fits(costs(short), budget)
    assert sized.config.width == narrowest and sized.config.epochs == 20


def test_the_narrowest_width_is_chosen_even_when_nothing_fits():
    sized = widest_that_fits(costs({width: 10_000.0 for width, _ in WIDTHS}), 600)
    assert sized.config.width == WIDTHS[-1][0] and sized.config.epochs == 1
    assert len(sized.tried) == 2  # the next width up did not fit either: wider ones are not measured


def test_widths_stop_being_measured_at_the_first_that_does_not_fit():
    measured = []

    def lazily():
        for row in costs({width: 60.0 if width <= WIDTHS[-2][0] else 10_000.0 for width, _ in WIDTHS}):
            measured.append(row[0])
            yield row

    sized = widest_that_fits(lazily(), 600)
    assert sized.config.width == WIDTHS[-2][0] and measured == [width for width, _ in reversed(WIDTHS)][:3]


def test_a_real_probe_measures_each_part_of_a_run():
    cost = measure(replace(preset("fastnet"), width=16, batch_size=32), train_pictures=320, test_pictures=100,
                   probe=Probe(1, 1, 50))
    assert cost.steady_epoch_seconds > 0 and cost.first_epoch_extra_seconds >= 0 and cost.warmup_seconds >= 0
    assert cost.first_epochs == 3  # the preset's whitening bias learns for 3 epochs
    assert cost.final_test_seconds == pytest.approx(6 * cost.plain_test_seconds)  # mirrored and shifted views


def test_best_in_returns_a_run_that_validates_and_fits():
    sized = best_in(0.2, train_pictures=256, test_pictures=100, probe=Probe(1, 1, 50), batch_size=32)
    sized.config.validate()
    assert sized.config.width in dict(WIDTHS) and sized.config.batch_size == 32
    assert sized.config.minutes == 0.2  # the run keeps to them, whatever the probe said
    assert sized.seconds <= 0.2 * 60 or sized.config.epochs == 1
    assert [row["width"] for row in sized.tried][0] == WIDTHS[-1][0]
