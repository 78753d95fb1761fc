"""`bench --your-classes`: fine-tuning the shipped checkpoints on a class's few photos (the head, or every layer)
against training the same net from scratch, on CIFAR-10 test pictures added the way uploads are."""
from __future__ import annotations

import io
import statistics
import time
from typing import Iterable

import torch
from PIL import Image

from ..access import THIS_MACHINE
from ..checkpoints import CHECKPOINT_DIR, Checkpoint, CheckpointError, load_checkpoint
from ..collection import Collection, CollectionError
from ..data import Dataset, ImageSet, load_dataset
from ..evaluation import EvalViews, evaluate
from ..held_out import HELD_OUT
from ..images import as_picture
from ..serving import quote
from ..training import TrainConfig, TrainingJob, preset, preset_for_your_classes
from .common import BenchError, columns, machine, say


BENCH_CLASSES = ("cat", "ship", "truck")
BENCH_PER_CLASS = 20   # photos a class might take in a lesson
BENCH_PHOTO_SIDE = 256  # each CIFAR-10 picture is upscaled to this and saved as a JPEG, as a phone photo would be
BENCH_BASES = ("fastnet", "lenet")
BENCH_SEEDS = 3
WAYS = ("head", "all", "scratch")
WAY_LABELS = {"head": "fine-tune the head", "all": "fine-tune all layers", "scratch": "from scratch"}


def as_photo(pixels: torch.Tensor, side: int = BENCH_PHOTO_SIDE) -> bytes:
    """A 32x32 picture as the JPEG upload of a bigger photo, so the benchmark's pictures take the uploads' path."""
    photo = as_picture(pixels).resize((side, side), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def bench_collection(data: Dataset, classes: Iterable[str], per_class: int, seed: int) -> tuple[Collection, ImageSet]:
    """A collection of `per_class` test pictures of each class, drawn with the seed and added as photo uploads;
    and every other test picture of those classes (seen by no run), labelled as the collection's Dataset labels
    them, for a check wider than the held-out few."""
    generator = torch.Generator().manual_seed(seed)
    collection, others = Collection(), []
    for name in classes:
        if name not in data.classes:
            raise CollectionError(f"The data set has no class '{quote(name)}'; it has {', '.join(data.classes)}.")
        collection.add_class(name)
        index = (data.test.labels == data.classes.index(name)).nonzero().flatten()
        index = index[torch.randperm(len(index), generator=generator)]
        for i in index[:per_class].tolist():
            collection.add_picture(name, as_photo(data.test.images[i]), THIS_MACHINE)
        others.append(index[per_class:])
    order = sorted(collection.classes)
    labels = [torch.full((len(rest),), order.index(name)) for name, rest in zip(collection.classes, others)]
    return collection, ImageSet(data.test.images[torch.cat(others)], torch.cat(labels))


def way_config(way: str, base: Checkpoint, train_pictures: int, seed: int, device: str) -> TrainConfig:
    """The run for one way: the preset for the head or all layers; from scratch, the net's own optimizer and
    learning rate on the same budget (epochs, batch, augmentation)."""
    if way != "scratch":
        return preset_for_your_classes(base, train_pictures, way, seed=seed, device=device)
    own = preset(base.meta["model"])
    return preset_for_your_classes(base, train_pictures, "all", seed=seed, device=device, init_from=None,
                                   optimizer=own.optimizer, lr=own.lr)


def bench_run(way: str, base: Checkpoint, collection: Collection, others: ImageSet, seed: int, device: str) -> dict:
    """One training run through a real TrainingJob: held-out and wider accuracy, and its seconds end to end."""
    data = collection.split(seed=seed).dataset(None if way == "scratch" else base)
    config = way_config(way, base, len(data.train), seed, device)
    started = time.perf_counter()
    job = TrainingJob(config, data, run_name=f"bench-{config.model}-{way}-seed{seed}").run()
    seconds = time.perf_counter() - started  # what a class waits: loading the base and the test passes included
    if job.state != "finished":
        raise BenchError(f"{config.model} ({WAY_LABELS[way]}, seed {seed}) {job.state}: {job.message}")
    wider = evaluate(job.model, others, data.classes, job.data.mean, job.data.std, views=EvalViews.of(config))
    correct = round(job.result["test_accuracy"] * len(data.test))
    return {"base": base.path.name, "model": config.model, "way": way, "seed": seed, "epochs": config.epochs,
            "held_out_correct": correct, "held_out": len(data.test), "held_out_accuracy": job.result["test_accuracy"],
            "wider_accuracy": wider.accuracy, "wider": len(others), "seconds": seconds,
            "train_seconds": job.history.epochs[-1]["train_seconds"]}


def compare_ways(data: Dataset, bases: list[Checkpoint], classes: Iterable[str] = BENCH_CLASSES,
                 per_class: int = BENCH_PER_CLASS, seeds: int = BENCH_SEEDS, device: str = "auto") -> dict:
    """Every base three ways (head, all layers, from scratch) on the same photos, once per seed; medians."""
    runs = []
    for seed in range(seeds):
        collection, others = bench_collection(data, classes, per_class, seed)
        for base in bases:
            for way in WAYS:
                run = bench_run(way, base, collection, others, seed, device)
                runs.append(run)
                say(f"  seed {seed}, {base.path.name}, {WAY_LABELS[way]}: {run['held_out_correct']}/{run['held_out']} "
                    f"held out right, {run['seconds']:.1f} s")
    summary = []
    for base in bases:
        for way in WAYS:
            mine = [r for r in runs if r["base"] == base.path.name and r["way"] == way]
            summary.append({"base": base.path.name, "way": way, "epochs": mine[0]["epochs"],
                            **{key: statistics.median(r[key] for r in mine)
                               for key in ("held_out_accuracy", "wider_accuracy", "seconds", "train_seconds")},
                            **{key: sum(r[key] for r in mine) for key in ("held_out_correct", "held_out")},
                            "wider": mine[0]["wider"]})
    return {"classes": list(classes), "per_class": per_class, "seeds": seeds, "runs": runs, "summary": summary}


def comparison_table(result: dict) -> str:
    """The medians side by side, for a person; the JSON line carries every run."""
    rows = [("base", "way", "epochs", "held-out accuracy", "over all seeds", "wider check", "seconds (training)")]
    rows += [(row["base"], WAY_LABELS[row["way"]], str(row["epochs"]), f"{row['held_out_accuracy']:.1%}",
              f"{row['held_out_correct']}/{row['held_out']}", f"{row['wider_accuracy']:.1%} of {row['wider']:,}",
              f"{row['seconds']:.1f} ({row['train_seconds']:.1f})") for row in result["summary"]]
    return "\n".join(columns(rows) + [
        f"{', '.join(result['classes'])}: {result['per_class']} photos each ({BENCH_PHOTO_SIDE}x{BENCH_PHOTO_SIDE} "
        f"JPEGs of CIFAR-10 test pictures, added like uploads), {HELD_OUT:.0%} of each held out; medians of "
        f"{result['seeds']} seeds (each seed draws other photos and another held-out share). The wider check is every "
        "other test picture of those classes. Seconds are each run end to end (base loaded, test passes included); "
        "training alone in brackets. The shipped bases were trained on CIFAR-10, these classes included, on other "
        "pictures."])


def run_your_classes_benchmark(args) -> dict:
    """`bench --your-classes`: fine-tuning the shipped checkpoints against training from scratch."""
    if args.seeds is not None and args.seeds < 1:
        raise BenchError("--seeds must be at least 1.")
    try:
        bases = [load_checkpoint(CHECKPOINT_DIR / f"{name}.pt") for name in BENCH_BASES]
    except CheckpointError as error:
        raise BenchError(str(error)) from None
    data = load_dataset(args.data, download=not args.no_download)
    try:
        result = compare_ways(data, bases, seeds=args.seeds or BENCH_SEEDS, device=args.device)
    except CollectionError as error:
        raise BenchError(str(error)) from None
    say("\n" + comparison_table(result))
    return {**result, "machine": machine()}
