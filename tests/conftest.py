"""Shared fixtures: tiny picture data sets made on the spot, so every test runs on any machine."""
from __future__ import annotations

import os
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cifar_demo.network import network_address

# Tests never touch the user's cache or try the network for CIFAR-10.
os.environ["CIFAR_DEMO_CACHE"] = tempfile.mkdtemp(prefix="cifar-demo-test-cache-")
# Each test process's servers upload to a folder of its own. gradio names an upload by its content and a server that
# stops deletes the uploads it made: in a folder shared with another test process (both send test_wall's photos),
# one closing took the other's photo away between its upload and its read ("The file could not be read.").
os.environ["GRADIO_TEMP_DIR"] = tempfile.mkdtemp(prefix="cifar-demo-test-uploads-")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPO = Path(__file__).resolve().parent.parent
SHARED_ARCHIVE = REPO.parent / "shared" / "data" / "cifar10-jpg.tar.gz"
TINY_CLASSES = ["circle", "stripes", "square"]
# Warning filters, the last matching line wins. pytest shows every other warning in its summary.
WARNING_FILTERS = [
    # A warning the project's own code issues fails the run (its intended ones, such as CheckpointSkipped, are
    # caught where they are expected: pytest.warns in tests, catch_warnings in Lab).
    r"error:::cifar_demo(\.|$)",
    r"error:::app$",
    # ResourceWarning names whichever module the garbage collector interrupted, not the leaking one: Python's default.
    "ignore::ResourceWarning",
    # Third-party noise, by name: gradio 6's queue sets pandas options that pandas 3 deprecates, on every event.
    "ignore::pandas.errors.Pandas4Warning:gradio",
]


def pytest_configure(config):
    for line in WARNING_FILTERS:
        config.addinivalue_line("filterwarnings", line)


def tiny_picture(label: int, rng: np.random.Generator, size: int = 32) -> Image.Image:
    """Three shapes a small net can tell apart after a few steps, with noise and random colours."""
    yy, xx = np.mgrid[0:size, 0:size]
    cy, cx = rng.integers(10, size - 10, 2)
    if label == 0:
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 < rng.integers(30, 80)
    elif label == 1:
        mask = (xx // 4) % 2 == 0
    else:
        half = rng.integers(5, 9)
        mask = (abs(yy - cy) < half) & (abs(xx - cx) < half)
    colour = rng.integers(120, 256, 3)
    picture = rng.integers(0, 60, (size, size, 3)) + mask[..., None] * colour
    return Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8))


def make_picture_tree(root: Path, per_class: tuple[int, int] = (40, 12), seed: int = 0) -> Path:
    """root/train/<class>/*.png and root/test/<class>/*.png."""
    rng = np.random.default_rng(seed)
    for split, count in zip(("train", "test"), per_class):
        for label, name in enumerate(TINY_CLASSES):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                tiny_picture(label, rng).save(folder / f"{i:03d}.png")
    return root


@pytest.fixture(scope="session")
def tiny_tree(tmp_path_factory) -> Path:
    return make_picture_tree(tmp_path_factory.mktemp("tiny") / "pictures")


@pytest.fixture(scope="session")
def tiny_archive(tiny_tree, tmp_path_factory) -> Path:
    archive = tmp_path_factory.mktemp("tiny-archive") / "pictures.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tiny_tree, arcname="pictures")
    return archive


@pytest.fixture(scope="session")
def tiny_data(tiny_tree):
    from cifar_demo.data import load_dataset

    return load_dataset(tiny_tree, download=False)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict:
    """tests/bad_inputs.py's awkward files by name, (path, expect): written once, as its huge JPEGs take seconds to
    encode; the tests only read them."""
    from bad_inputs import build_corpus

    return {name: (path, expect) for name, path, expect in build_corpus(tmp_path_factory.mktemp("corpus"))}


@pytest.fixture(scope="session")
def trained_checkpoint(tiny_data, tmp_path_factory):
    """A smallcnn trained for a few epochs on the tiny set: a real model for inference and app tests."""
    from cifar_demo.checkpoints import load_checkpoint
    from cifar_demo.training import TrainingJob, preset

    out = tmp_path_factory.mktemp("ckpt") / "tiny-smallcnn.pt"
    job = TrainingJob(preset("smallcnn", epochs=6, batch_size=16, lr=0.05, device="cpu"), tiny_data, out=out).run()
    assert job.state == "finished", job.message
    return load_checkpoint(out)


def shared_archive_or_skip() -> Path:
    if not SHARED_ARCHIVE.is_file():
        pytest.skip(f"integration test: {SHARED_ARCHIVE} is not present")
    return SHARED_ARCHIVE


def network_address_or_skip() -> str:
    """This machine's address on its network, as another computer or a phone in the class reaches the app."""
    address = network_address()
    if address is None:
        pytest.skip("this machine has no network address besides the loopback one")
    return address
