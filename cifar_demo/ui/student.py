"""The students' page (/student), for a phone held in one hand: a photo first, the net's guess in big type with the
32x32 picture it sees, then share it to the class wall or add it to one of the class's own classes, and the wall as a
live strip. No Train, no model menu, no teacher controls, whoever opens it. Every answer comes from the same core calls
as the teacher's page (Lab.classify_many, Wall.share / relabel, Collection.add_picture), under the same rules."""
from __future__ import annotations

import base64
import html
import threading

import gradio as gr

from ..access import AccessError
from ..collection import CollectionError
from ..images import ImageError, png_bytes
from ..lab import Lab, NoModel
from ..wall import UNKNOWN, Entry, PageShare, Snapshot, Wall, WallRefusal, truth_choices
from ..words import class_name
from .common import (allowed, classified, message_line, model_classes, refused_already, refused_here, truth_menu,
                     uploads_only)
from .language import language, page, say
from .your_classes import own_token

STRIP = 10           # the newest pictures the strip shows: a thumb's swipe on a phone
TICK_SECONDS = 3.0   # the strip, the menus and the model line follow the class this often while the page is open
CAMERA = gr.WebcamOptions(mirror=False, constraints={"video": {
    "facingMode": "environment",  # the phone's back camera where it has one
    "width": {"ideal": 640}, "height": {"ideal": 480}}})  # the net sees 32x32: a 0.5 MB shot, not a 5 MB one
CSS = """
.nav-holder { display: none !important; }  /* no menu from a phone to the teacher's page (gradio 6.31 draws a
                                              multipage app's navbar even under gr.Navbar(visible=False)) */
#student { max-width: 640px; margin: 0 auto; }
#student h3 { margin: 0; }
#student-model p { font-size: 15px; opacity: 0.75; margin: 0; }
#student-guess .output-class { font-size: 40px !important; padding: 8px 0 !important; }
#student-guess .label, #student-guess .text { font-size: 20px; }
#student-seen img { image-rendering: pixelated; }
#student-said textarea { font-size: 20px; }
#student-wall .strip { display: flex; gap: 8px; overflow-x: auto; padding: 4px 0; }
#student-wall figure { margin: 0; flex: 0 0 auto; width: 96px; text-align: center; font-size: 14px; }
#student-wall img { width: 88px; height: 88px; image-rendering: pixelated; border: 4px solid transparent; }
#student-wall .right img { border-color: #1a7f37; }
#student-wall .wrong img { border-color: #cf222e; }
#student-wall figcaption { overflow-wrap: anywhere; line-height: 1.2; }
"""


def build_student_page(app: gr.Blocks, lab: Lab, wall: Wall) -> None:
    """The page's parts and events; call it inside `app.route(...)`. Its events are private: no new endpoint."""
    with gr.Column(elem_id="student"):
        gr.Markdown(page("student.title"))
        model = gr.Markdown(elem_id="student-model")
        picture = uploads_only(gr.Image(
            type="filepath", sources=["upload", "webcam"], webcam_options=CAMERA, height=300,
            label=page("student.picture"), placeholder=page("student.placeholder"),
            elem_id="student-picture"))
        with gr.Row(equal_height=True):
            guess = gr.Label(num_top_classes=3, label=page("student.guess"), show_label=False, elem_id="student-guess",
                             scale=2, min_width=180)
            seen = gr.Image(label=page("student.seen"), interactive=False, format="png", height=150, elem_id="student-seen",
                            scale=1, min_width=120, buttons=[])
        really = gr.Dropdown(truth_menu(model_classes(lab)), value=UNKNOWN, label=page("really"), filterable=False,
                             elem_id="student-really")
        share = gr.Button(page("student.share"), variant="primary", size="lg", elem_id="student-share")
        chosen = gr.Dropdown(lab.collection.classes, value=None, label=page("student.class"), filterable=False,
                             elem_id="student-class")
        add = gr.Button(page("student.add"), size="lg", elem_id="student-add")
        said = message_line("student-said")
        gr.Markdown(page("student.wall"))
        strip = gr.HTML(elem_id="student-wall")
    token = gr.BrowserState("", storage_key="cifar-demo-browser")  # the same browser as on the teacher's page
    secure = gr.Checkbox(True, visible=False)  # whether the browser gives this page a live camera (an https page)
    shown = gr.State({})       # what this page shows of the class: the wall's version, the model, the classes
    last_share = gr.State(None)  # this page's last share (wall.PageShare), so a new truth relabels it
    actions = StudentActions(lab, wall)

    follow = [shown, really, chosen], [model, strip, really, chosen, shown]
    app.load(own_token, token, token, api_visibility="private", show_progress="hidden")
    app.load(None, None, secure, js="() => window.isSecureContext", api_visibility="private")
    secure.change(camera_sources, secure, picture, api_visibility="private", show_progress="hidden")
    app.load(actions.follow, *follow, api_visibility="private", show_progress="hidden", concurrency_limit=None)
    gr.Timer(TICK_SECONDS).tick(actions.follow, *follow, api_visibility="private", show_progress="hidden",
                                concurrency_limit=None)
    picture.change(actions.classify, picture, [guess, seen, said], batch=True, max_batch_size=16,
                   concurrency_limit=2, api_visibility="private")
    share.click(actions.share, [picture, really, last_share, token], [said, last_share],
                api_visibility="private", concurrency_limit=4).then(
        actions.follow, *follow, api_visibility="private", show_progress="hidden")
    add.click(actions.add, [picture, chosen, token], said, api_visibility="private", concurrency_limit=4)


def camera_sources(secure: bool) -> gr.Image:
    """A phone on the class network opens the page over plain http, where browsers give a page no live camera: there
    the upload button alone stays, and it opens the phone's own camera app (the back camera, the full photo)."""
    return gr.Image(sources=["upload", "webcam"] if secure is True else ["upload"])


class StudentActions:
    """What the page's events do, each through the core call the teacher's page makes."""

    def __init__(self, lab: Lab, wall: Wall):
        self.lab, self.wall = lab, wall
        self._strip_lock = threading.Lock()
        self._strips: dict[str, tuple[object, str]] = {}  # language: (wall version and model, its strip), drawn once

    def classify(self, pictures: list[str | ImageError | None]) -> tuple[list, list, list]:
        """Photos that arrive together share one forward pass, as on the teacher's page."""
        return classified(self.lab, pictures, "student classify", k=3, seen_size=128)

    def share(self, picture: str | ImageError | None, truth: str, last: PageShare | None, token: str,
              request: gr.Request):
        """Put the picture on the wall with what it really is; the same picture shared again only changes that
        (Wall.from_page, as on the teacher's page)."""
        if picture is None:
            return say("student.no_picture"), gr.skip()
        who = allowed("share", request, token)
        try:
            checkpoint = self.lab.shelf.require()
            done = self.wall.from_page(checkpoint, refused_already(picture), truth, who, last)
        except (AccessError, ImageError, NoModel, WallRefusal) as error:
            return refused_here("student share", error), gr.skip()
        if last is not None and last.picture == picture:  # the same picture: from_page relabelled it, or kept it
            return say("student.relabelled", id=last.entry.id), done or gr.skip()
        entry = done.entry
        words = say("student.shared", id=entry.id, guess=class_name(entry.guess, checkpoint.classes, language()),
                    confidence=f"{entry.confidence:.0%}")
        return words, done

    def add(self, picture: str | ImageError | None, class_name: str | None, token: str, request: gr.Request) -> str:
        """The picture into one of the class's own classes (Your classes), as the student's browser's own."""
        if picture is None:
            return say("student.no_picture")
        if not class_name:
            return say("student.no_class")
        who = allowed("your_classes_add_pictures", request, token)
        try:
            self.lab.collection.add_picture(class_name, refused_already(picture), who)
        except (AccessError, ImageError, CollectionError) as error:
            return refused_here("student add", error)
        return say("student.added", name=class_name)

    def follow(self, last: dict, truth: str | None, class_name: str | None):
        """The model line, the wall strip and both menus, each only when it changed since this page's last look."""
        checkpoint = self.lab.shelf.active
        classes = tuple(model_classes(self.lab))
        if checkpoint is not None:
            self.wall.follow(checkpoint)  # a new active model re-makes every guess on the wall, once for all pages
        ours = tuple(self.lab.collection.classes)
        spoken = language()  # the page's: its words and CIFAR-10's names change with it
        now = {"model": (self.lab.shelf.active_key, spoken), "wall": (self.wall.version, self.lab.shelf.active_key),
               "classes": (classes, spoken), "ours": (ours, spoken)}
        changed = {key: now[key] != last.get(key) for key in now}
        model_line = (say("student.model", net=checkpoint.meta["model"], file=self.lab.shelf.active_key)
                      if checkpoint else say("student.no_model"))
        truths = truth_choices(list(classes))
        menu = truth_menu(list(classes))
        return (
            model_line if changed["model"] else gr.skip(),
            self.strip(checkpoint, now["wall"]) if changed["wall"] else gr.skip(),
            gr.update(choices=menu, value=truth if truth in truths else UNKNOWN) if changed["classes"] else gr.skip(),
            gr.update(choices=list(ours), value=class_name if class_name in ours else None,
                      label=say("student.class" if ours else "student.no_classes")) if changed["ours"] else gr.skip(),
            now,
        )

    def strip(self, checkpoint, key: object) -> str:
        """The newest pictures on the wall as a row to swipe, drawn once per change for every page."""
        with self._strip_lock:
            spoken = language()
            if self._strips.get(spoken, (None,))[0] != key:
                drawn = strip_html(self.wall.snapshot(checkpoint)) if checkpoint else ""
                self._strips[spoken] = (key, drawn)
            return self._strips[spoken][1]


def strip_html(snapshot: Snapshot) -> str:
    """Each tile: the 32x32 picture, its number, guess and confidence; a green or red frame where a truth was said."""
    if not snapshot.entries:
        return f"<p>{html.escape(say('student.wall_empty'))}</p>"
    return '<div class="strip">' + "".join(tile(e, snapshot.classes) for e in snapshot.entries[:STRIP]) + "</div>"


def tile(entry: Entry, classes: list[str]) -> str:
    right = entry.right(classes)
    kind = "" if right is None else "right" if right else "wrong"
    caption = say("student.tile", id=entry.id, guess=class_name(entry.guess, classes, language()),
                  confidence=f"{entry.confidence:.0%}")
    if right is False:
        caption += " · " + say("student.really_tile", truth=class_name(entry.truth, classes, language()))
    source = base64.b64encode(png_bytes(entry.picture)).decode()
    return (f'<figure class="{kind}"><img alt="{html.escape(caption)}" src="data:image/png;base64,{source}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")
