"""What does the net think this picture is: top-k classes and the 32x32 picture it actually saw."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from .checkpoints import Checkpoint
from .evaluation import predict_logits
from .images import open_image, to_square_rgb


@dataclass
class Prediction:
    top: list[tuple[str, float]]  # (class, probability), most likely first
    seen: Image.Image             # the 32x32 RGB picture fed to the net

    def as_dict(self) -> dict[str, float]:
        return dict(self.top)


def picture_tensor(image) -> tuple[torch.Tensor, Image.Image]:
    """Any path, bytes or PIL image to a uint8 (1, 3, 32, 32) tensor and its 32x32 picture."""
    seen = to_square_rgb(open_image(image), 32)
    return torch.from_numpy(np.asarray(seen).transpose(2, 0, 1).copy()).unsqueeze(0), seen


def classify(checkpoint: Checkpoint, image, k: int = 5) -> Prediction:
    """Raises images.ImageError with a plain message for anything that is not a usable picture."""
    tensor, seen = picture_tensor(image)
    logits = predict_logits(checkpoint.model, tensor, checkpoint.meta["mean"], checkpoint.meta["std"])
    probabilities = torch.softmax(logits[0], dim=0)
    values, indices = probabilities.topk(max(1, min(k, len(probabilities))))
    classes = checkpoint.classes
    return Prediction([(classes[i], float(p)) for p, i in zip(values.tolist(), indices.tolist())], seen)


def enlarge(picture: Image.Image, size: int = 256) -> Image.Image:
    """Nearest-neighbour scaling keeps the pixels sharp, so people see what 32x32 really means."""
    return picture.resize((size, size), Image.Resampling.NEAREST)
