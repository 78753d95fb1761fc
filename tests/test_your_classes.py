"""The Your classes tab on a real app in this process: collect, train, use and take away a class's own classes,
through gradio_client and in Chromium, with pictures made here that no test has seen."""
from __future__ import annotations

import re
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from app import build_app, serve
from cifar_demo.checkpoints import CHECKPOINT_DIR, load_checkpoint
from cifar_demo.collection import MAX_CLASSES
from cifar_demo.data import load_dataset
from cifar_demo.lab import Lab
from cifar_demo.network import free_port
from test_browser import PAGE_LIMIT_S, browser, header, open_tab, snap  # noqa: F401 (a fixture)

KINDS = ("sun", "stripes", "leaf")  # three kinds a net tells apart at a glance: colours and shapes of their own
PER_KIND = 20
TRAINED_WITHIN_S = 120  # a bound for a busy test machine; the README gives the measured seconds


def kind_picture(kind: str, seed: int, side: int = 256) -> Image.Image:
    """A phone-sized photo of one kind, each drawn anew: a sun in a sky, dark stripes on light, a leaf on soil."""
    rng = np.random.default_rng(seed)
    shade = lambda base: tuple(int(np.clip(c + rng.integers(-30, 31), 0, 255)) for c in base)  # noqa: E731
    if kind == "sun":
        picture = Image.new("RGB", (side, side), shade((70, 130, 220)))
        x, y, r = rng.integers(60, side - 60), rng.integers(60, side - 60), rng.integers(25, 55)
        ImageDraw.Draw(picture).ellipse((x - r, y - r, x + r, y + r), fill=shade((250, 220, 40)))
    elif kind == "stripes":
        picture = Image.new("RGB", (side, side), shade((235, 235, 235)))
        width, offset = int(rng.integers(12, 30)), int(rng.integers(0, 30))
        for start in range(-side + offset, side, 2 * width):
            ImageDraw.Draw(picture).polygon([(start, 0), (start + width, 0), (start + width + side, side),
                                             (start + side, side)], fill=shade((30, 30, 30)))
    else:
        picture = Image.new("RGB", (side, side), shade((110, 75, 40)))
        x, y, r = rng.integers(70, side - 70), rng.integers(70, side - 70), int(rng.integers(40, 65))
        ImageDraw.Draw(picture).polygon([(x, y - r), (x + r // 2, y), (x, y + r), (x - r // 2, y)],
                                        fill=shade((60, 170, 60)))
    return picture


def photos(folder: Path, kind: str, count: int, first_seed: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(first_seed, first_seed + count):
        path = folder / f"{kind}-{seed}.jpg"
        kind_picture(kind, seed).save(path, quality=90)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def served(tiny_tree, tmp_path_factory):
    """The app with two shipped CIFAR-10 checkpoints (fastnet, the best, is active) and the tiny data set."""
    folder = tmp_path_factory.mktemp("your-classes-checkpoints")
    for name in ("fastnet.pt", "lenet.pt"):
        shutil.copy(CHECKPOINT_DIR / name, folder / name)
    lab = Lab(data_path=tiny_tree, checkpoint_dir=folder, download=False, device="cpu")
    port = free_port()
    app = build_app(lab)
    serve(app, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield lab, f"http://127.0.0.1:{port}/"
    app.close()


@pytest.fixture
def client(served) -> Client:
    """A client from this machine (the teacher's) with an empty collection and fastnet active."""
    lab, url = served
    client = Client(url, verbose=False)
    for entry in client.predict(api_name="/your_classes")["classes"]:
        client.predict(entry["name"], api_name="/your_classes_remove_class")
    client.predict("fastnet.pt", api_name="/select_model")
    return client


def collect(client: Client, folder: Path, per_kind: int = PER_KIND, first_seed: int = 0) -> dict:
    for kind in KINDS:
        client.predict(kind, api_name="/your_classes_add_class")
    for kind in KINDS:
        files = [handle_file(str(p)) for p in photos(folder / kind, kind, per_kind, first_seed)]
        answer = client.predict(kind, files, api_name="/your_classes_add_pictures")
        assert len(answer["added"]) == per_kind and not answer["refused"]
    return client.predict(api_name="/your_classes")


def trained(client: Client, layers: str = "head") -> dict:
    client.predict(layers, api_name="/your_classes_train")
    deadline = time.monotonic() + TRAINED_WITHIN_S
    while (status := client.predict(api_name="/status"))["state"] == "running":
        assert time.monotonic() < deadline, f"still training after {TRAINED_WITHIN_S} s: {status['status_line']}"
        time.sleep(0.2)
    assert status["state"] == "finished", status["status_line"]
    return status


def refusal(call) -> str:
    with pytest.raises(AppError) as refused:
        call()
    return str(refused.value)


# ---------------------------------------------------------------- through the API


def test_a_class_collects_trains_and_uses_its_own_classes_everywhere(client, served, tmp_path):
    lab, _ = served
    state = collect(client, tmp_path)
    assert state["not_ready"] is None
    assert [(c["name"], len(c["pictures"])) for c in state["classes"]] == [(k, PER_KIND) for k in KINDS]

    status = trained(client)
    held_out = status["result"]["test_pictures"]
    assert held_out == 3 * 4  # a fifth of each class, kept out of training
    assert status["result"]["test_accuracy"] >= 0.9, status["status_line"]
    right = round(status["result"]["test_accuracy"] * held_out)
    assert f"({right} of {held_out} pictures it never trained on)" in status["status_line"]
    assert status["config"]["init_from"] == "fastnet.pt"  # the base by name, never the server's path
    assert status["config"]["train_layers"] == "head"

    models = client.predict(api_name="/models")
    assert models["active"] == status["checkpoint"] and models["active"].startswith("runs/")
    label = next(c["label"] for c in models["choices"] if c["checkpoint"] == models["active"])
    assert label.startswith("fastnet · leaf, stripes, sun · ")  # the switcher names the class's own classes

    unseen = {kind: photos(tmp_path / "unseen", kind, 3, first_seed=1000) for kind in KINDS}
    guesses = {kind: [client.predict(handle_file(str(p)), api_name="/classify")[0]["label"] for p in paths]
               for kind, paths in unseen.items()}
    assert sum(g == kind for kind, gs in guesses.items() for g in gs) >= 8, guesses

    accuracy, summary, per_class, confusion = client.predict(api_name="/evaluate")
    assert accuracy == pytest.approx(status["result"]["test_accuracy"])
    assert summary.startswith(f"Held-out accuracy {accuracy:.1%}: {right} of {held_out} pictures right")
    grid, words, _ = client.predict(0, 16, "all classes", False, api_name="/browse")
    assert re.search(rf"correct in this batch · held-out pictures 1-12 of {held_out}$", words)

    shapes = client.predict("", api_name="/layer_shapes")
    assert shapes[-1]["output"] == [len(KINDS)]  # the new last layer has one output per class
    cam, message = client.predict(handle_file(str(unseen["sun"][0])), "stripes", api_name="/gradcam")
    assert cam and "stripes" in message
    assert client.predict(handle_file(str(unseen["leaf"][0])), api_name="/feature_maps")

    archive = Path(client.predict(api_name="/your_classes_zip"))
    with zipfile.ZipFile(archive) as opened:
        names = opened.namelist()
    assert sum(n.startswith("test/") for n in names) == held_out and len(names) == 3 * PER_KIND
    data = load_dataset(archive, download=False)
    assert data.classes == sorted(KINDS) and len(data.test) == held_out

    checkpoint = load_checkpoint(client.predict(api_name="/your_classes_model"))
    assert checkpoint.classes == sorted(KINDS) and checkpoint.meta["base_checkpoint"] == "fastnet.pt"
    assert checkpoint.meta["test_accuracy"] == pytest.approx(status["result"]["test_accuracy"])

    client.predict("lenet.pt", api_name="/select_model")  # back to a CIFAR-10 net: its own classes again
    top = client.predict(handle_file(str(unseen["sun"][0])), api_name="/classify")[0]
    assert top["label"] in load_checkpoint(CHECKPOINT_DIR / "lenet.pt").classes
    assert "held-out" not in client.predict(0, 16, "all classes", False, api_name="/browse")[1]


def test_a_second_run_starts_from_the_cifar_net_and_every_layer_can_train(client, served, tmp_path):
    collect(client, tmp_path, per_kind=6)
    first = trained(client)
    second = trained(client, "all")  # the active model is the first run's now
    assert second["config"]["init_from"] == first["config"]["init_from"] == "fastnet.pt"
    assert second["config"]["train_layers"] == "all" and second["checkpoint"] != first["checkpoint"]


def test_bad_input_gets_a_clear_message_and_loses_nothing(client, served, tmp_path):
    assert "Nothing collected yet" in refusal(lambda: client.predict("head", api_name="/your_classes_train"))
    client.predict("Mug", api_name="/your_classes_add_class")
    assert "already a class 'Mug'" in refusal(lambda: client.predict(" mug ", api_name="/your_classes_add_class"))
    good = photos(tmp_path, "sun", 2, first_seed=0)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a picture at all")
    answer = client.predict("mug", [handle_file(str(p)) for p in (good[0], broken, good[1])],
                            api_name="/your_classes_add_pictures")
    assert len(answer["added"]) == 2 and len(answer["refused"]) == 1 and answer["refused"][0].startswith("Picture 2:")
    client.predict("pen", api_name="/your_classes_add_class")
    client.predict("pen", [handle_file(str(good[0]))], api_name="/your_classes_add_pictures")
    words = refusal(lambda: client.predict("head", api_name="/your_classes_train"))
    assert "'pen' has 1 picture" in words and "at least 2" in words
    assert "There is no class 'cup'" in refusal(lambda: client.predict(
        "cup", [handle_file(str(good[0]))], api_name="/your_classes_add_pictures"))
    assert "no picture 'p0'" in refusal(lambda: client.predict("p0", api_name="/your_classes_remove_picture"))
    for number in range(MAX_CLASSES - 2):
        client.predict(f"class {number}", api_name="/your_classes_add_class")
    assert f"at most {MAX_CLASSES} classes" in refusal(lambda: client.predict(
        "one too many", api_name="/your_classes_add_class"))
    state = client.predict(api_name="/your_classes")  # every refusal above left the collection as it was
    assert [len(c["pictures"]) for c in state["classes"][:2]] == [2, 1] and len(state["classes"]) == MAX_CLASSES
    client.predict(answer["added"][0], api_name="/your_classes_remove_picture")
    assert client.predict(api_name="/your_classes")["classes"][0]["pictures"] == answer["added"][1:]


def test_only_the_teacher_removes_a_class_and_the_model_download_needs_a_run(client, served):
    _, url = served
    client.predict("mug", api_name="/your_classes_add_class")
    student = Client(url, verbose=False, headers={"X-Forwarded-For": "192.168.1.23"})  # not the teacher's laptop
    assert "Only the teacher" in refusal(lambda: student.predict("mug", api_name="/your_classes_remove_class"))
    assert student.predict(api_name="/your_classes")["classes"][0]["name"] == "mug"
    assert "not trained on your classes" in refusal(lambda: client.predict(api_name="/your_classes_model"))


# ---------------------------------------------------------------- in the browser


def test_the_page_collects_from_uploads_and_the_webcam_removes_a_picture_and_trains(browser, served, client,
                                                                                     tmp_path):
    _, url = served
    page: Page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="en-US")
    page.set_default_timeout(PAGE_LIMIT_S * 1000)
    page.context.grant_permissions(["camera"])
    page.goto(url)
    expect(header(page)).to_contain_text("Active model")
    panel = open_tab(page, "Your classes")
    said = page.locator("#your-said textarea")
    for kind in ("sun", "leaf"):
        page.locator("#your-name textarea, #your-name input").first.fill(kind)
        page.locator("#your-add-class").click()
        expect(said).to_have_value(f"Class '{kind}' made: add its pictures.")
        page.locator("#your-files input[type=file]").set_input_files(
            [str(p) for p in photos(tmp_path / kind, kind, 5, first_seed=50)])
        expect(said).to_have_value(f"Added 5 pictures to '{kind}'.")
    overview = page.locator("#your-overview")
    expect(overview).to_contain_text("sun")
    expect(overview).to_contain_text("5 pictures (1 held out)")

    panel.get_by_text("Click to Access Webcam").click()  # Chromium's fake camera films a test card
    page.wait_for_function("document.querySelector('#your-camera video')?.readyState >= 2")  # frames arrive
    page.get_by_label("capture photo").click()
    expect(said).to_have_value("Added to 'leaf'.")
    gallery = page.locator("#your-gallery .thumbnail-item")
    expect(gallery).to_have_count(6)
    gallery.first.click()
    page.locator("#your-remove").click()
    expect(said).to_have_value(re.compile(r"^Picture #p\d+ removed\.$"))
    expect(gallery).to_have_count(5)
    assert [len(c["pictures"]) for c in client.predict(api_name="/your_classes")["classes"]] == [5, 5]

    page.locator("#your-train").click()
    status = page.locator("#your-status textarea")
    expect(status).to_have_value(re.compile(r"^Finished · test accuracy .* \(\d of 2 pictures it never trained on\)"),
                                 timeout=TRAINED_WITHIN_S * 1000)
    expect(header(page)).to_contain_text("-your-classes-")  # the new model is every tab's
    snap(page, "your-classes")
    page.close()
