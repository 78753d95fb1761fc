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
NAMES = {"lenet", "smallcnn", "fastnet", "resnet", "cifar", "sgd", "adam", "muon", "relu", "gelu", "grad", "cam", "cpu",
         "gpu", "zip", "pt", "data", "running", "models", "eta", "img", "s", "x", "pytorch", "batchnorm", "net",
         "conv", "resnet-9", "lenet-5", "grad-cam",
         "torchvision", "nfc", "linux", "macos", "windows", "mb", "gb", "png", "jpeg", "svg", "webp", "gif", "bmp",
         "tiff", "cifar-10-batches-py", "uint8", "flatten", "torch", "compile", "sigkill", "n", "u", "sqlite", "cuda", "mps", "ctrl", "c", "bf16"}
# What a person types or reads as it is written: a path or file name, a quoted name or field, an environment variable.
VERBATIM = re.compile(r"\S*[/.][^\s.]\S*|\S+/|'[^']*'|\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|--\w[\w-]*(?: [A-Z]+(?![a-z]))?|\d+(?:x\d+)+")


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


# ---------------------------------------------------------------- no English sentence from the core on a Korean page

HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture(scope="module")
def korean_client(tmp_path_factory):
    """The app with no data and no model, as a Korean browser reaches it (gradio_client sends the page's header)."""
    from gradio_client import Client

    from cifar_demo.lab import Lab
    from test_app import start

    folder = tmp_path_factory.mktemp("words")
    lab = Lab(data_path=folder / "no-data-here", checkpoint_dir=folder / "models", download=False, device="cpu")
    app, url = start(lab)
    yield Client(url, verbose=False, headers={"Accept-Language": "ko-KR,ko;q=0.9"}), folder
    app.close()


def refusal_of(client, *arguments, api_name: str) -> str:
    from gradio_client.exceptions import AppError

    try:
        answer = client.predict(*arguments, api_name=api_name)
    except AppError as refused:
        return str(refused)
    return " ".join(part for part in (answer if isinstance(answer, tuple) else [answer]) if isinstance(part, str))


def korean_refusals(client, folder) -> dict[str, str]:
    """One request for each kind of refusal the core says, answered to a Korean page."""
    from gradio_client import handle_file

    from cifar_demo.serving import MAX_VALUES

    picture = folder / "picture.png"
    Image.new("RGB", (8, 8), "red").save(picture)
    broken_lesson = folder / "lesson.zip"
    broken_lesson.write_bytes(b"PK\x03\x04 broken")
    return {
        "names.needed": refusal_of(client, " ", api_name="/your_classes_add_class"),
        "names.path": refusal_of(client, "a/b", api_name="/your_classes_add_class"),
        "names.mixed": refusal_of(client, "\u0441at", api_name="/your_classes_add_class"),
        "collection.no_class_yet": refusal_of(client, "mug", [handle_file(str(picture))],
                                              api_name="/your_classes_add_pictures"),
        "data.not_found": refusal_of(client, 0, 16, "", False, api_name="/browse"),
        "models.none": refusal_of(client, api_name="/evaluate"),
        "models.unknown": refusal_of(client, "nope.pt", api_name="/select_model"),
        "store.no_lesson": refusal_of(client, 999, api_name="/lesson_restore"),
        "store.lesson_refused": refusal_of(client, handle_file(str(broken_lesson)), api_name="/lesson_import"),
        "serving.values": refusal_of(client, "mug", ["x"] * (MAX_VALUES + 1), api_name="/your_classes_add_pictures"),
        "training.settings": refusal_of(client, "lenet", 1, 64, 0.05, "adam", False, 2**40, api_name="/train"),
    }


def test_every_refusal_from_the_core_reaches_a_korean_page_in_korean(korean_client):
    said = korean_refusals(*korean_client)
    english = {key: words for key, words in said.items() if not HANGUL.search(words) or english_words(words)}
    assert not english, "\n".join(f"{key}: {words}" for key, words in english.items())
    assert words.text("setting.seed", words.KOREAN) in said["training.settings"], said["training.settings"]


INTERNAL_ERRORS = {  # exceptions caught inside the core (or bugs), never shown as they are
    "KeyError": "a programming error (an unknown field), never a person's input",
    "RuntimeError": "a broken invariant (a bug): the page shows only the generic refusal",
    "DatabaseError": "store.py catches it and moves the file aside with its own notice",
    "UnpicklingError": "data.py catches it and names it inside data.batch_unpickle's reason",
    "BadZipFile": "caught by the zip's reader and quoted as a technical reason",
    "InterruptedError": "a stopped evaluation: control flow, no message",
    "refusal": "ui/common.refusal's first argument is the action's name for the log, not a sentence",
}
CLI_ONLY = {  # functions whose refusals only the command line prints
    ("serving.py", "trusted_proxy"): "--trusted-proxy is a command-line option",
    ("device.py", "pick_device"): "--device is a command-line option",
}


def is_english_text(node) -> bool:
    """A string, an f-string, or a sum with one: text written in the raise itself (a Say's key is inside a call)."""
    import ast

    if isinstance(node, ast.BinOp):
        return is_english_text(node.left) or is_english_text(node.right)
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def english_raises() -> list[str]:
    """Every `raise XError(<English text>)` left in the core: cifar_demo/ without __main__.py (the command line) and
    bench/ (command-line benchmarks), INTERNAL_ERRORS and CLI_ONLY's functions."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "cifar_demo"
    found = set()
    for file in sorted(root.rglob("*.py")):
        relative = file.relative_to(root)
        if relative.parts[0] == "bench" or relative.name == "__main__.py":
            continue
        tree = ast.parse(file.read_text())
        skipped = {id(node) for function in ast.walk(tree) if isinstance(function, ast.FunctionDef)
                   and (relative.name, function.name) in CLI_ONLY for node in ast.walk(function)}
        for node in ast.walk(tree):
            if id(node) in skipped or not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            name = getattr(node.exc.func, "id", getattr(node.exc.func, "attr", ""))
            if name not in INTERNAL_ERRORS and node.exc.args and is_english_text(node.exc.args[0]):
                found.add(f"{relative}:{node.lineno} {name}")
    return sorted(found)


def test_no_core_refusal_is_written_in_english_text():
    assert not english_raises()


def test_a_sentence_sent_as_plain_data_comes_back_the_same_and_is_never_taken_for_a_file():
    said = words.Say("store.cannot_open", path="/tmp/class.sqlite3", reason=words.Say("data.archive", path="x.zip",
                                                                                        reason="truncated"))
    sent = words.plain(said)
    assert words.from_plain(sent) == said
    assert not any(isinstance(part, dict) and "path" in part for part in walk(sent)), \
        "gradio_client fetches any mapping with a 'path' as a file"


def walk(data: object):
    yield data
    for part in data.values() if isinstance(data, dict) else data if isinstance(data, list) else ():
        yield from walk(part)
