"""The students' page (/student) and the Join panel, on one real app in this process that listens on every address:
the teacher at 127.0.0.1, the students' phones (Chromium at phone sizes, with touch) from this machine's network
address, as a class on the laptop's Wi-Fi would."""
from __future__ import annotations

import io
import json
import re
import shutil
import uuid

import httpx
import numpy as np
import pytest
import zxingcpp
from gradio_client import Client
from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright

from app import build_app, serve
from chromium import launch
from cifar_demo.checkpoints import CHECKPOINT_DIR, load_checkpoint
from cifar_demo.lab import Lab
from cifar_demo.network import EVERY_ADDRESS, Reach, join_address
from cifar_demo.ui.join import join_html
from cifar_demo.words import CATALOG, KOREAN, text
from conftest import TINY_CLASSES, network_address_or_skip
from test_app import AUTH
from cifar_demo.network import free_port
from test_words import english_words

LIMIT_S = 180                 # a give-up limit for anything the page does, not a timing
PHONES = [(390, 844), (360, 740)]
FIRST_LOAD_BOUND = 2 * 2**20  # bytes the page's first load may transfer (measured: about 0.55 MB)
LENET_CLASSES = load_checkpoint(CHECKPOINT_DIR / "lenet.pt").classes


@pytest.fixture(scope="module")
def address() -> str:
    return network_address_or_skip()


@pytest.fixture(scope="module")
def served(trained_checkpoint, tiny_tree, tmp_path_factory, address):
    """The app on every address (0.0.0.0) with the tiny net active and the shipped lenet to switch to."""
    folder = tmp_path_factory.mktemp("student-checkpoints")
    shutil.copy(trained_checkpoint.path, folder / "tiny.pt")
    shutil.copy(CHECKPOINT_DIR / "lenet.pt", folder / "lenet.pt")
    lab = Lab(data_path=tiny_tree, checkpoint_dir=folder, download=False, device="cpu")
    port = free_port()
    app = build_app(lab)
    serve(app, server_name="0.0.0.0", server_port=port, prevent_thread_lock=True, quiet=True)
    yield lab, app, port
    app.close()


@pytest.fixture
def teacher(served) -> Client:
    """The projector laptop (127.0.0.1), with the tiny net active, an empty wall and one class of our own."""
    lab, _, port = served
    client = Client(f"http://127.0.0.1:{port}/", verbose=False)
    client.predict("tiny.pt", api_name="/select_model")
    client.predict(api_name="/wall_clear")
    for entry in client.predict(api_name="/your_classes")["classes"]:
        client.predict(entry["name"], api_name="/your_classes_remove_class")
    client.predict("walk", api_name="/your_classes_add_class")
    return client


@pytest.fixture(scope="module")
def browser(served, address):
    """Chromium that treats the student page's origin as a secure one (a live camera, as over https) and reaches the
    same server as student.test over plain http (no live camera, as on a phone on the class network)."""
    _, _, port = served
    expect.set_options(timeout=LIMIT_S * 1000)
    flags = (f"--unsafely-treat-insecure-origin-as-secure=http://{address}:{port}",
             f"--host-resolver-rules=MAP student.test {address}")
    with sync_playwright() as playwright:
        browser = launch(playwright, flags)
        yield browser
        browser.close()


def phone(browser, size: tuple[int, int] = PHONES[0], locale: str = "en-US") -> Page:
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=True, has_touch=True,
                                  locale=locale)
    context.grant_permissions(["camera"])
    context.set_default_timeout(LIMIT_S * 1000)
    return context.new_page()


def choose(page: Page, menu: str, option: str) -> None:
    page.locator(f"#{menu} input").click()
    page.get_by_role("option", name=option, exact=True).click()


def take_a_picture(page: Page) -> str:
    """A shot of Chromium's fake camera; returns the net's top class as the page shows it."""
    picture = page.locator("#student-picture")
    if picture.get_by_label("Clear").count():
        picture.get_by_label("Clear").click()
    picture.get_by_label("Capture from camera").click()
    picture.get_by_text("Click to Access Webcam").click()
    page.wait_for_function("document.querySelector('#student-picture video')?.readyState >= 2")
    page.get_by_label("capture photo").click()
    top = page.locator("#student-guess .output-class")
    expect(top).not_to_be_empty()
    return top.inner_text().strip()


def no_teacher_controls(page: Page) -> None:
    """No tabs, no model menu, no Train, no menu to the teacher's page."""
    expect(page.locator("#student-picture")).to_be_visible()
    for teachers in (page.get_by_role("tab"), page.get_by_text("Active model"), page.get_by_text("Train")):
        expect(teachers).to_have_count(0)
    expect(page.locator(".nav-holder")).to_be_hidden()


def said(page: Page):
    return page.locator("#student-said textarea")


# ---------------------------------------------------------------- the address and the QR code


def test_the_address_follows_where_the_app_listens():
    found = lambda: "10.1.2.3"  # noqa: E731
    for host in EVERY_ADDRESS:
        assert join_address(host, 7860, "student", found).url == "http://10.1.2.3:7860/student"
    assert join_address("192.168.0.5", 80, "/student/", found).url == "http://192.168.0.5:80/student"
    assert join_address("fd00::5", 7860, "student", found).url == "http://[fd00::5]:7860/student"
    for host in ("127.0.0.1", "localhost", "::1", "127.0.1.1"):
        assert join_address(host, 7860, "student", found).reach is Reach.THIS_COMPUTER_ONLY
    assert join_address("0.0.0.0", 7860, "student", lambda: None).reach is Reach.NO_NETWORK
    words = join_html("127.0.0.1", 7860, login=False)
    assert "students cannot reach it" in words and "--host 0.0.0.0 --auth" in words and "<img" not in words


def test_the_join_panel_shows_the_address_as_text_and_a_qr_code_that_decodes_to_it(browser, served, address):
    _, _, port = served
    page = browser.new_page(viewport={"width": 1600, "height": 1000}, locale="en-US")
    page.set_default_timeout(LIMIT_S * 1000)
    page.goto(f"http://127.0.0.1:{port}/")
    page.get_by_text(CATALOG["en"]["page.join.title"]).click()
    shown = page.locator("#join .join-url")
    expect(shown).to_have_text(f"http://{address}:{port}/student")
    qr = page.locator("#join .join-qr")
    assert qr.bounding_box()["width"] >= 400  # a module is over 10 pixels: readable from the back of a room
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(page.locator("#join .join-box").screenshot())))
    assert [code.text for code in decoded] == [shown.inner_text()]
    page.goto(f"http://127.0.0.1:{port}/student")  # opened on the teacher's own laptop: still a student page
    no_teacher_controls(page)
    page.close()


# ---------------------------------------------------------------- a phone


def test_a_phone_takes_a_picture_shares_it_adds_it_to_a_class_and_follows_the_model(browser, served, teacher,
                                                                                   address):
    _, _, port = served
    page = phone(browser)
    transferred = []
    page.on("requestfinished", lambda request: transferred.append(sum(request.sizes()[key] for key in (
        "responseBodySize", "responseHeadersSize"))))
    page.goto(f"http://{address}:{port}/student")
    model_line = page.locator("#student-model")
    expect(model_line).to_contain_text("tiny.pt")
    first_load = sum(transferred)
    print(f"the student page's first load: {first_load:,} bytes in {len(transferred)} responses")
    assert first_load < FIRST_LOAD_BOUND

    for width, height in PHONES:  # the picture input whole on the first screen, nothing of the teacher's page
        page.set_viewport_size({"width": width, "height": height})
        box = page.locator("#student-picture").bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, (width, height, box)
    no_teacher_controls(page)

    guess = take_a_picture(page)
    assert guess in TINY_CLASSES
    expect(page.locator("#student-seen img")).to_be_visible()
    choose(page, "student-really", guess)
    page.locator("#student-share").click()
    expect(said(page)).to_have_value(re.compile(rf"^On the wall as #(\d+): the net says {guess} \(\d+%\)\.$"))
    number = int(re.search(r"#(\d+)", said(page).input_value()).group(1))
    on_wall = {e["id"]: e for e in teacher.predict(api_name="/wall")["entries"]}
    assert on_wall[number]["guess"] == guess and on_wall[number]["truth"] == guess and on_wall[number]["right"]
    expect(page.locator("#student-wall figure.right")).to_contain_text(f"#{number}: {guess}")
    other = next(name for name in TINY_CLASSES if name != guess)  # said again: the same picture, corrected
    choose(page, "student-really", other)
    page.locator("#student-share").click()
    expect(said(page)).to_have_value(f"Picture #{number} on the wall now says what it really is.")
    assert [(e["id"], e["truth"]) for e in teacher.predict(api_name="/wall")["entries"]] == [(number, other)]
    expect(page.locator("#student-wall figure.wrong")).to_contain_text(f"really {other}")

    choose(page, "student-class", "walk")
    page.locator("#student-add").click()
    expect(said(page)).to_have_value("Added to 'walk'.")
    assert [(c["name"], len(c["pictures"])) for c in teacher.predict(api_name="/your_classes")["classes"]] == [
        ("walk", 1)]

    teacher.predict("lenet.pt", api_name="/select_model")  # the teacher switches; the phone follows
    expect(model_line).to_contain_text("lenet.pt")
    assert take_a_picture(page) in LENET_CLASSES
    expect(page.locator("#student-wall figure")).not_to_contain_text(guess)  # the wall is re-guessed by lenet
    page.context.close()


def test_a_phone_over_plain_http_uses_its_camera_app_and_a_12_megapixel_photo_is_guessed(browser, served, teacher,
                                                                                         tmp_path):
    _, _, port = served
    page = phone(browser, PHONES[1])
    page.goto(f"http://student.test:{port}/student")  # plain http, as a phone on the class network opens it
    expect(page.locator("#student-model")).to_contain_text("tiny.pt")
    assert page.evaluate("window.isSecureContext") is False
    picture = page.locator("#student-picture")
    expect(picture.get_by_label("Capture from camera")).to_have_count(0)  # no live camera without https
    expect(picture).to_contain_text(CATALOG["en"]["page.student.placeholder"])  # the upload opens the phone's own camera app

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:3000, 0:4000]
    pixels = np.stack([xx / 16 % 256, yy / 12 % 256, (xx + yy) / 28 % 256], -1) + rng.integers(0, 40, (3000, 4000, 3))
    photo = tmp_path / "IMG_0001.jpg"  # 12 MP, a few MB, as a phone's camera writes it
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(photo, quality=92)
    oversized = tmp_path / "IMG_0002.jpg"  # past the 20 MB upload limit
    oversized.write_bytes(photo.read_bytes()[:2000] + bytes(21 * 2**20))
    upload = picture.locator("input[type=file]")
    upload.set_input_files(str(oversized))
    expect(page.get_by_text(re.compile(r"exceed the maximum allowed size of 20\.0 Mb"))).to_be_visible()
    upload.set_input_files(str(photo))
    expect(page.locator("#student-guess .output-class")).to_have_text(re.compile("|".join(TINY_CLASSES)))
    page.context.close()


def test_a_korean_phone_reads_the_page_the_guess_and_the_answer_in_korean(browser, served, teacher, tiny_tree):
    _, _, port = served
    teacher.predict("lenet.pt", api_name="/select_model")  # CIFAR-10's classes, which have Korean names
    page = phone(browser, PHONES[1], locale="ko-KR")
    page.goto(f"http://student.test:{port}/student")
    expect(page.locator("#student-model")).to_contain_text("lenet.pt")
    page.locator("#student-picture input[type=file]").set_input_files(
        str(next((tiny_tree / "test" / TINY_CLASSES[0]).iterdir())))
    korean_names = [text(f"class.{name}", KOREAN) for name in LENET_CLASSES]
    expect(page.locator("#student-guess .output-class")).to_have_text(re.compile("|".join(korean_names)))
    page.locator("#student-share").click()
    expect(said(page)).to_have_value(re.compile(r"#\d+"))
    shown = page.locator("#student").inner_text() + "\n" + said(page).input_value()
    assert not english_words(shown), english_words(shown)
    page.context.close()


# ---------------------------------------------------------------- hostile input and the login


def call(base: str, fn_index: int, data: list) -> dict:
    """One raw call of a page event, the way the page sends it (POST queue/join, then its event stream)."""
    session = uuid.uuid4().hex
    with httpx.Client(base_url=base, timeout=LIMIT_S) as http:
        joined = http.post("/gradio_api/queue/join", json={"data": data, "fn_index": fn_index,
                                                          "session_hash": session, "trigger_id": None})
        assert joined.status_code < 500, joined.text
        if joined.status_code != 200:
            return {"success": False, "output": {"error": joined.text}}
        with http.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                message = json.loads(line[5:]) if line.startswith("data:") else {}
                if message.get("msg") == "process_completed":
                    return message
    raise AssertionError("the event stream ended without an answer")


def uploaded(base: str, name: str, data: bytes) -> dict:
    """A file sent the way the page sends one, as the reference an event carries."""
    answer = httpx.post(f"{base}/gradio_api/upload", files=[("files", (name, data))], timeout=LIMIT_S)
    return {"path": answer.json()[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}


def test_the_student_pages_actions_answer_hostile_input_in_words_and_add_no_endpoint(served, teacher, address,
                                                                                     tiny_tree):
    """The page's events are private (no named endpoint), reached the way the page reaches them. Gradio's own checks
    refuse most hostile values before the page's code (a path not uploaded, a value outside a menu); what passes them
    gets the core's refusals, as the teacher's page does."""
    lab, app, port = served
    assert not [name for name in app.get_api_info()["named_endpoints"] if "student" in name]
    events = {f.name: index for index, f in app.fns.items() if f.page == "student" and f.name in (
        "classify", "share", "add")}
    assert set(events) == {"classify", "share", "add"}
    base = f"http://{address}:{port}"
    outside = {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}
    broken = uploaded(base, "photo.jpg", b"not a picture at all")
    good = uploaded(base, "photo.png", next((tiny_tree / "test" / TINY_CLASSES[0]).iterdir()).read_bytes())
    huge = "cat" * 40_000
    cases = [  # (event, data, the words of the refusal, or None for a normal answer)
        ("classify", [outside], "not uploaded"), ("share", [outside, "don't know", None, "x"], "not uploaded"),
        ("add", [outside, "walk", None], "not uploaded"), ("share", [good, huge, None, None], "refused: 'Value: cat"),
        ("add", [good, "../../etc", huge], "not in the list of choices"),
        ("add", [{"path": 7}, 3.5, {"a": 1}], "validation"),
        ("classify", [broken], "not a picture format"), ("share", [broken, "don't know", None, huge], "not a picture"),
        ("add", [broken, None, huge], CATALOG["en"]["student.no_class"]), ("add", [None, None, None], CATALOG["en"]["student.no_picture"]),
        ("share", [good, "don't know", None, huge], None)]
    for event, data, refusal in cases:
        answer = call(base, events[event], data)
        words = json.dumps(answer["output"])
        assert "root:" not in words and len(words) < 2000, (event, words[:300])
        if refusal is None:
            assert answer["success"] and "On the wall as #" in words, (event, words[:300])
        else:
            assert refusal in words, (event, refusal, words[:300])
    assert len(teacher.predict(api_name="/wall")["entries"]) == 1
    assert teacher.predict(api_name="/your_classes")["classes"] == [{"name": "walk", "pictures": []}]


def test_with_a_login_the_student_page_asks_for_it(served):
    lab, _, _ = served
    port = free_port()
    app = build_app(lab)
    serve(app, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, auth=AUTH)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=LIMIT_S) as http:
            page = http.get("/student").text
            assert '"auth_required":true' in page.replace(" ", "") and "student-share" not in page
            assert http.post("/login", data={"username": AUTH[0], "password": AUTH[1]}).status_code == 200
            assert "student-share" in http.get("/student").text  # the Share button's elem_id
    finally:
        app.close()
