"""Device choice and mixed precision: bf16 on a CPU only where asked for and where the CPU computes it natively."""
from __future__ import annotations

import pytest
import torch

from cifar_demo.device import autocast, cpu_has_bf16, pick_device


def conv_output_dtype(cpu_bf16: bool) -> torch.dtype:
    conv = torch.nn.Conv2d(3, 4, 3)
    with autocast(torch.device("cpu"), cpu_bf16):
        return conv(torch.randn(1, 3, 8, 8)).dtype


def test_the_cpu_stays_in_full_precision_unless_bf16_is_asked_for():
    assert conv_output_dtype(cpu_bf16=False) == torch.float32


def test_bf16_on_the_cpu_follows_what_the_cpu_can_do():
    expected = torch.bfloat16 if cpu_has_bf16() else torch.float32  # a CPU without native bf16 falls back
    assert conv_output_dtype(cpu_bf16=True) == expected


def test_a_device_that_is_not_here_is_refused_in_words():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="no CUDA GPU is available here"):
        pick_device("cuda")
    assert pick_device("auto").type in ("cpu", "mps")
