"""The classroom benchmark end to end on the tiny data set: the real app, three students, lenet training.

A short real run (one app subprocess, one student process): the report has its figures, the students got answers
without errors and the training moved both alone and during the load. No time is asserted.
"""
from __future__ import annotations

import dataclasses

import pytest

from cifar_demo.__main__ import EXIT_BAD_INPUT, build_parser, main
from cifar_demo.bench.classroom import (STORES, ClassroomConfig, ClassroomError, classroom_benchmark,
                                       config_from_args, report_table, schedule)


def test_a_short_classroom_run_reports_answers_and_training_speeds(tiny_tree):
    # batch 4: the tiny set's 120 pictures make 30 steps an epoch, and 1000 epochs outlast the run. The students
    # share: past a page's cap of 10 each opens a new page, so every share is answered.
    config = ClassroomConfig(students=3, every=0.5, seconds=8.0, alone_seconds=3.0, data=str(tiny_tree),
                             device="cpu", download=False, batch_size=4, action="share")
    (figures,) = classroom_benchmark(config)
    report = dataclasses.asdict(figures)
    assert set(report) == {f.name for f in dataclasses.fields(figures)}
    assert report["students"] == 3 and report["student_processes"] == 1
    assert figures.requests > 0 and (figures.action, figures.store) == ("share", "file")
    assert figures.errors == 0, figures.first_errors
    assert figures.p50_ms is not None and figures.p50_ms <= figures.p95_ms <= figures.max_ms
    assert figures.training_alone_images_per_second > 0
    assert figures.training_during_images_per_second > 0
    assert figures.training_slow_down is not None and figures.cores
    table = report_table(figures)
    assert "requests (errors)" in table and "training during the load" in table


def test_the_command_line_takes_the_profile_and_overrides_it():
    parse = build_parser().parse_args
    steady = config_from_args(parse(["bench", "--classroom", "--profile", "steady", "--seconds", "20"]))
    assert (steady.students, steady.every, steady.seconds) == (30, 5.0, 20.0)
    chosen = config_from_args(parse(["bench", "--classroom", "--profile", "burst", "--students", "10"]))
    assert (chosen.students, chosen.every, chosen.seconds) == (10, 2.0, 60.0)
    with pytest.raises(ClassroomError):
        config_from_args(parse(["bench", "--classroom", "--students", "0"])).validate()
    stores = config_from_args(parse(["bench", "--classroom", "--profile", "burst", "--action", "add", "--store", "both"]))
    assert (stores.action, stores.store, stores.every) == ("add", "both", 2.0)


def test_both_stores_take_turns_each_first_as_often_as_second():
    # --store both: a load that rises through the run (other work on the machine) weighs on both stores alike
    assert schedule(STORES["both"], 2) == [("memory", 0), ("file", 0), ("file", 1), ("memory", 1)]
    assert schedule(STORES["file"], 1) == [("file", 0)]


def test_the_classrooms_options_without_classroom_are_refused(capsys):
    assert main(["bench", "--students", "3", "--no-download"]) == EXIT_BAD_INPUT
    assert "--students belongs to the classroom benchmark: add --classroom" in capsys.readouterr().err
