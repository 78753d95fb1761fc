"""Charts and captioned grids: names a class typed are drawn as typed, a chart that fails is one sentence, and no
figure outlives its drawing."""
from __future__ import annotations

import gc
import re
import weakref
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image, ImageDraw

from cifar_demo.plots import (FRAME, GAP, ChartError, Caption, captioned_grid, chart_picture, confusion_figure,
                              figure_to_image, labelled_grid, per_class_figure, runs_figure, write)

REPO = Path(__file__).resolve().parent.parent
# What a class of students may type: maths markers (the last two break mathtext), markup, a name that is a number.
HOSTILE = ["$\\frac{1}{0}$", "$$", "a_b^c", "<b>x</b>", "1", "$x^$"]
LONG = "a very long class name that no tile is wide enough for"
HISTORY = {"steps": [{"step": s, "epoch": s / 4, "loss": 1 / s, "smooth_loss": 1 / s} for s in range(1, 5)],
           "epochs": [{"epoch": 1.0, "test_accuracy": 0.4}]}
CHARTS = {
    "per class": lambda names: per_class_figure([0.9, None, *[0.3] * (len(names) - 2)], names),
    "confusion": lambda names: confusion_figure(torch.arange(len(names) ** 2).reshape(len(names), -1), names),
    "runs": lambda names: runs_figure([(name, HISTORY) for name in names]),
}


def drawn(make_figure) -> Figure:
    figure = make_figure()
    figure_to_image(figure)
    return figure


class Unpaintable(Artist):
    """An artist that fails when the figure is drawn, as a chart's text, layout or data may."""

    def draw(self, renderer):
        raise RuntimeError("first line\nsecond line of a long dump")


def broken_chart() -> Figure:
    figure = per_class_figure([0.5, 0.5], ["cat", "dog"])
    figure.axes[0].add_artist(Unpaintable())
    return figure


def live_figures() -> int:
    gc.collect()
    return sum(type(thing) is Figure for thing in gc.get_objects())


@pytest.mark.parametrize("chart", list(CHARTS))
def test_every_chart_draws_hostile_class_names_as_the_text_typed(chart):
    figure = drawn(lambda: CHARTS[chart](HOSTILE + [LONG]))
    renderer = figure.canvas.get_renderer()
    texts = {name: [t for t in figure.findobj(Text) if t.get_text() == name and t.get_visible()]
             for name in HOSTILE + [LONG]}
    assert all(texts.values()), f"every name is on the chart: {[n for n, found in texts.items() if not found]}"
    for name, found in texts.items():
        for text in found:
            assert not text.get_parse_math(), name
            text.set_rotation(0)  # measured level: as wide as the plain string, so no fraction, no sub- or superscript
            plain, _, _ = renderer.get_text_width_height_descent(name, text.get_fontproperties(), ismath=False)
            assert text.get_window_extent(renderer).width == pytest.approx(plain, abs=1), name


def test_class_names_that_are_numbers_stay_names_in_their_order():
    figure = drawn(lambda: per_class_figure([0.1, 0.5, 0.9], ["10", "2", "1.5"]))
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == ["10", "2", "1.5"]
    assert [bar.get_height() for bar in figure.axes[0].patches] == pytest.approx([10, 50, 90])


def test_a_chart_that_cannot_be_drawn_is_one_sentence_and_its_figure_is_let_go():
    made = []

    def remembered() -> Figure:
        made.append(weakref.ref(figure := broken_chart()))
        return figure

    with pytest.raises(ChartError, match=r"^The chart could not be drawn: first line\.$") as caught:
        chart_picture(remembered)
    assert caught.value.__context__ is None, "the failure, and the figure in its traceback, are not kept"
    gc.collect()
    assert made[0]() is None, "the half-drawn figure is gone"
    with pytest.raises(ChartError) as caught:  # what a class named '$$' did to every chart before
        chart_picture(lambda: per_class_figure([0.5], ["cat"]).text(0, 0, "$$", parse_math=True).figure)
    assert str(caught.value).startswith("The chart could not be drawn") and "\n" not in str(caught.value)


def test_drawing_charts_over_and_over_keeps_no_figure():
    for _ in range(2):  # matplotlib's own caches fill on the first drawings
        chart_picture(lambda: CHARTS["per class"](HOSTILE))
    before = live_figures()
    for _ in range(5):
        for chart in CHARTS.values():
            assert chart_picture(lambda: chart(HOSTILE)).size[0] > 200
        with pytest.raises(ChartError):
            chart_picture(broken_chart)
    assert live_figures() == before


def test_no_module_draws_through_pyplot():
    sources = [REPO / "app.py", *sorted((REPO / "cifar_demo").rglob("*.py"))]
    pyplot = re.compile(r"matplotlib\.pyplot|from matplotlib import .*\bpyplot\b")
    assert [p.name for p in sources if pyplot.search(p.read_text())] == []


def caption_band(grid: Image.Image, index: int, columns: int = 8, scale: int = 4, caption_height: int = 44):
    """The caption area under tile `index`, as wide as a caption may run (into the gap beside the tile)."""
    framed = 32 * scale + 2 * FRAME
    row, column = divmod(index, columns)
    left, top = GAP + column * (framed + GAP), GAP + row * (framed + caption_height + GAP) + framed
    return np.asarray(grid.crop((left, top, left + framed + GAP - 2, top + caption_height)))


def plainly_drawn(text: str, size: tuple[int, int]) -> np.ndarray:
    canvas = Image.new("RGB", size, "white")
    write(ImageDraw.Draw(canvas), (2, 3), text, 17)  # Latin in DejaVu Sans, Hangul in NanumGothic
    return np.asarray(canvas)


def test_grid_captions_are_the_names_as_typed_and_long_ones_are_cut_to_the_tile():
    names = [LONG, *HOSTILE, "한국어 반"]  # the long one first: had it run on, the next caption would show it
    pictures = torch.randint(0, 256, (len(names), 3, 32, 32), dtype=torch.uint8)
    grid = labelled_grid(pictures, list(range(len(names))), None, names)
    for index, name in enumerate(names[1:], 1):
        band = caption_band(grid, index)
        assert (band == plainly_drawn(name, band.shape[1::-1])).all(), name
    band = caption_band(grid, 0)
    cut = [LONG[:end] + "…" for end in range(1, len(LONG))]
    assert any((band == plainly_drawn(text, band.shape[1::-1])).all() for text in cut)


def test_a_captioned_grid_keeps_its_width_and_frames_each_tile_in_its_colour():
    pictures = torch.full((2, 3, 32, 32), 90, dtype=torch.uint8)
    grid = captioned_grid(pictures, [[Caption("a")], [Caption("b")]], ["#ff0000", None], columns=4, scale=2)
    framed = 64 + 2 * FRAME
    assert grid.width == 4 * (framed + GAP) + GAP, "a short page is drawn as wide as a full one"
    assert grid.getpixel((GAP + 1, GAP + 1)) == (255, 0, 0)
    assert grid.getpixel((GAP + framed + GAP + 1, GAP + 1)) == (255, 255, 255)
    assert grid.getpixel((GAP + FRAME + 5, GAP + FRAME + 5)) == (90, 90, 90)
    alone = captioned_grid(pictures[:1], [[Caption("a")]], [None], columns=1)
    assert alone.size == (32 * 4 + 2 * FRAME + 2 * GAP, 32 * 4 + 2 * FRAME + 44 + 2 * GAP), "padded like the others"
