"""Device choice and mixed precision: bf16 on a CPU only where asked for, where the CPU computes it natively and
where it is faster."""
from __future__ import annotations

import pytest
import torch

from cifar_demo.device import autocast, bf16_is_faster, cpu_bf16_used, cpu_has_bf16, pick_device


def conv_output_dtype(cpu_bf16: bool) -> torch.dtype:
    conv = torch.nn.Conv2d(3, 4, 3)
    with autocast(torch.device("cpu"), cpu_bf16):
        return conv(torch.randn(1, 3, 8, 8)).dtype


def test_the_cpu_stays_in_full_precision_unless_bf16_is_asked_for():
    assert conv_output_dtype(cpu_bf16=False) == torch.float32


def test_bf16_on_the_cpu_follows_what_the_cpu_can_do_and_what_pays():
    # a CPU without native bf16 falls back, and so does one whose bf16 measures slower than its fp32
    expected = torch.bfloat16 if cpu_has_bf16() and bf16_is_faster() else torch.float32
    assert conv_output_dtype(cpu_bf16=True) == expected
    assert cpu_bf16_used(True) == (expected == torch.bfloat16) and not cpu_bf16_used(False)


def test_a_device_that_is_not_here_is_refused_in_words():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="no CUDA GPU is available here"):
        pick_device("cuda")
    assert pick_device("auto").type in ("cpu", "mps")
