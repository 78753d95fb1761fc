"""bench --your-classes on the tiny set: the three ways compared on the same photos, and its refusals."""
from __future__ import annotations

import pytest

from cifar_demo.__main__ import EXIT_BAD_INPUT, main
from cifar_demo.bench.your_classes import compare_ways, comparison_table
from cifar_demo.collection import CollectionError

from conftest import TINY_CLASSES


def test_the_benchmark_compares_the_three_ways_on_the_same_photos(tiny_data, trained_checkpoint):
    result = compare_ways(tiny_data, [trained_checkpoint], classes=TINY_CLASSES, per_class=8, seeds=1, device="cpu")
    assert [row["way"] for row in result["summary"]] == ["head", "all", "scratch"]
    for row in result["summary"]:
        assert row["held_out"] == 6 and 0 <= row["held_out_correct"] <= 6 and row["wider"] == 3 * (12 - 8)
        assert row["held_out_accuracy"] == pytest.approx(row["held_out_correct"] / 6)
        assert 0 < row["train_seconds"] <= row["seconds"]
    table = comparison_table(result)
    assert "fine-tune the head" in table and "from scratch" in table and "of 12" in table
    with pytest.raises(CollectionError, match="no class 'cat'"):
        compare_ways(tiny_data, [trained_checkpoint], seeds=1)


def test_the_benchmark_command_refuses_zero_seeds(capsys):
    assert main(["bench", "--your-classes", "--seeds", "0", "--no-download"]) == EXIT_BAD_INPUT
    assert "--seeds must be at least 1" in capsys.readouterr().err
