"""The Wall tab: every shared picture with the active model's guess, for the projector; the teacher's controls."""
from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from ..lab import Lab, NoModel
from ..wall import Summary, Wall, WallRefusal, export_zip, summarize
from ..wall import draw as draw_wall
from .common import SharedChart, allowed, escape_markdown, refusal, teacher_controls

NO_MODEL = -1  # the wall version a page shows while there is no model to guess with


def build_wall_tab(lab: Lab, wall: Wall) -> tuple[gr.Tab, gr.Timer]:
    """Every shared picture with the active model's guess, for the projector; the teacher's controls below it."""
    with gr.Tab("Wall") as tab:
        with gr.Row():
            with gr.Column(scale=3):
                picture = gr.Image(show_label=False, interactive=False, format="png", buttons=["fullscreen"],
                                   elem_id="wall")
            with gr.Column(scale=1, min_width=320):
                summary = gr.Markdown(elem_id="wall-summary")
        with gr.Accordion("Teacher", open=False, visible=False) as teacher:
            with gr.Row(equal_height=True):
                number = gr.Number(label="Picture number (#)", precision=0, minimum=1)
                hide = gr.Button("Hide this picture")
                clear = gr.Button("Clear the wall", variant="stop")
                download = gr.Button("Download the labelled pictures (.zip)")
            said = gr.Textbox(show_label=False, interactive=False, container=False, placeholder=" ",
                              elem_classes=["quiet"], elem_id="wall-said")
            saved = gr.File(label="The wall as a picture folder (--data reads it)", interactive=False)
        seen = gr.State(None)  # the wall version this page shows
        timer = gr.Timer(2.0, active=False)  # ticks only while the tab is open: other pages fetch no wall
    chart = SharedChart(Path(tempfile.mkdtemp(prefix="cifar-demo-wall-")), "wall")

    def tick(last: int | None):
        """The wall and its summary when they changed since this page's last look; nothing at all when not."""
        checkpoint = lab.shelf.active
        if checkpoint is None:
            said = "No trained model yet, so no guesses: train one in the Train tab."
            return (gr.skip(), gr.skip(), gr.skip()) if last == NO_MODEL else (None, said, NO_MODEL)
        wall.follow(checkpoint)  # a new active model re-makes every guess here, once for all pages
        if wall.version == last:
            return gr.skip(), gr.skip(), gr.skip()
        snapshot = wall.snapshot(checkpoint)
        return (chart.get_picture(snapshot.version, lambda: draw_wall(snapshot)), wall_words(summarize(snapshot)),
                snapshot.version)

    def hide_picture(number: float | None, request: gr.Request) -> str:
        """Teacher only, from the machine that runs the app: take picture #number off the wall."""
        allowed("wall_hide", request)
        if number is None:
            raise refusal("wall_hide", "Give the number (#) of the picture to hide.")
        try:
            entry = wall.hide(int(number))
        except WallRefusal as error:
            raise refusal("wall_hide", error) from None
        return f"Picture #{entry.id} is hidden from the wall, its summary and its download."

    def clear_wall(request: gr.Request) -> str:
        """Teacher only, from the machine that runs the app: take every picture off the wall."""
        allowed("wall_clear", request)
        try:
            removed = wall.clear()
        except WallRefusal as error:  # the store could not save it (a full or read-only disk)
            raise refusal("wall_clear", error) from None
        plural = "" if removed == 1 else "s"
        return f"The wall is empty: {removed} picture{plural} taken off. Every page may share again."

    def download_wall(request: gr.Request) -> str:
        """Teacher only, from the machine that runs the app: the wall's pictures as a .zip that --data reads."""
        allowed("wall_download", request)
        try:
            data, _ = export_zip(wall.snapshot(lab.shelf.require()))
        except (NoModel, WallRefusal) as error:
            raise refusal("wall_download", error) from None
        path = Path(tempfile.mkdtemp(prefix="cifar-demo-wall-zip-")) / "wall.zip"  # a folder per download
        path.write_bytes(data)
        return str(path)

    shown = [picture, summary, seen]
    tab.select(tick, seen, shown, api_visibility="private", show_progress="hidden")
    timer.tick(tick, seen, shown, api_visibility="private", concurrency_limit=None, show_progress="hidden")
    hide.click(hide_picture, number, said, api_name="wall_hide")
    clear.click(clear_wall, None, said, api_name="wall_clear")
    download.click(download_wall, None, saved, api_name="wall_download")
    tab.select(teacher_controls(1), None, teacher, api_visibility="private")
    return tab, timer


def wall_words(summary: Summary) -> str:
    """The wall's side panel: our photos against the test set, in words read from the back of the room."""
    ours = f"{summary.accuracy:.0%}" if summary.accuracy is not None else "–"
    test = f"{summary.test_accuracy:.0%}" if summary.test_accuracy is not None else "not recorded"
    lines = [f"## Our photos: {ours}",
             f"right on {summary.right} of {summary.compared} pictures that say what they really are",
             f"## Test set: {test}", "the same net on the data set's test pictures"]
    if summary.per_class:
        lines += ["", "| class | our photos | test set |", "|---|---|---|"]
        lines += [f"| {escape_markdown(c.name)} | {c.right}/{c.total} | "
                  f"{'–' if c.test_accuracy is None else format(c.test_accuracy, '.0%')} |"
                  for c in summary.per_class]
    if summary.confusions:
        mixups = (f"{escape_markdown(t)} taken for {escape_markdown(g)} ({n}×)" for t, g, n in summary.confusions)
        lines += ["", "**Most confused:** " + "; ".join(mixups)]
    notes = [f"{summary.shown} pictures on the wall"]
    if summary.unknown or summary.not_listed:
        notes.append(f"{summary.unknown} don't know, {summary.not_listed} not one of these")
    if summary.other_classes:
        notes.append("truths this net does not know: " + ", ".join(map(escape_markdown, summary.other_classes)))
    if summary.dropped:
        notes.append(f"{summary.dropped} older pictures dropped off: the wall keeps the newest {summary.capacity}")
    return "\n".join(lines + ["", " · ".join(notes)])
