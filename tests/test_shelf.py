"""The shelf of checkpoints: names clients see, the best one active at start, unusable files noted, not fatal."""
from __future__ import annotations

import shutil

import pytest
import torch

from cifar_demo.checkpoints import save_checkpoint
from cifar_demo.shelf import NoModel, Shelf


def test_the_best_checkpoint_is_active_and_every_one_is_named_inside_the_folder(trained_checkpoint, tmp_path):
    (tmp_path / "runs").mkdir()
    shutil.copy(trained_checkpoint.path, tmp_path / "good.pt")
    worse = {**trained_checkpoint.meta, "test_accuracy": 0.1}
    save_checkpoint(tmp_path / "runs" / "worse.pt", trained_checkpoint.model, worse)
    shelf = Shelf(tmp_path, [tmp_path, tmp_path / "runs"], torch.device("cpu"))
    assert shelf.active_key == "good.pt"
    assert [key for _, key in shelf.choices()] == ["good.pt", "runs/worse.pt"]
    assert shelf.key(tmp_path.parent / "elsewhere" / "x.pt") == "x.pt"  # never a server path
    assert shelf.activate("runs/worse.pt") is shelf.active and shelf.active_key == "runs/worse.pt"


def test_an_unusable_file_is_skipped_and_noted_and_an_unknown_name_is_refused(trained_checkpoint, tmp_path):
    shutil.copy(trained_checkpoint.path, tmp_path / "good.pt")
    (tmp_path / "broken.pt").write_bytes(b"not a checkpoint")
    shelf = Shelf(tmp_path, [tmp_path], torch.device("cpu"), checkpoint=tmp_path / "missing.pt")
    assert list(shelf.models) == ["good.pt"]
    assert len(shelf.problems) == 2  # the broken file and the --checkpoint that is not there
    assert str(shelf.notice) == "2 checkpoint files could not be used and were skipped; the server's log says why."
    assert str(tmp_path) not in str(shelf.notice)
    with pytest.raises(NoModel, match="No model 'nope.pt' is known"):
        shelf.activate("nope.pt")
    assert shelf.active_key == "good.pt"


def test_an_empty_shelf_says_how_to_get_a_model(tmp_path):
    shelf = Shelf(tmp_path, [tmp_path], torch.device("cpu"))
    with pytest.raises(NoModel, match="train one in the Train tab"):
        shelf.require()
