"""The best fastnet in N minutes on the machine at hand: a few timed steps of each width here, then the widest
width that still fits enough epochs, and the most epochs of it that fit.

A machine's speed decides the recipe: a 2-core CPU with fast bf16 trains 48-192-192 for 11 epochs in ten
minutes, one with AVX2 only (fp32) fits under 3 of it, and a few epochs of a wide net lose to many of a narrow one.
Which precision is faster is device.bf16_is_faster's to measure.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Iterator

import torch

from .data import Dataset, ImageSet
from .evaluation import EvalViews, evaluate
from .training import MAX_EPOCHS, Setup, TrainConfig, TrainingJob, prepare, preset, train_step

BUDGET_SAFETY = 0.95  # runs are sized to this share of the budget: a machine's speed wanders by a few per cent

# fastnet's widths, widest first, each with the fewest epochs it needs to beat the next narrower width in the same
# minutes. Measured (CIFAR-10's JPEG copy, seed 0, the preset's recipe in fp32, the final test with mirrored and
# shifted views), at equal time on a 2-core AVX2-only CPU's ten minutes (its speeds, timed on a Xeon with oneDNN
# held to AVX2: 16-64-64 1,513 img/s, 24-96-96 811, 32-128-128 505, 48-192-192 244):
#   64 x 15 epochs 85.8%, 96 x 8 86.4%, 128 x 5 86.2%: 96 beats 64 at 8 epochs, 128 ties 96 at 5;
# on that Xeon's own ten minutes in fp32 (AVX-512; 32-128-128 about 900 img/s, 48-192-192 about 460):
#   128 x 9 epochs 88.0%, 192 x 4 86.6%: 128 wins where 192 fits 4;
# and on a 2-core EPYC with fast bf16, 48-192-192 x 11 epochs 90.3% against 48-128-128 x 19 89.6% (issue 15).
# With Muon for the filters (the preset since), on a real 2-core AVX2-only EPYC's ten minutes in the bench's budget
# mode: 96 x 9.47 epochs 87.5%, 128 x 6.23 87.5% (128's threshold lowered for the run): a tie again.
# On a Xeon with AVX512-BF16 and AMX (2 torch threads, bf16): 192 x 10.3 epochs 90.3%; its probe timed 128's epoch
# at 20.3 s, 192's at 64.3 (26 epochs against 8): 128 x 26 there is not yet measured. On the bf16 EPYC again
# (2026-12-04): 192 x 11.8 epochs 90.3%, and 64-128-128 (airbench93's, a first group of 64) x 16 90.4%, where
# airbench94's own code reaches 90.48% in 645 s on this JPEG copy (README, Performance).
# The accuracy at equal time is flat across widths within a point: the thresholds only keep a wide net from
# being chosen for too few epochs to learn in.
WIDTHS: tuple[tuple[int, int], ...] = ((192, 8), (128, 6), (96, 8), (64, 1))


@dataclass(frozen=True)
class RunCost:
    """What a run costs here: the steps of an epoch once the whitening bias is fixed, what each of the first
    epochs (the bias still learning) costs on top, and the parts paid once."""
    steady_epoch_seconds: float  # an epoch's steps with the whitening bias fixed
    first_epoch_extra_seconds: float  # what an epoch with the bias learning costs beyond a steady one
    first_epochs: int  # epochs the bias learns: the recipe's whiten_bias_epochs (every epoch when it has none)
    warmup_seconds: float  # the first steps' one-off cost beyond their share (kernels are built then)
    plain_test_seconds: float  # the plain test pass after each epoch but the last
    final_test_seconds: float  # the last epoch's test, with the recipe's test-time views

    def seconds(self, epochs: int) -> float:
        """The run's length on its own clock: each epoch's steps and its test (the last one with the views)."""
        return (self.warmup_seconds + epochs * self.steady_epoch_seconds
                + min(epochs, self.first_epochs) * self.first_epoch_extra_seconds
                + (epochs - 1) * self.plain_test_seconds + self.final_test_seconds)

    def epochs_within(self, seconds: float) -> int:
        """The most epochs whose run fits these seconds; one when none fits."""
        epochs = 1
        while epochs < MAX_EPOCHS and self.seconds(epochs + 1) <= seconds:
            epochs += 1
        return epochs


@dataclass(frozen=True)
class Probe:
    """How many timed steps and test pictures size a run: more costs more seconds before the run, and wanders less."""
    warmup_steps: int = 3  # steps that build the kernels, left out of the step times
    timed_steps: int = 8  # steps timed with the bias learning, and again with it fixed; the median counts. With 4,
    # three probes of width 128 in a row here said 67.5, 71.7 and 78.3 s an epoch (the run: 57-72 s an epoch)
    test_pictures: int = 1000  # one test batch: the per-picture cost of a whole test pass


@dataclass(frozen=True)
class Sized:
    """A recipe sized to the budget: its settings, what the probe measured, and every width tried."""
    config: TrainConfig
    cost: RunCost
    tried: tuple[dict, ...]  # each width probed: width, epochs that fit, seconds those take, a steady epoch

    @property
    def seconds(self) -> float:
        return self.cost.seconds(self.config.epochs)


def random_pictures(count: int, classes: int, generator: torch.Generator) -> ImageSet:
    """Pictures of noise: a step costs the same on any picture, so the probe needs no data set."""
    return ImageSet(torch.randint(0, 256, (count, 3, 32, 32), dtype=torch.uint8, generator=generator),
                    torch.randint(0, classes, (count,), generator=generator))


def probe_data(config: TrainConfig, probe: Probe, classes: int = 10) -> Dataset:
    generator = torch.Generator().manual_seed(0)
    steps = probe.warmup_steps + 2 * probe.timed_steps + 1
    return Dataset(train=random_pictures(config.batch_size * steps, classes, generator),
                   test=random_pictures(probe.test_pictures, classes, generator),
                   classes=[str(n) for n in range(classes)], source="probe")


def noise_setup(config: TrainConfig, probe: Probe = Probe()) -> Setup:
    """The recipe ready for its first step, on noise pictures: what the probe and a FLOP count time or count."""
    return prepare(TrainingJob(config, probe_data(config, probe), run_name="probe"))


def step_times(setup: Setup, count: int) -> list[float]:
    """Seconds of each of `count` steps as a run takes them: its batch made, the step, the weight averaging."""
    times, batches = [], setup.batches(0)
    for step in range(1, count + 1):
        started = time.perf_counter()
        images, labels = next(batches)
        train_step(setup, images, labels)
        if setup.lookahead:
            setup.lookahead.step(setup.model, step)
        times.append(time.perf_counter() - started)
    return times


def measure(config: TrainConfig, train_pictures: int, test_pictures: int, probe: Probe = Probe()) -> RunCost:
    """This recipe's cost here for a data set of this size, from a few steps on noise and one test batch."""
    setup = noise_setup(config, probe)
    warm = step_times(setup, probe.warmup_steps)
    learning = statistics.median(step_times(setup, probe.timed_steps))
    if hasattr(setup.model, "freeze_whitening"):
        setup.model.freeze_whitening()
    steady = statistics.median(step_times(setup, probe.timed_steps + 1)[1:])  # the first rebuilds a kernel
    data = setup.data
    evaluate(setup.model, ImageSet(data.test.images[:100], data.test.labels[:100]), data.classes, data.mean, data.std,
             cpu_bf16=config.cpu_bf16)  # builds the test batch's kernels
    started = time.perf_counter()
    evaluate(setup.model, data.test, data.classes, data.mean, data.std, cpu_bf16=config.cpu_bf16)
    plain_test = (time.perf_counter() - started) / len(data.test) * test_pictures
    steps = -(-train_pictures // config.batch_size)
    return RunCost(steady_epoch_seconds=steps * steady, first_epoch_extra_seconds=steps * max(0.0, learning - steady),
                   first_epochs=MAX_EPOCHS if config.whiten_bias_epochs is None else config.whiten_bias_epochs,
                   warmup_seconds=max(0.0, sum(warm) - len(warm) * learning), plain_test_seconds=plain_test,
                   final_test_seconds=plain_test * EvalViews.of(config).passes)


def best_in(minutes: float, train_pictures: int, test_pictures: int, probe: Probe = Probe(),
            say: Callable[[str], None] = lambda line: None, **overrides) -> Sized:
    """fastnet sized to the budget here: each width measured in turn, from the narrowest up, until one no longer
    fits enough epochs (the probe of a wider one would cost more and could only fit fewer). Its epochs are a first
    plan: the run itself plans again after each epoch to end within the minutes."""
    def measured() -> Iterator[tuple[int, TrainConfig, RunCost]]:
        for width, _ in reversed(WIDTHS):
            config = replace(preset("fastnet", **overrides), width=width)
            cost = measure(config, train_pictures, test_pictures, probe)
            say(f"  width {width}: an epoch {cost.steady_epoch_seconds:,.1f} s")
            yield width, config, cost

    sized = widest_that_fits(measured(), minutes * 60 * BUDGET_SAFETY)
    return replace(sized, config=replace(sized.config, minutes=minutes))  # the run keeps to them (deadline.py)


def widest_that_fits(measured: Iterable[tuple[int, TrainConfig, RunCost]], seconds: float) -> Sized:
    """From widths measured narrowest first: the widest that fits its fewest epochs (WIDTHS) in the seconds, with
    the most epochs that fit; the narrowest whatever fits."""
    fewest = dict(WIDTHS)
    chosen, tried = None, []
    for width, config, cost in measured:
        epochs = cost.epochs_within(seconds)
        tried.append({"width": width, "epochs": epochs,
                      "seconds": cost.seconds(epochs), "steady_epoch_seconds": cost.steady_epoch_seconds})
        if chosen and epochs < fewest[width]:
            break  # too few epochs of this width: the narrower one learns more in the time
        chosen = (replace(config, epochs=epochs), cost)
    return Sized(*chosen, tried=tuple(tried))
