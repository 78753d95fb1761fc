"""Issue 28's two lessons in Chromium, on the real app as a process: a student's page on the class network shares
pictures and the class collects two classes; the server is killed with -9 and started again on the same store, and
the projector's page shows the same wall and classes; the teacher downloads the lesson and starts a new one; a
second laptop's app restores the zip and shows lesson 1. One browser, one app process at a time."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path
from urllib.parse import urljoin

import numpy as np
from gradio_client import Client, handle_file
from playwright.sync_api import Browser, Locator, Page, expect

from app_process import Server
from conftest import network_address_or_skip
from screenshots import open_tab  # a narrow page folds the later tabs, the Lesson tab among them, into a menu
from test_browser import PAGE_LIMIT_S, browser, fetch_image, snap  # noqa: F401 (a fixture)
from test_student import choose, phone
from test_wall import saved_photos

PROJECTOR = {"width": 1400, "height": 900}
SHARED = 3                                 # pictures a student's page shares in lesson 1
OUR_CLASSES = {"mug": 2, "pen": 3}         # the class's own classes in lesson 1, and their pictures


def share_from_a_students_page(page: Page, photos: list[tuple[Path, str]]) -> list[int]:
    """Each photo uploaded on /student, its truth chosen and shared; the numbers the page says."""
    numbers, said = [], page.locator("#student-said textarea")
    for path, truth in photos:
        picture = page.locator("#student-picture")
        if picture.get_by_label("Clear").count():
            picture.get_by_label("Clear").click()
        picture.locator("input[type=file]").set_input_files(path)
        expect(page.locator("#student-guess .output-class")).not_to_be_empty()
        expect(said).to_have_value("")  # the new picture's guess came back: the page is ready to share it
        choose(page, "student-really", truth)
        page.locator("#student-share").click()
        expect(said).to_have_value(re.compile(r"^On the wall as #\d+: the net says "))
        numbers.append(int(re.search(r"#(\d+)", said.input_value()).group(1)))
    return numbers


def collect_our_classes(url: str, photos: list[tuple[Path, str]]) -> None:
    """The class's own classes, made and filled through the API from a student's computer."""
    student = Client(url, verbose=False)
    pictures = iter(photos)
    for name, count in OUR_CLASSES.items():
        student.predict(name, api_name="/your_classes_add_class")
        answer = student.predict(name, [handle_file(str(next(pictures)[0])) for _ in range(count)],
                                 api_name="/your_classes_add_pictures")
        assert len(answer["added"]) == count, answer["refused"]


def projector(chromium: Browser, url: str) -> Page:
    """The teacher's page on the laptop that runs the app, as the projector shows it."""
    context = chromium.new_context(viewport=PROJECTOR, locale="en-US")
    context.set_default_timeout(PAGE_LIMIT_S * 1000)
    page = context.new_page()
    page.goto(url)
    return page


def shown_text(block: Locator) -> str:
    """A block's words as the page shows them, without gradio's progress tracker (it says how long an update took)."""
    return block.evaluate("block => { const copy = block.cloneNode(true); copy.querySelectorAll("
                          "'[data-testid=status-tracker]').forEach(tracker => tracker.remove()); "
                          "return copy.textContent.trim(); }")


def what_the_projector_shows(page: Page, wall: int) -> tuple[np.ndarray, str, list[str]]:
    """The Wall's picture (once it holds `wall` pictures) and its summary, and Your classes' overview: each class's
    name, count and newest pictures."""
    open_tab(page, "Wall")
    summary = page.locator("#wall-summary")
    expect(summary).to_contain_text(f"{wall} pictures on the wall")
    drawn = np.asarray(fetch_image(page, page.locator("#wall img")).convert("RGB"))
    open_tab(page, "Your classes")
    classes = page.locator("#your-overview .your-class")
    expect(classes).to_have_count(len(OUR_CLASSES))
    return drawn, shown_text(summary), classes.evaluate_all("rows => rows.map(row => row.outerHTML)")


def wall_entries(url: str) -> list[tuple]:
    """The wall as the API says it, without the numbers a store gives: guess, confidence, truth, right."""
    entries = Client(url, verbose=False).predict(api_name="/wall")["entries"]
    return [(e["guess"], round(e["confidence"], 4), e["truth"], e["right"]) for e in entries]


def test_two_lessons_a_kill_9_between_a_new_lesson_and_another_laptop(browser, tiny_tree,  # noqa: F811
                                                                      trained_checkpoint, tmp_path):
    address = network_address_or_skip()
    photos = saved_photos(tmp_path, SHARED + sum(OUR_CLASSES.values()))
    (tmp_path / "laptop").mkdir()
    (tmp_path / "other-laptop").mkdir()
    laptop = Server(tmp_path / "laptop", tiny_tree, trained_checkpoint.path)
    other = Server(tmp_path / "other-laptop", tiny_tree, trained_checkpoint.path)
    try:
        students_url = laptop.start().replace("127.0.0.1", address)
        student = phone(browser)
        student.goto(students_url + "student")
        shared = share_from_a_students_page(student, photos[:SHARED])
        student.context.close()
        collect_our_classes(students_url, photos[SHARED:])
        page = projector(browser, laptop.url)
        before = what_the_projector_shows(page, SHARED)
        teacher = Client(laptop.url, verbose=False)
        assert sorted(entry["id"] for entry in teacher.predict(api_name="/wall")["entries"]) == shared
        wall_before = wall_entries(laptop.url)
        page.context.close()

        laptop.kill()  # as a crash would: no shutdown, no last write
        laptop.start()
        page = projector(browser, laptop.url)
        after = what_the_projector_shows(page, SHARED)
        assert np.array_equal(after[0], before[0]), "the same tiles: pictures, numbers, guesses and truths"
        assert after[1:] == before[1:], "the same summary, classes and counts"

        panel = open_tab(page, "Lesson")
        panel.get_by_role("button", name="Download this lesson (.zip)").click()
        link = panel.locator("a[href*='.zip']").first  # the lesson's file, offered under the button
        expect(link).to_be_attached()
        archive = tmp_path / "lesson-1.zip"
        archive.write_bytes(page.request.get(urljoin(page.url, link.get_attribute("href"))).body())
        assert zipfile.is_zipfile(archive)
        panel.get_by_role("button", name="New lesson (keep this one, start empty)").click()
        expect(page.locator("#lesson-said textarea")).to_have_value(re.compile(r"^Lesson #\d+ started: "))
        rows = page.locator("#lesson-list tbody tr")
        expect(rows).to_have_count(2)  # newest first: the new lesson, then lesson 1, kept
        number, _, kept, *held = rows.last.locator("td").all_inner_texts()
        assert (number, held) == ("1", [str(SHARED), str(len(OUR_CLASSES)), str(sum(OUR_CLASSES.values()))])
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", kept), kept
        open_tab(page, "Wall")
        expect(page.locator("#wall-summary")).to_contain_text("0 pictures on the wall")
        open_tab(page, "Your classes")
        expect(page.locator("#your-overview")).to_contain_text("No classes yet: type a name and click Add class.")
        page.context.close()
        laptop.kill()

        other.start("--restore", str(archive))
        page = projector(browser, other.url)
        restored = what_the_projector_shows(page, SHARED)
        assert restored[1:] == before[1:], "lesson 1's wall summary, classes and counts on the other laptop"
        assert wall_entries(other.url) == wall_before
        snap(page, "lesson-restored")
        page.context.close()
    finally:
        laptop.kill()
        other.kill()
