"""Inside the net: layer shapes, first-layer filters, feature maps and Grad-CAM for any net or checkpoint."""
from __future__ import annotations

import copy
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from .checkpoints import Checkpoint
from .data import normalize
from .images import as_picture
from .inference import picture_tensor
from .models import Residual, create_model
from .plots import colour_maps, heat_overlay, tile_grid, titled
from .serving import quote
from .words import ENGLISH, Say, class_words, render

MAX_MAPS = 16          # feature maps shown per stage
TILE = 96              # on-screen size of one filter or feature-map tile, in pixels
CAM_CELLS_LAST = 4     # Grad-CAM reads the layer the classifier reads if it is at least this wide,
CAM_CELLS_EARLIER = 8  # else the deepest layer at least this wide (see _cam_target)
TABLE_HEADERS = ["layer", "type", "input", "output", "parameters"]  # keys under "explain." too


# ------------------------------------------------------------------ plumbing


def _as_model(source: nn.Module | Checkpoint | str) -> nn.Module:
    if isinstance(source, Checkpoint):
        return source.model
    if isinstance(source, str):
        return create_model(source)
    return source


def _private_copy(model: nn.Module) -> nn.Module:
    """Hooks and eval mode on a copy, so predictions running on the shared model at the same time are untouched."""
    return copy.deepcopy(model).eval()


@contextmanager
def _hooks(modules: dict[str, nn.Module], record):
    """Call record(name, module, input, output) after each of `modules` runs; removed on exit."""
    handles = [module.register_forward_hook(lambda m, i, o, name=name: record(name, m, i, o))
               for name, module in modules.items()]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def format_shape(shape) -> str:
    """[6, 28, 28] -> '6x28x28', the way the seeds write it."""
    return "x".join(str(n) for n in shape)


def _picture(picture) -> tuple[torch.Tensor, Image.Image]:
    """A uint8 (1, 3, 32, 32) tensor and its 32x32 picture, from a file/bytes/PIL image or a uint8 tensor."""
    if isinstance(picture, torch.Tensor):
        if picture.dtype != torch.uint8 or picture.numel() != 3 * 32 * 32:
            raise ValueError(Say("explain.tensor", dtype=picture.dtype, shape=list(picture.shape)))
        tensor = picture.reshape(1, 3, 32, 32).cpu()
        return tensor, as_picture(tensor[0])
    return picture_tensor(picture)


def _model_input(model: nn.Module, tensor: torch.Tensor, meta: dict) -> torch.Tensor:
    return normalize(tensor.to(next(model.parameters()).device), meta["mean"], meta["std"])


# ------------------------------------------------------------------ layer walk-through


def _conv_sentence(name: str, conv: nn.Conv2d, before: str, after: str) -> Say:
    k, s, p = conv.kernel_size[0], conv.stride[0], conv.padding[0]
    filters = Say("explain.filters", count=conv.out_channels)
    turns = Say("explain.turns", before=before, after=after) if before != after else Say("explain.keeps", after=after)
    said = {"name": name, "turns": turns, "k": k, "s": s, "p": p, "filters": filters}
    if s == 1 and p == 0:
        lost = (Say("explain.lost_sides", n=(k - 1) // 2) if k % 2 else
                Say("explain.lost_all", n=k - 1) if k > 2 else Say("explain.lost_one"))
        return Say("explain.conv_valid", lost=lost, **said)
    if s == 1 and 2 * p == k - 1:
        return Say("explain.conv_same", **said)
    if s == k and p == 0:
        return Say("explain.conv_patches", **said)
    return Say("explain.conv", **said)


def _sentence(name: str, module: nn.Module | None, inp: list[int], out: list[int], last: bool) -> Say:
    """What a teacher writes next to each layer, with the reason for the shape change."""
    before, after = format_shape(inp), format_shape(out)
    if module is None:
        return Say("explain.flatten", before=before, after=after, product="·".join(map(str, inp)), count=out[0])
    if isinstance(module, nn.Conv2d):
        return _conv_sentence(name, module, before, after)
    if isinstance(module, (nn.AdaptiveMaxPool2d, nn.AdaptiveAvgPool2d)):
        kind = "largest" if isinstance(module, nn.AdaptiveMaxPool2d) else "average"
        return Say(f"explain.global_{kind}", name=name, channels=inp[0], before=before, after=after)
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        kind = "largest" if isinstance(module, nn.MaxPool2d) else "average"
        k = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
        halves = "halves" if out[-1] * 2 == inp[-1] else "shrinks"
        return Say(f"explain.{halves}_{kind}", name=name, before=before, after=after, k=k)
    if isinstance(module, nn.Linear):
        key = "explain.linear" + ("_last" if last else "") + ("_bias" if module.bias is not None else "")
        return Say(key, name=name, inputs=module.in_features, outputs=module.out_features)
    if isinstance(module, nn.BatchNorm2d):
        return Say("explain.batchnorm", name=name, channels=inp[0], after=after)
    for kind, key in ((nn.ReLU, "relu"), (nn.GELU, "gelu"), (Residual, "residual")):
        if isinstance(module, kind):
            return Say(f"explain.{key}", name=name, after=after)
    return Say("explain.other", name=name, before=before, after=after)


def _shown_modules(model: nn.Module) -> dict[str, nn.Module]:
    """Every layer, plus custom blocks like Residual whose forward adds something; plain containers are skipped."""
    return {name: module for name, module in model.named_modules()
            if name and not isinstance(module, (nn.Sequential, nn.ModuleList, nn.ModuleDict))}


def layer_shapes(source: nn.Module | Checkpoint | str) -> list[dict]:
    """Run one 3x32x32 picture through the net and record every layer's shapes: plain data for a table or JSON.

    Each row: layer, type, input and output (lists of ints, without the batch size), parameters (the layer's
    own, counted once even if it is used twice) and sentence. The first row is the picture itself. Flattening
    done with torch.flatten in forward() has no module to hook, so it shows up as the gap between one layer's
    output and the next layer's input; it gets its own row, marked as a function call.
    """
    model = _private_copy(_as_model(source))
    device = next(model.parameters()).device
    calls: list[tuple[str, nn.Module, list[int], list[int]]] = []
    with _hooks(_shown_modules(model), lambda name, m, i, o: calls.append(
            (name, m, list(i[0].shape[1:]), list(o.shape[1:])))), torch.no_grad():
        output = model(torch.zeros(1, 3, 32, 32, device=device))

    rows = [{"layer": "input", "type": "picture", "input": [3, 32, 32], "output": [3, 32, 32], "parameters": 0,
             "sentence": Say("explain.picture")}]
    counted: set[int] = set()
    last_linear = max((n for n, (_, m, _, _) in enumerate(calls) if isinstance(m, nn.Linear)), default=-1)
    for n, (name, module, inp, out) in enumerate(calls):
        previous = rows[-1]["output"]
        if previous != inp and len(inp) == 1 and int(np.prod(previous)) == inp[0]:
            rows.append({"layer": "flatten", "type": "torch.flatten (in forward)", "input": previous, "output": inp,
                         "parameters": 0, "sentence": _sentence("flatten", None, previous, inp, False)})
        own = sum(p.numel() for p in module.parameters(recurse=False)) if id(module) not in counted else 0
        counted.add(id(module))
        rows.append({"layer": name, "type": type(module).__name__, "input": inp, "output": out, "parameters": own,
                     "sentence": _sentence(name, module, inp, out, n == last_linear)})
    if rows[-1]["output"] != list(output.shape[1:]):
        raise RuntimeError(f"The layers seen end at {rows[-1]['output']}, the net's output is {list(output.shape[1:])}.")
    return rows


def table_rows(rows: list[dict]) -> list[list]:
    """layer_shapes as rows of TABLE_HEADERS, shapes written 6x28x28, for a table widget."""
    return [[r["layer"], r["type"], format_shape(r["input"]), format_shape(r["output"]), r["parameters"]] for r in rows]


def walkthrough(rows: list[dict], language: str = ENGLISH) -> str:
    """The sentences as a Markdown list, skipping BatchNorm, ReLU and GELU lines that only say 'the shape stays'."""
    keep = [r for r in rows if r["type"] not in ("BatchNorm2d", "ReLU", "GELU")]
    return "\n".join(f"- {render(r['sentence'], language)}" for r in keep)


def said_rows(rows: list[dict], language: str = ENGLISH) -> list[dict]:
    """layer_shapes' rows as plain data (JSON), each sentence in the language."""
    return [{**row, "sentence": render(row["sentence"], language)} for row in rows]


def table_headers(language: str = ENGLISH) -> list[str]:
    return [render(Say(f"explain.{header}"), language) for header in TABLE_HEADERS]


# ------------------------------------------------------------------ filters and feature maps


def first_conv(model: nn.Module) -> tuple[str, nn.Conv2d]:
    """The layer that looks at the pixels themselves, with its name."""
    return next((name, m) for name, m in model.named_modules() if isinstance(m, nn.Conv2d))


def filter_patches(source: nn.Module | Checkpoint | str) -> torch.Tensor:
    """The first conv's filters as (N, 3, k, k) colour patches, each min-max scaled over its own values."""
    _, conv = first_conv(_as_model(source))
    weights = conv.weight.detach().float().cpu()
    if weights.shape[1] != 3:
        weights = weights.mean(dim=1, keepdim=True).expand(-1, 3, -1, -1)
    low = weights.amin(dim=(1, 2, 3), keepdim=True)
    return (weights - low) / (weights.amax(dim=(1, 2, 3), keepdim=True) - low).clamp_min(1e-8)


def filters_image(source: nn.Module | Checkpoint | str, columns: int = 8, language: str = ENGLISH) -> Image.Image:
    """The first layer's filters as enlarged colour patches: what each filter looks for in the picture."""
    model = _as_model(source)
    name, conv = first_conv(model)
    k = conv.kernel_size[0]
    title = render(Say("explain.filters_title", name=name, count=conv.out_channels, k=k), language)
    return titled(tile_grid(filter_patches(model), columns, TILE), title)


def conv_stages(model: nn.Module) -> dict[str, nn.Module]:
    """The top-level blocks that hold a convolution, in order: conv1, conv2 for LeNet; prep, layer1.. for ResNet."""
    return {name: m for name, m in model.named_children() if any(isinstance(c, nn.Conv2d) for c in m.modules())}


@dataclass
class FeatureStage:
    name: str              # the block, e.g. "conv1" or "layer2"
    shape: list[int]       # its whole output: channels, height, width
    channels: list[int]    # the channels shown, in the order shown
    maps: torch.Tensor     # (len(channels), height, width) activations as computed (LeNet's: before its ReLU)
    title: Say
    image: Image.Image     # the maps as a grid under the title, in the language feature_maps was asked for


def _stage_title(name: str, shape: list[int], shown: int) -> Say:
    c, h, w = shape
    return Say("explain.stage_all" if shown == c else "explain.stage_strongest", name=name, shown=shown, channels=c,
               height=h, width=w)


def feature_maps(checkpoint: Checkpoint, picture, max_maps: int = MAX_MAPS,
                 language: str = ENGLISH) -> list[FeatureStage]:
    """What each conv stage makes of one picture; wide stages show the channels that respond most."""
    model = _private_copy(checkpoint.model)
    tensor, _ = _picture(picture)
    outputs: dict[str, torch.Tensor] = {}
    with torch.no_grad(), _hooks(conv_stages(model), lambda name, m, i, o: outputs.setdefault(name, o)):
        model(_model_input(model, tensor, checkpoint.meta))
    result = []
    for name, output in outputs.items():
        activation = output[0].float().cpu()
        channels = list(range(len(activation)))
        if len(channels) > max_maps:
            channels = activation.mean(dim=(1, 2)).topk(max_maps).indices.tolist()
        maps = activation[channels]
        title = _stage_title(name, list(activation.shape), len(channels))
        result.append(FeatureStage(name, list(activation.shape), channels, maps, title,
                                   titled(tile_grid(colour_maps(maps), tile=TILE), render(title, language))))
    return result


# ------------------------------------------------------------------ Grad-CAM


@dataclass(frozen=True)
class CellGrid:
    """Where a layer's output cells sit on the picture: cell q is centred at pixel coordinate start + q * jump."""
    cells: int
    start: float
    jump: float


def _single(value) -> int:
    return value if isinstance(value, int) else value[0]


@dataclass(frozen=True)
class LayerCall:
    """One run of a layer in the forward pass, and where its output cells sit on the picture."""
    layer: str
    call: int       # 0 for the first run; LeNet's pool runs twice
    module: nn.Module
    grid: CellGrid


def _layer_calls(model: nn.Module) -> list[LayerCall]:
    """Every layer or block run with a spatial output, in running order, placed by receptive-field arithmetic.

    Valid convs shift the cells inwards (LeNet's conv2 cells are centred on pixels 7..25, not 0..31), which a
    plain stretch of the map to 32x32 would misplace; padded ones keep them evenly spread.
    """
    calls: list[LayerCall] = []
    runs: dict[str, int] = {}
    start, jump = 0.5, 1.0  # pixel i covers [i, i + 1]

    def record(name, module, inputs, output):
        nonlocal start, jump
        if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            kernel, stride, padding = _single(module.kernel_size), _single(module.stride), _single(module.padding)
            start += ((kernel - 1) / 2 - padding) * jump
            jump *= stride
        if output.dim() == 4:
            calls.append(LayerCall(name, runs.get(name, 0), module, CellGrid(output.shape[-1], start, jump)))
        runs[name] = runs.get(name, 0) + 1

    with _hooks(_shown_modules(model), record), torch.no_grad():
        model(torch.zeros(1, 3, 32, 32, device=next(model.parameters()).device))
    return calls


def _cam_target(model: nn.Module) -> LayerCall:
    """The layer Grad-CAM looks at: the last one before the classifier, unless that is too coarse to point.

    Grad-CAM's own choice is the last spatial layer, the one the classifier reads: LeNet's conv2 (10x10),
    SmallCNN's conv2 (16x16), ResNet-9's layer3 residual block (4x4, read by a global max-pool). Measured on
    a trained resnet and CIFAR-10 test pictures, that 4x4 map sits on the object; the 8x8 layers before it
    often light up the background. Below CAM_CELLS_LAST cells a map cannot point at anything, so the deepest
    layer at least CAM_CELLS_EARLIER wide is used instead (fastnet's group3 is 3x3: group2's 15x15 conv1, before
    its pool). On the half-width ResNet-9 that fastnet was before, the 4x4 layers between sat behind a max-pool
    that passes the gradient to one cell in four, and gave empty maps for a quarter of the pictures. Pools are
    never chosen: they only coarsen what came before.
    """
    calls = [c for c in _layer_calls(model) if not isinstance(c.module, (nn.MaxPool2d, nn.AvgPool2d,
                                                                          nn.AdaptiveMaxPool2d, nn.AdaptiveAvgPool2d))]
    if calls[-1].grid.cells >= CAM_CELLS_LAST:
        return calls[-1]
    wide = [c for c in calls if c.grid.cells >= CAM_CELLS_EARLIER]
    return wide[-1] if wide else max(calls, key=lambda c: c.grid.cells)


def gradcam_layer(source: nn.Module | Checkpoint | str) -> str:
    """The name of the layer gradcam() uses for this net, e.g. 'conv2' or 'layer3.1'."""
    return _cam_target(_private_copy(_as_model(source))).layer


def _to_pixels(cam: torch.Tensor, grid: CellGrid, size: int = 32) -> torch.Tensor:
    """(h, w) cell values to (size, size) pixels, bilinear between cell centres, edge cells held to the border."""
    centres = (torch.arange(size, dtype=torch.float32) + 0.5 - grid.start) / grid.jump  # in cell units
    coords = (centres + 0.5) / grid.cells * 2 - 1  # grid_sample's [-1, 1] with align_corners=False
    y, x = torch.meshgrid(coords, coords, indexing="ij")
    sample = torch.stack([x, y], dim=-1).unsqueeze(0).to(cam.device)
    return torch.nn.functional.grid_sample(cam[None, None], sample, mode="bilinear", padding_mode="border",
                                           align_corners=False)[0, 0]


@dataclass
class GradCam:
    heatmap: np.ndarray     # (32, 32) float32 in [0, 1]: the map at the picture's size
    overlay: Image.Image    # the enlarged picture with the map on top
    class_name: str         # the class the map explains
    probability: float      # the net's probability for that class
    predicted: str          # the net's top class
    layer: str              # the conv stage the map comes from
    cells: int              # that stage's width: the map's true resolution
    message: Say            # one line on what the warm areas mean

    def as_dict(self) -> dict:
        """The JSON-friendly part, for an API."""
        return {"class": self.class_name, "probability": self.probability, "predicted": self.predicted,
                "layer": self.layer, "cells": self.cells, "message": str(self.message)}


def _message(name: str, probability: float, predicted: str, top: float, layer: str, cells: int, empty: bool,
             classes: list[str]) -> Say:
    shown = dict(zip(classes, class_words(classes)))
    line = (Say("explain.cold", name=shown[name], probability=f"{probability:.0%}") if empty else
            Say("explain.warm", name=shown[name], probability=f"{probability:.0%}", layer=layer, cells=cells))
    return line if name == predicted else Say("explain.own_answer", line=line, predicted=shown[predicted],
                                              top=f"{top:.0%}")


def gradcam(checkpoint: Checkpoint, picture, class_name: str | None = None) -> GradCam:
    """Grad-CAM (Selvaraju et al. 2017): where in the picture the evidence for one class lies.

    The chosen stage's channels are weighted by how much the class score rises when each grows (the mean
    gradient), summed, and only positive evidence is kept. class_name None means the predicted class.
    """
    classes = checkpoint.classes
    if class_name is not None and class_name not in classes:
        raise ValueError(Say("explain.unknown_class", name=quote(class_name), classes=", ".join(classes)))
    model = _private_copy(checkpoint.model)
    tensor, seen = _picture(picture)
    target_layer = _cam_target(model)
    runs: list[torch.Tensor] = []
    with torch.enable_grad(), _hooks({target_layer.layer: target_layer.module}, lambda n, m, i, o: runs.append(o)):
        logits = model(_model_input(model, tensor, checkpoint.meta))
        probabilities = torch.softmax(logits[0].detach().float(), dim=0).cpu()
        predicted = int(probabilities.argmax())
        target = predicted if class_name is None else classes.index(class_name)
        activation = runs[target_layer.call]
        gradient, = torch.autograd.grad(logits[0, target], activation)
    weights = gradient.mean(dim=(2, 3), keepdim=True)
    cam = _to_pixels(torch.relu((weights * activation.detach()).sum(dim=1)[0]).float(), target_layer.grid).cpu()
    peak = float(cam.max())
    heatmap = (cam / peak if peak > 0 else cam).numpy().astype(np.float32)
    layer = f"{target_layer.layer} ({type(target_layer.module).__name__})"
    message = _message(classes[target], float(probabilities[target]), classes[predicted],
                       float(probabilities[predicted]), layer, target_layer.grid.cells, peak <= 0, classes)
    return GradCam(heatmap, heat_overlay(seen, heatmap), classes[target], float(probabilities[target]),
                   classes[predicted], target_layer.layer, target_layer.grid.cells, message)
