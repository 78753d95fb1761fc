"""How good is a net: accuracy overall and per class, the confusion matrix, predictions for any slice."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from .data import ImageSet, normalize
from .device import autocast


@dataclass(frozen=True)
class EvalViews:
    """The views of each test picture whose logits are averaged (test-time augmentation); none by default."""
    flip: bool = False   # the mirror image too
    shift: bool = False  # also shifted a pixel up-left and down-right (and mirrored, with flip), weighed as much

    @classmethod
    def of(cls, config) -> "EvalViews":
        """The views a run asked for: from a TrainConfig, or a checkpoint's saved config (a dict, maybe empty)."""
        get = config.get if isinstance(config, dict) else lambda key, default: getattr(config, key, default)
        return cls(bool(get("test_time_flip", False)), bool(get("test_time_shift", False)))

    @property
    def passes(self) -> int:
        """Passes of the net over each picture: what a test with these views costs against a plain one."""
        return (2 if self.flip else 1) * (3 if self.shift else 1)


@dataclass
class EvalResult:
    accuracy: float
    loss: float
    per_class: list[float | None]  # None for a class with no test pictures
    confusion: torch.Tensor  # (K, K) counts: row = true class, column = predicted class
    predictions: torch.Tensor  # (N,) predicted class of every picture


# Pictures a forward pass tests. On a CPU a batch's activations should stay in the cache: fastnet 24-96-96 on a
# 2-core AVX2 EPYC tested 10,000 pictures in 4.7 s at 1,000 a batch, 3.0-3.5 at 125, 3.3 at 64, 3.8 at 32 (with
# mirrored and shifted views 33, 24-25, 25, 27 s); 48-192-192 10.3-11.7 s at 250 to 32. A GPU wants big batches.
CPU_TEST_BATCH = 128
ACCELERATOR_TEST_BATCH = 1000


@torch.inference_mode()
def predict_logits(model: nn.Module, images: torch.Tensor, mean, std, device: torch.device | None = None,
                   batch_size: int | None = None, views: EvalViews = EvalViews(),
                   should_stop: Callable[[], bool] | None = None, cpu_bf16: bool = False) -> torch.Tensor:
    """Logits for uint8 pictures, in batches sized to the device, averaged over the test-time views asked for;
    cpu_bf16 as in training (2x the test pictures a second on a CPU with native bf16)."""
    device = device or next(model.parameters()).device
    on_cpu = torch.device(device).type == "cpu"
    batch_size = batch_size or (CPU_TEST_BATCH if on_cpu else ACCELERATOR_TEST_BATCH)
    was_training = model.training
    model.eval()
    outputs = []
    try:
        for start in range(0, len(images), batch_size):
            if should_stop and should_stop():
                raise InterruptedError("evaluation stopped")
            batch = normalize(images[start:start + batch_size].to(device), mean, std)
            with autocast(device, cpu_bf16):
                outputs.append(view_logits(model, batch, views).cpu())
    finally:
        model.train(was_training)
    return torch.cat(outputs) if outputs else torch.zeros(0, 0)


def view_logits(model: nn.Module, batch: torch.Tensor, views: EvalViews) -> torch.Tensor:
    """The batch's logits averaged over its views. Shifts pad by reflection, so no view sees a black border."""
    def with_mirror(pictures: torch.Tensor) -> torch.Tensor:
        logits = model(pictures).float()
        return (logits + model(pictures.flip(3)).float()) / 2 if views.flip else logits

    logits = with_mirror(batch)
    if views.shift:
        padded = nn.functional.pad(batch, (1, 1, 1, 1), mode="reflect")
        shifted = (with_mirror(padded[..., :-2, :-2]) + with_mirror(padded[..., 2:, 2:])) / 2
        logits = (logits + shifted) / 2
    return logits


def confusion_matrix(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    return torch.bincount(labels * num_classes + predictions, minlength=num_classes ** 2).view(num_classes, num_classes)


def per_class_accuracy(confusion: torch.Tensor) -> list[float | None]:
    """Share of each true class predicted right; None, not a false 0.0, for a class with no test pictures."""
    totals = confusion.sum(dim=1).tolist()
    return [right / total if total else None for right, total in zip(confusion.diag().tolist(), totals)]


def most_confused_pairs(confusion: torch.Tensor, classes: list[str], k: int = 3) -> list[tuple[str, str, int]]:
    """(true class, predicted class, count) of the k biggest off-diagonal cells; ties in the classes' order, so the
    same mix-ups always read the same."""
    off = confusion.clone()
    off.fill_diagonal_(0)
    counts, flat = off.flatten().sort(descending=True, stable=True)
    counts, flat = counts[:k], flat[:k]
    n = len(classes)
    return [(classes[i // n], classes[i % n], int(c)) for c, i in zip(counts.tolist(), flat.tolist()) if c > 0]


def evaluate(model: nn.Module, data: ImageSet, classes: list[str], mean, std, device: torch.device | None = None,
             views: EvalViews = EvalViews(), should_stop: Callable[[], bool] | None = None,
             cpu_bf16: bool = False) -> EvalResult:
    logits = predict_logits(model, data.images, mean, std, device, views=views, should_stop=should_stop,
                            cpu_bf16=cpu_bf16)
    predictions = logits.argmax(dim=1)
    confusion = confusion_matrix(predictions, data.labels, len(classes))
    return EvalResult(
        accuracy=(predictions == data.labels).float().mean().item(),
        loss=nn.functional.cross_entropy(logits, data.labels).item(),
        per_class=per_class_accuracy(confusion),
        confusion=confusion,
        predictions=predictions,
    )
