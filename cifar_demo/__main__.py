"""Command line: `python -m cifar_demo train|eval|predict|bench`, the same engine as the app."""
from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from dataclasses import fields

from .settings import add_flags, flag
from .training import TrainConfig

EXIT_BAD_INPUT = 2
CLASSROOM_OPTIONS = ("students", "every", "seconds", "profile", "students_nice", "action", "store",
                     "during")  # bench --classroom's own
CHALLENGE_OPTIONS = ("entries", "entry_seconds")  # bench --challenge's own


class UserError(Exception):
    """Bad arguments or bad input: printed as one line, exit status 2, no traceback."""


def _print_json(payload: dict) -> None:
    print(json.dumps(payload), flush=True)


def _per_class_table(classes: list[str], per_class: dict[str, float | None]) -> str:
    width = max(len(c) for c in classes)
    return "\n".join(f"Accuracy for class: {c:<{width}} is "
                     + ("n/a (no test pictures)" if per_class[c] is None else f"{100 * per_class[c]:.1f} %")
                     for c in classes)


def _load_data(args):
    from .data import DataNotFoundError, load_dataset

    try:
        return load_dataset(args.data, download=not args.no_download,
                            progress=lambda f, m: print(f"  {m}", file=sys.stderr, flush=True))
    except DataNotFoundError as error:
        raise UserError(str(error)) from None


def cmd_train(args) -> dict:
    from tqdm import tqdm

    from .checkpoints import checkpoint_path, new_run_name, runs_folder
    from .training import TrainConfig, TrainingJob, preset

    overrides = {f.name: getattr(args, f.name) for f in fields(TrainConfig)
                 if f.name != "model" and getattr(args, f.name) is not None}
    try:
        config = preset(args.model, **overrides)
        config.validate()
    except ValueError as error:
        raise UserError(str(error)) from None
    run_name = new_run_name(config.model)
    out = args.out or checkpoint_path(run_name, runs_folder())
    data = _load_data(args)
    per_epoch = math.ceil(len(data.train) / config.batch_size)  # --minutes plans the run's epochs again, not these
    bars: dict = {}

    def on_event(event: str, job: TrainingJob) -> None:
        progress = job.progress
        if event == "step":
            epoch, before = progress["epoch"], (progress["epoch"] - 1) * per_epoch
            bar = bars.get(epoch)
            if bar is None:
                bar = bars[epoch] = tqdm(total=min(per_epoch, progress["steps"] - before), unit="step",
                                         desc=f"epoch {epoch}/{progress['epochs']}", file=sys.stderr, leave=False)
            bar.n = progress["step"] - before
            bar.set_postfix(loss=f"{job.history.steps[-1]['smooth_loss']:.3f}",
                            img_s=f"{progress['images_per_second']:,.0f}", refresh=True)
        elif event == "epoch":
            for bar in bars.values():
                bar.close()
            bars.clear()
            last = job.history.epochs[-1]
            print(f"epoch {last['epoch']:g}/{progress['epochs']}: test accuracy {100 * last['test_accuracy']:.1f}% "
                  f"(test loss {last['test_loss']:.3f}, {last['seconds']:.0f} s)", file=sys.stderr, flush=True)

    command = "python -m cifar_demo " + " ".join(shlex.quote(a) for a in args.argv)
    job = TrainingJob(config, data, out=out, on_event=on_event, run_name=run_name, notes={"command": command}).run()
    if job.state == "failed":
        print(f"training failed: {job.message}", file=sys.stderr)
        if job.error_traceback:
            print(job.error_traceback, file=sys.stderr)
        sys.exit(1)
    print(f"\n{job.message}", file=sys.stderr)
    print(_per_class_table(data.classes, job.result["per_class"]), file=sys.stderr)
    return {**job.result, "checkpoint": str(job.checkpoint_path) if job.checkpoint_path else None}


def _load(path: str):
    from .checkpoints import CheckpointError, load_checkpoint

    try:
        return load_checkpoint(path)
    except CheckpointError as error:
        raise UserError(str(error)) from None


def cmd_eval(args) -> dict:
    from .device import pick_device
    from .evaluation import EvalViews, evaluate

    checkpoint = _load(args.checkpoint)
    data = _load_data(args)
    if list(data.classes) != list(checkpoint.classes):
        raise UserError(f"Checkpoint '{args.checkpoint}' was trained on classes {checkpoint.classes}, "
                        f"but the data has {data.classes}.")
    device = pick_device(args.device)
    started = time.perf_counter()
    result = evaluate(checkpoint.model.to(device), data.test, data.classes, checkpoint.meta["mean"],
                      checkpoint.meta["std"], device=device,
                      views=EvalViews.of(checkpoint.meta.get("config", {})))
    seconds = time.perf_counter() - started
    per_class = dict(zip(data.classes, result.per_class))
    print(f"Accuracy of the network on the {len(data.test):,} test images: {100 * result.accuracy:.2f} %",
          file=sys.stderr)
    print(_per_class_table(data.classes, per_class), file=sys.stderr)
    return {"test_accuracy": result.accuracy, "per_class": per_class, "seconds": seconds,
            "images_per_second": len(data.test) / seconds}


def cmd_predict(args) -> dict:
    from .images import ImageError
    from .inference import classify

    checkpoint = _load(args.checkpoint)
    predictions = []
    for image in args.images:
        try:
            prediction = classify(checkpoint, image, k=3)
        except (ImageError, OSError) as error:
            raise UserError(f"{image}: {error}") from None
        print(f"{image}: " + ", ".join(f"{c} {p:.1%}" for c, p in prediction.top), file=sys.stderr)
        predictions.append({"image": image, "top": [[c, p] for c, p in prediction.top]})
    return {"predictions": predictions}


def cmd_bench(args) -> dict:
    """The benchmark asked for, imported only now: the product imports none, and only --classroom needs
    gradio_client."""
    from .bench.common import BenchError
    from .data import DataNotFoundError

    try:
        if args.your_classes:
            from .bench.your_classes import run_your_classes_benchmark

            return run_your_classes_benchmark(args)
        if args.classroom:
            from .bench.classroom import run_classroom

            return run_classroom(args)
        if args.challenge:
            from .bench.challenge import run_challenge_benchmark

            return run_challenge_benchmark(args)
        if given := [name for name in CLASSROOM_OPTIONS if getattr(args, name) is not None]:
            raise UserError(f"--{given[0]} belongs to the classroom benchmark: add --classroom to use it.")
        if given := [name for name in CHALLENGE_OPTIONS if getattr(args, name) is not None]:
            raise UserError(f"--{flag(given[0])[2:]} belongs to the challenge benchmark: add --challenge to use it.")
        from .bench.speed import run_benchmark

        return run_benchmark(args)
    except (BenchError, DataNotFoundError) as error:
        raise UserError(str(error)) from None


def _with_data(p: argparse.ArgumentParser, device: bool = True) -> None:
    p.add_argument("--data", help="CIFAR-10 folder, picture folder or archive (default: $CIFAR_DEMO_DATA or ./data)")
    p.add_argument("--no-download", action="store_true", help="never try to download CIFAR-10")
    if device:
        p.add_argument("--device", default="auto", help="auto (default), cpu, cuda or mps")


def _with_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="end with one JSON line on stdout")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cifar_demo", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a net and save a checkpoint")
    _with_data(train, device=False)  # --device is one of the training settings below
    _with_json(train)
    train.add_argument("--out", default=None,
                       help="checkpoint file to write (default checkpoints/runs/<model>-<date>-<time>.pt)")
    settings = train.add_argument_group("training settings", "every TrainConfig setting; those not given take the "
                                        "net's preset")
    add_flags(settings, TrainConfig)
    train.set_defaults(model=TrainConfig.model)

    evaluate = commands.add_parser("eval", help="test accuracy of a checkpoint, overall and per class")
    _with_data(evaluate)
    _with_json(evaluate)
    evaluate.add_argument("--checkpoint", required=True)

    predict = commands.add_parser("predict", help="top 3 classes for each picture")
    _with_json(predict)
    predict.add_argument("--checkpoint", required=True)
    predict.add_argument("images", nargs="+")

    _add_bench_parser(commands)
    return parser


def _add_bench_parser(commands) -> None:
    bench = commands.add_parser("bench", help="training speed: against the tutorial's pipeline on a CPU; "
                                "time to a target accuracy over seeds on a GPU (or with --seeds)")
    _with_data(bench)
    _with_json(bench)
    bench.add_argument("--budget-minutes", type=float, default=10.0, dest="budget_minutes",
                       help="the CPU preset's time budget in the comparison with the tutorial")
    bench.add_argument("--quick", action="store_true", help="a tiny run that only proves the benchmark works")
    bench.add_argument("--out", default=None, help="where the CPU preset's net is saved "
                       "(default: checkpoints/runs/fastnet-bench-DATE-TIME.pt)")
    bench.add_argument("--your-classes", action="store_true", dest="your_classes",
                       help="fine-tuning the shipped fastnet and lenet on 20 photos each of 3 classes (head, all "
                            "layers) against training from scratch; --seeds N runs (default 3)")
    seeds = bench.add_argument_group("seeds mode", "the default on a CUDA GPU; --seeds N turns it on anywhere")
    seeds.add_argument("--seeds", type=int, help="runs of the recipe, seeds 0 to N-1 (default 5 on a GPU)")
    seeds.add_argument("--target-accuracy", type=float, dest="target_accuracy",
                       help="test accuracy to time (default 0.94)")
    seeds.add_argument("--epochs", type=int)
    seeds.add_argument("--batch-size", type=int, dest="batch_size")
    seeds.add_argument("--evals-per-epoch", type=int, dest="evals_per_epoch",
                       help="test passes an epoch, the resolution of the time to the target (default 4)")
    seeds.add_argument("--compile", action="store_true", help="torch.compile the training step")
    classroom = bench.add_argument_group("classroom mode", "--classroom: students classify on the real app while "
                                         "lenet trains; training speed alone and during the load")
    classroom.add_argument("--classroom", action="store_true", help="run the classroom benchmark")
    classroom.add_argument("--students", type=int, help="students, each with their own client (default 30)")
    classroom.add_argument("--every", type=float, help="seconds between a student's pictures, on average (default 2)")
    classroom.add_argument("--seconds", type=float, help="length of the load window (default 60)")
    classroom.add_argument("--students-nice", type=int,
                           help="the student processes' niceness (default 0: the app's priority; 10: a class's laptops do "
                                "their own work, not the server)")
    classroom.add_argument("--profile", choices=["steady", "burst"],
                           help="30 students, every 5 s (steady) or every 2 s (burst)")
    classroom.add_argument("--action", choices=["classify", "share", "add"],
                           help="what each student's picture goes to: classify (default), share (the wall) or add "
                                "(Your classes)")
    classroom.add_argument("--store", choices=["file", "memory", "both"],
                           help="the app's store: a new file (default), memory, or both in alternating rounds, "
                                "to compare")
    classroom.add_argument("--during", choices=["train", "challenge"],
                           help="what trains meanwhile: lenet through /train (default), or a lenet entry of a class "
                                "challenge the bench opens, run by the challenge's queue")
    challenge = bench.add_argument_group("challenge mode", "--challenge: entries of the class challenge run in turn "
                                         "through its queue; the time each takes beyond its budget")
    challenge.add_argument("--challenge", action="store_true", help="run the challenge benchmark")
    challenge.add_argument("--entries", type=int, help="entries to run (default 5)")
    challenge.add_argument("--entry-seconds", type=float, dest="entry_seconds",
                           help="each entry's budget in seconds of training (default 5)")


COMMANDS = {"train": cmd_train, "eval": cmd_eval, "predict": cmd_predict, "bench": cmd_bench}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_BAD_INPUT if exit_.code else 0
    args.argv = sys.argv[1:] if argv is None else list(argv)
    try:
        payload = COMMANDS[args.command](args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if getattr(args, "json", False):
        _print_json(payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
