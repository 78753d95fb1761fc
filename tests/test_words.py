"""The catalog: both languages for every key with the same placeholders, whole sentences (never English pieces
joined), the browser's language chosen by its header, CIFAR-10's names in Korean, and Korean drawn in every chart
and picture with a real font."""
from __future__ import annotations

import re
import warnings

import pytest
import torch
from PIL import Image

from cifar_demo import words
from cifar_demo.plots import (accuracy_figure, chart_picture, confusion_figure, labelled_grid, loss_figure,
                              per_class_figure, runs_figure, text_width, titled)
from cifar_demo.ui.common import status_line
from cifar_demo.ui.language import SPOKEN, PAGE_VALUES, catalog
from cifar_demo.wall import Snapshot, draw
from cifar_demo.words import CATALOG, CIFAR10, Say, choose, class_names, placeholders

KOREAN = class_names(CIFAR10, "ko")
# Words that stay as they are on a Korean page: names of nets, formats, the data set, units.
NAMES = {"lenet", "smallcnn", "fastnet", "resnet", "cifar", "sgd", "adam", "relu", "gelu", "grad", "cam", "cpu",
         "gpu", "zip", "pt", "data", "running", "models", "eta", "img", "s", "x", "pytorch", "batchnorm", "net",
         "conv", "resnet-9", "lenet-5", "grad-cam",
         "torchvision", "nfc", "linux", "macos", "windows", "mb", "gb", "png", "jpeg", "svg", "webp", "gif", "bmp",
         "tiff", "cifar-10-batches-py", "n", "u", "sqlite", "cuda", "mps", "ctrl", "c", "bf16"}
# What a person types or reads as it is written: a path or file name, a quoted name or field, an environment variable.
VERBATIM = re.compile(r"\S*[/.][^\s.]\S*|\S+/|'[^']*'|\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|--\w[\w-]*")


def english_words(line: str) -> set[str]:
    """Latin-letter words that are not names: what a Korean page must not show."""
    line = VERBATIM.sub(" ", line)
    return {w for w in re.findall(r"[A-Za-z][A-Za-z0-9-]*", line) if w.lower().rstrip("-0123456789") not in NAMES
            and w.lower() not in NAMES}


def test_every_key_has_both_languages_with_the_same_placeholders():
    assert CATALOG["en"].keys() == CATALOG["ko"].keys()
    for key, english in CATALOG["en"].items():
        assert placeholders(english) == placeholders(CATALOG["ko"][key]), key
        assert CATALOG["ko"][key].strip(), key


def test_korean_text_has_no_english_words_but_names():
    leftover = {key: english_words(re.sub(r"\{\w+\}", "", text)) for key, text in CATALOG["ko"].items()}
    assert not {key: found for key, found in leftover.items() if found}


def test_the_browser_gets_the_page_words_filled_in_and_without_braces():
    for language, table in catalog().translations.items():
        assert f"{PAGE_VALUES['held_out']}" in table["page.steps"]
        assert not [key for key, text in table.items() if "{" in text or "}" in text], language
        assert all(key.startswith("page.") or f"gradio.{key}" in CATALOG["en"] for key in table)


def test_a_say_is_english_as_text_and_korean_on_a_korean_page():
    error = ValueError(Say("lab.no_match"))
    assert str(error) == "No test pictures match this filter."
    assert words.render(error, "ko") == CATALOG["ko"]["lab.no_match"]
    assert words.render(ValueError("plain"), "ko") == "plain"
    with pytest.raises(KeyError):
        Say("no.such.key")


@pytest.mark.parametrize("header, default, expected", [
    ("ko-KR,ko;q=0.9,en-US;q=0.8", "en", "ko"), ("en-US,en;q=0.9", "ko", "en"), ("fr-FR,fr;q=0.9", "en", "en"),
    ("fr-FR,fr;q=0.9", "ko", "ko"), (None, "ko", "ko"), ("", "en", "en"), ("de;q=1,ko;q=0.2,en;q=0.5", "en", "en"),
    ("ko;q=0", "en", "en"), ("x;q=abc,ko", "en", "ko"), ("EN-gb", "ko", "en")])
def test_the_language_follows_the_browser_and_else_the_default(header, default, expected):
    assert choose(header, default) == expected


def test_cifar10_names_are_korean_on_a_korean_page_and_a_class_own_names_stay_as_typed():
    assert KOREAN == ["비행기", "자동차", "새", "고양이", "사슴", "개", "개구리", "말", "배", "트럭"]
    assert class_names(CIFAR10, "en") == list(CIFAR10)
    assert class_names(["cat", "dog"], "ko") == ["cat", "dog"]  # a class typed these: its names, as typed


STATUSES = [
    {"state": "idle", "message": "", "progress": {}, "history": {"epochs": []}, "checkpoint": None, "result": {}},
    {"state": "running", "message": "training", "run": "lenet-1", "checkpoint": None, "result": {},
     "progress": {"epoch": 2, "epochs": 10, "step": 1200, "steps": 3910, "images_per_second": 4300,
                  "eta_seconds": 80}, "history": {"epochs": [{"test_accuracy": 0.41}]}},
    {"state": "finished", "message": "finished", "checkpoint": "runs/lenet-1.pt", "progress": {}, "history": {},
     "result": {"test_accuracy": 0.917, "test_pictures": 12, "seconds": 3.2}},
    {"state": "stopped", "message": "stopped", "checkpoint": "runs/lenet-1.pt", "progress": {}, "history": {},
     "result": {"test_accuracy": 0.5, "seconds": 4000}},
]


@pytest.mark.parametrize("status", STATUSES, ids=[s["state"] for s in STATUSES])
def test_status_lines_are_whole_sentences_in_each_language(status):
    token = SPOKEN.set(("ko",))
    try:
        korean = status_line(status, "runs/lenet-1.pt")
    finally:
        SPOKEN.reset(token)
    english = status_line(status, "runs/lenet-1.pt")
    assert not english_words(korean), korean
    assert english != korean and english_words(english)


# ---------------------------------------------------------------- Korean glyphs in charts and pictures


def no_missing_glyphs(make):
    """Draw; fail on matplotlib's 'Glyph ... missing from font' warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = make()
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert not missing, missing
    return result


HISTORY = {"steps": [{"step": s, "epoch": s / 4, "loss": 1 / s, "smooth_loss": 1 / s} for s in range(1, 5)],
           "epochs": [{"epoch": 1.0, "test_accuracy": 0.4}]}
KOREAN_CHARTS = {
    "loss": lambda: loss_figure(HISTORY, language="ko"),
    "empty loss": lambda: loss_figure({}, language="ko"),
    "accuracy": lambda: accuracy_figure(HISTORY, language="ko"),
    "per class": lambda: per_class_figure([0.9, None, *[0.3] * 8], KOREAN, language="ko"),
    "confusion": lambda: confusion_figure(torch.arange(100).reshape(10, 10), KOREAN, language="ko"),
    "runs": lambda: runs_figure([("lenet · 에포크 2개", HISTORY)], language="ko"),
    "no runs": lambda: runs_figure([], language="ko"),
}


@pytest.mark.parametrize("name", KOREAN_CHARTS)
def test_every_chart_draws_korean_with_a_real_font(name):
    picture = no_missing_glyphs(lambda: chart_picture(KOREAN_CHARTS[name]))
    assert picture.width > 100


def inked(picture: Image.Image) -> int:
    return int((torch.frombuffer(bytearray(picture.convert("L").tobytes()), dtype=torch.uint8) < 128).sum())


def test_pictures_draw_hangul_as_glyphs_not_boxes():
    """A box glyph is the same for every character: two different Korean names must ink differently."""
    pictures = torch.zeros((2, 3, 32, 32), dtype=torch.uint8) + 255
    first, second = (labelled_grid(pictures[:1], [0], [0], [name], columns=1) for name in ("고양이", "개구리말"))
    assert first.tobytes() != second.tobytes()
    assert text_width("고양이", 17) > text_width("abc", 17)
    assert inked(titled(Image.new("RGB", (40, 40), "white"), "첫 번째 층의 필터")) > 0


def test_the_wall_draws_in_the_page_language():
    empty = Snapshot(version=0, entries=[], classes=list(CIFAR10), model="m", test_accuracy=None, test_per_class={},
                     dropped=0, capacity=300)
    korean = no_missing_glyphs(lambda: draw(empty, "ko"))
    assert korean.tobytes() != draw(empty, "en").tobytes()
