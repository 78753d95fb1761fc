"""The Lesson tab: the teacher keeps each lesson's wall and classes, starts a new one, restores a kept one, and takes
a lesson to another laptop as one zip. Teacher only, from the machine that runs the app."""
from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder

from ..database import StoreError
from ..images import ImageError
from ..lab import Lab
from ..serving import uploaded_file
from ..store import Lesson
from ..words import Say
from .common import allowed, caller, download_file, message_line, refusal
from .language import page, say


def lessons_table(lessons: list[Lesson]) -> str:
    """Every lesson, newest first: its number, when it started and was kept, and what it holds."""
    rows = [f"| {lesson.id} | {lesson.started} | {lesson.archived or say('lesson.current')} | {lesson.wall} | "
            f"{lesson.classes} | {lesson.pictures} |" for lesson in reversed(lessons)]
    return "\n".join([say("lesson.heading"), *rows])


def build_lesson_tab(lab: Lab) -> gr.Tab:
    with gr.Tab(page("lesson.tab")) as tab:
        gr.Markdown(page("lesson.intro"))
        students = gr.Markdown(page("lesson.students"))
        with gr.Column(visible=False) as teacher:
            listing = gr.Markdown(elem_id="lesson-list")
            with gr.Row(equal_height=True):
                number = gr.Number(1, label=page("lesson.number"), precision=0, minimum=1)
                restore = gr.Button(page("lesson.restore"))
                new = gr.Button(page("lesson.new"), variant="stop")
            with gr.Row(equal_height=True):
                download = gr.Button(page("lesson.download"))
                upload = gr.File(label=page("lesson.upload"), file_types=[".zip"], type="filepath",
                                 elem_id="lesson-upload")
            said = message_line("lesson-said")
            saved = gr.File(label=page("lesson.saved"), interactive=False)
        actions = LessonActions(lab)
        gr.api(actions.listed, api_name="lesson_list")  # inside the tab: gr.Tabs holds tabs only
    tab.select(actions.show, None, [students, teacher, listing], api_visibility="private")
    new.click(actions.new, None, [said, listing], api_name="lesson_new")
    restore.click(actions.restore, number, [said, listing], api_name="lesson_restore")
    download.click(actions.download, None, saved, api_name="lesson_download")
    upload.upload(actions.restore_zip, upload, [said, listing], api_name="lesson_import")
    return tab


class LessonActions:
    """What the tab's controls do; each is refused to anyone but the teacher before it touches anything."""

    def __init__(self, lab: Lab):
        self.lab = lab

    def show(self, request: gr.Request):
        teacher = caller(request).teacher
        return (gr.Markdown(visible=not teacher), gr.Column(visible=teacher),
                lessons_table(self.lab.lessons()) if teacher else gr.skip())

    def listed(self, request: gr.Request) -> list[dict]:
        """Teacher only, from the machine that runs the app: every lesson kept (number, started, archived, and how
        many wall pictures, classes and class pictures it holds); the current one has archived null."""
        allowed("lesson_list", request)
        return [dataclasses.asdict(lesson) for lesson in self.lab.lessons()]

    def new(self, request: gr.Request) -> tuple[str, str]:
        """Teacher only, from the machine that runs the app: keep this lesson's wall and classes, start empty."""
        allowed("lesson_new", request)
        try:
            lesson = self.lab.new_lesson()
        except StoreError as error:
            raise refusal("lesson_new", error) from None
        return say("lesson.started_new", lesson=lesson), lessons_table(self.lab.lessons())

    def restore(self, number: float | None, request: gr.Request) -> tuple[str, str]:
        """Teacher only, from the machine that runs the app: make a kept lesson (its number) the current one."""
        allowed("lesson_restore", request)
        if number is None or not math.isfinite(number):
            raise refusal("lesson_restore", Say("lesson.no_number"))
        try:
            self.lab.restore_lesson(int(number))
        except StoreError as error:
            raise refusal("lesson_restore", error) from None
        return say("lesson.restored", lesson=int(number)), lessons_table(self.lab.lessons())

    def download(self, request: gr.Request) -> str:
        """Teacher only, from the machine that runs the app: this lesson as one zip (the pictures in the picture-tree
        layout --data reads, and lesson.json)."""
        allowed("lesson_download", request)
        try:
            return download_file("lesson_download", "lesson", f"lesson-{time.strftime('%Y%m%d-%H%M')}.zip",
                                 self.lab.export_lesson)
        except StoreError as error:
            raise refusal("lesson_download", error) from None

    def restore_zip(self, path: str | None, request: gr.Request) -> tuple[str, str]:
        """Teacher only, from the machine that runs the app: a lesson zip (from Download lesson) as the current
        lesson; the one before is kept."""
        allowed("lesson_import", request)
        try:
            checked = Path(uploaded_file(path, get_upload_folder()))
            lesson = self.lab.import_lesson(checked)
        except (ImageError, StoreError) as error:
            raise refusal("lesson_import", error) from None
        return (say("lesson.imported", name=checked.name, lesson=lesson),
                lessons_table(self.lab.lessons()))
