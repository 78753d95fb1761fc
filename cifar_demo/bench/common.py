"""What every benchmark shares: its error, its progress lines, its tables and the machine it ran on. Imports no
torch at the top: the classroom's student processes load this module without it."""
from __future__ import annotations

import os
import platform
import resource
import sys


class BenchError(Exception):
    """The benchmark cannot run as asked: one sentence for the user."""


def say(message: str) -> None:
    """A progress line on stderr: stdout keeps the JSON line."""
    print(message, file=sys.stderr, flush=True)


def columns(rows: list[tuple[str, ...]]) -> list[str]:
    """Rows of cells as left-aligned columns, two spaces apart."""
    width = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, width)).rstrip() for row in rows]


def machine(device=None) -> dict:
    """The machine a benchmark ran on, for its JSON line; with a device, that device's name too."""
    import torch
    import torchvision

    from ..device import cpu_name, device_name

    chosen = {} if device is None else {"device": device_name(device),
                                        "cuda": torch.version.cuda if device.type == "cuda" else None}
    return {"cpu": cpu_name(), "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "torchvision": torchvision.__version__,
            "python": platform.python_version(), "system": platform.platform(), "kind": machine_kind(), **chosen}


def machine_kind() -> str:
    """The kind of machine, which decides the speeds a bench reports: whether the CPU computes bf16 natively
    (AVX512-BF16 or AMX) and faster than fp32, or trains in fp32 on its widest vectors (AVX2, AVX512), and the GPU
    if there is one."""
    import torch

    from ..device import bf16_is_faster, cpu_has_bf16

    cpu = (f"CPU with {torch.backends.cpu.get_cpu_capability()} only (fp32 training)" if not cpu_has_bf16()
           else "CPU with AVX512-BF16 (bf16 training)" if bf16_is_faster()
           else "CPU with AVX512-BF16, slower than its fp32 here (fp32 training)")
    return cpu + (f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else "")


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux
