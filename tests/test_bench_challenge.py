"""bench --challenge on the tiny set: two entries of a second through the real queue, timed side by side."""
from __future__ import annotations

import pytest

from cifar_demo.__main__ import EXIT_BAD_INPUT, main
from cifar_demo.bench.challenge import overhead_table, run_entries
from cifar_demo.challenge import Challenge
from cifar_demo.lab import Lab
from cifar_demo.store import Store


def test_the_benchmark_times_each_entry_beyond_its_budget(tiny_tree, tmp_path):
    lab = Lab(data_path=tiny_tree, checkpoint_dir=tmp_path, device="cpu", download=False)
    store = Store(tmp_path / "class.sqlite3")
    challenge = Challenge(lab, store)
    try:
        result = run_entries(challenge, entries=2, seconds=1, epochs=1000)
    finally:
        challenge.close_down()
        store.close()
    rows = result["rows"]
    assert [row["entry"] for row in rows] == [1, 2] and result["budget_seconds"] == 1
    for row in rows:
        assert row["trained_seconds"] >= 1, "each ran to its budget"
        assert row["beyond_budget"] == pytest.approx(row["gap_seconds"] + row["turn_seconds"] - 1)
        assert 0 <= row["validation_accuracy"] <= 1 and 0 <= row["test_accuracy"] <= 1
    assert result["total_seconds"] == pytest.approx(sum(row["gap_seconds"] + row["turn_seconds"] for row in rows))
    table = overhead_table(result)
    assert table[0].split() == ["entry", "trained", "its", "turn", "gap", "before", "beyond", "budget", "epochs",
                                "validation", "test"] and len(table) == 4 and "2 entries of 1 s took" in table[-1]


def test_the_challenge_options_need_challenge_mode(capsys):
    assert main(["bench", "--entry-seconds", "5", "--no-download"]) == EXIT_BAD_INPUT
    assert "--entry-seconds belongs to the challenge benchmark" in capsys.readouterr().err
