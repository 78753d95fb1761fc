"""Muon for conv filters (Keller Jordan, 2024; airbench94_muon): each step's momentum is orthogonalized, so every
direction of a filter bank moves at the same rate, not only the few that dominate its gradient. torch.optim.Muon
takes 2-D weights only; a 3x3 filter bank is a (out, in*9) matrix here. Everything else learns by SGD."""
from __future__ import annotations

import math
from typing import Iterable

import torch

# The quintic Newton-Schulz iteration's coefficients (Jordan): they push every singular value towards 1 in five
# steps, to somewhere in 0.7-1.2, which trains as well as an exact orthogonalization and costs a few small matmuls
NEWTON_SCHULZ = (3.4445, -4.7750, 2.0315)


def orthogonalize(update: torch.Tensor, steps: int = 5) -> torch.Tensor:
    """About the nearest semi-orthogonal matrix to a 2-D update: its singular vectors, its singular values near 1."""
    a, b, c = NEWTON_SCHULZ
    x = update / (update.norm() + 1e-7)  # every singular value at most 1, where the iteration converges
    tall = x.size(0) > x.size(1)
    if tall:  # the Gram matrix of the shorter side is the cheaper one
        x = x.T
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.T if tall else x


class FilterMuon(torch.optim.Optimizer):
    """Muon with Nesterov momentum for conv filters that a BatchNorm follows: each bank is kept at a fixed norm
    (BatchNorm undoes its scale), so a step of lr moves it by about the same share all run."""

    def __init__(self, filters: Iterable[torch.Tensor] | Iterable[dict], lr: float, momentum: float):
        super().__init__(filters, dict(lr=lr, momentum=momentum))

    @torch.no_grad()
    def step(self, closure=None) -> None:
        for group in self.param_groups:
            for weight in group["params"]:
                if weight.grad is None:
                    continue
                state = self.state[weight]
                if "velocity" not in state:  # setdefault would allocate a zero tensor every step
                    state["velocity"] = torch.zeros_like(weight.grad)
                velocity = state["velocity"]
                velocity.mul_(group["momentum"]).add_(weight.grad)
                nesterov = weight.grad.add(velocity, alpha=group["momentum"])
                weight.mul_(math.sqrt(len(weight)) / weight.norm())
                weight.add_(orthogonalize(nesterov.reshape(len(weight), -1)).view_as(weight), alpha=-group["lr"])


class Optimizers:
    """Two optimizers stepped as one, their parameter groups in one list (the schedule sets each group's lr)."""

    def __init__(self, *optimizers: torch.optim.Optimizer):
        self.optimizers = optimizers
        self.param_groups = [group for optimizer in optimizers for group in optimizer.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        for optimizer in self.optimizers:
            optimizer.step()
