"""The README's pictures, made by the project so they never go stale: the real app on CIFAR-10 in Debian's
Chromium, one screenshot per tab at a projector's size, written to assets/.

    python3 tests/screenshots.py [--data ../shared/data/cifar10-jpg.tar.gz] [--out assets]

It follows the lesson: train lenet with the page's preset, then browse, classify, evaluate and look inside that net;
then the class teaches it three classes of its own (CIFAR-10 test photos of cats, ships and trucks, uploaded in
Your classes); then two students' phones share test pictures from Classify and the projector shows the Wall; last, the
projector opens the Join panel and a phone the students' page. The app listens on every address (--host 0.0.0.0), so
the Join panel shows this machine's address on its network. The app runs from a copy of app.py and cifar_demo/ in a
temporary folder, with links to the shipped checkpoints, so the run it trains is saved there and deleted with it, never
in checkpoints/runs/.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from app_copy import copy_of_the_app, free_port
from chromium import launch

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "cifar10-jpg.tar.gz"
PROJECTOR = {"width": 1600, "height": 900}
PHONE = {"width": 390, "height": 844}
STUDENTS, SHARES = 2, 10  # the wall takes 10 shares from one page and 20 from one computer
# Give-up limits, not timings: two slow shared cores here.
PAGE_LIMIT_S = 300      # the app starting, or any one thing the page does
TRAINING_LIMIT_S = 900  # the run, with a first decode of the data set (minutes)
YOUR_CLASSES, PHOTOS_PER_CLASS = ("cat", "ship", "truck"), 20  # the Your classes tab's three classes
COLOURS = 256  # the screenshots are flat UI and charts: a palette keeps each PNG small


def start_app(folder: Path, data: Path) -> tuple[subprocess.Popen, str]:
    """`python3 app.py` in its own process group (the trainer worker goes with it), answering on its URL."""
    port, log = free_port(), folder / "app.log"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": str(folder / "uploads")}
    with log.open("w") as out:
        app = subprocess.Popen([sys.executable, "app.py", "--host", "0.0.0.0", "--port", str(port), "--data",
                                str(data)], cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT,
                               start_new_session=True)
    url, deadline = f"http://127.0.0.1:{port}/", time.monotonic() + PAGE_LIMIT_S
    while time.monotonic() < deadline and app.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return app, url
        except OSError:
            time.sleep(0.5)
    stop_app(app)
    sys.exit(f"the app did not start; its log ends:\n{log.read_text()[-2000:]}")


def stop_app(app: subprocess.Popen) -> None:
    """The app and its trainer worker: terminate the group, then kill what is left."""
    if app.poll() is None:
        os.killpg(app.pid, signal.SIGTERM)
        try:
            app.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(app.pid, signal.SIGKILL)


def open_tab(page: Page, name: str) -> Locator:
    """Click the tab; a narrow screen folds the later tabs into a "More tabs" menu."""
    tab = page.get_by_role("tab", name=name, exact=True)
    more = page.get_by_role("button", name="More tabs")
    expect(tab.or_(more).first).to_be_visible()  # gradio lays the tab bar out after the page has loaded
    if not tab.is_visible():
        page.get_by_role("button", name="More tabs").click()
        tab = page.locator(".overflow-dropdown").get_by_role("button", name=name, exact=True)
    tab.click()
    return page.get_by_role("tabpanel")  # only the open tab's panel is visible


def labelled(panel: Locator, label: str) -> Locator:
    """The block whose label starts with `label`."""
    return panel.locator(".block", has=panel.page.get_by_test_id("block-label").filter(has_text=label))


def snap(page: Page, path: Path, part: Locator | None = None) -> None:
    """The whole page (or one part of it) once every picture shown has loaded, mouse and focus out of the way, as a
    small palette PNG."""
    # a closed tab's pictures never load
    page.wait_for_function("[...document.images].every(image => image.complete || !image.checkVisibility())")
    page.mouse.move(0, 0)
    page.evaluate("document.activeElement?.blur()")
    page.wait_for_timeout(500)  # gradio's last layout pass
    (part or page).screenshot(path=path, **({} if part else {"full_page": True}))
    picture = Image.open(path).convert("RGB").quantize(COLOURS)
    picture.save(path, optimize=True)
    print(f"{path} ({picture.width}x{picture.height}, {path.stat().st_size // 1024} KB)")


def train(page: Page) -> None:
    """lenet with the preset the page offers, until it has finished and become the active model."""
    panel = open_tab(page, "Train")
    page.get_by_role("button", name="Train", exact=True).click()
    expect(panel.get_by_role("textbox")).to_have_value(re.compile("^Finished · "), timeout=TRAINING_LIMIT_S * 1000)
    expect(page.locator("#header")).to_contain_text("Active model: lenet")


def browse(page: Page) -> None:
    """Opening the tab shows the first 16 test pictures with truth and the new net's guesses."""
    panel = open_tab(page, "Browse")
    expect(panel.get_by_role("textbox")).to_have_value(re.compile("correct in this batch"))


def classify(page: Page) -> None:
    """A random test picture, so the page names its true class beside the net's top 5."""
    panel = open_tab(page, "Classify")
    panel.get_by_role("button", name="Random test picture").click()
    expect(panel.get_by_test_id("label").locator("[data-testid$='-confidence-set']")).to_have_count(5)
    expect(panel.get_by_role("textbox").first).to_have_value(re.compile("^True class: "))


def evaluate(page: Page) -> None:
    """The whole test set: the per-class chart and the confusion matrix."""
    panel = open_tab(page, "Evaluate")
    panel.get_by_role("button", name=re.compile("^Evaluate")).click()
    expect(panel.get_by_role("textbox")).to_have_value(re.compile("^Test accuracy "))
    expect(panel.locator("img")).to_have_count(2)


def inside(page: Page) -> None:
    """The layer walk-through and filters, then Grad-CAM and feature maps of a random test picture."""
    panel = open_tab(page, "Inside the net")
    panel.get_by_role("button", name="Show the layers and filters").click()
    expect(panel.locator("table")).to_be_visible()
    expect(labelled(panel, "First-layer filters").locator("img")).to_be_visible()
    panel.get_by_role("button", name="Random test picture").click()
    expect(labelled(panel, "Grad-CAM").locator("img")).to_be_visible()
    expect(labelled(panel, "Feature maps").locator("img").first).to_be_visible()


def choose_model(page: Page, label: re.Pattern, header: str) -> None:
    """Pick the model whose menu label matches; the page's header then names it."""
    page.get_by_role("combobox", name="Active model").click()
    page.get_by_role("option", name=label).click()
    expect(page.locator("#header")).to_contain_text(header)


def class_photos(data: Path, folder: Path) -> dict[str, list[Path]]:
    """PHOTOS_PER_CLASS CIFAR-10 test pictures of each of YOUR_CLASSES, enlarged to phone-photo JPEGs."""
    if data.is_dir():  # a picture tree (CIFAR-10's python batches hold no photos to upload)
        return {name: sorted((data / "test" / name).iterdir())[:PHOTOS_PER_CLASS] for name in YOUR_CLASSES}
    found: dict[str, list[Path]] = {name: [] for name in YOUR_CLASSES}
    with tarfile.open(data) as archive:
        for member in archive:
            *_, split, name, _ = ("", "", "", *member.name.split("/"))
            if split != "test" or name not in found or len(found[name]) >= PHOTOS_PER_CLASS or not member.isfile():
                continue
            photo = Image.open(archive.extractfile(member)).convert("RGB").resize((256, 256), Image.Resampling.BICUBIC)
            found[name].append(folder / f"{name}-{len(found[name])}.jpg")
            photo.save(found[name][-1], quality=90)
            if all(len(paths) == PHOTOS_PER_CLASS for paths in found.values()):
                break
    return found


def your_classes(page: Page, photos: dict[str, list[Path]]) -> None:
    """Three classes of the class's photos, uploaded many at once, then the head fine-tuned on them."""
    open_tab(page, "Your classes")
    said = page.locator("#your-said textarea")
    for name, paths in photos.items():
        page.locator("#your-name textarea, #your-name input").first.fill(f"my {name}")
        page.locator("#your-add-class").click()
        expect(said).to_have_value(re.compile("made"))
        page.locator("#your-files input[type=file]").set_input_files([str(path) for path in paths])
        expect(said).to_have_value(re.compile(rf"^Added {len(paths)} pictures"))
    page.locator("#your-train").click()
    held_out = sum(round(len(paths) * 0.2) for paths in photos.values())  # this run's, no earlier one's
    expect(page.locator("#your-status textarea")).to_have_value(
        re.compile(rf"^Finished · .* of {held_out} pictures it never trained on"), timeout=TRAINING_LIMIT_S * 1000)


def share(page: Page, first: int) -> None:
    """A student's phone shares random test pictures from Classify, each with the true class the page names."""
    expect(page.get_by_role("button", name="More tabs")).to_be_visible()  # the tab bar has folded to the phone's width
    panel = open_tab(page, "Classify")
    panel.get_by_label("Share my picture on the class wall").check()
    on_wall = page.locator("#on-wall textarea")
    for number in range(first, first + SHARES):
        panel.get_by_role("button", name="Random test picture").click()
        expect(on_wall).to_have_value(re.compile(rf"^On the class wall as #{number}:"))
        truth = panel.get_by_role("textbox").first.input_value().removeprefix("True class: ")
        panel.get_by_role("combobox", name="What is it really?").click()
        page.get_by_role("option", name=truth, exact=True).click()
        expect(on_wall).to_have_value(re.compile(rf"you say it is {truth}\.$"))


def wall(page: Page) -> None:
    """The projector's Wall, once every shared picture is on it."""
    open_tab(page, "Wall")
    expect(page.locator("#wall-summary")).to_contain_text(f"{STUDENTS * SHARES} pictures on the wall")


def join(page: Page) -> Locator:
    """The projector's Join panel, open: the students' page address and its QR code."""
    page.get_by_text("Join: the students' page").click()
    expect(page.locator("#join .join-qr")).to_be_visible()
    return page.locator("#join-panel")


def student(browser: Browser, url: str, photo: Path) -> Page:
    """A phone on the students' page, after a photo: the net's guess, the 32x32 it saw, the wall's strip."""
    page = browser.new_page(viewport=PHONE, locale="en-US", is_mobile=True, has_touch=True)
    page.set_default_timeout(PAGE_LIMIT_S * 1000)
    page.goto(url)
    expect(page.locator("#student-wall figure").first).to_be_visible()
    page.locator("#student-picture input[type=file]").set_input_files(str(photo))
    expect(page.locator("#student-guess .output-class")).not_to_be_empty()
    return page


LESSON = {"train": train, "browse": browse, "classify": classify, "evaluate": evaluate, "inside": inside}


def open_page(browser: Browser, url: str, viewport: dict) -> Page:
    """A fresh page (its own session, as each student's is), in English so gradio's labels read as above."""
    page = browser.new_page(viewport=viewport, locale="en-US")
    page.set_default_timeout(PAGE_LIMIT_S * 1000)
    page.goto(url)
    expect(page.locator("#header")).to_contain_text("Active model")
    return page


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("CIFAR_DEMO_DATA") or DATA),
                        help="CIFAR-10 folder or archive (default: $CIFAR_DEMO_DATA, else the shared archive)")
    parser.add_argument("--out", type=Path, default=REPO / "assets", help="where the PNGs go (default: assets/)")
    args = parser.parse_args()
    if not args.data.exists():
        parser.error(f"no data set at {args.data}: the pictures show the page at work on CIFAR-10 (--data PATH)")
    args.out.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # so the app is stopped on the way out
    with tempfile.TemporaryDirectory(prefix="cifar-demo-screenshots-") as folder:
        app, url = start_app(copy_of_the_app(Path(folder)), args.data.resolve())
        try:
            with sync_playwright() as playwright:
                expect.set_options(timeout=PAGE_LIMIT_S * 1000)
                browser = launch(playwright)
                page = open_page(browser, url, PROJECTOR)
                for name, show in LESSON.items():
                    show(page)
                    snap(page, args.out / f"{name}.png")
                choose_model(page, re.compile(r"\(fastnet\.pt\)$"), "from fastnet.pt")  # the CPU's strongest base
                photos = class_photos(args.data, Path(folder))
                your_classes(page, photos)
                snap(page, args.out / "your-classes.png")
                choose_model(page, re.compile(r"^lenet · [\d.]+% · .*\(lenet-"), "Active model: lenet")  # for the wall
                for student in range(STUDENTS):
                    phone = open_page(browser, url, PHONE)
                    share(phone, first=1 + student * SHARES)
                snap(phone, args.out / "classify-phone.png")
                wall(page)
                snap(page, args.out / "wall.png")
                snap(page, args.out / "join.png", join(page))
                snap(student(browser, url + "student", photos["ship"][-1]), args.out / "student-phone.png")
                browser.close()
        finally:
            stop_app(app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
