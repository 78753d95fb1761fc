"""The Wall tab in Chromium: pictures shared through the API appear on the open page by themselves, a ticked box in
Classify shares, and the teacher's controls work from this machine. Each test saves its page to tests/artifacts/."""
from __future__ import annotations

import io
import re
import shutil
import tarfile
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from PIL import Image
from playwright.sync_api import Page, expect

from app import build_app, serve
from chromium import browser, open_page  # noqa: F401 (a fixture)
from cifar_demo.checkpoints import CHECKPOINT_DIR
from cifar_demo.lab import Lab
from cifar_demo.wall import CAPACITY, UNKNOWN, Wall
from conftest import TINY_CLASSES, shared_archive_or_skip
from test_app import sample_picture
from cifar_demo.network import free_port
from test_browser import fetch_image, open_tab, snap

PROJECTOR = {"width": 1920, "height": 1080}
FULL_WALL = 40  # CIFAR-10 test pictures on the README's wall: a class of 30 and some


def serve_lab(lab: Lab, wall: Wall) -> tuple:
    port = free_port()
    app = build_app(lab, wall=wall)
    serve(app, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    return app, f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def served(tiny_tree, trained_checkpoint, tmp_path_factory):
    folder = tmp_path_factory.mktemp("wall-browser-checkpoints")
    shutil.copy(trained_checkpoint.path, folder / "tiny.pt")
    lab = Lab(data_path=tiny_tree, checkpoint_dir=folder, download=False, device="cpu")
    app, url = serve_lab(lab, Wall())
    yield lab, url
    app.close()


@pytest.fixture
def page(browser, served):
    _, url = served
    page = open_page(browser, url, header_shows="Active model")
    yield page
    page.context.close()


def wall_picture(page: Page):
    return page.locator("#wall img")


def wall_summary(page: Page):
    return page.locator("#wall-summary")


def test_shares_through_the_api_appear_on_the_open_wall_and_the_teacher_hides_one(page, served, tiny_tree):
    _, url = served
    student = Client(url, verbose=False)
    student.predict(api_name="/wall_clear")  # this machine is the teacher's
    open_tab(page, "Wall")
    expect(wall_summary(page)).to_contain_text("0 pictures on the wall")
    empty = wall_picture(page).get_attribute("src")
    pictures = [next((tiny_tree / "test" / name).glob("*.png")) for name in TINY_CLASSES]
    shared = [student.predict(handle_file(str(path)), truth, api_name="/share")
              for path, truth in zip(pictures, [TINY_CLASSES[0], TINY_CLASSES[1], UNKNOWN])]
    expect(wall_summary(page)).to_contain_text("3 pictures on the wall")  # the timer brought them: no click
    expect(wall_summary(page)).to_contain_text(re.compile(r"Our photos: \d+%"))
    expect(wall_summary(page)).to_contain_text(f"right on {sum(s['right'] for s in shared[:2])} of 2 pictures")
    expect(wall_picture(page)).not_to_have_attribute("src", empty)
    drawn = fetch_image(page, wall_picture(page))
    assert drawn.height > 128 and drawn.width > 8 * 128, drawn.size

    student.predict(handle_file(str(sample_picture(tiny_tree))), UNKNOWN, api_name="/share")
    expect(wall_summary(page)).to_contain_text("4 pictures on the wall")
    snap(page, "wall")

    page.get_by_text("Teacher", exact=True).click()  # this page runs on the app's machine: the controls are there
    page.get_by_label("Picture number (#)").fill(str(shared[0]["id"]))
    page.get_by_role("button", name="Hide this picture").click()
    expect(page.locator("#wall-said textarea")).to_have_value(re.compile(rf"^Picture #{shared[0]['id']} is hidden"))
    expect(wall_summary(page)).to_contain_text("3 pictures on the wall")
    assert shared[0]["id"] not in [e["id"] for e in student.predict(api_name="/wall")["entries"]]


def test_a_ticked_box_in_classify_shares_and_a_truth_chosen_after_labels_it(page, served, tiny_tree):
    _, url = served
    teacher = Client(url, verbose=False)
    teacher.predict(api_name="/wall_clear")
    panel = open_tab(page, "Classify")
    box = panel.get_by_label("Share my picture on the class wall")
    expect(box).not_to_be_checked()  # the app was started without --class-wall
    box.check()
    with page.expect_file_chooser() as chooser:
        page.locator("#picture").get_by_label("Drop an image file here to upload").click()
    chooser.value.set_files(next((tiny_tree / "test" / TINY_CLASSES[2]).glob("*.png")))
    said = page.locator("#on-wall textarea")
    expect(said).to_have_value(re.compile(r"^On the class wall as #\d+: the net says \w+ \(\d+%\)\.$"))
    (entry,) = teacher.predict(api_name="/wall")["entries"]
    assert entry["truth"] is None
    panel.get_by_label("What is it really?").click()
    page.get_by_role("option", name=TINY_CLASSES[2], exact=True).click()
    expect(said).to_have_value(re.compile(rf"; you say it is {TINY_CLASSES[2]}\.$"))
    (entry,) = teacher.predict(api_name="/wall")["entries"]
    assert entry["truth"] == TINY_CLASSES[2], "the same picture, now labelled: not a second share"
    snap(page, "wall-classify")


def cifar_test_pictures(archive: Path, classes: list[str], per_class: int) -> list[tuple[Image.Image, str]]:
    """The first test pictures of each class, read straight from the archive, one class after another in turn."""
    found: dict[str, list[Image.Image]] = {name: [] for name in classes}
    with tarfile.open(archive) as tar:
        for member in tar:
            split, name, *rest = member.name.split("/") + ["", ""]
            if split == "test" and member.isfile() and len(found.get(name, [None] * per_class)) < per_class:
                found[name].append(Image.open(io.BytesIO(tar.extractfile(member).read())).convert("RGB"))
            if all(len(pictures) == per_class for pictures in found.values()):
                break
    return [(found[name][n], name) for n in range(per_class) for name in classes]


def test_a_full_wall_of_cifar_pictures_at_projector_size(browser, tmp_path):
    """The README's picture: 40 CIFAR-10 test pictures shared with the shipped best net active, most with their true
    class, some "don't know"; saved as tests/artifacts/wall-projector.png (copied to assets/wall.png by hand)."""
    archive = shared_archive_or_skip()
    lab = Lab(data_path=archive, checkpoint_dir=CHECKPOINT_DIR, download=False, device="cpu")
    app, url = serve_lab(lab, Wall(per_session=CAPACITY, per_address=CAPACITY))
    try:
        client = Client(url, verbose=False)
        classes = lab.shelf.active.classes
        for n, (picture, truth) in enumerate(cifar_test_pictures(archive, classes, FULL_WALL // len(classes))):
            path = tmp_path / f"{n}.png"
            picture.save(path)
            client.predict(handle_file(str(path)), UNKNOWN if n % 5 == 4 else truth, api_name="/share")
        page = open_page(browser, url, viewport=PROJECTOR, header_shows="Active model")
        open_tab(page, "Wall")
        expect(wall_summary(page)).to_contain_text(f"{FULL_WALL} pictures on the wall")
        expect(wall_summary(page)).to_contain_text("Most confused")
        snap(page, "wall-projector")
        page.context.close()
    finally:
        app.close()
