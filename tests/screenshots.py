"""The README's pictures, made by the project so they never go stale: the real app on CIFAR-10 in Debian's
Chromium, one screenshot per tab at a projector's size, in English (assets/) or Korean (assets/ko/).

    python3 tests/screenshots.py [--language en|ko] [--data ../shared/data/cifar10-jpg.tar.gz] [--out assets]
                                 [--steps train,browse,...]

It follows the lesson: train lenet with the page's preset, then browse, classify, evaluate and look inside that net;
then the class teaches it three classes of its own (CIFAR-10 test photos of cats, ships and trucks, uploaded in
Your classes); then two students' phones share test pictures from Classify and the projector shows the Wall; then the
projector opens the Join panel and a phone the students' page; then the teacher starts a new lesson and the Lesson
tab lists the kept one; last, a class challenge of four short lenet entries, ended so the board shows both scores.
Every browser speaks the run's language (its locale, so its Accept-Language), and every button, tab and sentence is
found by the page's own words from the catalog (cifar_demo/words), so the same steps make either set.
The app listens on every address (--host 0.0.0.0), so the Join panel shows this machine's address on its network.
The app runs from a copy of app.py and cifar_demo/ in a temporary folder, with links to the shipped checkpoints, so
the run it trains and the class store are kept there and deleted with it, never in checkpoints/.
"""
from __future__ import annotations

import argparse
import functools
import os
import re
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from string import Formatter
from typing import Callable

from gradio_client import Client
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from app_copy import copy_of_the_app
from chromium import launch, typed

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the catalog, read from this tree (run as a script, tests/ alone is on the path)
from cifar_demo.network import free_port  # noqa: E402
from cifar_demo.words import CATALOG, ENGLISH, KOREAN, LANGUAGES, text  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "cifar10-jpg.tar.gz"
PROJECTOR = {"width": 1600, "height": 900}
PHONE = {"width": 390, "height": 844}
LOCALES = {ENGLISH: "en-US", KOREAN: "ko-KR"}
STUDENTS, SHARES = 2, 10  # the wall takes 10 shares from one page and 20 from one computer
# Give-up limits, not timings: two slow shared cores here.
PAGE_LIMIT_S = 300      # the app starting, or any one thing the page does
TRAINING_LIMIT_S = 900  # the run, with a first decode of the data set (minutes)
YOUR_CLASSES, PHOTOS_PER_CLASS = ("cat", "ship", "truck"), 20  # the Your classes tab's three classes
CHALLENGE_SECONDS = 30  # each entry's budget: 2 epochs of lenet on an idle 2-core laptop, a fraction on a busy one
# The challenge's entries (nickname by language; net, epochs, batch size, learning rate, optimizer, augment, seed)
ENTRIES = [({ENGLISH: "ada", KOREAN: "지우"}, ("lenet", 1, 64, 0.05, "sgd", False, 0)),
           ({ENGLISH: "alan", KOREAN: "민준"}, ("lenet", 1, 128, 0.1, "sgd", False, 1)),
           ({ENGLISH: "grace", KOREAN: "서연"}, ("lenet", 1, 64, 0.003, "adam", False, 2)),
           ({ENGLISH: "linus", KOREAN: "하준"}, ("lenet", 2, 32, 0.02, "sgd", True, 3))]
COLOURS = 256  # the screenshots are flat UI and charts: a palette keeps each PNG small


@dataclass(frozen=True)
class Words:
    """The page's words in the run's language, as the catalog has them: what a step clicks and waits for."""
    language: str

    def page(self, key: str) -> str:
        """A word of the page's own (a tab, a button, a label)."""
        return text(f"page.{key}", self.language)

    def class_name(self, name: str) -> str:
        """A CIFAR-10 class as the page names it."""
        return text(f"class.{name}", self.language)

    def said(self, key: str, **known: str | int | re.Pattern) -> re.Pattern:
        """A sentence the server writes, as a pattern: the values given (a pattern stays a pattern), any other
        placeholder matching anything."""
        parts = []
        for literal, field, _, _ in Formatter().parse(CATALOG[self.language][key]):
            parts.append(re.escape(literal))
            if field is not None:
                value = known.get(field)
                parts.append(".*?" if value is None else value.pattern if isinstance(value, re.Pattern)
                             else re.escape(str(value)))
        return re.compile("".join(parts))

    def read(self, key: str, field: str, shown: str) -> str:
        """One value out of a sentence the page shows."""
        return self.said(key, **{field: re.compile(f"(?P<{field}>.+)")}).fullmatch(shown)[field]


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
    """Click the tab; a narrow screen folds the later tabs into a "More tabs" menu (gradio's label in every
    language)."""
    tab = page.get_by_role("tab", name=name, exact=True)
    more = page.get_by_role("button", name="More tabs")
    expect(tab.or_(more).first).to_be_visible()  # gradio lays the tab bar out after the page has loaded
    if not tab.is_visible():
        more.click()
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
    print(f"{path} ({picture.width}x{picture.height}, {path.stat().st_size // 1024} KB)", flush=True)


@dataclass
class Shoot:
    """One run's browser, app and projector page, its language and where its pictures go."""
    browser: Browser
    url: str
    words: Words
    out: Path
    data: Path
    folder: Path
    projector: Page | None = None

    def new_page(self, viewport: dict, url: str | None = None, **phone: bool) -> Page:
        """A fresh page in its own context (its own session and browser token, as each student's is)."""
        context = self.browser.new_context(viewport=viewport, locale=LOCALES[self.words.language], **phone)
        context.set_default_timeout(PAGE_LIMIT_S * 1000)
        page = context.new_page()
        page.goto(url or self.url)
        return page

    def open_page(self, viewport: dict) -> Page:
        """The teacher's page (or a laptop's), once its header names the active model."""
        page = self.new_page(viewport)
        expect(page.locator("#header")).to_contain_text(self.words.said("status.header"))
        return page

    def snap(self, name: str, page: Page | None = None, part: Locator | None = None) -> None:
        snap(page or self.projector, self.out / f"{name}.png", part)

    @functools.cached_property
    def photos(self) -> dict[str, list[Path]]:
        return class_photos(self.data, self.folder)


def train(shoot: Shoot) -> None:
    """lenet with the preset the page offers, until it has finished and become the active model."""
    page, words = shoot.projector, shoot.words
    panel = open_tab(page, words.page("tab.train"))
    page.get_by_role("button", name=words.page("train"), exact=True).click()
    finished = words.said("status.ended_result_active", state=words.said("status.finished"))
    expect(panel.locator("#train-status").get_by_role("textbox")).to_have_value(finished, timeout=TRAINING_LIMIT_S * 1000)
    expect(page.locator("#header")).to_contain_text(words.said("status.header", model=re.compile("lenet ")))
    shoot.snap("train")


def browse(shoot: Shoot) -> None:
    """Opening the tab shows the first 16 test pictures with truth and the new net's guesses."""
    panel = open_tab(shoot.projector, shoot.words.page("tab.browse"))
    expect(panel.get_by_role("textbox")).to_have_value(shoot.words.said("text.browse_summary"))
    shoot.snap("browse")


def classify(shoot: Shoot) -> None:
    """A random test picture, so the page names its true class beside the net's top 5."""
    words = shoot.words
    panel = open_tab(shoot.projector, words.page("tab.classify"))
    panel.get_by_role("button", name=words.page("random_picture")).click()
    expect(panel.get_by_test_id("label").locator("[data-testid$='-confidence-set']")).to_have_count(5)
    expect(panel.get_by_role("textbox").first).to_have_value(words.said("text.true_class_is"))
    shoot.snap("classify")


def evaluate(shoot: Shoot) -> None:
    """The whole test set: the per-class chart and the confusion matrix."""
    words = shoot.words
    panel = open_tab(shoot.projector, words.page("tab.evaluate"))
    panel.get_by_role("button", name=words.page("evaluate")).click()
    expect(panel.get_by_role("textbox")).to_have_value(words.said("text.evaluated"))
    expect(panel.locator("img")).to_have_count(2)
    shoot.snap("evaluate")


def inside(shoot: Shoot) -> None:
    """The layer walk-through and filters, then Grad-CAM and feature maps of a random test picture."""
    words = shoot.words
    panel = open_tab(shoot.projector, words.page("tab.inside"))
    panel.get_by_role("button", name=words.page("show_layers")).click()
    expect(panel.locator("table")).to_be_visible()
    expect(labelled(panel, words.page("filters")).locator("img")).to_be_visible()
    panel.get_by_role("button", name=words.page("random_picture")).click()
    expect(labelled(panel, words.page("gradcam")).locator("img")).to_be_visible()
    expect(labelled(panel, words.page("feature_maps")).locator("img").first).to_be_visible()
    shoot.snap("inside")


def choose_model(shoot: Shoot, label: re.Pattern | str) -> str:
    """Pick the model whose menu label matches (or is); the header then names its file. Returns its label."""
    page = shoot.projector
    menu = page.get_by_role("combobox", name=shoot.words.page("active_model"))
    menu.click()
    option = page.get_by_role("option", name=label, exact=isinstance(label, str))
    chosen = option.inner_text().strip()
    option.click()
    expect(page.locator("#header")).to_contain_text(re.search(r"\(([^)]+)\)$", chosen)[1])
    return chosen


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


def your_classes(shoot: Shoot) -> None:
    """On fastnet (the CPU's strongest base), three classes named as the class would in its language, each photo
    set uploaded at once into the class the menu shows, then the head fine-tuned on them; then back to the model
    that was active before, for the wall."""
    page, words = shoot.projector, shoot.words
    before = page.get_by_role("combobox", name=words.page("active_model")).input_value()
    choose_model(shoot, re.compile(r"\(fastnet\.pt\)$"))
    open_tab(page, words.page("tab.yours"))
    said, chosen = page.locator("#your-said textarea"), page.locator("#your-chosen input")
    for name, paths in shoot.photos.items():
        typed = words.class_name(name)
        page.locator("#your-name textarea, #your-name input").first.fill(typed)
        page.locator("#your-add-class").click()
        expect(said).to_have_value(words.said("text.class_made", name=typed))
        expect(chosen).to_have_value(typed)  # the pictures go into the class the menu shows
        page.locator("#your-files input[type=file]").set_input_files([str(path) for path in paths])
        expect(said).to_have_value(words.said("text.added", count=len(paths), name=typed))
    page.locator("#your-train").click()
    held_out = sum(round(len(paths) * 0.2) for paths in shoot.photos.values())  # this run's, no earlier one's
    finished = words.said("status.ended_result_active", state=words.said("status.finished"),
                          result=words.said("status.result", pictures=held_out))
    expect(page.locator("#your-status textarea")).to_have_value(finished, timeout=TRAINING_LIMIT_S * 1000)
    shoot.snap("your-classes")
    choose_model(shoot, before)


def share(shoot: Shoot, phone: Page, first: int) -> None:
    """A student's phone shares random test pictures from Classify, each with the true class the page names."""
    words = shoot.words
    expect(phone.get_by_role("button", name="More tabs")).to_be_visible()  # the tab bar has folded to the phone
    panel = open_tab(phone, words.page("tab.classify"))
    panel.get_by_label(words.page("share")).check()
    on_wall = phone.locator("#on-wall textarea")
    for number in range(first, first + SHARES):
        panel.get_by_role("button", name=words.page("random_picture")).click()
        shared = (words.said(key, number=number).pattern for key in ("text.on_wall", "text.on_wall_truth"))
        expect(on_wall).to_have_value(re.compile("|".join(shared)))  # with the menu's truth kept from the last
        truth = words.read("text.true_class_is", "name", panel.get_by_role("textbox").first.input_value())
        panel.get_by_role("combobox", name=words.page("really")).click()
        phone.get_by_role("option", name=truth, exact=True).click()
        expect(on_wall).to_have_value(words.said("text.on_wall_truth", number=number, truth=truth))


def wall(shoot: Shoot) -> None:
    """Two students' phones share from Classify; the projector's Wall once every shared picture is on it."""
    for student in range(STUDENTS):
        phone = shoot.open_page(PHONE)
        share(shoot, phone, first=1 + student * SHARES)
    shoot.snap("classify-phone", phone)
    open_tab(shoot.projector, shoot.words.page("tab.wall"))
    expect(shoot.projector.locator("#wall-summary")).to_contain_text(
        shoot.words.said("text.wall_shown", count=STUDENTS * SHARES))
    shoot.snap("wall")


def join(shoot: Shoot) -> None:
    """The projector's Join panel, open; then a phone on the class network opens the address it shows (as its QR
    code says), takes a photo of a ship and shares it to the wall."""
    page, words = shoot.projector, shoot.words
    page.get_by_text(words.page("join.title")).click()
    expect(page.locator("#join .join-qr")).to_be_visible()
    shoot.snap("join", part=page.locator("#join-panel"))
    phone = shoot.new_page(PHONE, page.locator("#join .join-url").inner_text(), is_mobile=True, has_touch=True)
    expect(phone.locator("#student-wall")).not_to_be_empty()
    phone.locator("#student-picture input[type=file]").set_input_files(str(shoot.photos["ship"][-1]))
    expect(phone.locator("#student-guess .output-class")).not_to_be_empty()
    phone.locator("#student-really input").click()
    phone.get_by_role("option", name=words.class_name("ship"), exact=True).click()
    phone.locator("#student-share").click()
    expect(phone.locator("#student-said textarea")).to_have_value(words.said("student.shared"))
    expect(phone.locator("#student-wall figure").first).to_be_visible()
    page.get_by_text(words.page("join.title")).click()  # the projector folds the panel away again
    shoot.snap("student-phone", phone)


def challenge(shoot: Shoot) -> None:
    """The teacher opens a challenge of CHALLENGE_SECONDS an entry on lenet; four students enter from notebooks
    (gradio_client, one session each); once all four have run, the teacher ends it: the board shows each
    entry's validation and test accuracy and how it moved."""
    page, words = shoot.projector, shoot.words
    panel = open_tab(page, words.page("challenge.tab"))
    panel.get_by_text(words.page("challenge.teacher"), exact=True).click()
    typed(panel.get_by_label(words.page("challenge.budget"), exact=True), str(CHALLENGE_SECONDS))
    told = page.locator("#challenge-told textarea")
    panel.get_by_role("button", name=words.page("challenge.open"), exact=True).click()
    expect(told).to_have_value(words.said("challenge.opened"))
    nicknames = [nickname[words.language] for nickname, _ in ENTRIES]
    for nickname, (_, recipe) in zip(nicknames, ENTRIES):
        Client(shoot.url, verbose=False).predict(nickname, *recipe, api_name="/challenge_submit")
    board = page.locator("#challenge-board")
    for nickname in nicknames:  # on the board once it has run: ranked, or not (cut before its first step)
        expect(board).to_contain_text(nickname, timeout=TRAINING_LIMIT_S * 1000)
    panel.get_by_role("button", name=words.page("challenge.end"), exact=True).click()
    expect(told).to_have_value(words.said("challenge.ended"))
    ranked = board.locator("tbody tr")
    test = len(text("challenge.board_head", words.language).split("|")) + 1  # the first column the end adds
    expect(ranked.filter(has=page.locator(f"td:nth-child({test})", has_text="%"))).to_have_count(ranked.count())
    shoot.snap("challenge")


def lesson(shoot: Shoot) -> None:
    """The teacher keeps this lesson (its wall and classes) and starts a new one: the list shows both."""
    page, words = shoot.projector, shoot.words
    panel = open_tab(page, words.page("lesson.tab"))
    panel.get_by_role("button", name=words.page("lesson.new"), exact=True).click()
    expect(page.locator("#lesson-said textarea")).to_have_value(words.said("lesson.started_new"))
    expect(page.locator("#lesson-list tbody tr")).to_have_count(2)
    shoot.snap("lesson")


STEPS: dict[str, Callable[[Shoot], None]] = {
    "train": train, "browse": browse, "classify": classify, "evaluate": evaluate, "inside": inside,
    "your-classes": your_classes, "wall": wall, "join": join, "lesson": lesson, "challenge": challenge}


def step_names(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in STEPS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"steps are a comma-separated list of {', '.join(STEPS)}")
    return [name for name in STEPS if name in names]  # in the lesson's order


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", choices=LANGUAGES, default=ENGLISH,
                        help="the browsers' language (default en); ko writes to assets/ko/ unless --out says")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("CIFAR_DEMO_DATA") or DATA),
                        help="CIFAR-10 folder or archive (default: $CIFAR_DEMO_DATA, else the shared archive)")
    parser.add_argument("--out", type=Path, help="where the PNGs go (default: assets/, or assets/ko/ for ko)")
    parser.add_argument("--steps", type=step_names, default=list(STEPS),
                        help=f"only these steps, for a partial run (default all: {','.join(STEPS)})")
    args = parser.parse_args()
    if not args.data.exists():
        parser.error(f"no data set at {args.data}: the pictures show the page at work on CIFAR-10 (--data PATH)")
    out = args.out or REPO / "assets" / ("" if args.language == ENGLISH else args.language)
    out.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # so the app is stopped on the way out
    with tempfile.TemporaryDirectory(prefix="cifar-demo-screenshots-") as folder:
        app, url = start_app(copy_of_the_app(Path(folder)), args.data.resolve())
        try:
            with sync_playwright() as playwright:
                expect.set_options(timeout=PAGE_LIMIT_S * 1000)
                browser = launch(playwright)
                shoot = Shoot(browser, url, Words(args.language), out, args.data, Path(folder))
                shoot.projector = shoot.open_page(PROJECTOR)
                for name in args.steps:
                    STEPS[name](shoot)
                browser.close()
        finally:
            stop_app(app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
