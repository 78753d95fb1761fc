"""The Train tab's "best in N minutes": fastnet's width and a first plan of epochs sized to this machine before the
click (cifar_demo/sizing.py), and said in a line: the width, the epochs and when a run started now ends (the run
keeps to the minutes: cifar_demo/deadline.py)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import gradio as gr

from ..device import cpu_bf16_used
from ..lab import Lab
from ..models import fastnet_widths, has_widths
from ..sizing import best_in
from ..training import MAX_WIDTH, MIN_WIDTH, TrainConfig
from .common import message_line
from .language import page, say

MINUTES = (5, 10, 20)  # the lengths offered: a short lesson's, a usual one's, a long one's


@dataclass
class BudgetControls:
    length: gr.Dropdown  # 0: the epochs as set; else minutes to size the run to
    width: gr.Number
    sized: gr.Textbox  # what the sizing chose, in words


def budget_controls(defaults: TrainConfig) -> BudgetControls:
    """Built inside the Train tab's column, below the net; shown for a net that comes in widths."""
    shown = has_widths(defaults.model)
    with gr.Row():
        length = gr.Dropdown([(page("length.epochs"), 0)] + [(page(f"length.{m}"), m) for m in MINUTES], value=0,
                             label=page("length"), visible=shown)
        width = gr.Number(defaults.width if shown else None, label=page("width"), precision=0, minimum=MIN_WIDTH,
                          maximum=MAX_WIDTH, step=4, visible=shown)
    return BudgetControls(length, width, message_line(elem_id="train-sized"))


class Sizer:
    """One sizing at a time: each times a few steps of several widths, and two at once would time each other."""

    def __init__(self, lab: Lab):
        self.lab, self._lock = lab, threading.Lock()

    def size(self, minutes: float, **overrides) -> tuple[TrainConfig, str]:
        """The sized recipe (fastnet's preset with these settings) and its line, in the request's language."""
        data = self.lab.pictures.data()
        with self._lock:
            sized = best_in(minutes, len(data.train), len(data.test), **overrides)
        config = sized.config
        clock = time.strftime("%H:%M", time.localtime(time.time() + minutes * 60))  # the run keeps to the minutes
        return config, say("text.sized", width=config.width, widths="-".join(map(str, fastnet_widths(config.width))),
                           epochs=config.epochs, precision="bf16" if cpu_bf16_used(config.cpu_bf16) else "fp32",
                           minutes=f"{minutes:g}", clock=clock)
