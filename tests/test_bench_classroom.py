"""The classroom benchmark end to end on the tiny data set: the real app, a few students, lenet training through
/train or as the challenge queue's entry.

Short real runs (one app subprocess, one student process each): the report has its figures, the students got answers
without errors and the training moved both alone and during the load. No time is asserted.
"""
from __future__ import annotations

import dataclasses

import pytest

from gradio_client import Client

from cifar_demo.__main__ import EXIT_BAD_INPUT, build_parser, main
from cifar_demo.bench.classroom import (STORES, ClassroomConfig, ClassroomError, classroom_benchmark,
                                       config_from_args, figures, measure, report_table, running_app, schedule,
                                       status, write_pictures)
from cifar_demo.checkpoints import CHECKPOINT_DIR


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


def saved_files() -> set:
    return {path for folder in ("runs", "challenge") for path in (CHECKPOINT_DIR / folder).glob("*")}


def test_the_challenge_queue_trains_through_the_load_and_is_ended_after(tiny_tree, tiny_data, tmp_path):
    # The bench's own steps on one real app: the queue's entry trains alone, then under two students' load; after,
    # the app itself says nothing trains or waits, and no checkpoint of the entries is left in the repository.
    config = ClassroomConfig(students=2, every=0.5, seconds=4.0, alone_seconds=2.0, data=str(tiny_tree),
                             device="cpu", download=False, batch_size=4, during="challenge")
    config.validate()
    before = saved_files()
    pictures = write_pictures(tiny_data.test, tmp_path / "pictures", 5, config.seed)
    (tmp_path / "app").mkdir()
    with running_app(config, tmp_path / "app") as url:
        client = Client(url, verbose=False, analytics_enabled=False)
        reports, alone, during = measure(client, url, config, pictures, tmp_path / "app", len(tiny_data.train))
        after, queue = status(client), client.predict(api_name="/challenge_queue")
        board = client.predict(api_name="/challenge_board")
    result = figures(config, [reports], alone, during, 0.0)
    assert result.requests > 0 and result.errors == 0, result.first_errors
    assert result.training_alone_images_per_second > 0 and result.training_during_images_per_second > 0
    assert result.during == "challenge" and "trains as the challenge queue's entry" in report_table(result)
    assert after["run"].startswith("challenge") and after["state"] != "running"
    assert queue["running"] is None and queue["waiting"] == []
    assert board["challenge"]["state"] == "ended" and board["ranked"] == []
    assert [entry["state"] for entry in board["not_ranked"]] == ["lost"]  # cut by the end, its model deleted
    assert saved_files() == before


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
    assert (stores.during, steady.during) == ("train", "train")
    queue = config_from_args(parse(["bench", "--classroom", "--profile", "steady", "--during", "challenge"]))
    assert queue.during == "challenge" and queue.entry_budget >= queue.alone_seconds + queue.seconds
    with pytest.raises(ClassroomError, match="fewer --seconds"):  # an entry's budget is at most an hour
        dataclasses.replace(queue, seconds=3600.0).validate()


def test_both_stores_take_turns_each_first_as_often_as_second():
    # --store both: a load that rises through the run (other work on the machine) weighs on both stores alike
    assert schedule(STORES["both"], 2) == [("memory", 0), ("file", 0), ("file", 1), ("memory", 1)]
    assert schedule(STORES["file"], 1) == [("file", 0)]


def test_the_classrooms_options_without_classroom_are_refused(capsys):
    assert main(["bench", "--students", "3", "--no-download"]) == EXIT_BAD_INPUT
    assert "--students belongs to the classroom benchmark: add --classroom" in capsys.readouterr().err
