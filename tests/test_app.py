"""The page driven the way a script or a second browser would: gradio_client against an app in this process."""
from __future__ import annotations

import copy
import gc
import logging
import os
import re
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import gradio as gr
import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError, AuthenticationError
from matplotlib.figure import Figure
from PIL import Image

from app import build_app, exposure_warning, main, parse_auth, serve, status_line
from bad_inputs import ANSWER, CORPUS, can_measure_peak_memory, peak_memory_growth
from cifar_demo import words
from cifar_demo.checkpoints import save_checkpoint
from cifar_demo.images import MAX_UPLOAD_BYTES
from cifar_demo.lab import Lab
from cifar_demo.plots import per_class_figure
from cifar_demo.ui.common import render
from conftest import TINY_CLASSES
from cifar_demo.network import Reach, free_port, join_address

ENDPOINTS = {"/train", "/stop", "/status", "/browse", "/classify", "/evaluate", "/select_model", "/models",
             "/layer_shapes", "/filters", "/feature_maps", "/gradcam"}
TRAIN = dict(net="lenet", epochs=30, batch_size=8, lr=0.05, optimizer="sgd", augment=False, seed=0)
LONG_TRAIN = {**TRAIN, "epochs": 1000}  # outlasts any test: the test that starts it stops it
AUTH = ("teacher", "s3cret:pass")
MB = 2**20
MEMORY_BOUND = 1536 * MB  # the server's growth allowed over the whole awkward-file corpus
MEASURES_MEMORY = can_measure_peak_memory()  # Linux: /proc/self tells this process's resident and peak memory



def start(lab: Lab, **options):
    port = free_port()
    app = build_app(lab)
    serve(app, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **options)
    return app, f"http://127.0.0.1:{port}/"


def wait_until_done(client: Client, timeout: float = 300) -> tuple[dict, list[dict]]:
    """Poll /status until the job leaves 'running'; returns the last status and every one seen."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.predict(api_name="/status")
        seen.append(status)
        if status["state"] not in ("running", "idle"):
            return status, seen
        time.sleep(0.1)
    raise AssertionError(f"the job did not end within {timeout} s: {seen[-1]['state']} {seen[-1]['message']}")


def wait_for_steps(client: Client, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.predict(api_name="/status")
        if status["history"]["steps"]:
            return status
        assert status["state"] == "running", status["message"]
        time.sleep(0.05)
    raise AssertionError("training produced no step")


def sample_picture(tree: Path) -> Path:
    return next((tree / "test" / TINY_CLASSES[0]).glob("*.png"))


def classify(client: Client, picture: Path) -> tuple:
    return client.predict(handle_file(str(picture)), api_name="/classify")


def assert_well_formed(answer: tuple) -> None:
    """A /classify answer: every tiny class with a probability, most likely first, and the 32x32 picture enlarged."""
    label, seen, message = answer
    confidences = label["confidences"]
    assert sorted(c["label"] for c in confidences) == sorted(TINY_CLASSES)
    probabilities = [c["confidence"] for c in confidences]
    assert all(0.0 <= p <= 1.0 for p in probabilities) and probabilities == sorted(probabilities, reverse=True)
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-4)
    assert label["label"] == confidences[0]["label"]
    assert Image.open(seen).size == (256, 256) and message == ""


def assert_reads_as_a_sentence(message: str) -> None:
    """Words for people: a capitalised sentence with its full stop, no traceback and no exception class name."""
    assert re.match(r"[A-Z]", message) and message.rstrip().endswith("."), message
    assert "Traceback" not in message and not re.search(r"\w(Error|Exception)\b", message), message


def resident_memory() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))


@pytest.fixture(scope="module")
def served(tiny_tree, trained_checkpoint, tmp_path_factory):
    """The app on the tiny data set, with a net trained on it already in its checkpoint folder."""
    folder = tmp_path_factory.mktemp("app-checkpoints")
    shutil.copy(trained_checkpoint.path, folder / "tiny.pt")
    lab = Lab(data_path=tiny_tree, checkpoint_dir=folder, download=False, device="cpu")
    app, url = start(lab)
    yield lab, Client(url, verbose=False), url
    lab.stop_training()
    app.close()


@pytest.fixture(scope="module")
def served_without_data(trained_checkpoint, tmp_path_factory, monkeypatch_module):
    """The app with a checkpoint but no data anywhere, no download, and a login required."""
    monkeypatch_module.setenv("CIFAR_DEMO_DATA", "")
    folder = tmp_path_factory.mktemp("shipped")
    shutil.copy(trained_checkpoint.path, folder / "shipped.pt")
    lab = Lab(data_path=tmp_path_factory.mktemp("empty") / "no-data-here", checkpoint_dir=folder,
              download=False, device="cpu")
    app, url = start(lab, auth=AUTH)
    yield lab, Client(url, auth=AUTH, verbose=False), url
    lab.stop_training()
    app.close()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


# ---------------------------------------------------------------- the page and its API


def test_page_serves_and_names_every_endpoint_with_plain_parameters(served):
    _, client, url = served
    page = httpx.get(url)
    assert page.status_code == 200 and "<html" in page.text.lower()
    api = client.view_api(return_format="dict", print_info=False)
    assert ENDPOINTS <= set(api["named_endpoints"])
    train = api["named_endpoints"]["/train"]["parameters"]
    assert [p["parameter_name"] for p in train] == [*TRAIN, "width", "minutes"]
    width, minutes = train[-2:]  # a call may leave them out: the preset's width, the epochs as set
    assert width["parameter_has_default"] and width["parameter_default"] is None
    assert minutes["parameter_has_default"] and minutes["parameter_default"] == 0
    assert "lenet" in train[0]["python_type"]["type"]


def test_training_runs_to_finished_and_its_checkpoint_becomes_active(served):
    lab, client, _ = served
    client.predict(*TRAIN.values(), api_name="/train")
    final, seen = wait_until_done(client)
    assert final["state"] == "finished", final["message"]
    lengths = [len(s["history"]["steps"]) for s in seen]
    assert lengths == sorted(lengths), "the history never shrinks"
    assert any(0 < n < lengths[-1] for n in lengths), "a poll saw the history part-way"
    epochs = final["history"]["epochs"]
    assert epochs[-1]["epoch"] == TRAIN["epochs"]
    assert len(epochs) == TRAIN["epochs"] * final["config"]["evals_per_epoch"], "every test-accuracy point kept"
    checkpoint = lab.checkpoint_dir / final["checkpoint"]  # a name inside the checkpoint folder: no server path
    assert checkpoint.is_file() and checkpoint.name in final["message"]
    assert not Path(final["checkpoint"]).is_absolute() and str(lab.checkpoint_dir) not in str(final)
    models = client.predict(api_name="/models")
    assert models["active"] == final["checkpoint"] == final["active_model"]
    assert final["checkpoint"] in [c["checkpoint"] for c in models["choices"]]
    assert "active model" in final["status_line"]
    assert checkpoint.name in str(lab.header())


def test_second_train_is_refused_classify_answers_and_stop_ends_the_run(served, tiny_tree):
    _, client, _ = served
    client.predict(*LONG_TRAIN.values(), api_name="/train")
    running = wait_for_steps(client)
    assert running["trainer_pid"] != os.getpid()  # the run trains in the trainer process, not the web server's
    assert Path(f"/proc/{running['trainer_pid']}/comm").read_text().strip() == "cifar-trainer"
    assert_well_formed(classify(client, sample_picture(tiny_tree)))  # classification answers while a job trains
    with pytest.raises(AppError, match="already in progress"):
        client.predict(*TRAIN.values(), api_name="/train")
    assert client.predict(api_name="/status")["run"] == running["run"], "the refused call started nothing"
    with pytest.raises(AppError, match="width must be none, or with fastnet a multiple of 4 from 16 to 512"):
        client.predict(*TRAIN.values(), 64, api_name="/train")  # lenet comes in one size
    assert "Stopping" in client.predict(api_name="/stop")
    final, _ = wait_until_done(client, timeout=300)
    assert final["state"] == "stopped"
    assert final["progress"]["step"] < final["progress"]["steps"]
    assert client.predict(api_name="/stop") == "No training run is in progress."


def test_classify_returns_top_classes_that_sum_to_one(served, tiny_tree):
    _, client, _ = served
    assert_well_formed(classify(client, sample_picture(tiny_tree)))


def test_classify_explains_a_file_that_is_not_a_picture_and_keeps_serving(served, tiny_tree, tmp_path):
    _, client, _ = served
    fake = tmp_path / "photo.jpg"
    fake.write_bytes(b"this is not a picture at all" * 20)
    label, seen, message = classify(client, fake)
    assert not label and seen is None and "not a picture" in message
    assert_well_formed(classify(client, sample_picture(tiny_tree)))


def test_browse_returns_a_grid_of_the_requested_size(served):
    lab, client, _ = served
    sizes = {}
    for count in (16, 32):
        grid, summary, offset = client.predict(0, count, "all classes", False, api_name="/browse")
        sizes[count] = Image.open(grid).size
        assert sizes[count] == lab.pictures.browse(0, count).grid.size
        assert "correct in this batch" in summary and offset == 0
    assert sizes[32][1] > sizes[16][1]
    grid, summary, _ = client.predict(3, 16, TINY_CLASSES[1], True, api_name="/browse")
    assert grid is not None or "No test pictures" in summary


def test_browse_wraps_around_and_refuses_an_unknown_class(served):
    _, client, _ = served
    total = len(TINY_CLASSES) * 12
    _, summary, offset = client.predict(total + 5, 16, "all classes", False, api_name="/browse")
    assert offset == 5 and f"of {total}" in summary
    grid, summary, _ = client.predict(0, 16, "unicorn", False, api_name="/browse")
    assert grid is None and "Unknown class 'unicorn'" in summary


def test_evaluate_returns_accuracy_and_charts(served):
    lab, client, _ = served
    accuracy, summary, per_class, confusion = client.predict(api_name="/evaluate")
    assert 0.0 <= accuracy <= 1.0
    assert f"{accuracy:.1%}" in summary and lab.shelf.active.path.name in summary
    for chart in (per_class, confusion):
        assert min(Image.open(chart).size) > 200


# Class names that are matplotlib maths markers: '$$' and '$x^$' made every chart's mathtext parser fail.
MATHS_NAMES = ["$$", "$x^$", "a_b^c"]  # in the sorted order of the tiny classes they rename


@pytest.fixture(scope="module")
def served_maths_names(tiny_tree, trained_checkpoint, tmp_path_factory):
    """The app on the tiny pictures with their classes renamed to maths markers, and a net that knows those names."""
    names = dict(zip(trained_checkpoint.classes, MATHS_NAMES))
    tree = tmp_path_factory.mktemp("maths-names") / "pictures"
    for split in ("train", "test"):
        for old, new in names.items():
            shutil.copytree(tiny_tree / split / old, tree / split / new)
    folder = tmp_path_factory.mktemp("maths-checkpoints")
    meta = {**trained_checkpoint.meta, "classes": MATHS_NAMES,
            "per_class": {names[c]: v for c, v in trained_checkpoint.meta.get("per_class", {}).items()}}
    save_checkpoint(folder / "maths.pt", trained_checkpoint.model, meta)
    lab = Lab(data_path=tree, checkpoint_dir=folder, download=False, device="cpu")
    app, url = start(lab)
    yield Client(url, verbose=False)
    app.close()


def live_figures() -> int:
    gc.collect()
    return sum(type(thing) is Figure for thing in gc.get_objects())


def test_evaluate_draws_classes_named_with_maths_markers_and_keeps_no_figure(served_maths_names, caplog):
    client = served_maths_names
    client.predict(api_name="/evaluate")  # the first call loads the data and fills matplotlib's caches
    before = live_figures()
    for _ in range(3):
        accuracy, summary, per_class, confusion = client.predict(api_name="/evaluate")
        assert 0.0 <= accuracy <= 1.0 and min(Image.open(per_class).size) > 200 and Image.open(confusion)
    assert live_figures() == before, "every chart's figure is let go once drawn"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], "nothing was refused or logged"


def test_a_chart_that_cannot_be_drawn_is_refused_in_one_sentence_and_one_log_line(caplog):
    def broken() -> Figure:
        figure = per_class_figure([0.5], ["cat"])
        figure.axes[0].text(0, 0, "$$", parse_math=True)  # the failure every chart had with a class named '$$'
        return figure

    with caplog.at_level(logging.WARNING, logger="cifar_demo"), pytest.raises(gr.Error) as caught:
        render("evaluate", broken)
    assert_reads_as_a_sentence(caught.value.message)
    assert caught.value.message.startswith("The chart could not be drawn") and "\n" not in caught.value.message
    assert [r.getMessage() for r in caplog.records] == [f"refused evaluate: {caught.value.message}"]
    assert not caught.value.print_exception, "no traceback in the server's log"


def test_compare_runs_answers_through_the_api_for_any_listed_run(served):
    _, client, _ = served
    listed = [choice["checkpoint"] for choice in client.predict(api_name="/models")["choices"]]
    chart = Image.open(client.predict(listed, api_name="/compare_runs"))
    empty = Image.open(client.predict([], api_name="/compare_runs"))
    assert chart.size == empty.size and chart.tobytes() != empty.tobytes(), "the listed runs' curves are drawn"
    with pytest.raises(AppError, match="list of checkpoint names"):
        client.predict("tiny.pt", api_name="/compare_runs")


def test_select_model_switches_every_tab_and_refuses_unknown_paths(served):
    lab, client, _ = served
    choices = client.predict(api_name="/models")["choices"]
    assert len(choices) >= 2
    for choice in choices:
        header = client.predict(choice["checkpoint"], api_name="/select_model")
        assert Path(choice["checkpoint"]).name in header
        assert client.predict(api_name="/models")["active"] == choice["checkpoint"] == lab.shelf.active_key
    with pytest.raises(AppError, match="No model"):
        client.predict("/nowhere/x.pt", api_name="/select_model")


# ---------------------------------------------------------------- no data, login required


def test_without_data_the_page_serves_behind_its_login(served_without_data):
    _, _, url = served_without_data
    assert httpx.get(url).status_code == 200  # the login page
    assert httpx.get(url + "config").status_code == 401
    assert httpx.post(url + "gradio_api/call/status", json={"data": []}).status_code == 401
    with pytest.raises(AuthenticationError):
        Client(url, verbose=False)
    assert httpx.post(url + "login", data={"username": AUTH[0], "password": "wrong"}).status_code != 200
    assert httpx.post(url + "login", data={"username": AUTH[0], "password": AUTH[1]}).status_code == 200


def test_without_data_classify_still_answers(served_without_data, tiny_tree):
    lab, client, _ = served_without_data
    assert lab.shelf.active is not None and lab.shelf.active.path.name == "shipped.pt"
    label, _, message = classify(client, sample_picture(tiny_tree))
    assert len(label["confidences"]) == len(TINY_CLASSES) and message == ""


def test_without_data_browse_evaluate_and_train_give_the_friendly_paragraph(served_without_data):
    _, client, _ = served_without_data
    grid, summary, _ = client.predict(0, 16, "all classes", False, api_name="/browse")
    assert grid is None and "--data" in summary and "internet" in summary
    accuracy, summary, per_class, _ = client.predict(api_name="/evaluate")
    assert accuracy is None and per_class is None and "--data" in summary
    client.predict(*TRAIN.values(), api_name="/train")
    final, _ = wait_until_done(client, timeout=300)
    assert final["state"] == "failed" and "--data" in final["message"]
    assert final["status_line"].startswith("Training failed.")


# ---------------------------------------------------------------- words and options


def test_status_line_reads_like_the_issue_says():
    status = {"state": "running", "message": "training", "run": "r",
              "progress": {"epoch": 3, "epochs": 10, "step": 1200, "steps": 3910, "images_per_second": 4321.0,
                           "eta_seconds": 80.2},
              "history": {"steps": [], "epochs": [{"test_accuracy": 0.65}, {"test_accuracy": 0.712}]},
              "checkpoint": None}
    assert status_line(status) == "epoch 3/10 · step 1,200/3,910 · 4,321 img/s · ETA 1:20 · best 71.2%"
    loading = {**status, "message": "loading data", "progress": {"step": 0}}
    assert status_line(loading) == "r: loading data…"
    finished = {**status, "state": "finished", "result": {"test_accuracy": 0.579}, "checkpoint": "/x/runs/lenet-1.pt"}
    assert status_line(finished, "/x/runs/lenet-1.pt") == (
        "Finished · test accuracy 57.9% · saved as lenet-1.pt · now the active model in every tab")
    assert status_line({**finished, "state": "stopped"}, "/x/fastnet.pt") == (
        "Stopped · test accuracy 57.9% · saved as lenet-1.pt")
    early = {**finished, "state": "stopped", "checkpoint": None, "message": "stopped before the first step"}
    assert status_line(early) == "Stopped before the first step"


def test_a_page_is_sent_each_line_once_and_not_what_it_was_built_showing(served):
    """The page's load and its first timer tick run together, before either answers: a line sent by both could land
    after another answer to it (Stop's) and write over it."""
    lab, _, _ = served
    app = build_app(lab)
    refresh = next(f for f in app.fns.values() if f.name == "refresh")
    last = copy.deepcopy(refresh.inputs[0].value)  # the page's own state, copied per page as gradio does
    first, second = refresh.fn(last, None), refresh.fn(last, None)
    assert first[:2] == (gr.skip(), gr.skip()), "the page was built showing this header and this model list"
    assert first[-1] != gr.skip(), "the runs are not built into the page: its first refresh sends them"
    assert all(line == gr.skip() for line in second), "every line went to the page once"


def test_auth_parsing():
    assert parse_auth("teacher:s3cret:pass") == AUTH
    assert parse_auth(None) is None
    for bad in ("teacher", ":pw", "teacher:"):
        with pytest.raises(ValueError, match="USER:PASSWORD"):
            parse_auth(bad)


def test_start_up_warns_when_the_page_is_open_to_the_network(capsys):
    for this_machine_only in ("127.0.0.1", "127.0.1.1", "::1", "localhost"):  # as the Join panel says of them
        assert exposure_warning(this_machine_only, None) is None
        assert join_address(this_machine_only, 7860, "/").reach == Reach.THIS_COMPUTER_ONLY
    assert "--auth" in exposure_warning("0.0.0.0", None)
    assert "login page" in exposure_warning("0.0.0.0", AUTH)
    assert main(["--auth", "no-colon-here"]) == 2
    assert "USER:PASSWORD" in capsys.readouterr().err


def test_inside_the_net_endpoints_answer_for_each_net_and_the_active_model(served, tiny_tree):
    lab, client, _ = served
    lenet = client.predict("lenet", api_name="/layer_shapes")
    assert [row["output"] for row in lenet if row["type"] in ("Conv2d", "MaxPool2d")] == [
        [6, 28, 28], [6, 14, 14], [16, 10, 10], [16, 5, 5]]
    for net in ("smallcnn", "fastnet", "resnet", ""):  # "" is the active model
        rows = client.predict(net, api_name="/layer_shapes")
        assert rows[-1]["output"] == [len(lab.shelf.active.classes) if net == "" else 10]
        assert Image.open(client.predict(net, api_name="/filters")).width > 100
    picture = handle_file(str(sample_picture(tiny_tree)))
    stages = client.predict(picture, api_name="/feature_maps")
    assert len(stages) >= 2 and all(Path(stage["image"]).is_file() for stage in stages)
    overlay, message = client.predict(picture, TINY_CLASSES[1], api_name="/gradcam")
    assert Image.open(overlay).size[0] >= 32 and TINY_CLASSES[1] in message


# ---------------------------------------------------------------- reliability: awkward files, big uploads, two at once


@pytest.fixture(scope="module")
def memory_before_corpus(served) -> int | None:
    """The server's resident memory before the first awkward file reaches it (Linux only)."""
    return resident_memory() if MEASURES_MEMORY else None


def classify_or_refusal(client: Client, picture: Path) -> tuple | str:
    """The answer, or the refusal's words whether they come in the message box or as an error pop-up."""
    try:
        label, seen, message = classify(client, picture)
    except AppError as error:
        return str(error)
    if message:
        assert not label and seen is None, "a refusal shows no half answer"
        return message
    return label, seen, message


@pytest.mark.parametrize("name", list(CORPUS))
def test_every_awkward_file_gets_an_answer_or_a_clear_message_and_the_server_goes_on(
        served, tiny_tree, memory_before_corpus, corpus, name):
    _, client, _ = served
    path, expect = corpus[name]
    with peak_memory_growth() if MEASURES_MEMORY else nullcontext() as peak:
        outcome = classify_or_refusal(client, path)
    if expect == ANSWER:
        assert not isinstance(outcome, str), f"{name} was refused: {outcome}"
        assert_well_formed(outcome)
    else:
        assert isinstance(outcome, str), f"{name} should be refused ({expect}) but got an answer"
        assert_reads_as_a_sentence(outcome)
        assert expect in outcome.lower()
    assert_well_formed(classify(client, sample_picture(tiny_tree)))
    if MEASURES_MEMORY:
        assert peak[0] < MEMORY_BOUND, f"{name}: the server's peak memory grew by {peak[0] / MB:.0f} MB"
        grown = resident_memory() - memory_before_corpus
        assert grown < MEMORY_BOUND, f"after {name} the server holds {grown / MB:.0f} MB more than before the corpus"


def test_an_upload_over_20_mb_is_refused_with_a_clear_message(served, tiny_tree, tmp_path):
    _, client, url = served
    too_big = tmp_path / "holiday.jpg"
    with open(too_big, "wb") as f:
        f.truncate(MAX_UPLOAD_BYTES + 5 * MB)
    with pytest.raises(ValueError, match=f"exceeds the maximum file size of {MAX_UPLOAD_BYTES} bytes"):
        classify(client, too_big)  # gradio_client checks the limit the server announces before it sends anything
    with open(too_big, "rb") as f:  # a caller that sends it anyway
        refused = httpx.post(url + "gradio_api/upload", files={"files": (too_big.name, f)})
    assert refused.status_code == 413
    assert_reads_as_a_sentence(refused.text)
    assert "maximum allowed size" in refused.text
    assert_well_formed(classify(client, sample_picture(tiny_tree)))


def test_two_clients_training_at_the_same_moment_start_exactly_one_job(served):
    lab, _, url = served
    clients = [Client(url, verbose=False) for _ in range(2)]
    together = threading.Barrier(len(clients))
    before = set(lab.runs_dir.glob("*.pt"))

    def train(client: Client) -> str | AppError:
        together.wait()
        try:
            return client.predict(*LONG_TRAIN.values(), api_name="/train")
        except AppError as error:
            return error

    with ThreadPoolExecutor(len(clients)) as pool:
        outcomes = list(pool.map(train, clients))
    started = [o for o in outcomes if isinstance(o, str)]
    refused = [o for o in outcomes if isinstance(o, AppError)]
    assert len(started) == 1 and len(refused) == 1, outcomes
    assert "already in progress" in str(refused[0])
    assert_reads_as_a_sentence(str(refused[0]))
    running = wait_for_steps(clients[1])
    assert running["run"] in started[0] or started[0].startswith("epoch 1/")
    assert "Stopping" in clients[1].predict(api_name="/stop")
    final, _ = wait_until_done(clients[0])
    assert final["state"] == "stopped" and final["run"] == running["run"]
    new = set(lab.runs_dir.glob("*.pt")) - before
    assert [path.stem for path in new] == [running["run"]], "exactly one job ran, and it saved what it learnt"


def test_each_client_reads_the_server_words_in_its_own_language_and_the_api_keeps_class_names(served, tiny_tree):
    """Two callers on one server at once, one asking for Korean: each its own words; /classify's names as stored."""
    _, english, url = served
    korean = Client(url, verbose=False, headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    assert english.predict(api_name="/stop") == words.text("status.no_run", "en")
    assert korean.predict(api_name="/stop") == words.text("status.no_run", "ko")
    _, summary, _ = korean.predict(0, 16, "no such class", False, api_name="/browse")
    assert summary.startswith("'no such class'(이)라는 클래스는 없습니다")
    with pytest.raises(AppError, match="목록에서 신경망을 고르거나"):
        korean.predict(None, api_name="/layer_shapes")
    top, _, _ = korean.predict(handle_file(next((tiny_tree / "test" / "circle").iterdir())), api_name="/classify")
    assert {c["label"] for c in top["confidences"]} <= set(TINY_CLASSES)
    korean.close()
