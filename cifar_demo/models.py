"""The nets, by name: each takes normalized (N, 3, 32, 32) pictures and returns logits."""
from __future__ import annotations

import functools
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from .words import Say


class LeNet(nn.Module):
    """The PyTorch tutorial's LeNet-5, layer for layer."""

    head = "fc3"  # the final layer, which replace_head swaps for new classes

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # pool, then ReLU: the same numbers as the tutorial's relu-then-pool (max commutes with a rising
        # function), and the ReLU and its backward touch a quarter of the values: 1.13-1.16x the images/s on a CPU
        x = torch.relu(self.pool(self.conv1(x)))  # 3x32x32 -> 6x28x28 -> 6x14x14
        x = torch.relu(self.pool(self.conv2(x)))  # -> 16x10x10 -> 16x5x5
        x = torch.flatten(x, 1)                   # -> 400
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


class SmallCNN(nn.Module):
    """The seed notes' 3x3 net; padding 1 keeps each conv's size so only the pools halve it."""

    head = "fc3"

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(16 * 8 * 8, 64)
        self.fc2 = nn.Linear(64, 32)
        self.fc3 = nn.Linear(32, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(torch.relu(self.conv1(x)))  # 3x32x32 -> 8x32x32 -> 8x16x16
        x = self.pool(torch.relu(self.conv2(x)))  # -> 16x16x16 -> 16x8x8
        x = torch.flatten(x, 1)                   # -> 1024
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)  # logits: CrossEntropyLoss applies log-softmax itself


def conv_bn(c_in: int, c_out: int, pool: bool = False) -> nn.Sequential:
    layers = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class Residual(nn.Module):
    """x + f(x): two conv-BN-ReLU layers the signal can also skip."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(conv_bn(channels, channels), conv_bn(channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResNet9(nn.Module):
    """David Page's ResNet-9 shape: prep, three pooled stages (two with a residual block), max-pool, linear."""

    head = "fc"

    def __init__(self, widths: tuple[int, int, int, int] = (64, 128, 256, 512), num_classes: int = 10,
                 logit_scale: float = 0.125):
        super().__init__()
        w0, w1, w2, w3 = widths
        self.prep = conv_bn(3, w0)
        self.layer1 = nn.Sequential(conv_bn(w0, w1, pool=True), Residual(w1))
        self.layer2 = conv_bn(w1, w2, pool=True)
        self.layer3 = nn.Sequential(conv_bn(w2, w3, pool=True), Residual(w3))
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.fc = nn.Linear(w3, num_classes, bias=False)
        self.logit_scale = logit_scale  # small logits early keep the softmax from saturating (Page)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer3(self.layer2(self.layer1(self.prep(x))))
        return self.fc(torch.flatten(self.pool(x), 1)) * self.logit_scale


def shift_only_norm(channels: int) -> nn.BatchNorm2d:
    """BatchNorm whose scale stays 1 and only its shift learns (airbench): the next conv can scale for it."""
    norm = nn.BatchNorm2d(channels, eps=1e-12, momentum=0.4)  # momentum 0.4: statistics that keep up with a short run
    norm.weight.requires_grad_(False)
    return norm


def identity_conv(c_in: int, c_out: int) -> nn.Conv2d:
    """A 3x3 conv whose first filters start as copies of its input channels (dirac): a deep net starts shallow."""
    conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
    with torch.no_grad():
        nn.init.dirac_(conv.weight[:min(c_in, c_out)])
    return conv


def conv_group(c_in: int, c_out: int) -> nn.Sequential:
    """conv, 2x2 max-pool, BatchNorm, GELU, conv, BatchNorm, GELU: pooled first, so the rest touch a quarter of it."""
    return nn.Sequential(OrderedDict(
        conv1=identity_conv(c_in, c_out), pool=nn.MaxPool2d(2), norm1=shift_only_norm(c_out), act1=nn.GELU(),
        conv2=identity_conv(c_out, c_out), norm2=shift_only_norm(c_out), act2=nn.GELU()))


class WhitenedNet(nn.Module):
    """airbench's shape (Keller Jordan, 2024): a fixed 2x2 whitening layer, three conv groups, max-pool, linear."""

    head = "fc"

    def __init__(self, widths: tuple[int, int, int] = (64, 128, 128), num_classes: int = 10,
                 logit_scale: float = 1 / 9):
        super().__init__()
        w1, w2, w3 = widths
        self.whiten = nn.Conv2d(3, 24, 2, bias=True)  # 12 whitening filters of 2x2x3 patches and their negatives
        self.whiten.weight.requires_grad_(False)      # set by fit_whitening, then fixed: only its bias learns
        nn.init.zeros_(self.whiten.bias)
        self.act = nn.GELU()
        self.group1, self.group2, self.group3 = conv_group(24, w1), conv_group(w1, w2), conv_group(w2, w3)  # 31-15-7-3
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.fc = nn.Linear(w3, num_classes, bias=False)
        self.logit_scale = logit_scale  # small logits early keep the softmax from saturating

    def fit_whitening(self, images: torch.Tensor, eps: float = 5e-4) -> None:
        """First-layer filters from normalized training pictures: its 2x2 patches come out decorrelated, each
        direction at unit variance, so the convs after it learn from the first step as if on whitened data."""
        patches = images.unfold(2, 2, 1).unfold(3, 2, 1)  # (N, C, H', W', 2, 2)
        patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, 12)  # each row in the conv's (c, y, x) order
        variances, directions = torch.linalg.eigh((patches.T @ patches / len(patches)).double())
        filters = (directions / torch.sqrt(variances + eps)).T.reshape(12, 3, 2, 2)
        with torch.no_grad():
            self.whiten.weight.copy_(torch.cat([filters, -filters]))  # both signs: GELU would drop half of each

    def freeze_whitening(self) -> None:
        """Fix the first layer's bias too: nothing before group1's conv learns, so its backward skips the input
        gradient, the slowest pass of a step on a CPU (24 channels at 31x31)."""
        self.whiten.bias.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.group3(self.group2(self.group1(self.act(self.whiten(x)))))
        return self.fc(torch.flatten(self.pool(x), 1)) * self.logit_scale


@dataclass(frozen=True)
class NetSpec:
    name: str
    description: str
    build: Callable[..., nn.Module]  # (num_classes), and for a net that comes in widths (num_classes, width)
    width: int | None = None  # a net that comes in widths: its default; None: one size only


FASTNET_WIDTH = 192  # fastnet's default: 48-192-192 (why: training.PRESETS' comment)


def fastnet_widths(width: int) -> tuple[int, int, int]:
    """fastnet's groups at a width: its last two have `width` channels and its first a quarter (airbench94's
    proportions, 64-256-256), so one number sizes the net to the machine's speed (see sizing.py)."""
    return width // 4, width, width


def fastnet(num_classes: int, width: int = FASTNET_WIDTH) -> WhitenedNet:
    return WhitenedNet(fastnet_widths(width), num_classes=num_classes)


NETS: dict[str, NetSpec] = {spec.name: spec for spec in [
    NetSpec("lenet", "LeNet-5 from the PyTorch tutorial: two 5x5 convs, three linear layers",
            lambda n: LeNet(n)),
    NetSpec("smallcnn", "Two 3x3 convs with padding, then three linear layers",
            lambda n: SmallCNN(n)),
    NetSpec("fastnet", "CPU preset: a fixed whitening layer, then three conv-pool-BatchNorm-GELU groups (48-192-192)",
            fastnet, width=FASTNET_WIDTH),
    NetSpec("resnet", "ResNet-9 (64-128-256-512 channels) with BatchNorm: 94% on a GPU",
            lambda n: ResNet9((64, 128, 256, 512), num_classes=n)),
]}


MIN_WIDTH, MAX_WIDTH = 16, 512  # fastnet's widths: 16 trains on any laptop, 512 is twice airbench94's


def allowed_width(model: object, width: object) -> bool:
    """None (the net's own size), or for a net that comes in widths a multiple of 4 (its first group has a
    quarter) from MIN_WIDTH to MAX_WIDTH: what a run's settings and a checkpoint's may say."""
    if width is None:
        return True
    return has_widths(model) and type(width) is int and MIN_WIDTH <= width <= MAX_WIDTH and width % 4 == 0


def has_widths(model: object) -> bool:
    """Whether a net by this name comes in widths, so that a width, or a budget, can size it."""
    spec = NETS.get(model) if isinstance(model, str) else None
    return spec is not None and spec.width is not None


def create_model(name: str, num_classes: int = 10, width: int | None = None) -> nn.Module:
    """A fresh net; width (for a net that comes in widths) None means its default."""
    if name not in NETS:
        raise ValueError(Say("training.unknown_net", name=name, nets=", ".join(NETS)))
    return NETS[name].build(num_classes) if width is None else NETS[name].build(num_classes, width)


def replace_head(model: nn.Module, num_classes: int) -> nn.Module:
    """A fresh final layer for new classes: every other layer keeps what it learned (fine-tuning)."""
    old = head_layer(model)
    setattr(model, model.head, nn.Linear(old.in_features, num_classes, bias=old.bias is not None))
    return model


def head_layer(model: nn.Module) -> nn.Module:
    """The final layer: all that learns when only the head is fine-tuned."""
    return getattr(model, model.head)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@functools.cache  # counting the parameters builds every net: once a process is enough
def describe_nets() -> tuple[tuple[str, str, int], ...]:
    """(name, description, parameter count) of every net, for menus and --help."""
    return tuple((spec.name, spec.description, count_parameters(spec.build(10))) for spec in NETS.values())
