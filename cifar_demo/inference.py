"""What does the net think this picture is: top-k classes and the 32x32 picture it actually saw."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image

from .checkpoints import Checkpoint
from .evaluation import predict_logits
from .images import ImageError, as_picture, square_pixels


@dataclass
class Prediction:
    top: list[tuple[str, float]]  # (class, probability), most likely first
    seen: Image.Image             # the 32x32 RGB picture fed to the net

    def as_dict(self) -> dict[str, float]:
        return dict(self.top)


def picture_tensor(image) -> tuple[torch.Tensor, Image.Image]:
    """Any path, bytes or PIL image to a uint8 (1, 3, 32, 32) tensor and its 32x32 picture."""
    pixels = square_pixels(image)
    return pixels.unsqueeze(0), as_picture(pixels)


def classify(checkpoint: Checkpoint, image, k: int = 5) -> Prediction:
    """Raises images.ImageError with a plain message for anything that is not a usable picture."""
    outcome = classify_many(checkpoint, [image], k)[0]
    if isinstance(outcome, ImageError):
        raise outcome
    return outcome


def classify_many(checkpoint: Checkpoint, images: list, k: int = 5) -> list[Prediction | ImageError]:
    """Every picture of a batch in one forward pass; a bad one gets its ImageError and spoils no other's answer."""
    decoded: dict[int, tuple[torch.Tensor, Image.Image]] = {}
    outcomes: list[Prediction | ImageError | None] = [None] * len(images)
    for i, image in enumerate(images):
        if isinstance(image, ImageError):  # refused before it came here (not an upload): it keeps its refusal
            outcomes[i] = image
            continue
        try:
            decoded[i] = picture_tensor(image)
        except ImageError as error:
            outcomes[i] = error
    if decoded:
        batch = torch.cat([tensor for tensor, _ in decoded.values()])
        logits = predict_logits(checkpoint.model, batch, checkpoint.meta["mean"], checkpoint.meta["std"])
        top = torch.softmax(logits, dim=1).topk(max(1, min(k, logits.shape[1])), dim=1)
        for row, (i, (_, seen)) in enumerate(decoded.items()):
            pairs = zip(top.values[row].tolist(), top.indices[row].tolist())
            outcomes[i] = Prediction([(checkpoint.classes[c], float(p)) for p, c in pairs], seen)
    return outcomes


def enlarge(picture: Image.Image, size: int = 256) -> Image.Image:
    """Nearest-neighbour scaling keeps the pixels sharp, so people see what 32x32 really means."""
    return picture.resize((size, size), Image.Resampling.NEAREST)
