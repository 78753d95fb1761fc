"""The Wall tab: every shared picture with the active model's guess, for the projector; the teacher's controls."""
from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from ..lab import Lab, NoModel
from ..wall import Summary, Wall, WallRefusal, export_zip, summarize
from ..wall import draw as draw_wall
from ..words import LANGUAGES, Say, listed
from .common import SharedChart, allowed, download_file, escape_markdown, message_line, refusal, teacher_controls
from .language import language, names, page, say

NO_MODEL = -1  # the wall version a page shows while there is no model to guess with


def build_wall_tab(lab: Lab, wall: Wall) -> tuple[gr.Tab, gr.Timer]:
    """Every shared picture with the active model's guess, for the projector; the teacher's controls below it."""
    with gr.Tab(page("tab.wall"), id="wall") as tab:
        with gr.Row():
            with gr.Column(scale=3):
                picture = gr.Image(show_label=False, interactive=False, format="png", buttons=["fullscreen"],
                                   elem_id="wall")
            with gr.Column(scale=1, min_width=320):
                summary = gr.Markdown(elem_id="wall-summary")
        with gr.Accordion(page("teacher"), open=False, visible=False) as teacher:
            with gr.Row(equal_height=True):
                number = gr.Number(label=page("picture_number"), precision=0, minimum=1)
                hide = gr.Button(page("hide"))
                clear = gr.Button(page("clear"), variant="stop")
                download = gr.Button(page("download_wall"))
            said = message_line("wall-said")
            saved = gr.File(label=page("wall_file"), interactive=False)
        seen = gr.State(None)  # the wall version and the language this page shows
        timer = gr.Timer(2.0, active=False)  # ticks only while the tab is open: other pages fetch no wall
    folder = Path(tempfile.mkdtemp(prefix="cifar-demo-wall-"))
    charts = {lang: SharedChart(folder, f"wall-{lang}") for lang in LANGUAGES}

    def tick(last: list | None):
        """The wall and its summary when they changed since this page's last look; nothing at all when not."""
        checkpoint, spoken = lab.shelf.active, language()
        if checkpoint is None:
            shown = [NO_MODEL, spoken]
            return (gr.skip(),) * 3 if last == shown else (None, say("text.no_model_wall"), shown)
        wall.follow(checkpoint)  # a new active model re-makes every guess here, once for all pages
        if last == [wall.version, spoken]:
            return gr.skip(), gr.skip(), gr.skip()
        snapshot = wall.snapshot(checkpoint)
        return (charts[spoken].get_picture(snapshot.version, lambda: draw_wall(snapshot, spoken)),
                wall_words(summarize(snapshot), snapshot.classes), [snapshot.version, spoken])

    def hide_picture(number: float | None, request: gr.Request) -> str:
        """Teacher only, from the machine that runs the app: take picture #number off the wall."""
        allowed("wall_hide", request)
        if number is None:
            raise refusal("wall_hide", Say("text.give_number"))
        try:
            entry = wall.hide(int(number))
        except WallRefusal as error:
            raise refusal("wall_hide", error) from None
        return say("text.wall_hidden", number=entry.id)

    def clear_wall(request: gr.Request) -> str:
        """Teacher only, from the machine that runs the app: take every picture off the wall."""
        allowed("wall_clear", request)
        try:
            removed = wall.clear()
        except WallRefusal as error:  # the store could not save it (a full or read-only disk)
            raise refusal("wall_clear", error) from None
        return say("text.wall_cleared_one") if removed == 1 else say("text.wall_cleared", count=removed)

    def download_wall(request: gr.Request) -> str:
        """Teacher only, from the machine that runs the app: the wall's pictures as a .zip that --data reads."""
        allowed("wall_download", request)
        try:
            data, _ = export_zip(wall.snapshot(lab.shelf.require()))
        except (NoModel, WallRefusal) as error:
            raise refusal("wall_download", error) from None
        return download_file("wall_download", "wall-zip", "wall.zip", lambda path: path.write_bytes(data))

    shown = [picture, summary, seen]
    tab.select(tick, seen, shown, api_visibility="private", show_progress="hidden")
    timer.tick(tick, seen, shown, api_visibility="private", concurrency_limit=None, show_progress="hidden")
    hide.click(hide_picture, number, said, api_name="wall_hide")
    clear.click(clear_wall, None, said, api_name="wall_clear")
    download.click(download_wall, None, saved, api_name="wall_download")
    tab.select(teacher_controls(1), None, teacher, api_visibility="private")
    return tab, timer


def wall_words(summary: Summary, classes: list[str]) -> str:
    """The wall's side panel: our photos against the test set, in words read from the back of the room."""
    shown = dict(zip(classes, names(classes)))
    named = lambda name: escape_markdown(shown.get(name, name))  # noqa: E731
    ours = f"{summary.accuracy:.0%}" if summary.accuracy is not None else "–"
    test = f"{summary.test_accuracy:.0%}" if summary.test_accuracy is not None else say("text.not_recorded")
    lines = [say("text.wall_ours", accuracy=ours),
             say("text.wall_ours_detail", right=summary.right, compared=summary.compared),
             say("text.wall_test", accuracy=test), say("text.wall_test_detail")]
    if summary.per_class:
        lines += ["", say("text.wall_table"), "|---|---|---|"]
        lines += [f"| {named(c.name)} | {c.right}/{c.total} | "
                  f"{'–' if c.test_accuracy is None else format(c.test_accuracy, '.0%')} |"
                  for c in summary.per_class]
    if summary.confusions:
        mixups = (Say("text.taken_for", truth=named(t), guess=named(g), count=n) for t, g, n in summary.confusions)
        lines += ["", say("text.wall_confused", pairs=listed(mixups, "text.semicolon"))]
    notes = [say("text.wall_shown", count=summary.shown)]
    if summary.unknown or summary.not_listed:
        notes.append(say("text.wall_unknown", unknown=summary.unknown, not_listed=summary.not_listed))
    if summary.other_classes:
        notes.append(say("text.wall_others", names=", ".join(map(escape_markdown, summary.other_classes))))
    if summary.dropped:
        notes.append(say("text.wall_dropped", count=summary.dropped, capacity=summary.capacity))
    return "\n".join(lines + ["", " · ".join(notes)])
