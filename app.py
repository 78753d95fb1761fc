"""The classroom page: train a net and watch it learn, browse its guesses, classify a photo, evaluate it, teach it
the class's own classes, and put the class's photos with the net's guesses on the wall.

UI wiring only: every piece of machine learning goes through `cifar_demo.lab.Lab` and the core. The tabs that
outgrew this file live in `cifar_demo/ui/`, with the parts every tab uses.
"""
from __future__ import annotations

import argparse
import logging
import os
import random
import shutil
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no telemetry: set before gradio is imported

import gradio as gr
import torch
from fastapi.exceptions import RequestValidationError
from gradio.route_utils import FnIndexInferError
from starlette.middleware import Middleware

from cifar_demo import explain
from cifar_demo.access import AccessError
from cifar_demo.challenge import Challenge
from cifar_demo.checkpoints import CHECKPOINT_DIR
from cifar_demo.held_out import SOURCE as YOUR_CLASSES
from cifar_demo.database import MEMORY, StoreError
from cifar_demo.device import usable_cores
from cifar_demo.evaluation import most_confused_pairs
from cifar_demo.images import MAX_UPLOAD_BYTES, ImageError
from cifar_demo.lab import DataNotFoundError, JobRunning, Lab, NoModel
from cifar_demo.models import describe_nets, has_widths
from cifar_demo.network import is_loopback
from cifar_demo.plots import accuracy_figure, confusion_figure, loss_figure, per_class_figure, runs_figure
from cifar_demo.serving import (BodyLimit, forwarded_only_from, quote, refuse_oversized, short_refusal,
                                slow_failed_logins, trusted_proxy)
from cifar_demo.store import Store
from cifar_demo.trainer import server_threads
from cifar_demo.training import default_model_for, preset
from cifar_demo import words
from cifar_demo.ui.budget import Sizer, budget_controls
from cifar_demo.ui.challenge import build_challenge_tab
from cifar_demo.ui.common import (SharedChart, as_file, caller, classified, escape_markdown,
                                  message_line, model_classes, random_test_picture, recipe_controls, refusal,
                                  refused_already, refused_here, render, status_line, stop_training, truth_menu,
                                  uploads_only)
from cifar_demo.ui.join import CSS as JOIN_CSS
from cifar_demo.ui.join import STUDENT_PATH, build_join_panel
from cifar_demo.ui.language import PageLanguages, catalog, language, names, net_key, page, say, shown
from cifar_demo.ui.language import css as language_css
from cifar_demo.ui.language import page_font, web_font
from cifar_demo.ui.lesson import build_lesson_tab
from cifar_demo.ui.student import CSS as STUDENT_CSS
from cifar_demo.ui.student import build_student_page
from cifar_demo.ui.wall_tab import build_wall_tab
from cifar_demo.ui.your_classes import CSS as YOUR_CLASSES_CSS
from cifar_demo.ui.your_classes import build_your_classes_tab, your_status_line
from cifar_demo.wall import UNKNOWN, Entry, PageShare, Wall, WallRefusal, summarize
from cifar_demo.words import Say, class_name, said_by

ALL_CLASSES = "all classes"
GRID_SIZES = [16, 32, 64]
AUTH_ENV = "CIFAR_DEMO_AUTH"
DEFAULT_STORE = CHECKPOINT_DIR / "class.sqlite3"  # beside the checkpoints; ignored by git
MAX_QUEUED = 500  # a class of 30 with a page each and a photo in flight each queues well under 100
MAX_COMPARED = 10  # runs one chart overlays: one colour each
CSS = """
.gradio-container { font-size: 18px; }
#header p { font-size: 20px; margin: 0; }
.big textarea, .big input { font-size: 22px !important; font-weight: 600; }
.pixels img, #picture img { image-rendering: pixelated; }
.quiet:has(textarea:placeholder-shown) { display: none; }  /* an empty message line takes no room */
#picture img, .fill img { width: 100%; height: 100%; object-fit: contain; }  /* a 32x32 test picture fills the box */
.fill img { image-rendering: pixelated; }
.net-about p { font-size: 15px; opacity: 0.75; margin: 0 4px; }
.confidence-set { font-family: var(--font); }  /* the class names in the page's font, not the code font */
#wall-summary { font-size: 22px; }
#wall-summary h2 { font-size: 34px; margin: 6px 0; }
#challenge-board th, #challenge-board td { word-break: keep-all; overflow-wrap: normal; }  /* "rank", not "ran|k" */
.progress-text { display: none !important; }  /* gradio writes "queue: 1/3 | 0.4s" in English only: the spinner says it */
""" + YOUR_CLASSES_CSS + JOIN_CSS + STUDENT_CSS + language_css()


# ---------------------------------------------------------------- words for people


def header_text(lab: Lab) -> str:
    notice = "".join(f"  \n⚠ {shown(words)}" for words in (lab.shelf.notice, lab.store.notice()) if words)
    return escape_markdown(shown(lab.header()) + notice)


def net_choices() -> list[tuple[str, str]]:
    return [(page(net_key(name)), name) for name, _, _ in describe_nets()]


def about(net: str) -> str:
    """A net's one-line description, in the page's language."""
    return say(f"page.about.{net}")


def classroom_net(lab: Lab) -> str:
    """The GPU recipe on a GPU; elsewhere LeNet, whose loss visibly falls within seconds on a laptop."""
    return default_model_for(lab.device) if lab.device.type == "cuda" else "lenet"


# ---------------------------------------------------------------- gradio's own refusals


def refuse_quietly(app: gr.Blocks) -> None:
    """What gradio itself refuses (a wrong type, a value not among the choices, too few arguments) answers with a
    short message and one line of log: gradio's own words quote the whole input, with a traceback each time. A
    request naming too many files is refused before gradio looks at any of them."""
    standard = app.preprocess_data

    async def preprocess_data(block_fn, inputs, state, explicit_call=False):
        try:
            refuse_oversized(inputs)
            return await standard(block_fn, inputs, state, explicit_call)
        except Exception as error:
            text = str(error).strip()
            reason = said_by(error) or quote(text.splitlines()[0] if text else type(error).__name__)
            raise refusal(block_fn.api_name or block_fn.name, Say("text.refused", reason=reason)) from None

    app.preprocess_data = preprocess_data


# ---------------------------------------------------------------- tabs


@dataclass
class TrainTab:
    status: gr.Textbox
    loss: gr.Image
    accuracy: gr.Image
    runs: gr.CheckboxGroup
    compare: Callable[[list[str]], str]  # the checkbox's choices are a page's own: the API's /compare_runs takes any


def build_train_tab(lab: Lab, app: gr.Blocks, challenge: Challenge) -> TrainTab:
    defaults = preset(classroom_net(lab))
    with gr.Tab(page("tab.train"), id="train"):
        with gr.Row():
            with gr.Column(scale=2, min_width=360):
                net = gr.Dropdown(net_choices(), value=defaults.model, label=page("net"))
                described = gr.Markdown(page(f"about.{defaults.model}"), elem_classes="net-about")
                budget = budget_controls(defaults)
                recipe = recipe_controls(defaults)
                with gr.Row():
                    train = gr.Button(page("train"), variant="primary", size="lg")
                    stop = gr.Button(page("stop"), variant="stop", size="lg")
            with gr.Column(scale=5):
                status = gr.Textbox(status_line(lab.status(), lab.shelf.active_key), show_label=False, interactive=False,
                                    elem_classes="big", container=False, elem_id="train-status", label=page("status"))
                loss = gr.Image(show_label=False, interactive=False, format="png",
                                buttons=["fullscreen"])
                accuracy = gr.Image(show_label=False, interactive=False, format="png",
                                    buttons=["fullscreen"])
        with gr.Accordion(page("compare"), open=False):
            runs = gr.CheckboxGroup(label=page("runs"))
            compared = gr.Image(show_label=False, interactive=False, format="png", buttons=["fullscreen"])

    def start(net: str, epochs: int, batch_size: int, lr: float, optimizer: str, augment: bool, seed: int,
              width: int | None = None, minutes: float | None = None, request: gr.Request = None) -> str:
        """Start training in the background and return at once; follow it with /status, end it with /stop. While the
        class challenge's queue runs, the teacher's run goes first and a student's waits. width: fastnet's (none:
        its preset's); minutes: the run ends within them, its epochs a first plan (none or 0: the epochs as set)."""
        try:  # the settings go in as they came: validate() names what is wrong with any of them, whatever its type
            config = preset(net, epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer, augment=augment,
                            seed=seed, width=width, minutes=None if minutes == 0 else minutes)
            challenge.start_training(config, caller(request))
        except (JobRunning, ValueError) as error:
            raise refusal("train", error, title="not_started") from None
        return status_line(lab.status())

    def halt() -> str:
        """Stop the running job after the current batch; it still saves what it has learnt."""
        return stop_training(lab)

    def fill_preset(name: str):
        config, shown = preset(name), has_widths(name)
        return (about(name), gr.update(visible=shown, value=0), gr.update(visible=shown, value=config.width), "",
                config.epochs, config.batch_size, config.lr, config.optimizer, config.augment)

    def sized(net: str, minutes: int) -> bool:
        """Whether a length was chosen for a net that comes in widths: the case the page sizes."""
        return bool(minutes) and has_widths(net)

    def sizing(net: str, minutes: int) -> str:
        """The line while the sizing runs (seconds to a minute)."""
        return say("text.sizing") + "…" if sized(net, minutes) else ""

    def size(net: str, minutes: int, batch_size: int):
        """fastnet's width and epochs for the minutes chosen, timed on this machine, and when a run would end."""
        if not sized(net, minutes):
            return gr.skip(), gr.skip(), ""
        try:
            config, line = sizer.size(minutes, batch_size=batch_size)
        except (ValueError, DataNotFoundError) as error:
            raise refusal("size", error) from None
        return config.width, config.epochs, line

    def compare(keys: list[str]) -> str:
        """Loss and accuracy curves of the chosen runs on one chart: checkpoint names from /models, or 'running'; a
        run named twice is drawn once, and the first MAX_COMPARED runs found are drawn."""
        if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
            raise refusal("compare_runs", Say("text.compare_list"))
        found = lab.runs()
        chosen = [(shown(label), history) for label, history in
                  (found[key] for key in dict.fromkeys(keys) if key in found)][:MAX_COMPARED]
        return render("compare_runs", lambda: runs_figure(chosen, language=language()))

    def running_settings():
        """A page opened during a run shows that run's settings, not the preset's."""
        status = lab.status()
        if status["state"] != "running":
            return [gr.skip()] * 9
        c = status["config"]
        return (c["model"], about(c["model"]), c["width"], c["epochs"], c["batch_size"], c["lr"],
                c["optimizer"], c["augment"], c["seed"])

    sizer = Sizer(lab)
    filled = [described, budget.length, budget.width, budget.sized, *recipe.settings[:-1]]  # a preset keeps the seed
    net.input(fill_preset, net, filled, api_visibility="private")
    budget.length.input(sizing, [net, budget.length], budget.sized, api_visibility="private",
                        show_progress="hidden").then(
        size, [net, budget.length, recipe.batch_size], [budget.width, recipe.epochs, budget.sized],
        api_visibility="private", show_progress="hidden")  # the line says it is timing: gradio's overlay stayed on it
    app.load(running_settings, None, [net, described, budget.width, *recipe.settings], api_visibility="private",
             show_progress="hidden")
    train.click(start, [net, *recipe.settings, budget.width, budget.length], status, api_name="train")
    stop.click(halt, None, status, api_name="stop", concurrency_limit=None)
    runs.change(compare, runs, compared, api_visibility="private", show_progress="hidden")
    return TrainTab(status, loss, accuracy, runs, compare)


def build_browse_tab(lab: Lab) -> None:
    with gr.Tab(page("tab.browse"), id="browse") as tab:
        with gr.Row():
            count = gr.Radio(GRID_SIZES, value=GRID_SIZES[0], label=page("per_page"))
            true_class = gr.Dropdown(class_menu(lab.pictures.test_classes()), value=ALL_CLASSES,
                                     label=page("true_class"), allow_custom_value=True)
            only_mistakes = gr.Checkbox(False, label=page("only_mistakes"))
        with gr.Row():
            previous = gr.Button(page("previous"))
            shuffle = gr.Button(page("random"))
            following = gr.Button(page("next"))
        summary = gr.Textbox(label=page("message"), show_label=False,
                             interactive=False, elem_classes="big", container=False)
        grid = gr.Image(show_label=False, interactive=False, format="png", buttons=["fullscreen"])
        offset = gr.Number(0, precision=0, visible=False)

    def browse(offset: int, count: int, true_class: str, only_mistakes: bool, progress=gr.Progress()):
        """A page of test pictures labelled with truth (black) and the active model's guess (green/red)."""
        chosen = None if true_class in (None, "", ALL_CLASSES) else true_class
        if count not in GRID_SIZES:  # the page's choices bound the picture drawn, whatever a raw call sends
            return None, say("text.per_page_choices", choices=", ".join(map(str, GRID_SIZES))), offset
        try:
            lab.pictures.data(progress=progress)
            found = lab.pictures.browse(int(offset or 0), int(count), chosen, bool(only_mistakes), language())
        except (DataNotFoundError, OverflowError, ValueError) as error:  # OverflowError: an offset of infinity
            return None, shown(error), offset
        return as_file(found.grid), found.summary, found.offset

    def moved(where: Callable[[int, int], int]) -> Callable:
        def handler(offset, count, true_class, only_mistakes, progress=gr.Progress()):
            return browse(where(int(offset or 0), int(count)), count, true_class, only_mistakes, progress)
        return handler

    def refresh_classes():
        return gr.update(choices=class_menu(lab.pictures.test_classes()))

    controls = [offset, count, true_class, only_mistakes]
    outputs = [grid, summary, offset]
    tab.select(browse, controls, outputs, api_name="browse").then(
        refresh_classes, None, true_class, api_visibility="private")
    moves = {previous: lambda at, step: at - step, following: lambda at, step: at + step,
             shuffle: lambda at, step: random.randrange(1 << 30)}  # Lab.browse wraps any offset around
    for button, where in moves.items():
        button.click(moved(where), controls, outputs, api_visibility="private")
    for control in (count, true_class, only_mistakes):
        control.input(moved(lambda at, step: 0), controls, outputs, api_visibility="private")


def class_menu(classes: list[str]) -> list[tuple[str, str]]:
    """Browse's menu of true classes: each shown in the page's language, sent back as the data's own name."""
    return [(page("all_classes"), ALL_CLASSES), *zip(names(classes), classes)]


def build_classify_tab(lab: Lab, wall: Wall, class_wall: bool) -> None:
    with gr.Tab(page("tab.classify"), id="classify") as tab:
        with gr.Row():
            with gr.Column():
                picture = uploads_only(gr.Image(
                    type="filepath", sources=["upload", "webcam", "clipboard"], height=360, elem_id="picture",
                    label=page("your_picture")))
                sample = gr.Button(page("random_picture"))
                truth = message_line(big=True)
                with gr.Row(equal_height=True):
                    wanted = gr.Checkbox(class_wall, label=page("share"), scale=1)
                    really = gr.Dropdown(truth_menu(model_classes(lab)), value=UNKNOWN,  # the core refuses a
                                         label=page("really"), allow_custom_value=True, scale=1)  # wrong one
                on_wall = message_line("on-wall")
                shared_entry = gr.JSON(visible=False)  # /share's answer: the API's, the page shows on_wall
                shared = gr.State(None)  # this page's last share (wall.PageShare)
            with gr.Column():
                top = gr.Label(num_top_classes=5, label=page("top5"))
                seen = gr.Image(label=page("seen"), interactive=False, format="png",
                                height=280, elem_classes="pixels")
                message = message_line(big=True)

    def classify(pictures: list[str | ImageError | None]) -> tuple[list, list, list]:
        """Top-5 classes with probabilities, the 32x32 picture the net saw, and a message if it was no picture.
        Callers who come together share one forward pass (batch): a burst of a class costs one request's overhead."""
        return classified(lab, pictures, "classify", in_page_language=False)

    def classify_shown(pictures: list[str | ImageError | None]) -> tuple[list, list, list]:
        """The page's Classify: the top 5 named in each page's language (the API's keeps the model's own names)."""
        return classified(lab, pictures, "classify")

    def random_picture():
        picture, label = random_test_picture(lab, "classify")
        return picture, say("text.true_class_is", name=class_name(label, lab.pictures.test_classes(), language()))

    def share(picture: str | ImageError | None, truth: str = UNKNOWN, request: gr.Request = None) -> dict:
        """Put a picture on the class wall as the 32x32 the net sees (the upload itself is never kept), with what it
        really is: one of the active model's classes, 'not one of these' or "don't know". Returns its number, the
        guess, the confidence and a message."""
        if picture is None:
            raise refusal("share", Say("text.send_picture"), title="not_shared")
        try:
            checkpoint = lab.shelf.require()
            entry = wall.share(checkpoint, refused_already(picture), truth, caller(request))
        except (AccessError, ImageError, NoModel, WallRefusal) as error:
            raise refusal("share", error, title="not_shared") from None
        return {**entry.as_dict(checkpoint.classes), "message": shared_words(entry, checkpoint.classes)}

    def share_from_page(picture: str | ImageError | None, wanted: bool, truth: str, last: PageShare | None,
                        request: gr.Request):
        """The page's sharing, with the box ticked (Wall.from_page says when it shares, relabels or does nothing). A
        refusal shows under the box; a broken picture Classify has named."""
        if not wanted or picture is None or isinstance(picture, ImageError):
            return gr.skip(), gr.skip()
        try:
            done = wall.from_page(lab.shelf.require(), picture, truth, caller(request), last)
        except (AccessError, ImageError, NoModel, WallRefusal) as error:
            return refused_here("share", error), gr.skip()
        return (shared_words(done.entry, model_classes(lab)), done) if done else (gr.skip(), gr.skip())

    def refresh_truths():
        return gr.update(choices=truth_menu(model_classes(lab)))

    page_share = [picture, wanted, really, shared]
    picture.change(classify_shown, picture, [top, seen, message], api_visibility="private", batch=True,
                   max_batch_size=16, concurrency_id="classify", concurrency_limit=2).then(
        share_from_page, page_share, [on_wall, shared], api_visibility="private")
    gr.on([], classify, picture, [top, seen, message], api_name="classify", batch=True, max_batch_size=16,
          concurrency_id="classify", concurrency_limit=2)
    gr.on([], share, [picture, really], shared_entry, api_name="share", concurrency_limit=4)
    for control in (wanted, really):
        control.input(share_from_page, page_share, [on_wall, shared], api_visibility="private")
    picture.input(lambda: "", None, truth, api_visibility="private")
    tab.select(refresh_truths, None, really, api_visibility="private")
    sample.click(random_picture, None, [picture, truth], api_visibility="private")


def shared_words(entry: Entry, classes: list[str]) -> str:
    values = dict(number=entry.id, guess=class_name(entry.guess, classes, language()),
                  confidence=f"{entry.confidence:.0%}")
    if entry.truth:
        return say("text.on_wall_truth", truth=class_name(entry.truth, classes, language()), **values)
    return say("text.on_wall", **values)


def build_evaluate_tab(lab: Lab) -> None:
    with gr.Tab(page("tab.evaluate"), id="evaluate"):
        run = gr.Button(page("evaluate"), variant="primary", size="lg")
        summary = message_line(big=True)
        accuracy = gr.Number(label=page("test_accuracy_number"), visible=False)
        per_class = gr.Image(show_label=False, interactive=False, format="png", buttons=["fullscreen"])
        confusion = gr.Image(show_label=False, interactive=False, format="png", buttons=["fullscreen"])

    def evaluate(progress=gr.Progress()):
        """Overall test accuracy (0 to 1), a summary, the per-class bar chart and the confusion matrix."""
        try:
            data = lab.pictures.for_model(lab.shelf.active, progress=progress)
            progress(0.5, desc=say("text.classifying", count=f"{len(data.test):,}"))
            checkpoint, data, result = lab.pictures.evaluate()
        except (DataNotFoundError, NoModel, ValueError) as error:
            return None, shown(error), None, None
        shown_names = names(data.classes)
        right = int(result.confusion.diag().sum())
        which = "text.evaluated_held_out" if data.source == YOUR_CLASSES else "text.evaluated"  # kept from training
        lines = [say(which, accuracy=f"{result.accuracy:.1%}", right=f"{right:,}", total=f"{len(data.test):,}",
                     net=checkpoint.meta["model"], file=checkpoint.path.name)]
        pairs = most_confused_pairs(result.confusion, shown_names)
        if pairs:
            lines.append(say("text.most_confused", pairs=words.listed(
                (Say("text.taken_for", truth=t, guess=p, count=f"{n:,}") for t, p, n in pairs), "text.semicolon")))
        return (result.accuracy, "\n".join(lines),
                render("evaluate", lambda: per_class_figure(result.per_class, shown_names, language=language())),
                render("evaluate", lambda: confusion_figure(result.confusion, shown_names, language=language())))

    run.click(evaluate, None, [accuracy, summary, per_class, confusion], api_name="evaluate")


def build_inside_tab(lab: Lab) -> None:
    """Shapes layer by layer, first-layer filters, feature maps and Grad-CAM of the active model."""
    with gr.Tab(page("tab.inside"), id="inside") as tab:
        with gr.Row():
            net = gr.Dropdown([(page("the_active_model"), "")] + net_choices(), value="", label=page("net"), scale=2)
            show = gr.Button(page("show_layers"), variant="primary", scale=1)
        walk = gr.Markdown()
        table = gr.Dataframe(headers=explain.TABLE_HEADERS, interactive=False, visible=False)
        shapes = gr.JSON(visible=False)
        filters = gr.Image(label=page("filters"), interactive=False, format="png", elem_classes="pixels")
        gr.Markdown(page("sees_heading"))
        with gr.Row():
            with gr.Column():
                picture = uploads_only(gr.Image(type="filepath", sources=["upload", "clipboard"], height=300,
                                                elem_classes="fill", label=page("inside_picture")))
                sample = gr.Button(page("random_picture"))
                target = gr.Dropdown(explained_classes(lab), value="", label=page("explain_class"),
                                     allow_custom_value=True)
            with gr.Column():
                cam = gr.Image(label=page("gradcam"), interactive=False, format="png")
                cam_message = message_line()
        maps = gr.Gallery(label=page("feature_maps"), columns=2, height="auto", format="png",
                          object_fit="contain")

    def source(net_name: str):
        if not isinstance(net_name, str):
            raise NoModel(Say("text.name_a_net"))
        return net_name or lab.shelf.require()

    def layer_shapes(net_name: str = ""):
        """The layer-by-layer shapes from a real forward pass: a net name, or empty for the active model."""
        try:
            rows = explain.layer_shapes(source(net_name))
        except (NoModel, ValueError) as error:
            raise refusal("layer_shapes", error) from None
        return explain.said_rows(rows, language())

    def layers(net_name: str):
        rows = layer_shapes(net_name)
        table_update = gr.update(value=explain.table_rows(rows), headers=explain.table_headers(language()), visible=True)
        return (explain.walkthrough(rows), table_update, rows,
                as_file(explain.filters_image(source(net_name), language=language())))

    def filter_grid(net_name: str = ""):
        """The first conv layer's filters as enlarged colour patches."""
        try:
            return as_file(explain.filters_image(source(net_name), language=language()))
        except (NoModel, ValueError) as error:
            raise refusal("filters", error) from None

    def feature_maps(picture: str | None):
        """Feature maps of each conv stage of the active model for a picture (up to 16 channels each)."""
        if picture is None:
            return []
        try:
            stages = explain.feature_maps(lab.shelf.require(), refused_already(picture), language=language())
        except (ImageError, NoModel) as error:
            raise refusal("feature_maps", error) from None
        return [(as_file(stage.image), shown(stage.title)) for stage in stages]

    def gradcam(picture: str | None, class_name: str = ""):
        """Grad-CAM of the active model for the predicted class, or for a class named here."""
        if picture is None:
            return None, ""
        try:
            result = explain.gradcam(lab.shelf.require(), refused_already(picture), class_name or None)
        except (ImageError, NoModel, ValueError) as error:
            return None, refused_here("gradcam", error)
        return as_file(result.overlay), shown(result.message)

    def random_picture() -> str:
        return random_test_picture(lab, "inside")[0]

    show.click(layers, net, [walk, table, shapes, filters], api_visibility="private")
    net.change(layer_shapes, net, shapes, api_name="layer_shapes")
    net.change(filter_grid, net, filters, api_name="filters")
    picture.change(feature_maps, picture, maps, api_name="feature_maps")
    picture.change(gradcam, [picture, target], [cam, cam_message], api_name="gradcam")
    target.input(gradcam, [picture, target], [cam, cam_message], api_visibility="private")
    sample.click(random_picture, None, picture, api_visibility="private")
    tab.select(lambda: gr.update(choices=explained_classes(lab)), None, target, api_visibility="private")


def explained_classes(lab: Lab) -> list[tuple[str, str]]:
    """Grad-CAM's choice of class: the predicted one, or any the active model knows (CIFAR-10's, or a class's own)."""
    classes = model_classes(lab)
    return [(page("predicted_class"), ""), *zip(names(classes), classes)]


# ---------------------------------------------------------------- the page


def build_app(lab: Lab, class_wall: bool = False, wall: Wall | None = None, challenge: Challenge | None = None,
              language: str = words.ENGLISH) -> gr.Blocks:
    """The whole page around one Lab; every browser and API client shares its job, its active model, its wall and
    its class challenge (kept in the Lab's store unless given). class_wall ticks "Share my picture on the class wall"
    for every student (it starts unticked otherwise); language is the page's for a browser that asks for neither
    Korean nor English."""
    wall = wall or lab.wall
    challenge = challenge or Challenge(lab, lab.store)
    languages = PageLanguages(language)
    with gr.Blocks(title="CIFAR-10 classroom lab", analytics_enabled=False, delete_cache=(3600, 3600)) as app:
        languages.listen(app)
        with gr.Row(equal_height=True):
            with gr.Column(scale=4, min_width=320):  # on a phone the switch wraps under it, not beside a sliver
                gr.Markdown(page("intro"))
            languages.switch(app)
        with gr.Row(equal_height=True):
            header = gr.Markdown(header_text(lab), elem_id="header")
            model = gr.Dropdown(lab.shelf.choices(), value=lab.shelf.active_key, label=page("active_model"),
                                scale=0, min_width=640, allow_custom_value=True)
        build_join_panel(app)
        with gr.Tabs() as tabs:
            train = build_train_tab(lab, app, challenge)
            build_browse_tab(lab)
            build_classify_tab(lab, wall, class_wall)
            build_evaluate_tab(lab)
            build_inside_tab(lab)
            yours = build_your_classes_tab(lab)
            wall_tab, wall_timer = build_wall_tab(lab, wall)
            build_lesson_tab(lab)
            contest = build_challenge_tab(challenge)

        def follow_the_tab(selected: gr.SelectData) -> tuple[gr.Timer, gr.Timer, gr.Timer]:
            """Each tab's own timer ticks only while it is open: other pages fetch no wall and no collection. A tab
            is known by its place (its label is in the page's language)."""
            opened = tabs.children[selected.index] if isinstance(selected.index, int) else None
            return tuple(gr.Timer(active=opened is tab) for tab in (wall_tab, yours.tab, contest.tab))

        tabs.select(follow_the_tab, None, [wall_timer, yours.timer, contest.timer], api_visibility="private")
        # The lines each page shows before its first refresh, read from the page as built: refresh sends what differs.
        seen = gr.State({"header": header.value, "models": (tuple(model.choices), model.value),
                         "status": train.status.value, "your_status": yours.status.value})
        ticked = [header, model, train.status, train.loss, train.accuracy, yours.status, yours.loss, yours.accuracy,
                  train.runs]
        refresh = make_refresh(lab)
        gr.Timer(1.0).tick(refresh, [seen, train.runs], ticked, api_visibility="private", concurrency_limit=None,
                           show_progress="hidden")
        app.load(refresh, [seen, train.runs], ticked, api_visibility="private", concurrency_limit=None,
                 show_progress="hidden")
        select_model = add_api(lab, wall, train.compare)
        yours.add_api()
        contest.add_api()

        def choose(checkpoint: str) -> str:
            select_model(checkpoint)
            return header_text(lab)

        model.input(choose, model, header, api_visibility="private")
    with app.route(str(Say("student.page")), STUDENT_PATH, show_in_navbar=False):  # the students' phones: /student
        build_student_page(app, lab, wall)
    return app


def make_refresh(lab: Lab) -> Callable:
    """The timer's work for one page: the header, the model list, the status lines, the two charts, the runs."""
    folder = Path(tempfile.mkdtemp(prefix="cifar-demo-charts-"))
    loss_charts = {lang: SharedChart(folder, f"loss-{lang}") for lang in words.LANGUAGES}
    accuracy_charts = {lang: SharedChart(folder, f"accuracy-{lang}") for lang in words.LANGUAGES}
    claiming = threading.Lock()

    def refresh(last: dict, picked: list[str] | None):
        """Send each page only what differs from what it shows (`last`, which starts as the page is built): most
        ticks send nothing. A line sent twice could land after another answer to that line (Stop's) and hide it."""
        status = lab.status()
        history, run = status["history"], status["run"]
        runs = {key: shown(label) for key, (label, _) in lab.runs(status).items()}
        spoken = language()
        now = {"language": spoken, "header": header_text(lab),
               "models": (tuple(lab.shelf.choices()), lab.shelf.active_key),
               "status": status_line(status, lab.shelf.active_key), "your_status": your_status_line(lab, status),
               "loss": (run, len(history["steps"]), spoken), "accuracy": (run, len(history["epochs"]), spoken),
               "runs": tuple(runs.items())}
        # The charts before the claim (each drawn once a change, for every page): one that fails claims no line.
        loss_chart = loss_charts[spoken].get(now["loss"], lambda: loss_figure(history, language=spoken))
        accuracy_chart = accuracy_charts[spoken].get(now["accuracy"], lambda: accuracy_figure(history, language=spoken))
        with claiming:  # the page's load and its first tick overlap: a line goes in one of them, never both
            before = dict(last)
            last.update(now)
        changed = {key: now[key] != before.get(key) for key in now}
        choices, active = now["models"]
        new_runs = [key for key in runs if key not in dict(before.get("runs", ()))]  # shown until unticked
        picks = [key for key in picked or [] if key in runs] + new_runs
        loss = loss_chart if changed["loss"] else gr.skip()
        accuracy = accuracy_chart if changed["accuracy"] else gr.skip()
        return (
            now["header"] if changed["header"] else gr.skip(),
            gr.update(choices=list(choices), value=active) if changed["models"] else gr.skip(),
            now["status"] if changed["status"] else gr.skip(), loss, accuracy,
            now["your_status"] if changed["your_status"] else gr.skip(), loss, accuracy,  # the same job, both tabs
            gr.update(choices=[(label, key) for key, label in runs.items()], value=picks) if changed["runs"] else gr.skip(),
        )

    return refresh


def add_api(lab: Lab, wall: Wall, compare: Callable[[list[str]], str]) -> Callable[[str], str]:
    """The endpoints that have no component of their own: /status, /models, /compare_runs, /wall and /select_model
    (returned for the UI)."""

    def select_model(checkpoint: str) -> str:
        """Make `checkpoint` (a name from /models) the active model of every tab and of the class wall's guesses;
        returns the new header."""
        try:
            wall.follow(lab.shelf.activate(checkpoint))
        except NoModel as error:
            raise refusal("select_model", error) from None
        return shown(lab.header())

    def read_wall() -> dict:
        """Every picture on the class wall (newest first: number, guess, confidence, truth, right) and the summary:
        our photos' accuracy against the test set's, per class, and the most common confusions."""
        try:
            snapshot = wall.snapshot(lab.shelf.require())
        except NoModel as error:
            raise refusal("wall", error) from None
        return {"version": snapshot.version, "model": snapshot.model,
                "entries": [entry.as_dict(snapshot.classes) for entry in snapshot.entries],
                "summary": summarize(snapshot).as_dict()}

    def models() -> dict:
        """The models to choose from (label and checkpoint name, best first) and the active one's name."""
        return {"active": lab.shelf.active_key,
                "choices": [{"label": label, "checkpoint": key} for label, key in lab.shelf.choices()]}

    def job_status() -> dict:
        """The training job as plain data: state, message, progress, history, config, result, checkpoint."""
        snapshot = lab.status()
        return {**snapshot, "status_line": status_line(snapshot, lab.shelf.active_key),
                "active_model": lab.shelf.active_key, "device": lab.device_label, "trainer_pid": lab.trainer.pid}

    gr.api(select_model, api_name="select_model")
    gr.api(compare, api_name="compare_runs")
    gr.api(models, api_name="models", concurrency_limit=None)
    gr.api(job_status, api_name="status", concurrency_limit=None)
    gr.api(read_wall, api_name="wall", concurrency_limit=None)
    return select_model


def serve(app: gr.Blocks, auth: tuple[str, str] | None = None, proxy: str | None = None, **options) -> tuple:
    """launch() with the page's look and limits; options override or add launch() arguments. A request's address is
    its connection's, or what `proxy` (an address the teacher named) forwards."""
    refuse_quietly(app)
    theme = gr.themes.Soft(text_size=gr.themes.sizes.text_lg)
    theme.font = page_font(theme.font)  # a browser with no Korean font of its own still draws Hangul
    theme.font_mono = page_font(theme.font_mono)  # and in a progress line, which gradio writes in the mono font
    settings = dict(theme=theme, css=CSS, show_error=True, i18n=catalog(), allowed_paths=[str(web_font().parent)],
                    max_file_size=MAX_UPLOAD_BYTES, footer_links=["api"], run_history=False,
                    enable_monitoring=False, auth=slow_failed_logins(*auth) if auth else None,
                    app_kwargs={"middleware": [Middleware(BodyLimit)],
                                "exception_handlers": {RequestValidationError: short_refusal,
                                                       FnIndexInferError: short_refusal}})
    # past MAX_QUEUED waiting requests a caller is told at once that the server is busy, instead of waiting for minutes
    # _frontend=False skips gradio's own start-up probe of the page (one HEAD request, 3 s): a busy laptop restarted
    # while a class's pages reconnect failed it and exited instead of serving.
    with forwarded_only_from(proxy):
        return app.queue(default_concurrency_limit=1, max_size=MAX_QUEUED).launch(**{**settings, "_frontend": False,
                                                                                     **options})


@contextmanager
def own_upload_folder() -> Iterator[Path]:
    """The uploads of this app in a folder of its own (inside $GRADIO_TEMP_DIR when set), removed when it stops.
    gradio names an upload by its content and a server that stops deletes the uploads it made: in the one /tmp/gradio
    of a user's apps, stopping one took another's copy of the same photo away before that one read it."""
    before = os.environ.get("GRADIO_TEMP_DIR")
    if before:
        os.makedirs(before, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="cifar-demo-uploads-", dir=before or None))
    os.environ["GRADIO_TEMP_DIR"] = str(folder)  # gradio reads it as the page and its server are made
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if before is None:
            del os.environ["GRADIO_TEMP_DIR"]
        else:
            os.environ["GRADIO_TEMP_DIR"] = before


# ---------------------------------------------------------------- command line


def parse_auth(text: str | None) -> tuple[str, str] | None:
    """'USER:PASS' to a pair; the password may contain ':'."""
    if not text:
        return None
    user, colon, password = text.partition(":")
    if not (user and colon and password):
        raise ValueError(f"--auth (or {AUTH_ENV}) must look like USER:PASSWORD, both non-empty.")
    return user, password


def exposure_warning(host: str, auth: tuple[str, str] | None) -> str | None:
    """Said at start-up when the page is reachable from other machines."""
    if is_loopback(host):
        return None
    if auth:
        return f"listening on {host}: every machine that can reach this one sees the login page."
    return (f"listening on {host}: anyone who can reach this machine can open the page and train, stop and "
            "classify. Add --auth USER:PASSWORD to require a login.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="The CIFAR-10 classroom lab in your browser.")
    parser.add_argument("--data", help="CIFAR-10 folder, picture folder or archive "
                                       "(default: $CIFAR_DEMO_DATA or ./data)")
    parser.add_argument("--checkpoint", help="a trained checkpoint to make the active model")
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda or mps")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--share", action="store_true", help="also publish a temporary public link (needs internet)")
    parser.add_argument("--auth", default=os.environ.get(AUTH_ENV),
                        help=f"USER:PASSWORD to protect the page and the API (or set {AUTH_ENV})")
    parser.add_argument("--trusted-proxy", metavar="ADDRESS",
                        help="the address of a reverse proxy in front of the app, whose X-Forwarded-For header then "
                             "names each computer for the per-computer limits (default: none; every limit counts the "
                             "connection's own address)")
    parser.add_argument("--lang", choices=words.LANGUAGES, default=words.ENGLISH,
                        help="the page's language for a browser that asks for neither Korean nor English (default "
                             "en); every other browser gets the language it asks for, and the page's switch changes it")
    parser.add_argument("--class-wall", action="store_true",
                        help="tick 'Share my picture on the class wall' for every student (otherwise it starts "
                             "unticked); the wall keeps only the 32x32 pictures")
    parser.add_argument("--store", default=str(DEFAULT_STORE), metavar="PATH",
                        help="the SQLite file that keeps the wall, Your classes, past lessons and the class challenge "
                             "across restarts "
                             f"(default: {DEFAULT_STORE.relative_to(CHECKPOINT_DIR.parent)}; {MEMORY} keeps nothing)")
    parser.add_argument("--restore", metavar="FILE", help="a lesson zip (Download lesson) to start with")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")  # a refusal is one line
    torch.set_num_threads(server_threads(usable_cores()))  # the rest of the machine is the trainer's
    try:
        auth = parse_auth(args.auth)
        proxy = trusted_proxy(args.trusted_proxy)
        store = Store(args.store)  # refused while another app holds it: one line, exit 2
        if args.restore:
            store.import_lesson(args.restore)
        lab = Lab(data_path=args.data, checkpoint=args.checkpoint, device=args.device, store=store)
        challenge = Challenge(lab, store)
    except (StoreError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    warning = exposure_warning(args.host, auth)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    for problem in lab.shelf.problems:
        print(f"warning: skipped {problem}", file=sys.stderr)
    if lab.store.notice():
        print(f"warning: {lab.store.notice()}", file=sys.stderr)
    lab.trainer.start()  # warm before the first Train: torch imports there while the page comes up
    print(f"training runs in its own process ({lab.trainer.threads} torch threads, pid {lab.trainer.pid}); "
          f"the web server uses {torch.get_num_threads()}", file=sys.stderr)
    with own_upload_folder():
        serve(build_app(lab, class_wall=args.class_wall, challenge=challenge, language=args.lang),
              server_name=args.host, server_port=args.port, share=args.share, auth=auth, proxy=proxy)
    return 0


if __name__ == "__main__":
    sys.exit(main())
