"""Pictures for people: training curves, per-class bars, the confusion matrix and captioned picture grids.

Charts are matplotlib Figure objects drawn on their own Agg canvas: no pyplot, so no global list of figures to
leak into and no lock. Every name in them (class names a class typed, run labels) is plain text, never maths.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import functools
import importlib.util
from pathlib import Path

import matplotlib
import numpy as np
import torch
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, ImageColor, ImageDraw, ImageFont
from torchvision.utils import make_grid

from .images import as_picture
from .serving import quote
from .words import ENGLISH, Say, text

# NanumGothic (SIL Open Font Licence) from the koreanize-matplotlib package, a requirement: every machine that
# installs the project has it. Used as a file: importing that package would change matplotlib's settings.
KOREAN_FONT = Path(importlib.util.find_spec("koreanize_matplotlib").origin).parent / "fonts"
font_manager.fontManager.addfont(str(KOREAN_FONT / "NanumGothic.ttf"))
font_manager.fontManager.addfont(str(KOREAN_FONT / "NanumGothicBold.ttf"))

CORRECT, WRONG = "#1a7f37", "#cf222e"
# text.parse_math off: a class named '$x$' or '$$' is drawn as typed, in every Text matplotlib makes, tick labels
# made at draw time included (a per-artist parse_math=False is not copied to the ticks an axis adds later).
matplotlib.rcParams.update({"font.size": 14, "axes.titlesize": 16, "axes.labelsize": 14, "axes.spines.top": False,
                            "axes.spines.right": False, "figure.dpi": 100, "text.parse_math": False,
                            # DejaVu Sans first (its ✓ and ✗), NanumGothic for the glyphs it lacks: Hangul
                            "font.family": ["DejaVu Sans", "NanumGothic"]})


class ChartError(ValueError):
    """A chart that could not be drawn; the message is one sentence for the page and the log."""


def loss_figure(history: dict, title: str | None = None, language: str = ENGLISH) -> Figure:
    """Raw loss faint behind, smoothed loss bold in front, against step."""
    say = functools.partial(_chart_words, language)
    fig = Figure(figsize=(8, 4.2), layout="constrained")
    ax = fig.subplots()
    steps = history.get("steps", [])
    if steps:
        x = [s["step"] for s in steps]
        ax.plot(x, [s["loss"] for s in steps], color="#1f6feb", alpha=0.25, linewidth=1, label=say("loss_legend"))
        ax.plot(x, [s["smooth_loss"] for s in steps], color="#1f6feb", linewidth=2.5, label=say("smoothed"))
        ax.legend(loc="upper right", frameon=False)
    else:
        ax.text(0.5, 0.5, say("click_train"), ha="center", va="center", transform=ax.transAxes, color="gray")
    ax.set(title=title or say("loss"), xlabel=say("step"), ylabel=say("cross_entropy"))
    ax.grid(alpha=0.3)
    return fig


def accuracy_figure(history: dict, title: str | None = None, language: str = ENGLISH) -> Figure:
    say = functools.partial(_chart_words, language)
    fig = Figure(figsize=(8, 4.2), layout="constrained")
    ax = fig.subplots()
    epochs = history.get("epochs", [])
    if epochs:
        x = [e["epoch"] for e in epochs]
        y = [100 * e["test_accuracy"] for e in epochs]
        ax.plot(x, y, "o-", color="#8250df", linewidth=2.5, markersize=8)
        best = max(range(len(y)), key=y.__getitem__)  # two labels only, the latest and the best: no overprint
        for i in sorted({best, len(y) - 1}):
            below = y[i] > 88  # near the top the label goes under the point, clear of the title
            ax.annotate(f"{y[i]:.1f}%", (x[i], y[i]), textcoords="offset points", xytext=(0, -22 if below else 10),
                        ha="center", fontsize=15, fontweight="bold" if i == len(y) - 1 else "normal")
        ax.set_xlim(0, max(x) * 1.05 + 0.1)
    ax.set_ylim(0, 100)
    ax.set(title=title or say("accuracy"), xlabel=say("epoch"), ylabel=say("accuracy_axis"))
    ax.grid(alpha=0.3)
    return fig


def _chart_words(language: str, key: str, **values: object) -> str:
    return text(f"chart.{key}", language, **values)


def per_class_figure(per_class: list[float | None], classes: list[str], title: str | None = None,
                     language: str = ENGLISH) -> Figure:
    """The tutorial's closing table as a bar chart, readable from the back of a room; None: no test pictures.
    classes: the names as the page shows them."""
    say = functools.partial(_chart_words, language)
    fig = Figure(figsize=(10, 5), layout="constrained")
    ax = fig.subplots()
    values = [None if v is None else 100 * v for v in per_class]
    chance = 100 / max(1, len(classes))
    colors = ["lightgray" if v is None else CORRECT if v >= 50 else "#bf8700" if v >= chance * 2 else WRONG
              for v in values]
    places = range(len(classes))  # by place, not as category strings: a class named '1' or '2.5' stays a name
    bars = ax.bar(places, [0 if v is None else v for v in values], color=colors)
    ax.bar_label(bars, labels=[say("no_pictures") if v is None else f"{v:.0f}%" for v in values], padding=3,
                 fontsize=13)
    ax.axhline(chance, color="gray", linestyle="--", linewidth=1.5)
    ax.text(1.005, chance, say("chance", percent=f"{chance:.0f}%"), transform=ax.get_yaxis_transform(), ha="left",
            va="center", color="gray", fontsize=12)  # beside the plot, never on a bar
    ax.set_ylim(0, 110)
    ax.set(title=title or say("per_class"), ylabel=say("accuracy_axis"))
    ax.set_xticks(places, classes, rotation=30 if len(classes) > 6 else 0)
    return fig


def confusion_figure(confusion: torch.Tensor, classes: list[str], language: str = ENGLISH) -> Figure:
    """Counts of true class (rows) against predicted class (columns); the diagonal is what went right."""
    say = functools.partial(_chart_words, language)
    matrix = confusion.numpy() if isinstance(confusion, torch.Tensor) else np.asarray(confusion)
    size = max(6, 0.9 * len(classes) + 2)
    fig = Figure(figsize=(size + 1, size), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ticks = range(len(classes))
    ax.set_xticks(ticks, classes, rotation=45, ha="right")
    ax.set_yticks(ticks, classes)
    ax.set(xlabel=say("predicted"), ylabel=say("truth"), title=say("confusion"))
    ax.spines[:].set_visible(False)
    threshold = matrix.max() / 2 if matrix.size else 0
    if len(classes) <= 12:
        for (i, j), count in np.ndenumerate(matrix):
            ax.text(j, i, str(count), ha="center", va="center", fontsize=15 if len(classes) <= 10 else 11,
                    color="white" if count > threshold else "black")
    return fig


def figure_to_image(fig: Figure) -> Image.Image:
    """Draw a figure on an Agg canvas of its own: no pyplot, so nothing keeps the figure once it is dropped."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB")


def chart_picture(make_figure: Callable[[], Figure]) -> Image.Image:
    """Make and draw a chart. Whatever fails in either is one ChartError sentence, raised after the failure is let
    go of, so no traceback keeps the half-made figure alive."""
    try:
        return figure_to_image(make_figure())
    except Exception as error:  # matplotlib fails in many ways (text, layout, data): all mean one thing to a page
        reason = next((line.strip() for line in str(error).splitlines() if line.strip()), "no reason given")
    raise ChartError(Say("chart.failed", reason=quote(reason)))


FRAME, GAP = 6, 14  # pixels: the green or red frame round a tile, the white space between tiles


def padded_grid(tiles: torch.Tensor, columns: int, padding: int, pad_value: float) -> torch.Tensor:
    """torchvision's make_grid, padded the same round a lone tile too (make_grid hands one tile back bare)."""
    if len(tiles) == 1:
        return torch.nn.functional.pad(tiles[0], (padding,) * 4, value=pad_value)
    return make_grid(tiles, nrow=columns, padding=padding, pad_value=pad_value)


@dataclass(frozen=True)
class Caption:
    """One line of text under a tile of a captioned grid."""
    text: str
    colour: str = "black"
    size: int = 17
    bold: bool = True


@functools.cache
def font(size: int, bold: bool = True, korean: bool = False) -> ImageFont.FreeTypeFont:
    """The charts' fonts for text drawn on pictures with PIL (which draws text as given: no markup): DejaVu Sans,
    and NanumGothic for what DejaVu lacks."""
    if korean:
        return ImageFont.truetype(str(KOREAN_FONT / ("NanumGothicBold.ttf" if bold else "NanumGothic.ttf")), size)
    return ImageFont.truetype(font_manager.findfont("DejaVu Sans:bold" if bold else "DejaVu Sans"), size)


@functools.cache
def _dejavu_has() -> frozenset[int]:
    return frozenset(font_manager.get_font(font_manager.findfont("DejaVu Sans")).get_charmap())


def _runs(line: str) -> list[tuple[str, bool]]:
    """A line cut where the face changes: (text, drawn with the Korean face)."""
    runs: list[tuple[str, bool]] = []
    for char in line:
        korean = ord(char) not in _dejavu_has()
        if runs and runs[-1][1] == korean:
            runs[-1] = (runs[-1][0] + char, korean)
        else:
            runs.append((char, korean))
    return runs


def text_width(line: str, size: int, bold: bool = True) -> float:
    return sum(font(size, bold, korean).getlength(part) for part, korean in _runs(line))


def write(pen: ImageDraw.ImageDraw, at: tuple[float, float], line: str, size: int, bold: bool = True,
          fill: str = "black") -> None:
    """A line of text, each glyph from a face that has it: Latin and symbols in DejaVu Sans, Hangul in NanumGothic."""
    x, y = at
    for part, korean in _runs(line):
        face = font(size, bold, korean)
        pen.text((x, y), part, fill=fill, font=face)
        x += face.getlength(part)


def _fitted(line: str, size: int, bold: bool, width: int) -> str:
    """Text cut with an ellipsis to a width: a class may bring a long name."""
    if text_width(line, size, bold) <= width:
        return line
    while line and text_width(line + "…", size, bold) > width:
        line = line[:-1]
    return line + "…"


def captioned_grid(pictures: torch.Tensor, captions: list[list[Caption]], frames: list[str | None],
                   columns: int = 8, scale: int = 4, caption_height: int = 44, frame: int = FRAME,
                   gap: int = GAP) -> Image.Image:
    """uint8 (N, 3, h, w) pictures enlarged (nearest) in a grid always `columns` wide, each in a frame of its colour
    (None: none) with lines of text under it, each cut to the tile's width."""
    count, (height, width) = len(pictures), pictures.shape[-2:]
    framed = (height * scale + 2 * frame, width * scale + 2 * frame)
    cells = torch.full((max(count, columns), 3, framed[0] + caption_height, framed[1]), 255, dtype=torch.uint8)
    for n, colour in enumerate(frames):
        if colour is not None:
            cells[n, :, :framed[0]] = torch.tensor(ImageColor.getrgb(colour), dtype=torch.uint8)[:, None, None]
    if count:
        big = torch.nn.functional.interpolate(pictures, scale_factor=scale, mode="nearest")  # uint8 in, uint8 out
        cells[:count, :, frame:framed[0] - frame, frame:framed[1] - frame] = big
    canvas = as_picture(padded_grid(cells, columns, gap, 255))
    pen = ImageDraw.Draw(canvas)
    for n, lines in enumerate(captions):
        row, column = divmod(n, columns)
        x = gap + column * (framed[1] + gap) + 2
        y = gap + row * (framed[0] + caption_height + gap) + framed[0] + 3
        for line in lines:
            write(pen, (x, y), _fitted(line.text, line.size, line.bold, framed[1] + gap - 4), line.size, line.bold,
                  line.colour)
            y += line.size + 4
    return canvas


def labelled_grid(images: torch.Tensor, truth: list[int], predicted: list[int] | None, classes: list[str],
                  columns: int = 8, scale: int = 4) -> Image.Image:
    """Test pictures captioned with their true class and, given predictions, the guess (green right, red wrong)."""
    if predicted is None:
        return captioned_grid(images, [[Caption(classes[true])] for true in truth], [None] * len(truth), columns,
                              scale)
    right = [guess == true for true, guess in zip(truth, predicted)]
    captions = [[Caption(classes[true]), Caption(("✓ " if ok else "✗ ") + classes[guess], CORRECT if ok else WRONG)]
                for true, guess, ok in zip(truth, predicted, right)]
    return captioned_grid(images, captions, [CORRECT if ok else WRONG for ok in right], columns, scale)


def tile_grid(tiles: torch.Tensor, columns: int = 8, tile: int = 96) -> Image.Image:
    """Float (N, 3, h, w) tiles in [0, 1] on white, each enlarged by nearest neighbour to about `tile` pixels."""
    scale = max(1, tile // tiles.shape[-1])
    big = torch.nn.functional.interpolate(tiles.float(), scale_factor=scale, mode="nearest")
    grid = padded_grid(big, min(columns, len(tiles)), 6, 1.0)
    return as_picture((grid.clamp(0, 1) * 255).round().to(torch.uint8))


def titled(image: Image.Image, title: str, size: int = 18) -> Image.Image:
    """A title band above a picture, so a grid still says what it is when shown on its own."""
    band = size + 16
    canvas = Image.new("RGB", (max(image.width, int(text_width(title, size)) + 12), image.height + band), "white")
    write(ImageDraw.Draw(canvas), (6, 6), title, size)
    canvas.paste(image, (0, band))
    return canvas


def colour_maps(maps: torch.Tensor, cmap: str = "viridis") -> torch.Tensor:
    """(N, h, w) values to (N, 3, h, w) colours, each map scaled to its own range: its pattern, not its size."""
    low = maps.amin(dim=(1, 2), keepdim=True)
    scaled = (maps - low) / (maps.amax(dim=(1, 2), keepdim=True) - low).clamp_min(1e-8)
    return torch.from_numpy(matplotlib.colormaps[cmap](scaled.numpy())[..., :3]).permute(0, 3, 1, 2).float()


def heat_overlay(picture: Image.Image, heatmap: np.ndarray, size: int = 256) -> Image.Image:
    """A [0, 1] heat map over the enlarged picture, more opaque where it is warm so cold areas stay visible."""
    heat = np.asarray(Image.fromarray((heatmap * 255).round().astype(np.uint8)).resize(
        (size, size), Image.Resampling.BILINEAR), dtype=np.float64) / 255
    colours = matplotlib.colormaps["jet"](heat)[..., :3]
    base = np.asarray(picture.convert("RGB").resize((size, size), Image.Resampling.NEAREST), dtype=np.float64) / 255
    alpha = (0.15 + 0.55 * heat)[..., None]
    return Image.fromarray((255 * ((1 - alpha) * base + alpha * colours)).round().astype(np.uint8))


def run_label(net: str, epochs: float, accuracy: float | None) -> Say:
    """'lenet · 2 epochs · 57.9%': how a run is named in a legend or a menu."""
    key = "chart.run" + ("_one" if epochs == 1 else "") + ("" if accuracy is not None else "_plain")
    return Say(key, net=net, epochs=f"{epochs:g}", accuracy=f"{accuracy:.1%}" if accuracy is not None else "")


def runs_figure(runs: list[tuple[str, dict]], title: str | None = None, language: str = ENGLISH,
                accuracy_title: str | None = None) -> Figure:
    """Smoothed loss and test accuracy of several runs against epoch, so runs with other batch sizes line up."""
    say = functools.partial(_chart_words, language)
    fig = Figure(figsize=(12, 4.8), layout="constrained")
    loss_ax, accuracy_ax = fig.subplots(1, 2)
    for n, (label, history) in enumerate(runs):
        colour = f"C{n % 10}"
        steps, epochs = history.get("steps", []), history.get("epochs", [])
        loss_ax.plot([s["epoch"] for s in steps], [s["smooth_loss"] for s in steps], color=colour,
                     linewidth=2.2, label=label)
        accuracy_ax.plot([e["epoch"] for e in epochs], [100 * e["test_accuracy"] for e in epochs], "o-",
                         color=colour, linewidth=2.2, markersize=6, label=label)
    if runs:
        fig.legend(*loss_ax.get_legend_handles_labels(), loc="outside lower center", ncols=min(3, len(runs)),
                   frameon=False)
    else:
        loss_ax.text(0.5, 0.5, say("pick_runs"), ha="center", va="center",
                     transform=loss_ax.transAxes, color="gray")
    loss_ax.set(title=say("smoothed_loss"), xlabel=say("epoch"), ylabel=say("cross_entropy"))
    accuracy_ax.set(title=accuracy_title or say("accuracy"), xlabel=say("epoch"), ylabel=say("accuracy_axis"),
                    ylim=(0, 100))
    for ax in (loss_ax, accuracy_ax):
        ax.set_xlim(left=0)
        ax.grid(alpha=0.3)
    fig.suptitle(title or say("runs"))
    return fig
