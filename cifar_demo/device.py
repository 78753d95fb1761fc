"""Which device to train on, what to call it, and the settings that make it fast and repeatable."""
from __future__ import annotations

import contextlib
import functools
import os
import platform
import random
import statistics
import time

import numpy as np
import torch

from .words import Say


NOT_HERE = {"cuda": "no CUDA GPU is available here", "mps": "Apple MPS is not available here"}


def pick_device(requested: str | None = None) -> torch.device:
    """The machine's accelerator (a CUDA GPU, Apple MPS, ...) if it has one, else the CPU, unless the user names
    one."""
    accelerator = torch.accelerator.current_accelerator(check_available=True)
    if not requested or requested == "auto":
        return accelerator or torch.device("cpu")
    device = torch.device(requested)
    if device.type != "cpu" and (accelerator is None or device.type != accelerator.type):
        why = NOT_HERE.get(device.type, f"no {device.type} device is available here")
        raise ValueError(f"--device {device.type} was asked for, but {why}.")
    return device


def usable_cores() -> int:
    """The cores this process may run on (its affinity), else every core."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    """A name a person recognises: 'NVIDIA H100 80GB HBM3' or 'CPU, 2 threads'."""
    return str(device_words(device))


def device_words(device: torch.device) -> Say | str:
    """The device's name, for a page to show in its language."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (MPS)"
    threads = torch.get_num_threads()
    return Say("status.cpu_one") if threads == 1 else Say("status.cpu", threads=threads)


def seed_everything(seed: int) -> torch.Generator:
    """Seeds every random source a run touches; returns the generator that drives shuffling and augmentation."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def autocast(device: torch.device, cpu_bf16: bool = False):
    """bf16 mixed precision on CUDA, where tensor cores make it pay, and with cpu_bf16 on a CPU where it measures
    faster; full precision elsewhere."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if device.type == "cpu" and cpu_bf16_used(cpu_bf16):
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def cpu_bf16_used(cpu_bf16: bool) -> bool:
    """Whether a run that asks for bf16 on the CPU gets it: where the CPU computes bf16 natively and it is faster."""
    return cpu_bf16 and cpu_has_bf16() and bf16_is_faster()


@functools.cache
def bf16_is_faster() -> bool:
    """Whether a conv learns faster in bf16 than in fp32 here, timed once a process (a second or a few: the first
    bf16 passes build their kernels; 7.5 s once on a loaded 2-core Xeon). Native
    bf16 is not always faster: a Xeon VM with AVX512-BF16 and no AMX ran fastnet's steps at 0.7x its fp32 speed,
    an EPYC with AVX512-BF16 at 1.37x."""
    conv = torch.nn.Conv2d(48, 192, 3, padding=1, bias=False).to(memory_format=torch.channels_last)
    pictures = torch.randn(64, 48, 15, 15).contiguous(memory_format=torch.channels_last)  # fastnet's second group

    def seconds(bf16: bool) -> float:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                conv(pictures).float().sum().backward()
            times.append(time.perf_counter() - started)
        return statistics.median(times[2:])  # the first passes build the kernels

    return seconds(True) < seconds(False)


@functools.cache
def cpu_has_bf16() -> bool:
    """Whether oneDNN runs bf16 convolutions natively here (AVX512-BF16 or AMX); without, bf16 is emulated, slower
    than fp32."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def synchronize(device: torch.device) -> None:
    """Waits for the work queued on a GPU, so that a clock read next measures it."""
    if device.type != "cpu":
        torch.accelerator.synchronize(device)
