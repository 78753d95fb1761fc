"""Many people classifying while the class trains: 16 gradio_client callers of /classify for 30 s during a job.

Zero errors, every answer well-formed, training keeps going; the figures (latency, requests/s, training slow-down)
are printed as a table and written to tests/artifacts/load.json for the README. No time is asserted.
The callers run in one process of their own (tests/load_callers.py), as browsers would: sharing this process's
interpreter with the server and the training thread would count their work as the server's.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

import pytest

import test_app
from conftest import REPO
from test_app import LONG_TRAIN, assert_well_formed, wait_for_steps, wait_until_done

served = test_app.served  # the app of tests/test_app.py, fixture and all, started afresh for this module

CALLERS = 16          # the numbers
LOAD_SECONDS = 30.0
ALONE_SECONDS = 5.0   # training measured on its own just before the load (a figure for the table, not asserted)
SAME_PICTURE_SECONDS = 5.0  # the six callers of one picture: a few rounds each is what the test needs
HANG_GUARD_SECONDS = 300.0  # callers not back this long after the window have hung
CALLERS_SCRIPT = REPO / "tests" / "load_callers.py"
ARTIFACT = REPO / "tests" / "artifacts" / "load.json"


@dataclass
class LoadFigures:
    callers: int
    seconds: float
    requests: int
    errors: int
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    training_alone_images_per_second: float
    training_under_load_images_per_second: float
    training_slow_down: float
    cpu_count: int | None
    load_average_before: float

    def table(self) -> str:
        """A Markdown table, ready for the README."""
        rows = [("callers of /classify", f"{self.callers}"), ("duration", f"{self.seconds:.1f} s"),
                ("requests (errors)", f"{self.requests:,} ({self.errors})"),
                ("requests/s", f"{self.requests_per_second:.1f}"),
                ("latency p50", f"{self.p50_ms:,.0f} ms"), ("latency p95", f"{self.p95_ms:,.0f} ms"),
                ("training alone", f"{self.training_alone_images_per_second:,.0f} img/s"),
                ("training under load", f"{self.training_under_load_images_per_second:,.0f} img/s"),
                ("training slow-down", f"{self.training_slow_down:.2f}x"),
                ("machine", f"{self.cpu_count} CPUs, load average {self.load_average_before:.2f} before the test")]
        width = max(len(name) for name, _ in rows)
        return "\n".join([f"| {'figure':<{width}} | value |", f"|{'-' * (width + 2)}|-------|"]
                         + [f"| {name:<{width}} | {value} |" for name, value in rows])


def training_speed(before: dict, after: dict) -> float:
    """Images a second between two /status readings, from the job's own step count and clock."""
    steps = after["progress"]["step"] - before["progress"]["step"]
    seconds = after["progress"]["elapsed_seconds"] - before["progress"]["elapsed_seconds"]
    assert steps > 0, f"training made no step between two readings: {after['state']} {after['message']}"
    return steps * after["config"]["batch_size"] / seconds


def run_callers(client, url: str, pictures: list[str]) -> tuple[dict, dict, dict]:
    """The callers' report, with the job's /status as the load begins and as it ends."""
    command = [sys.executable, str(CALLERS_SCRIPT), url, str(CALLERS), str(LOAD_SECONDS), *pictures]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as callers:
        try:
            assert callers.stdout.readline().strip() == "ready", "the callers could not connect"
            load_from = client.predict(api_name="/status")
            report, _ = callers.communicate(timeout=LOAD_SECONDS + HANG_GUARD_SECONDS)
            load_to = client.predict(api_name="/status")
        finally:
            callers.kill()  # a no-op once it has exited
    assert callers.returncode == 0, f"the callers' process failed ({callers.returncode})"
    return json.loads(report), load_from, load_to


def test_sixteen_callers_classify_for_thirty_seconds_while_a_job_trains(served, tiny_tree, capsys):
    _, client, url = served
    pictures = [str(path) for path in sorted((tiny_tree / "test").glob("*/*.png"))]
    load_average = os.getloadavg()[0]
    client.predict(*LONG_TRAIN.values(), api_name="/train")
    try:
        alone_from = wait_for_steps(client)
        time.sleep(ALONE_SECONDS)
        report, load_from, load_to = run_callers(client, url, pictures)
        assert load_to["state"] == "running", "the job outlasts the load window"
    finally:
        client.predict(api_name="/stop")
    final, _ = wait_until_done(client)
    assert final["state"] == "stopped", final["message"]

    calls = report["calls"]
    errors = [call["error"] for call in calls if "error" in call]
    assert not errors, f"{len(errors)} of {len(calls)} calls failed, first: {errors[:3]}"
    assert {call["caller"] for call in calls} == set(range(CALLERS)), "every caller got answers"
    for call in calls:
        assert_well_formed(call["answer"])
    alone, loaded = training_speed(alone_from, load_from), training_speed(load_from, load_to)
    percentiles = statistics.quantiles([call["seconds"] * 1000 for call in calls], n=100)
    figures = LoadFigures(CALLERS, report["seconds"], len(calls), len(errors), len(calls) / report["seconds"],
                          percentiles[49], percentiles[94], alone, loaded, alone / loaded, os.cpu_count(),
                          load_average)
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps(asdict(figures), indent=2) + "\n")
    with capsys.disabled():
        print(f"\n\n/classify under load while {LONG_TRAIN['net']} trains on the tiny data set "
              f"(also in {ARTIFACT.relative_to(REPO)}):\n{figures.table()}\n")


def test_six_callers_sending_the_same_picture_all_get_whole_answers(served, tiny_tree):
    """The lost answers of a class: gradio names a returned picture by its content and rewrites that file in place,
    so callers with the same photo truncated each other's downloads. Answer pictures are files of their own now."""
    _, _, url = served
    command = [sys.executable, str(CALLERS_SCRIPT), url, "6", str(SAME_PICTURE_SECONDS),
               str(sorted((tiny_tree / "test").glob("*/*.png"))[0])]
    finished = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=SAME_PICTURE_SECONDS + HANG_GUARD_SECONDS)
    assert finished.returncode == 0
    calls = json.loads(finished.stdout.splitlines()[-1])["calls"]
    errors = [call["error"] for call in calls if "error" in call]
    assert calls and not errors, f"{len(errors)} of {len(calls)} calls failed, first: {errors[:3]}"
    first = {c["label"]: c["confidence"] for c in calls[0]["answer"][0]["confidences"]}
    for call in calls:  # one picture, one answer, however the batches fell (their sums differ in the last digits)
        assert {c["label"]: c["confidence"] for c in call["answer"][0]["confidences"]} == pytest.approx(first, abs=1e-5)
    for call in calls:
        assert_well_formed(call["answer"])
