"""The Your classes tab: a class names its own classes, collects pictures of each from webcams, uploads and pastes,
fine-tunes the active model on them in seconds, and takes the pictures and the model away. One collection per
server: every student's laptop adds to the same classes."""
from __future__ import annotations

import base64
import functools
import html
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import gradio as gr
from gradio.utils import get_upload_folder

from ..access import AccessError, Caller, is_token, new_token
from ..collection import Added, CollectionError, Picture
from ..held_out import SOURCE, held_out_count
from ..images import ImageError, png_bytes
from ..lab import JobRunning, Lab, NoModel
from ..serving import uploaded_file
from ..words import Say
from .common import (allowed, caller, download_file, message_line, refusal, refused_already, refused_here,
                     status_line, stop_training, teacher_controls, uploads_only)
from .language import page, say, shown

LAYERS = [(page("layers_head"), "head"), (page("layers_all"), "all")]
CSS = """
#your-overview .your-class { display: flex; align-items: center; gap: 12px; margin: 4px 0; }
#your-overview .your-name { min-width: 8em; font-size: 20px; font-weight: 600; overflow-wrap: anywhere; }
#your-overview .your-count { min-width: 11em; opacity: 0.8; }
#your-overview img { max-width: 100%; min-width: 0; height: auto; }
#your-overview img, #your-gallery img { image-rendering: pixelated; }
#your-gallery .grid-container { grid-template-columns: repeat(auto-fill, 76px) !important; grid-auto-rows: 76px; }
#your-gallery .caption-label { font-size: 11px; padding: 0 3px; }  /* the id the API removes it by */
"""


@dataclass
class YourClassesTab:
    tab: gr.Tab
    timer: gr.Timer  # ticks while the tab is open: other students' pictures appear within seconds
    status: gr.Textbox
    loss: gr.Image
    accuracy: gr.Image
    add_api: Callable[[], None]  # the endpoints with no component of their own, registered outside the tabs


def overview_html(lab: Lab) -> str:
    """A row a class: its name, its count (and how many are held out), the newest pictures as the net sees them."""
    counts = lab.collection.counts()
    if not counts:
        return f"<p>{html.escape(say('text.no_classes'))}</p>"
    rows = []
    for name, count in counts.items():
        try:
            strip = lab.collection.strip(name)
        except CollectionError:  # removed by another page a moment ago
            continue
        held = held_out_count(count)
        counted = (say("text.your_count_held", count=count, held=held) if held else
                   say("text.your_count_one") if count == 1 else say("text.your_count", count=count))
        rows.append(f'<div class="your-class"><span class="your-name">{html.escape(name)}</span>'
                    f'<span class="your-count">{html.escape(counted)}</span>'
                    f'<img alt="{html.escape(say("text.your_newest", name=name))}" height="68" '
                    f'src="data:image/png;base64,{base64.b64encode(png_bytes(strip)).decode()}"></div>')
    return "\n".join(rows)


def idle_words(lab: Lab) -> str:
    """The status line between runs: what the collection still needs, or what Train will start from."""
    problem = lab.collection.not_ready()
    if problem:
        return shown(problem)
    try:
        base = lab.base_for_your_classes()
    except NoModel as error:
        return shown(error)
    total = sum(lab.collection.counts().values())
    return say("text.your_ready", total=total, classes=len(lab.collection.classes), net=base.meta["model"],
               file=base.path.name)


def your_status_line(lab: Lab, status: dict) -> str:
    """The Train tab's status line while any run trains (one job a server) and after a run on the collection;
    otherwise the collection's own word."""
    ours = bool((status["config"] or {}).get("init_from"))
    if status["state"] == "running" or (ours and status["state"] != "idle"):
        return status_line(status, lab.shelf.active_key)
    return idle_words(lab)


def build_your_classes_tab(lab: Lab) -> YourClassesTab:
    collection, api, actions = lab.collection, CollectionApi(lab), PageActions(lab)
    with gr.Tab(page("tab.yours"), id="yours") as tab:
        gr.Markdown(page("steps"))
        with gr.Row():
            with gr.Column(scale=2, min_width=340):
                with gr.Row(equal_height=True):
                    name = gr.Textbox(label=page("new_class"), placeholder=page("new_class_hint"), scale=3,
                                      max_lines=1, elem_id="your-name")
                    add_class = gr.Button(page("add_class"), scale=1, elem_id="your-add-class")
                chosen = gr.Dropdown(collection.classes, value=None, label=page("add_to"),
                                     allow_custom_value=True, elem_id="your-chosen")
                camera = uploads_only(gr.Image(
                    type="filepath", sources=["webcam", "upload", "clipboard"], height=300, elem_id="your-camera",
                    label=page("camera")))
                files = gr.File(file_count="multiple", file_types=["image"], label=page("many"),
                                elem_id="your-files")
                said = message_line("your-said")
            with gr.Column(scale=3):
                overview = gr.HTML(overview_html(lab), elem_id="your-overview")
                gallery = gr.Gallery(label=page("gallery"), columns=10,
                                     height=220, object_fit="contain", allow_preview=False, format="png",
                                     elem_id="your-gallery")
                with gr.Row():
                    remove = gr.Button(page("remove_picture"), elem_id="your-remove")  # one's own pictures
                    remove_class = gr.Button(page("remove_class"), variant="stop", visible=False)  # the teacher's
        with gr.Row(equal_height=True):
            layers = gr.Radio(LAYERS, value="head", label=page("train"), scale=3)
            train = gr.Button(page("train_ours"), variant="primary", size="lg", scale=1, elem_id="your-train")
            stop = gr.Button(page("stop"), variant="stop", size="lg", scale=1)
        status = gr.Textbox(idle_words(lab), label=page("status"), show_label=False,
                            interactive=False, elem_classes="big",
                            container=False, elem_id="your-status")
        with gr.Row():
            loss = gr.Image(show_label=False, interactive=False, format="png")
            accuracy = gr.Image(show_label=False, interactive=False, format="png")
        with gr.Row():
            download_pictures = gr.Button(page("download_pictures"), visible=False)  # the teacher's
            download_model = gr.Button(page("download_model"))
        saved = gr.File(label=page("download"), interactive=False, height=90, elem_id="your-download")
        shown = gr.State({"version": -1, "class": None, "ids": []})  # what this page shows
        picked = gr.State(None)  # the id of the gallery picture last clicked
        token = gr.BrowserState("", storage_key="cifar-demo-browser")  # the browser's own name, kept across reloads
        timer = gr.Timer(2.0, active=False)
        api_class = gr.Textbox(visible=False)  # /your_classes_add_pictures's class; the page uses the menu
        api_answer = gr.JSON(visible=False)

    shown_views = [overview, chosen, gallery, shown]
    for trigger in (add_class.click, name.submit):
        trigger(actions.make_class, [name, chosen, shown], [said, name, *shown_views], api_visibility="private")
    camera.change(actions.add_one, [camera, chosen, shown, token], [said, camera, *shown_views],
                  api_visibility="private")
    files.upload(actions.add_many, [files, chosen, shown, token], [said, files, *shown_views],
                 api_visibility="private")
    chosen.input(actions.view, [chosen, shown], shown_views, api_visibility="private")
    gallery.select(actions.remember, shown, picked, api_visibility="private")
    remove.click(actions.remove_picked, [picked, chosen, shown, token], [said, picked, *shown_views],
                 api_visibility="private")
    remove_class.click(actions.drop_class, [chosen, shown], [said, *shown_views], api_visibility="private")
    for trigger in (tab.select, timer.tick):
        trigger(actions.view, [chosen, shown], shown_views, api_visibility="private", show_progress="hidden",
                concurrency_limit=None)
    tab.select(teacher_controls(2), None, [remove_class, download_pictures], api_visibility="private")
    tab.select(own_token, token, token, api_visibility="private")
    train.click(api.train, layers, status, api_name="your_classes_train")
    stop.click(lambda: stop_training(lab), None, status, api_visibility="private", concurrency_limit=None)
    download_pictures.click(api.pictures_zip, None, saved, api_name="your_classes_zip")
    download_model.click(api.model_file, None, saved, api_name="your_classes_model")
    gr.on([], api.add_pictures, [api_class, files], api_answer, api_name="your_classes_add_pictures")
    return YourClassesTab(tab, timer, status, loss, accuracy, api.register)


class PageActions:
    """What the page's buttons do: each changes the collection, then says so and redraws what moved."""

    def __init__(self, lab: Lab):
        self.lab, self.collection = lab, lab.collection
        self.thumbnails = Path(tempfile.mkdtemp(prefix="cifar-demo-your-classes-"))
        self._overview: tuple[int, str] = (-1, "")  # (collection version, its overview): drawn once for all pages

    def thumbnail(self, picture: Picture) -> str:
        """A picture's file, written once: ids are never reused."""
        path = self.thumbnails / f"{picture.id}.png"
        if not path.exists():
            picture.image().save(path)
        return str(path)

    def view(self, wanted: str | None, last: dict, select: bool = False):
        """The overview, the menu, the gallery of the chosen class; nothing when nothing moved since `last`. The menu's
        value is set only when the class asked for is gone: a timer tick that read the menu before the person chose
        another class would otherwise set it back (and the next picture would go to the old class); `select` sets it."""
        collection = self.collection
        classes = collection.classes
        current = next((c for c in classes if c == wanted), classes[-1] if classes else None)
        if last.get("version") == collection.version and last.get("class") == current:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        try:
            pictures = collection.pictures(current) if current else []
        except CollectionError:  # removed between the two reads: the next tick shows it
            pictures = []
        menu = gr.update(choices=classes, value=current) if select or current != wanted else gr.update(choices=classes)
        return (self.overview(), menu, [(self.thumbnail(p), f"#{p.id}") for p in pictures],
                {"version": collection.version, "class": current, "ids": [p.id for p in pictures]})

    def overview(self) -> str:
        """The overview of the collection as it is now, drawn once per change, not once per page."""
        version, drawn = self._overview
        if version != self.collection.version:
            version = self.collection.version  # read first: a change while drawing is drawn again next time
            drawn = overview_html(self.lab)
            self._overview = (version, drawn)
        return drawn

    def make_class(self, typed: str, wanted: str | None, last: dict):
        try:
            stored = self.collection.add_class(typed)
        except CollectionError as error:
            return refused_here("your_classes", error), gr.skip(), *self.view(wanted, last)
        return say("text.class_made", name=stored), "", *self.view(stored, {}, select=True)

    def add_one(self, picture: str | ImageError | None, wanted: str | None, last: dict, token: str,
                request: gr.Request):
        """A webcam shot, dropped or pasted picture goes into the chosen class; the input empties for the next."""
        if picture is None:
            return gr.skip(), gr.skip(), *self.view(wanted, last)
        if not wanted:
            return say("text.choose_class"), gr.skip(), *self.view(wanted, last)
        try:
            self.collection.add_picture(wanted, refused_already(picture), caller(request, token))
        except (AccessError, ImageError, CollectionError) as error:
            return refused_here("your_classes", error), None, *self.view(wanted, last)
        return say("text.added_one", name=wanted), None, *self.view(wanted, last)

    def add_many(self, paths: list[str] | None, wanted: str | None, last: dict, token: str, request: gr.Request):
        if not paths:
            return gr.skip(), gr.skip(), *self.view(wanted, last)
        try:
            added = add_uploads(self.lab, wanted, paths, caller(request, token))
        except (AccessError, CollectionError) as error:
            return refused_here("your_classes", error), None, *self.view(wanted, last)
        return added_words(added, wanted), None, *self.view(wanted, last)

    def remember(self, selected: gr.SelectData, last: dict) -> str | None:
        ids = last.get("ids", [])
        return ids[selected.index] if isinstance(selected.index, int) and selected.index < len(ids) else None

    def remove_picked(self, picture_id: str | None, wanted: str | None, last: dict, token: str, request: gr.Request):
        if not picture_id:
            return say("text.click_first"), None, *self.view(wanted, last)
        try:
            self.collection.remove_picture(picture_id, caller(request, token))
        except (AccessError, CollectionError) as error:
            return refused_here("your_classes", error), None, *self.view(wanted, last)
        return say("text.picture_removed", number=picture_id), None, *self.view(wanted, last)

    def drop_class(self, wanted: str | None, last: dict, request: gr.Request):
        allowed("your_classes_remove_class", request)
        try:
            stored = self.collection.remove_class(wanted or "")
        except CollectionError as error:
            return refused_here("your_classes", error), *self.view(None, last)
        return say("text.class_removed", name=stored), *self.view(None, last)



class CollectionApi:
    """The collection's endpoints, as plain data for gradio_client: collect, train, take away."""

    def __init__(self, lab: Lab):
        self.lab, self.collection = lab, lab.collection

    def register(self) -> None:
        """The endpoints with no component of their own."""
        gr.api(self.state, api_name="your_classes", concurrency_limit=None)
        gr.api(self.add_class, api_name="your_classes_add_class")
        gr.api(self.remove_picture, api_name="your_classes_remove_picture")
        gr.api(self.remove_class, api_name="your_classes_remove_class")

    def state(self) -> dict:
        """Every class with its pictures' ids (oldest first), and what the collection still needs before it can
        train (null when it is ready)."""
        return {"classes": [{"name": n, "pictures": ids} for n, ids in self.collection.ids().items()],
                "not_ready": none_or_text(self.collection.not_ready()), "version": self.collection.version}

    def add_class(self, name: str) -> dict:
        """Make a class (2 to 10 of them, names unique ignoring case and spaces); returns the collection."""
        try:
            self.collection.add_class(name)
        except CollectionError as error:
            raise refusal("your_classes_add_class", error) from None
        return self.state()

    def add_pictures(self, class_name: str, paths: list[str] | None, request: gr.Request) -> dict:
        """Add uploaded pictures to a class: the new ids, one sentence for each picture refused, the collection. Only
        the client that added a picture (one gradio_client Client) may remove it, and the teacher."""
        try:
            added = add_uploads(self.lab, class_name, paths or [], caller(request))
        except (AccessError, CollectionError) as error:
            raise refusal("your_classes_add_pictures", error) from None
        return {"added": added.ids, "refused": [shown(words) for words in added.refused], **self.state()}

    def remove_picture(self, picture_id: str, request: gr.Request) -> dict:
        """Remove one picture by its id (one this client added; the teacher may remove any); returns the
        collection."""
        try:
            self.collection.remove_picture(picture_id, caller(request))
        except (AccessError, CollectionError) as error:
            raise refusal("your_classes_remove_picture", error) from None
        return self.state()

    def remove_class(self, name: str, request: gr.Request) -> dict:
        """Teacher only, from the machine that runs the app: remove a class and its pictures."""
        allowed("your_classes_remove_class", request)
        try:
            self.collection.remove_class(name)
        except CollectionError as error:
            raise refusal("your_classes_remove_class", error) from None
        return self.state()

    def train(self, train_layers: str = "head") -> str:
        """Fine-tune the active model on the collection ('head': the new last layer only; 'all': every layer), in
        the background; follow it with /status, end it with /stop. Returns the status line."""
        try:
            self.lab.train_your_classes(train_layers)
        except (CollectionError, JobRunning, NoModel, ValueError) as error:
            raise refusal("your_classes_train", error, title="not_started") from None
        return status_line(self.lab.status())

    def pictures_zip(self, request: gr.Request) -> str:
        """Teacher only, from the machine that runs the app: the collection as a zip in the picture-tree layout
        (train/<class>/, test/<class>/: the held-out share), which `python -m cifar_demo train --data` reads."""
        allowed("your_classes_zip", request)
        try:
            split = self.collection.split()  # a collection not ready to split is refused before a file is made
            return download_file("your_classes_zip", "your-zip", "your-classes.zip", split.write_zip)
        except CollectionError as error:
            raise refusal("your_classes_zip", error) from None

    def model_file(self) -> str:
        """The active model's checkpoint when it was trained on the collection, to load with --checkpoint."""
        active = self.lab.shelf.active
        if active is None or active.meta.get("data_source") != SOURCE:
            raise refusal("your_classes_model", Say("text.not_your_model"))
        copy = functools.partial(shutil.copy, active.path)  # a copy: a later run may replace the file
        return download_file("your_classes_model", "your-model", active.path.name, copy)


def add_uploads(lab: Lab, class_name: str | None, paths: list[str], by: Caller) -> Added:
    """Pictures from uploaded files only: a path a raw call names elsewhere is refused like a broken file. Each
    distinct path is looked up once, however often it is named."""
    if not class_name:
        raise CollectionError(Say("text.choose_class_many"))
    checked: dict[str, str | ImageError] = {}
    for path in dict.fromkeys(paths):
        try:
            checked[path] = uploaded_file(path, get_upload_folder())
        except ImageError as error:
            checked[path] = error  # named among the refused, in its place in the upload
    return lab.collection.add_pictures(class_name, [checked[path] for path in paths], by)


def none_or_text(said: object) -> str | None:
    """The API's form of a sentence: English text (the page shows it in its own language), or null."""
    return None if said is None else str(said)


def own_token(token: object) -> str:
    """The browser's token, made the first time the tab opens: its pictures stay its own after a reload."""
    return token if is_token(token) else new_token()


def added_words(added: Added, class_name: str) -> str:
    """'Added 5 pictures to mug. Picture 3: The file could not be read.'"""
    count = len(added.ids)
    said = say("text.added_single", name=class_name) if count == 1 else say("text.added", count=count, name=class_name)
    return " ".join([said, *map(shown, added.refused)])
