"""What every tab of the page uses: answer pictures, shared charts, refusals, words for people, the picture input,
and who is asking (the teacher's laptop or a student's browser, as access.Caller)."""
from __future__ import annotations

import errno
import functools
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import gradio as gr
from gradio.utils import get_upload_folder
from matplotlib.figure import Figure
from PIL import Image

from ..access import AccessError, Caller, check, is_token
from ..data import DataNotFoundError
from ..images import ImageError
from ..inference import Prediction, enlarge
from ..lab import JobRunning, Lab, NoModel
from ..network import is_loopback
from ..plots import ChartError, chart_picture
from ..serving import AnswerPictures, refused, uploaded_file
from ..training import MAX_BATCH_SIZE, MAX_EPOCHS, OPTIMIZERS, TrainConfig
from ..wall import NOT_LISTED, UNKNOWN, truth_choices
from ..words import CATALOG, ENGLISH, Say, class_names, from_plain
from ..words import render as in_language
from .language import names, page, say, shown, spoken


def render(where: str, make_figure: Callable[[], Figure]) -> str:
    """A matplotlib chart as a picture file; one that cannot be drawn is refused in one sentence, logged in one line."""
    try:
        return as_file(chart_picture(make_figure))
    except ChartError as error:
        raise refusal(where, error) from None


@functools.cache
def answer_pictures() -> AnswerPictures:
    return AnswerPictures(tempfile.mkdtemp(prefix="cifar-demo-answers-"))


def as_file(picture: Image.Image) -> str:
    """Every picture an answer carries leaves as a file of its own, which no other request rewrites."""
    return answer_pictures().save(picture)


def refusal(where: str, error: Exception | Say | str, title: str = "error") -> gr.Error:
    """An expected refusal: the caller reads the message in the page's language, the log gets one line (English),
    without a traceback. title: a key under "text.title."."""
    refused(where, str(error))
    return gr.Error(shown(error), title=say(f"text.title.{title}"), print_exception=False)


def download_file(where: str, prefix: str, name: str, write: Callable[[Path], object]) -> str:
    """A file the browser saves as `name`, written by `write` into a folder of its own (two clicks never share a
    file); a full or failing disk is refused in one sentence that names no server path."""
    try:
        path = Path(tempfile.mkdtemp(prefix=f"cifar-demo-{prefix}-")) / name
        write(path)
    except OSError as error:
        why = Say("store.disk_full") if error.errno == errno.ENOSPC else Say("store.read_only")
        raise refusal(where, Say("text.download_not_written", why=why)) from None
    return str(path)


def refused_here(where: str, error: Exception | Say | str) -> str:
    """A refusal said in a message line rather than raised: logged in English, shown in the page's language."""
    refused(where, str(error))
    return shown(error)


class SharedChart:
    """A chart or picture drawn once per change into a PNG that every open page shares: a timer tick costs no
    drawing."""

    def __init__(self, folder: Path, name: str, keep: int = 8):
        self.name = name
        self._files = AnswerPictures(folder, keep, prefix=f"{name}-")  # pages still fetching an older one find it
        self._lock = threading.Lock()
        self._key: object = None
        self._last: str | None = None

    def get(self, key: object, make_figure: Callable[[], Figure]) -> str:
        try:
            return self.get_picture(key, lambda: chart_picture(make_figure))
        except ChartError as error:
            raise refusal(self.name, error) from None

    def get_picture(self, key: object, make_picture: Callable[[], Image.Image]) -> str:
        with self._lock:
            if key != self._key or self._last is None:
                self._last, self._key = self._files.save(make_picture()), key
            return self._last


def clock(seconds: float) -> str:
    """80 -> '1:20', 4000 -> '1:06:40'."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def status_line(status: dict, active_path: str | None = None) -> str:
    """One line readable from the back of a class: 'epoch 3/10 · step 1,200/3,910 · 4,300 img/s · ETA 1:20'."""
    state, message, progress = status["state"], status["message"], status["progress"]
    if state == "idle":
        return say("status.idle")
    if state == "failed":
        return say("status.failed", reason=from_plain(status.get("said")) or message)
    if state in ("finished", "stopped") and status["checkpoint"]:
        active = "_active" if status["checkpoint"] == active_path else ""
        result = result_words(status["result"])
        return say(f"status.ended{'_result' if result else ''}{active}", state=Say(f"status.{state}"),
                   result=result or "", file=Path(status["checkpoint"]).name)
    if state in ("finished", "stopped"):
        said = phase(message)
        return f"{said[:1].upper()}{said[1:]}"
    if not progress.get("step"):
        return say("status.starting", run=status["run"], message=phase(message))
    if message != "training":
        return say("status.progress_phase", epoch=progress["epoch"], epochs=progress["epochs"], phase=phase(message))
    accuracies = [e["test_accuracy"] for e in status["history"]["epochs"]]
    eta = progress.get("eta_seconds")
    key = "status.progress" + ("_eta" if eta is not None else "") + ("_best" if accuracies else "")
    return say(key, epoch=progress["epoch"], epochs=progress["epochs"], step=f"{progress['step']:,}",
               steps=f"{progress['steps']:,}", speed=f"{progress['images_per_second']:,.0f}",
               eta=clock(eta) if eta is not None else "", best=f"{max(accuracies):.1%}" if accuracies else "")


def phase(message: str) -> str:
    """The job's own word for what it is doing, in the page's language (a failure's reason stays as it came)."""
    return say(f"job.{message}") if f"job.{message}" in CATALOG[ENGLISH] else message


def result_words(result: dict) -> Say | None:
    """'test accuracy 91.7% (11 of 12 pictures it never trained on) · took 3.2 s': the count behind a percentage,
    as a dozen held-out photos make a coarse one."""
    accuracy, pictures, seconds = result.get("test_accuracy"), result.get("test_pictures"), result.get("seconds")
    if accuracy is None:
        return None
    values = {"accuracy": f"{accuracy:.1%}"}
    if pictures:
        values.update(right=f"{round(accuracy * pictures):,}", pictures=f"{pictures:,}")
    if seconds:
        values["took"] = Say("status.seconds", seconds=f"{seconds:.1f}") if seconds < 60 else clock(seconds)
    return Say("status.result" + ("" if pictures else "_no_count") + ("" if seconds else "_no_time"), **values)


def escape_markdown(text: str) -> str:
    """Paths and class names shown as typed, not as Markdown or HTML."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for char in "\\`*_[]#|":
        text = text.replace(char, "\\" + char)
    return text


def uploads_only(image: gr.Image) -> gr.Image:
    """Hand the core uploaded files untouched, so its checks say what is wrong with a file (gr.Image alone fails on
    a non-image with a bare PIL error). A path that did not come through an upload (a raw API call can name any
    server file) becomes the refusal a broken upload gets. Set on the instance: a subclass makes gradio write app.pyi."""
    standard = image.preprocess

    def preprocess(payload) -> str | ImageError | None:
        if payload is None:
            return None
        try:
            path = standard(payload) if (payload.url or "").startswith("data:") else payload.path  # data: to a file
            return uploaded_file(path, get_upload_folder())
        except Exception as error:  # ImageError, or whatever a malformed data URL makes gradio raise
            return error if isinstance(error, ImageError) else ImageError(Say("images.undecodable"))

    image.preprocess = preprocess
    return image


def refused_already(picture: str | ImageError) -> str:
    """A picture input's value: an upload's path, or the refusal of what was sent instead."""
    if isinstance(picture, ImageError):
        raise picture
    return picture


def caller(request: gr.Request | None, token: object = None) -> Caller:
    """Who sent a request: its browser (the page's own token, kept across reloads, else the request's session; a
    gradio_client Client is one session), the connection's address, and whether it is the teacher."""
    session = getattr(request, "session_hash", None)
    browser = f"page:{token}" if is_token(token) else f"session:{session}" if session else ""
    return Caller(browser, _address(request), _from_this_machine(request))


def _address(request: gr.Request | None) -> str:
    """The connection's address: a proxy's X-Forwarded-For counts only from a proxy the teacher named."""
    client = getattr(request, "client", None)
    return str(getattr(client, "host", "") or "")


def _from_this_machine(request: gr.Request | None) -> bool:
    """The machine that runs the app (the projector laptop): the loopback address, not forwarded by a proxy (a
    --share tunnel arrives from the loopback address too)."""
    headers = getattr(request, "headers", None) or {}
    forwarded = any(name in headers for name in ("x-forwarded-for", "forwarded", "x-real-ip"))
    return is_loopback(_address(request)) and not forwarded


def allowed(action: str, request: gr.Request | None, token: object = None) -> Caller:
    """The caller of an action, once access.RULES lets it take the action; a refusal in the rule's words otherwise."""
    who = caller(request, token)
    try:
        check(who, action)
    except AccessError as error:
        raise refusal(action, error, title="not_allowed") from None
    return who


def stop_training(lab: Lab) -> str:
    """The Stop buttons' answer (Train and Your classes): the run stops after the current batch and keeps what it
    learnt."""
    try:
        stopped = lab.stop_training()
    except JobRunning as error:  # a class challenge's entry: its student or the teacher cancels it there
        return refused_here("stop", error)
    return say("status.stopping") if stopped else say("status.no_run")


def random_test_picture(lab: Lab, where: str) -> tuple[str, str]:
    """The "Random test picture" buttons' picture file and its true class; without data, the paragraph that says
    how to get it."""
    try:
        image, label = lab.pictures.random_test_picture()
    except DataNotFoundError as error:
        raise refusal(where, error) from None
    return as_file(image), label


def teacher_controls(count: int) -> Callable:
    """A tab's handler that shows its `count` teacher-only controls on the machine that runs the app alone."""
    def show(request: gr.Request):
        visible = [gr.update(visible=caller(request).teacher)] * count
        return visible if count > 1 else visible[0]
    return show


def truth_menu(classes: list[str]) -> list[tuple[str, str]]:
    """What a student may say a picture really is, each shown in the page's language."""
    shown_names = {UNKNOWN: page("dont_know"), NOT_LISTED: page("not_listed"), **dict(zip(classes, names(classes)))}
    return [(shown_names[choice], choice) for choice in truth_choices(classes)]


def message_line(elem_id: str | None = None, big: bool = False) -> gr.Textbox:
    """A line the server writes its answer in: no box around it, nothing shown while it is empty, and a label (for a
    screen reader) in the page's language."""
    return gr.Textbox(label=page("message"), show_label=False, interactive=False, container=False, placeholder=" ",
                      elem_classes=["big", "quiet"] if big else ["quiet"], elem_id=elem_id)


def model_classes(lab: Lab) -> list[str]:
    """The active model's classes (none before there is one): the names a guess, a menu or a truth is given in."""
    return list(lab.shelf.active.classes) if lab.shelf.active else []


def translated_top(top: dict[str, float] | None, classes: list[str], language: str) -> dict[str, float] | None:
    """Classify's top 5 with the class names a page in `language` shows."""
    if top is None:
        return None
    shown_names = dict(zip(classes, class_names(classes, language)))
    return {shown_names.get(name, name): probability for name, probability in top.items()}


def classified(lab: Lab, pictures: list[str | ImageError | None], where: str, k: int = 5, seen_size: int = 256,
               in_page_language: bool = True) -> tuple[list, list, list]:
    """Classify's callers that come together, answered from one forward pass (a class's burst costs one request's
    overhead): each its top k (named as its page shows them, or as the model names them where `in_page_language` is
    off: the API's), the 32x32 it saw enlarged, or a refusal in its own page's language; no picture, no answer."""
    given = [picture for picture in pictures if picture is not None]
    try:
        outcomes = iter(lab.classify_many(given, k=k))
    except NoModel as error:
        outcomes = iter([error] * len(given))
    classes = model_classes(lab)
    answers = []
    for picture, language in zip(pictures, spoken()):
        outcome = next(outcomes) if picture is not None else None
        if isinstance(outcome, Prediction):
            top = translated_top(outcome.as_dict(), classes, language) if in_page_language else outcome.as_dict()
            answers.append((top, as_file(enlarge(outcome.seen, seen_size)), ""))
        elif outcome is not None:
            refused(where, str(outcome))
            answers.append((None, None, in_language(outcome, language)))
        else:
            answers.append((None, None, ""))
    return tuple(map(list, zip(*answers)))


@dataclass
class RecipeControls:
    """The Train tab's settings of a run, as the Train and Challenge tabs both show them."""
    epochs: gr.Number
    batch_size: gr.Number
    lr: gr.Number
    seed: gr.Number
    optimizer: gr.Radio
    augment: gr.Checkbox

    @property
    def settings(self) -> list[gr.components.Component]:
        """In /train's order after the net: epochs, batch size, learning rate, optimizer, augment, seed."""
        return [self.epochs, self.batch_size, self.lr, self.optimizer, self.augment, self.seed]


def recipe_controls(defaults: TrainConfig) -> RecipeControls:
    """A recipe's controls, filled from `defaults` and bounded as TrainConfig validates them; built inside the
    caller's column."""
    with gr.Row():
        epochs = gr.Number(defaults.epochs, label=page("epochs"), precision=0, minimum=1, maximum=MAX_EPOCHS)
        batch_size = gr.Number(defaults.batch_size, label=page("batch_size"), precision=0, minimum=1,
                               maximum=MAX_BATCH_SIZE)
    with gr.Row():
        lr = gr.Number(defaults.lr, label=page("lr"), minimum=0, step=0.001)
        seed = gr.Number(defaults.seed, label=page("seed"), precision=0, minimum=0)
    optimizer = gr.Radio([(page(name), name) for name in OPTIMIZERS], value=defaults.optimizer,
                         label=page("optimizer"))
    augment = gr.Checkbox(defaults.augment, label=page("augment"))
    return RecipeControls(epochs, batch_size, lr, seed, optimizer, augment)
