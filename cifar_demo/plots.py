"""Pictures for people: training curves, per-class bars, the confusion matrix and the labelled test grid."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display: figures are rendered to images
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import font_manager
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont
from torchvision.utils import make_grid

CORRECT, WRONG = "#1a7f37", "#cf222e"
plt.rcParams.update({"font.size": 14, "axes.titlesize": 16, "axes.labelsize": 14, "axes.spines.top": False,
                     "axes.spines.right": False, "figure.dpi": 100})


def loss_figure(history: dict, title: str = "Training loss") -> Figure:
    """Raw loss faint behind, smoothed loss bold in front, against step."""
    fig, ax = plt.subplots(figsize=(8, 4.2), layout="constrained")
    steps = history.get("steps", [])
    if steps:
        x = [s["step"] for s in steps]
        ax.plot(x, [s["loss"] for s in steps], color="#1f6feb", alpha=0.25, linewidth=1, label="loss")
        ax.plot(x, [s["smooth_loss"] for s in steps], color="#1f6feb", linewidth=2.5, label="smoothed")
        ax.legend(loc="upper right", frameon=False)
    else:
        ax.text(0.5, 0.5, "Click Train to watch the loss fall", ha="center", va="center",
                transform=ax.transAxes, color="gray")
    ax.set(title=title, xlabel="step", ylabel="cross-entropy loss")
    ax.grid(alpha=0.3)
    return fig


def accuracy_figure(history: dict, title: str = "Test accuracy") -> Figure:
    fig, ax = plt.subplots(figsize=(8, 4.2), layout="constrained")
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
    ax.set(title=title, xlabel="epoch", ylabel="accuracy (%)")
    ax.grid(alpha=0.3)
    return fig


def per_class_figure(per_class: list[float | None], classes: list[str], title: str = "Accuracy per class") -> Figure:
    """The tutorial's closing table as a bar chart, readable from the back of a room; None: no test pictures."""
    fig, ax = plt.subplots(figsize=(10, 5), layout="constrained")
    values = [None if v is None else 100 * v for v in per_class]
    chance = 100 / max(1, len(classes))
    colors = ["lightgray" if v is None else CORRECT if v >= 50 else "#bf8700" if v >= chance * 2 else WRONG
              for v in values]
    bars = ax.bar(classes, [0 if v is None else v for v in values], color=colors)
    ax.bar_label(bars, labels=["no pictures" if v is None else f"{v:.0f}%" for v in values], padding=3, fontsize=13)
    ax.axhline(chance, color="gray", linestyle="--", linewidth=1.5)
    ax.text(1.005, chance, f"chance\n{chance:.0f}%", transform=ax.get_yaxis_transform(), ha="left", va="center",
            color="gray", fontsize=12)  # beside the plot, never on a bar
    ax.set_ylim(0, 110)
    ax.set(title=title, ylabel="accuracy (%)")
    ax.tick_params(axis="x", labelrotation=30 if len(classes) > 6 else 0)
    return fig


def confusion_figure(confusion: torch.Tensor, classes: list[str]) -> Figure:
    """Counts of true class (rows) against predicted class (columns); the diagonal is what went right."""
    matrix = confusion.numpy() if isinstance(confusion, torch.Tensor) else np.asarray(confusion)
    size = max(6, 0.9 * len(classes) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size), layout="constrained")
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ticks = range(len(classes))
    ax.set_xticks(ticks, classes, rotation=45, ha="right")
    ax.set_yticks(ticks, classes)
    ax.set(xlabel="predicted class", ylabel="true class", title="Confusion matrix")
    ax.spines[:].set_visible(False)
    threshold = matrix.max() / 2 if matrix.size else 0
    if len(classes) <= 12:
        for (i, j), count in np.ndenumerate(matrix):
            ax.text(j, i, str(count), ha="center", va="center", fontsize=15 if len(classes) <= 10 else 11,
                    color="white" if count > threshold else "black")
    return fig


def figure_to_image(fig: Figure) -> Image.Image:
    """Render and close, so figures made every second do not pile up in memory."""
    fig.canvas.draw()
    image = Image.frombuffer("RGBA", fig.canvas.get_width_height(), fig.canvas.buffer_rgba()).convert("RGB")
    plt.close(fig)
    return image


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_manager.findfont("DejaVu Sans:bold"), size)


def labelled_grid(images: torch.Tensor, truth: list[int], predicted: list[int] | None, classes: list[str],
                  columns: int = 8, scale: int = 4) -> Image.Image:
    """make_grid of uint8 pictures, each captioned with its true class and the prediction (green/red)."""
    tile = 32 * scale
    big = torch.nn.functional.interpolate(images.float(), scale_factor=scale, mode="nearest").to(torch.uint8)
    grid = make_grid(big, nrow=columns, padding=6, pad_value=255)
    picture = Image.fromarray(grid.permute(1, 2, 0).numpy())
    rows = (len(images) + columns - 1) // columns
    caption = 44
    canvas = Image.new("RGB", (picture.width, picture.height + rows * caption), "white")
    draw = ImageDraw.Draw(canvas)
    font = _font(17)
    for r in range(rows):  # make_grid puts each tile at a fixed pitch; open a caption band under every row
        band = picture.crop((0, r * (tile + 6), picture.width, (r + 1) * (tile + 6) + 6))
        canvas.paste(band, (0, r * (tile + 6 + caption)))
    for i, true in enumerate(truth):
        r, c = divmod(i, columns)
        x = 6 + c * (tile + 6)
        y = 6 + r * (tile + 6 + caption) + tile + 2
        if predicted is None:
            draw.text((x, y), classes[true], fill="black", font=font)
            continue
        ok = predicted[i] == true
        color = CORRECT if ok else WRONG
        draw.rectangle((x - 4, y - tile - 6, x + tile + 3, y - 3), outline=color, width=4)
        draw.text((x, y), classes[true], fill="black", font=font)
        draw.text((x, y + 20), ("✓ " if ok else "✗ ") + classes[predicted[i]], fill=color, font=font)
    return canvas


def tile_grid(tiles: torch.Tensor, columns: int = 8, tile: int = 96) -> Image.Image:
    """Float (N, 3, h, w) tiles in [0, 1] on white, each enlarged by nearest neighbour to about `tile` pixels."""
    scale = max(1, tile // tiles.shape[-1])
    big = torch.nn.functional.interpolate(tiles.float(), scale_factor=scale, mode="nearest")
    grid = make_grid(big, nrow=min(columns, len(tiles)), padding=6, pad_value=1.0)
    return Image.fromarray((grid.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy())


def titled(image: Image.Image, title: str, size: int = 18) -> Image.Image:
    """A title band above a picture, so a grid still says what it is when shown on its own."""
    font = _font(size)
    band = size + 16
    canvas = Image.new("RGB", (max(image.width, int(font.getlength(title)) + 12), image.height + band), "white")
    ImageDraw.Draw(canvas).text((6, 6), title, fill="black", font=font)
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


def run_label(net: str, epochs: float, accuracy: float | None) -> str:
    """'lenet · 2 epochs · 57.9%': how a run is named in a legend or a menu."""
    count = f"{epochs:g} epoch" + ("" if epochs == 1 else "s")
    return " · ".join([net, count] + ([f"{accuracy:.1%}"] if accuracy is not None else []))


def runs_figure(runs: list[tuple[str, dict]], title: str = "Runs compared") -> Figure:
    """Smoothed loss and test accuracy of several runs against epoch, so runs with other batch sizes line up."""
    fig, (loss_ax, accuracy_ax) = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
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
        loss_ax.text(0.5, 0.5, "Train a model or pick runs to compare", ha="center", va="center",
                     transform=loss_ax.transAxes, color="gray")
    loss_ax.set(title="Smoothed training loss", xlabel="epoch", ylabel="cross-entropy loss")
    accuracy_ax.set(title="Test accuracy", xlabel="epoch", ylabel="accuracy (%)", ylim=(0, 100))
    for ax in (loss_ax, accuracy_ax):
        ax.set_xlim(left=0)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    return fig
