"""The held-out draw: its size per class, one draw per seed, and each picture in exactly one of train and test."""
from __future__ import annotations

import pytest
import torch

from cifar_demo.held_out import Split, held_out_count, held_out_positions, readiness


def pictures(count: int, first: int) -> list[torch.Tensor]:
    """Pictures told apart by their first pixel."""
    return [torch.full((3, 32, 32), first + n, dtype=torch.uint8) for n in range(count)]


@pytest.mark.parametrize("pictures, held", [(2, 1), (3, 1), (10, 2), (20, 4), (200, 40)])
def test_a_fifth_of_each_class_is_held_out_at_least_one_never_all(pictures, held):
    assert held_out_count(pictures) == held


def test_a_split_puts_each_picture_once_by_its_class_in_sorted_order():
    groups = {"zebra": pictures(10, 0), "ant": pictures(5, 100)}
    split = Split.of(groups, seed=7)
    assert split.classes == ["ant", "zebra"]
    assert [sum(name == c for c, _, _ in split.test) for name in split.classes] == [1, 2]
    members = split.train + split.test
    assert sorted(int(p[0, 0, 0]) for _, _, p in members) == list(range(10)) + list(range(100, 105))
    assert all(torch.equal(groups[name][number - 1], pixels) for name, number, pixels in members)
    data = split.dataset()
    assert data.test.labels.tolist() == [split.classes.index(name) for name, _, _ in split.test]
    assert torch.equal(data.train.images, torch.stack([p for _, _, p in split.train]))


def test_the_same_seed_draws_the_same_pictures_another_seed_others():
    groups = {"cat": pictures(20, 0), "dog": pictures(20, 50)}
    held = {(name, number) for name, number, _ in Split.of(groups, seed=3).test}
    assert held == {(name, number) for name, number, _ in Split.of(groups, seed=3).test}
    assert held != {(name, number) for name, number, _ in Split.of(groups, seed=4).test}
    positions = held_out_positions({"cat": 20, "dog": 20}, seed=3)  # what the lesson zip holds out
    assert held == {(name, place + 1) for name, places in positions.items() for place in places}


def test_classes_too_few_or_too_small_to_split_are_named():
    assert readiness({"cat": 2, "dog": 2}) is None
    assert "'dog'" in str(readiness({"cat": 3, "dog": 1}))
    assert "'dog'" in str(readiness({"cat": 3, "dog": 0}))
    assert readiness({}) is not None and readiness({"cat": 5}) is not None
