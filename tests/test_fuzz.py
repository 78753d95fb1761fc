"""Hostile input on every named endpoint of the real app, started as a subprocess on the tiny picture tree.

Most calls go in as raw HTTP (POST /gradio_api/call/<name>, then the event stream), the way any script on the
network can send them: gradio_client checks types itself and would hide the hostile cases. Some go through
gradio_client, which takes the other route in (/gradio_api/queue/join).

For every call: an answer or a clear error within CALL_TIMEOUT (no hang, no dropped connection, no HTTP 5xx); a
server path outside Gradio's upload folder is never read, shown back or hinted at (a missing and an existing file
get the same words); no answer or log line quotes more than QUOTE_LIMIT characters of a huge input; no exception
escapes the app's own code. After every example the server still lives and a normal /classify still answers.
Over the run the log grows by at most LOG_BYTES_PER_REJECTED per rejected request on average.

The app runs from a copy of app.py and cifar_demo/ in a temporary folder, with the shipped checkpoints linked in,
so the checkpoints that training writes land there and not in this tree's checkpoints/runs/.
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from hypothesis import HealthCheck, Phase, example, given, settings, strategies as st
from PIL import Image

from app_copy import copy_of_the_app
from cifar_demo.collection import PIXELS_PER_ADD
from cifar_demo.images import MAX_WHOLE_DECODE_PIXELS
from cifar_demo.network import free_port
from cifar_demo.serving import MAX_BODY_BYTES, MAX_FILE_REFERENCES, MAX_FILES_PER_REQUEST
from conftest import TINY_CLASSES

CALL_TIMEOUT = 20.0          # seconds for one answer; longer counts as a hang
START_TIMEOUT = 180.0        # importing torch takes 5-60 s on these machines
STOP_TIMEOUT = 60.0          # for a stopped job to leave 'running'
FUZZ_BUDGET = 60.0           # seconds of fuzzing; later examples send nothing
MAX_EXAMPLES = 80
LOG_BYTES_PER_REJECTED = 1024
QUOTE_LIMIT = 80             # characters of a huge input that an answer or a log line may repeat
MESSAGE_LIMIT = 1000         # characters of the words refusing a huge input
HUGE_SIZES = (2_000, 100_000, 1_000_000)
HUGE_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/ "  # the same in JSON and repr
MAX_PERIOD = 8               # a huge input repeats a unit of at most this many characters
CPU_SECONDS = 1.0            # server CPU for the worst request an endpoint accepts: 50 MP to decode take ~0.6 s here
NETS = ["lenet", "smallcnn", "fastnet", "resnet"]
FILE_DATA_META = {"_type": "gradio.FileData"}
NAN, INF = float("nan"), float("inf")
SPECIAL_NUMBERS = [0, 1, -1, -0.0, 0.5, 2**31, 2**63, 2**70, -2**70, 1e30, -1e30, 1e-300, NAN, INF, -INF]
SPECIAL_STRINGS = ["", " ", "NaN", "Infinity", "-Infinity", "-0", "1e999", "0x10", "unicorn", "running",
                   "all classes", "/etc/passwd", "../../../../etc/passwd", "%s%s%n", "{}", "\x00", "\u202e",
                   "<script>alert(1)</script>", "lenet\n"]


# ---------------------------------------------------------------- the server


@dataclass(frozen=True)
class Known:
    """Names on the server's disk that the fuzzer aims at."""
    uploaded: str           # a tiny picture uploaded the normal way: inside the upload folder
    outside_png: str        # a real PNG on the server's disk, outside the upload folder
    traversal: str          # the same PNG, reached from the upload folder with '..'
    missing: str            # no such file
    fifo: str               # a named pipe: open() for reading blocks until a writer comes
    checkpoints: tuple      # the paths /models lists

    def outside(self) -> dict[str, str]:
        """Every server path outside the upload folder, by what it is."""
        return {"missing file": self.missing, "/etc/passwd": "/etc/passwd", "/etc/hostname": "/etc/hostname",
                "a folder": "/etc", "a FIFO": self.fifo, "/dev/zero": "/dev/zero",
                "/proc/self/environ": "/proc/self/environ", "a real PNG outside": self.outside_png,
                "the real PNG through '..'": self.traversal}


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path
    app_folder: Path
    upload_folder: Path
    picture: Path           # a tiny test picture on this machine, for the normal /classify
    known: Known | None = None
    client: Client | None = None
    info: dict = field(default_factory=dict)

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_size(self) -> int:
        return self.log.stat().st_size

    def log_since(self, offset: int) -> str:
        with open(self.log, "rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", "replace")


def start_app(app_folder: Path, tree: Path, upload_folder: Path, log: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "GRADIO_TEMP_DIR": str(upload_folder), "PYTHONUNBUFFERED": "1",
           "GRADIO_ANALYTICS_ENABLED": "False"}
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "app.py", "--data", str(tree), "--port", str(port),
                                 "--host", "127.0.0.1"], cwd=app_folder, env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def wait_until_answering(server: Server) -> dict:
    """The app's /gradio_api/info, once it answers."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if not server.alive():
            raise AssertionError(f"the app exited ({server.process.returncode}):\n{server.log_since(0)[-3000:]}")
        try:
            info = httpx.get(server.url + "gradio_api/info", timeout=5)
            if info.status_code == 200:
                return info.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"the app did not answer within {START_TIMEOUT:.0f} s:\n{server.log_since(0)[-3000:]}")


def upload(server: Server, picture: Path) -> str:
    """The server-side path of a picture uploaded the way the page uploads it."""
    with open(picture, "rb") as f:
        answer = httpx.post(server.url + "gradio_api/upload", files={"files": (picture.name, f, "image/png")},
                            timeout=CALL_TIMEOUT)
    answer.raise_for_status()
    return answer.json()[0]


def make_known(server: Server, folder: Path) -> Known:
    folder.mkdir()
    outside_png = folder / "server-secret.png"
    shutil.copy(server.picture, outside_png)  # a real picture a net would classify happily
    fifo = folder / "pipe.png"
    os.mkfifo(fifo)
    traversal = os.path.join(server.upload_folder, os.path.relpath(outside_png, server.upload_folder))
    models = call(server, "models", [])
    assert models.kind == "complete", f"/models does not answer: {models}"
    checkpoints = tuple(choice["checkpoint"] for choice in models.outputs[0]["choices"])
    return Known(upload(server, server.picture), str(outside_png), traversal, str(folder / "no-such-file.png"),
                 str(fifo), checkpoints)


def release_fifo(path: str) -> None:
    """Open the pipe for writing and close it: a server thread blocked opening it reads an empty file and goes on."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass  # nobody is reading it


def stop_app(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


@pytest.fixture(scope="module")
def server(tiny_tree, tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    app_folder = copy_of_the_app(root / "app")
    upload_folder = root / "uploads"
    port = free_port()
    process = start_app(app_folder, tiny_tree, upload_folder, root / "server.log", port)
    server = Server(f"http://127.0.0.1:{port}/", process, root / "server.log", app_folder, upload_folder,
                    next((tiny_tree / "test" / TINY_CLASSES[0]).glob("*.png")))
    try:
        server.info = wait_until_answering(server)
        server.known = make_known(server, root / "outside")
        server.client = Client(server.url, verbose=False)
        yield server
    finally:
        if server.known:
            release_fifo(server.known.fifo)
        stop_app(process)


# ---------------------------------------------------------------- calls and answers


@dataclass
class Answer:
    kind: str               # 'complete', 'error', 'http <status>', 'hang', 'dropped', or 'not sent' (client's check)
    outputs: object = None  # a complete's outputs, an error's message, an HTTP refusal's body
    text: str = ""          # everything the server sent back

    def words(self) -> str:
        """What a person would read: the error, or the plain strings among the outputs."""
        if self.kind == "complete" and isinstance(self.outputs, list):
            return " | ".join(o for o in self.outputs if isinstance(o, str))
        return self.outputs if isinstance(self.outputs, str) else ""

    def __repr__(self) -> str:
        return f"Answer({self.kind}: {abbreviate(self.outputs)})"


def abbreviate(value, limit: int = 300):
    """A value fit to print: long strings cut down to their length and first characters."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def parse_events(lines: list[str]) -> Answer:
    text = "\n".join(lines)
    event = None
    for line in lines:
        if line.startswith("event:"):
            event = line[len("event:"):].strip()
        elif line.startswith("data:") and event in ("complete", "error"):
            data = json.loads(line[len("data:"):])
            if event == "error":
                data = data.get("error") if isinstance(data, dict) else data
            return Answer(event, data, text)
    return Answer("dropped", f"the event stream ended without an answer: {text[-300:]!r}", text)


def read_events(http: httpx.Client, url: str, deadline: float) -> Answer:
    """The event stream read on a thread, so that heartbeats cannot stretch a hang past the deadline."""
    lines: list[str] = []
    failed: list[Exception] = []

    def read():
        try:
            with http.stream("GET", url) as response:
                for line in response.iter_lines():
                    lines.append(line)
        except Exception as error:  # noqa: BLE001 - reported below
            failed.append(error)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(max(0.0, deadline - time.monotonic()))
    if reader.is_alive():
        return Answer("hang", f"no answer within {CALL_TIMEOUT:.0f} s", "\n".join(lines))
    answer = parse_events(lines)
    if answer.kind == "dropped" and failed:
        answer.outputs = f"{answer.outputs} ({failed[0]!r})"
    return answer


def post(server: Server, name: str, body: str) -> Answer:
    """POST /gradio_api/call/<name> with a raw body, then the answer from its event stream."""
    deadline = time.monotonic() + CALL_TIMEOUT
    http = httpx.Client(timeout=CALL_TIMEOUT)
    try:
        posted = http.post(f"{server.url}gradio_api/call/{name}", content=body.encode("utf-8", "surrogatepass"),
                           headers={"content-type": "application/json"})
        if posted.status_code != 200:
            return Answer(f"http {posted.status_code}", posted.text, posted.text)
        event_id = posted.json()["event_id"]
        return read_events(http, f"{server.url}gradio_api/call/{name}/{event_id}", deadline)
    except httpx.TimeoutException:
        return Answer("hang", f"no answer within {CALL_TIMEOUT:.0f} s")
    except httpx.TransportError as error:
        return Answer("dropped", repr(error))
    finally:
        http.close()


def call(server: Server, name: str, arguments: list) -> Answer:
    return post(server, name, json.dumps({"data": arguments}))


def call_with_client(server: Server, name: str, arguments: list) -> Answer:
    try:
        job = server.client.submit(*arguments, api_name=f"/{name}")
    except Exception as error:  # noqa: BLE001 - gradio_client's own checks: nothing reached the server
        return Answer("not sent", repr(error))
    try:
        outputs = job.result(timeout=CALL_TIMEOUT)
    except TimeoutError:
        return Answer("hang", f"no answer within {CALL_TIMEOUT:.0f} s")
    except AppError as error:
        return Answer("error", str(error), str(error))
    except (httpx.TransportError, ConnectionError) as error:
        return Answer("dropped", repr(error))
    except Exception as error:  # noqa: BLE001 - the client failed on its side (e.g. it could not encode a value)
        return Answer("not sent", repr(error))
    outputs = list(outputs) if isinstance(outputs, tuple) else [outputs]
    return Answer("complete", outputs, json.dumps(outputs, default=str))


# ---------------------------------------------------------------- the endpoints


def bare(path) -> dict:
    return {"path": path}


def file_data(path) -> dict:
    return {"path": path, "meta": dict(FILE_DATA_META)}


PICTURE_SHAPES = {"{'path': P}": bare, "{'path': P, 'meta': FileData}": file_data}


@dataclass(frozen=True)
class Endpoint:
    """Plausible values for each parameter, and how a 'complete' answer says no."""
    params: tuple = ()
    picture: int | None = None          # the index of the picture parameter
    refused: Callable[[list], bool] = lambda outputs: False
    shows: Callable[[list], bool] = lambda outputs: False   # a picture endpoint's answer shows a result
    trains: bool = False


def message_without_result(outputs: list) -> bool:
    return not outputs[0] and bool(outputs[-1])


def endpoints(known: Known) -> dict[str, Endpoint]:
    picture = st.just(file_data(known.uploaded))
    net_or_active = st.sampled_from(["", *NETS])
    class_name = st.sampled_from(["", *TINY_CLASSES, "cat"])
    checkpoint = st.sampled_from(known.checkpoints or ("",))
    return {
        "train": Endpoint((st.sampled_from(NETS), st.integers(1, 3), st.sampled_from([8, 16, 64]),
                           st.floats(0.001, 0.1), st.sampled_from(["sgd", "adam", "muon"]), st.booleans(),
                           st.integers(0, 100), st.sampled_from([None, 16, 64, 66, 0, 10**12]),
                           st.sampled_from([None, 0, 0.05, -1, 1e999, 10**9])), trains=True),
        "stop": Endpoint(),
        "status": Endpoint(),
        "browse": Endpoint((st.integers(-100, 10**6), st.sampled_from([16, 32, 64]),
                            st.sampled_from(["all classes", *TINY_CLASSES, "cat"]), st.booleans()),
                           refused=lambda outputs: outputs[0] is None),
        "classify": Endpoint((picture,), picture=0, refused=message_without_result,
                             shows=lambda outputs: bool(outputs[0]) or outputs[1] is not None),
        "evaluate": Endpoint(refused=lambda outputs: outputs[0] is None),
        "select_model": Endpoint((checkpoint,)),
        "models": Endpoint(),
        "compare_runs": Endpoint((st.lists(st.sampled_from([*known.checkpoints, "running"]), max_size=3),)),
        "layer_shapes": Endpoint((net_or_active,)),
        "filters": Endpoint((net_or_active,)),
        "feature_maps": Endpoint((picture,), picture=0, shows=lambda outputs: bool(outputs[0])),
        "gradcam": Endpoint((picture, class_name), picture=0, refused=message_without_result,
                            shows=lambda outputs: outputs[0] is not None),
        "share": Endpoint((picture, st.sampled_from(["don't know", *TINY_CLASSES, "cat"])), picture=0),
        "wall": Endpoint(),
        "wall_hide": Endpoint((st.integers(-5, 10**6),)),
        "wall_clear": Endpoint(),
        "wall_download": Endpoint(),
        "your_classes": Endpoint(),
        "your_classes_add_class": Endpoint((st.sampled_from(["mug", " MUG ", "pen", "", ".hidden", "a/b"]),)),
        "your_classes_add_pictures": Endpoint((st.sampled_from(["mug", "pen", "nope", ""]),
                                               st.lists(picture, max_size=3))),
        "your_classes_remove_picture": Endpoint((st.sampled_from(["p1", "p2", "p999", ""]),)),
        "your_classes_remove_class": Endpoint((st.sampled_from(["mug", "pen", "nope"]),)),
        "your_classes_train": Endpoint((st.sampled_from(["head", "all", "some"]),), trains=True),
        "your_classes_zip": Endpoint(),
        "your_classes_model": Endpoint(),
        "lesson_list": Endpoint(),
        "lesson_new": Endpoint(),
        "lesson_restore": Endpoint((st.integers(-5, 10**6),)),
        "lesson_download": Endpoint(),
        "lesson_import": Endpoint((picture,), picture=0),
        "challenge_open": Endpoint((st.sampled_from([1, 2]), st.sampled_from(["seconds", "epochs"]),
                                    st.sampled_from([["lenet"], ["lenet", "smallcnn"]]))),
        "challenge_close": Endpoint(),
        "challenge_end": Endpoint(),
        "challenge_activate_winner": Endpoint(),
        "challenge_submit": Endpoint((st.sampled_from(["ada", "", "<b>bo</b>", "x" * 40]), st.sampled_from(NETS),
                                      st.sampled_from([None, 1, 2]), st.sampled_from([None, 16]),
                                      st.sampled_from([None, 0.05]), st.sampled_from([None, "sgd", "adam", "muon"]),
                                      st.sampled_from([None, True]), st.sampled_from([None, 0, 7]))),
        "challenge_cancel": Endpoint((st.integers(-5, 50),)),
        "challenge_board": Endpoint(),
        "challenge_queue": Endpoint(),
    }


def refused(answer: Answer, endpoint: Endpoint) -> bool:
    if answer.kind == "complete":
        return isinstance(answer.outputs, list) and bool(answer.outputs) and endpoint.refused(answer.outputs)
    return answer.kind == "error" or answer.kind.startswith("http 4")


# ---------------------------------------------------------------- what must hold


def huge_inputs(value) -> list[str]:
    """The huge strings inside an argument list."""
    if isinstance(value, str):
        return [value] if len(value) > 1000 else []
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [huge for item in value for huge in huge_inputs(item)]
    return []


def quotes(text: str, huge: str) -> bool:
    """Whether `text` repeats more than QUOTE_LIMIT characters of `huge` (periodic, so a few windows cover it)."""
    return any(huge[start:start + QUOTE_LIMIT + 1] in text for start in range(MAX_PERIOD))


def app_exceptions(log: str, app_folder: Path) -> list[str]:
    """Exceptions other than gr.Error whose innermost frame lies in the app's own code (app.py, cifar_demo/)."""
    found = []
    for block in log.split("Traceback (most recent call last):")[1:]:
        frames = re.findall(r'^  File "([^"]+)", line (\d+), in (\S+)', block, flags=re.M)
        ending = [line for line in block.splitlines() if line and not line.startswith(" ")]
        if not frames or not ending:
            continue
        file, line, function = frames[-1]
        raised = ending[0][:200]
        if file.startswith(str(app_folder)) and not raised.startswith("gradio.exceptions.Error"):
            found.append(f"{raised} (at {Path(file).relative_to(app_folder)}:{line} in {function})")
    return found


def server_secrets(server: Server) -> list[str]:
    """Text of server files that must never come back in an answer."""
    secrets = ["GRADIO_TEMP_DIR="]  # in the server's /proc/self/environ
    with open("/etc/passwd") as passwd:
        secrets.append(passwd.readline().strip())
    return [s for s in secrets if len(s) >= 8]


def answer_problems(server: Server, name: str, arguments: list, answer: Answer, log: str) -> list[str]:
    """What is wrong with one answer, and with what the server logged while giving it."""
    problems = []
    if answer.kind in ("hang", "dropped") or answer.kind.startswith("http 5"):
        problems.append(f"{answer.kind}: {abbreviate(answer.outputs)}")
    if answer.kind == "error" and not (isinstance(answer.outputs, str) and answer.outputs.strip()):
        problems.append(f"an error without a message: {answer!r}")
    if huge_inputs(arguments) and len(answer.words()) > MESSAGE_LIMIT:
        problems.append(f"the words for a huge input run to {len(answer.words()):,} characters, over {MESSAGE_LIMIT}")
    for huge in huge_inputs(arguments):
        if quotes(answer.text, huge):
            problems.append(f"the answer quotes more than {QUOTE_LIMIT} characters of a {len(huge):,}-character "
                            f"input ({len(answer.text):,} characters back): {abbreviate(answer.text, 200)}")
        if quotes(log, huge):
            problems.append(f"the server log quotes more than {QUOTE_LIMIT} characters of a {len(huge):,}-character "
                            f"input (the log grew {len(log):,} characters)")
    for secret in server_secrets(server):
        if secret in answer.text:
            problems.append(f"the answer contains server file text {secret!r}")
    problems += [f"an exception escaped the app's code: {e}" for e in app_exceptions(log, server.app_folder)]
    return problems


def well_formed_problems(outputs) -> list[str]:
    """A normal /classify answer: a label with its confidences, most likely first, the picture seen, no message."""
    if not (isinstance(outputs, (list, tuple)) and len(outputs) == 3):
        return [f"a normal /classify gave no (label, picture, message): {abbreviate(outputs)}"]
    label, seen, message = outputs
    confidences = label.get("confidences") if isinstance(label, dict) else None
    if not confidences:
        return [f"a normal /classify gave no label: {abbreviate(outputs)}"]
    probabilities = [c.get("confidence") for c in confidences]
    if not all(isinstance(p, float) and 0.0 <= p <= 1.0 for p in probabilities):
        return [f"a normal /classify gave odd confidences: {probabilities}"]
    problems = []
    if probabilities != sorted(probabilities, reverse=True) or sum(probabilities) > 1 + 1e-4:
        problems.append(f"a normal /classify's confidences are not sorted probabilities: {probabilities}")
    if label.get("label") != confidences[0].get("label"):
        problems.append(f"a normal /classify's label is not its most likely class: {abbreviate(label)}")
    if message or not seen or min(Image.open(seen).size) < 32:
        problems.append(f"a normal /classify gave a message or no picture seen: {abbreviate(outputs)}")
    return problems


def health_problems(server: Server) -> list[str]:
    """The server still lives and a normal /classify of a real tiny picture still answers well."""
    if not server.alive():
        return [f"the server died (exit status {server.process.returncode}):\n{server.log_since(0)[-2000:]}"]
    try:
        outputs = server.client.submit(handle_file(str(server.picture)), api_name="/classify").result(
            timeout=CALL_TIMEOUT)
    except TimeoutError:
        return [f"a normal /classify got no answer within {CALL_TIMEOUT:.0f} s afterwards"]
    except Exception as error:  # noqa: BLE001 - any failure of the normal call is the finding
        return [f"a normal /classify failed afterwards: {error!r}"]
    return well_formed_problems(outputs)


def stop_training(server: Server) -> list[str]:
    """Stop whatever a call started, and wait until the job has left 'running'."""
    call(server, "stop", [])
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        status = call(server, "status", [])
        if status.kind != "complete":
            return [f"/status failed while a job stopped: {status!r}"]
        if status.outputs[0].get("state") != "running":
            return []
        time.sleep(0.2)
    return [f"a stopped job was still running after {STOP_TIMEOUT:.0f} s"]


# ---------------------------------------------------------------- the endpoints are all covered


def test_every_named_endpoint_is_fuzzed(server):
    named = {name.lstrip("/") for name in server.info["named_endpoints"]}
    fuzzed = set(endpoints(server.known))
    assert named <= fuzzed, f"endpoints without a fuzzer: {sorted(named - fuzzed)}; add them to endpoints()"
    assert fuzzed <= named, f"fuzzed endpoints the app no longer has: {sorted(fuzzed - named)}"
    declared = {name.lstrip("/"): len(spec["parameters"]) for name, spec in server.info["named_endpoints"].items()}
    for name, endpoint in endpoints(server.known).items():
        assert len(endpoint.params) == declared[name], f"/{name} takes {declared[name]} parameters"


# ---------------------------------------------------------------- server paths


PICTURE_ARGUMENTS = {"classify": lambda picture: [picture], "feature_maps": lambda picture: [picture],
                     "gradcam": lambda picture: [picture, ""]}


def twin(path: str) -> str:
    """A path of the same length that does not exist, differing in its last character."""
    for char in "QXZ":
        candidate = path[:-1] + char
        if char != path[-1] and not os.path.lexists(candidate):
            return candidate
    raise AssertionError(f"no missing twin for {path}")


def same_words(said: str, expected: str, path: str, missing: str) -> bool:
    """Equal, but where a quoted path and its missing twin differ (so a message cut at a fixed length compares)."""
    return len(said) == len(expected) and all(
        x == y or (x, y) == (path[-1], missing[-1]) for x, y in zip(said, expected))


def path_problems(server: Server, name: str, path: str, answer: Answer, reference: Answer, missing: str) -> list[str]:
    """A server path outside the upload folder: not read, not shown back, and refused in a missing file's words."""
    endpoint = endpoints(server.known)[name]
    problems = []
    if answer.kind not in ("complete", "error"):
        problems.append(f"{answer.kind}: {abbreviate(answer.outputs)}")
    if answer.kind == "complete" and endpoint.shows(answer.outputs):
        problems.append(f"the file was read and a result shown back: {abbreviate(answer.outputs, 200)}")
    if answer.kind in ("complete", "error") and not (
            answer.kind == reference.kind and same_words(answer.words(), reference.words(), path, missing)):
        problems.append(f"answers {answer.kind} {answer.words()!r}, but the missing {missing} gets "
                        f"{reference.kind} {reference.words()!r}: the answer tells the file is there")
    for secret in server_secrets(server):
        if secret in answer.text:
            problems.append(f"the answer contains the file's text {secret!r}")
    return problems


@pytest.mark.parametrize("name", sorted(PICTURE_ARGUMENTS))
def test_a_server_path_outside_the_upload_folder_is_refused_without_a_hint(server, name):
    known, arguments = server.known, PICTURE_ARGUMENTS[name]
    endpoint = endpoints(known)[name]
    normal = call(server, name, arguments(file_data(known.uploaded)))
    assert normal.kind == "complete" and endpoint.shows(normal.outputs), f"/{name} refused an upload: {normal!r}"
    problems = []
    for shape_name, shape in PICTURE_SHAPES.items():
        for what, path in known.outside().items():
            missing = twin(path)
            reference = call(server, name, arguments(shape(missing)))
            before = server.log_size()
            answer = call(server, name, arguments(shape(path)))
            if answer.kind == "hang":
                release_fifo(known.fifo)
            found = path_problems(server, name, path, answer, reference, missing)
            found += answer_problems(server, name, [], answer, server.log_since(before))
            problems += [f"/{name} {shape_name} with {what} ({path}): {p}" for p in dict.fromkeys(found)]
    problems += health_problems(server)
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- the fuzz


@dataclass
class Case:
    name: str
    arguments: list
    body: str = "list"        # 'list' ({"data": [...]}), 'dict', 'null', 'no data' or 'not json'
    transport: str = "http"   # 'http' (raw) or 'client' (gradio_client)

    def raw_body(self) -> str:
        data = {"list": self.arguments, "dict": dict(enumerate(self.arguments)), "null": None}
        if self.body == "no data":
            return json.dumps({"arguments": self.arguments})
        if self.body == "not json":
            return json.dumps({"data": self.arguments})[:-2]
        return json.dumps({"data": data[self.body]})

    def __repr__(self) -> str:
        return f"Case(/{self.name} {abbreviate(self.arguments)} body={self.body} via {self.transport})"


class Huge(str):
    """A huge input string that prints as its length and first characters (in Hypothesis's reports too)."""

    def __repr__(self) -> str:
        return f"Huge({str.__repr__(self[:MAX_PERIOD * 2])}… {len(self):,} characters)"


def repeat(unit: str, size: int) -> Huge:
    return Huge((unit * (size // len(unit) + 1))[:size])


def huge_strings() -> st.SearchStrategy[str]:
    return st.builds(repeat, st.text(HUGE_ALPHABET, min_size=1, max_size=MAX_PERIOD), st.sampled_from(HUGE_SIZES))


def scalars() -> st.SearchStrategy:
    return st.one_of(st.none(), st.booleans(), st.sampled_from(SPECIAL_NUMBERS), st.sampled_from(SPECIAL_STRINGS),
                     st.integers(), st.floats(), st.text(max_size=30))


def hostile_pictures(known: Known) -> st.SearchStrategy[dict]:
    path = st.one_of(st.sampled_from(list(known.outside().values())), huge_strings(), scalars())
    full = st.builds(lambda p, size, url: {**file_data(p), "size": size, "url": url, "orig_name": "photo.png",
                                           "mime_type": "image/png", "is_stream": False},
                     path, st.one_of(st.none(), st.integers()), st.one_of(st.none(), st.sampled_from(
                         ["data:image/png;base64,AAAA", "http://127.0.0.1:1/x.png", "file:///etc/passwd"])))
    return st.one_of(st.builds(bare, path), st.builds(file_data, path), full)


def hostile(known: Known) -> st.SearchStrategy:
    return st.one_of(scalars(), huge_strings(), st.lists(scalars(), max_size=4),
                     st.dictionaries(st.text(max_size=6), scalars(), max_size=3), hostile_pictures(known))


@st.composite
def cases(draw, known: Known) -> Case:
    table = endpoints(known)
    name = draw(st.sampled_from(sorted(table)))
    arguments = [draw(st.one_of(plausible, hostile(known))) for plausible in table[name].params]
    how = draw(st.sampled_from(["as declared", "as declared", "missing", "extra"]))
    if how == "missing" and arguments:
        arguments = arguments[:draw(st.integers(0, len(arguments) - 1))]
    if how == "extra":
        arguments += draw(st.lists(hostile(known), min_size=1, max_size=3))
    body = draw(st.sampled_from(["list"] * 8 + ["dict", "null", "no data", "not json"]))
    pictures = any(isinstance(a, dict) and "path" in a for a in arguments)  # the client would upload them itself
    transport = draw(st.sampled_from(["http", "http", "client"])) if body == "list" and not pictures else "http"
    return Case(name, arguments, body, transport)


def huge_everywhere(name: str, endpoint: Endpoint) -> Case:
    """An explicit example: a 1 MB string in every parameter (as the path of a picture), or one extra."""
    huge = repeat("Z", HUGE_SIZES[-1])
    arguments = [bare(huge) if i == endpoint.picture else huge for i in range(len(endpoint.params))] or [huge]
    return Case(name, arguments)


@dataclass
class Tally:
    requests: int = 0
    rejected: int = 0


def run_case(server: Server, case: Case, tally: Tally) -> list[str]:
    endpoint = endpoints(server.known)[case.name]
    before = server.log_size()
    if case.transport == "client":
        answer = call_with_client(server, case.name, case.arguments)
    else:
        answer = post(server, case.name, case.raw_body())
    if answer.kind == "hang":
        release_fifo(server.known.fifo)
    log = server.log_since(before)
    if answer.kind != "not sent":
        tally.requests += 1
        tally.rejected += refused(answer, endpoint)
    problems = answer_problems(server, case.name, case.arguments, answer, log)
    picture = case.arguments[endpoint.picture] if endpoint.picture is not None and case.arguments else None
    if (isinstance(picture, dict) and picture.get("path") != server.known.uploaded and answer.kind == "complete"
            and endpoint.shows(answer.outputs)):
        problems.append(f"a picture outside the upload folder was read and shown back: {answer!r}")
    if endpoint.trains:
        problems += stop_training(server)
    return problems + health_problems(server)


def test_hostile_arguments_on_every_endpoint_get_an_answer_or_a_clear_error(server):
    tally, start = Tally(), server.log_size()
    stop_at = time.monotonic() + FUZZ_BUDGET

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.large_base_example])
    @given(case=cases(server.known))
    def fuzz(case: Case):
        if time.monotonic() > stop_at:
            return  # over the time budget: the remaining examples send nothing
        problems = run_case(server, case, tally)
        assert not problems, f"{case!r}:\n" + "\n".join(problems)

    for name, endpoint in endpoints(server.known).items():
        fuzz = example(case=huge_everywhere(name, endpoint))(fuzz)
    try:
        fuzz()
    finally:
        call(server, "challenge_end", [])  # entries the fuzz entered run no more: the tests below train alone
        stop_training(server)
        growth = server.log_size() - start
        print(f"fuzz: {tally.requests} requests, {tally.rejected} rejected; the server log grew {growth:,} bytes, "
              f"{growth / max(tally.rejected, 1):,.0f} bytes per rejected request")
    assert tally.rejected > 0, "no request was rejected: the fuzzer sent nothing hostile"
    per_request = growth / tally.rejected
    assert per_request <= LOG_BYTES_PER_REJECTED, (
        f"the server log grew {growth:,} bytes over {tally.rejected} rejected requests: {per_request:,.0f} bytes "
        f"each, over {LOG_BYTES_PER_REJECTED}. Its end:\n{server.log_since(max(start, server.log_size() - 3000))}")


# ---------------------------------------------------------------- afterwards: status and training still work


def strict_json(text: str):
    """JSON as the standard has it: NaN and Infinity are refused."""
    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


def non_finite(value, where: str = "status") -> list[str]:
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{where} = {value}"]
    if isinstance(value, dict):
        return [bad for key, item in value.items() for bad in non_finite(item, f"{where}.{key}")]
    if isinstance(value, list):
        return [bad for i, item in enumerate(value) for bad in non_finite(item, f"{where}[{i}]")]
    return []


HOSTILE_TRAINING = [["lenet", 1, 16, 1e999, "sgd", False, 0, None, None],
                    ["lenet", 1, 16, 1e-300, "adam", False, 0, None, None],
                    ["lenet", 1, 16, 0.01, "sgd", False, 2**70, None, None],
                    ["lenet", 1e30, 16, 0.01, "sgd", False, 0, None, None],
                    ["lenet", True, True, True, "sgd", True, True, True, True],
                    ["lenet", 1, 16, NAN, "sgd", False, -1, None, None],
                    ["fastnet", 1, 16, 0.01, "sgd", False, 0, 10**12, None],
                    ["lenet", 1, 16, 0.01, "sgd", False, 0, 64, None],
                    ["lenet", 1, 16, 0.01, "sgd", False, 0, None, 1e999],
                    ["lenet", 1, 16, 0.01, "sgd", False, 0, None, -5],
                    ["lenet", 1, 16, 0.01, "sgd", False, 0, None, "10"],
                    ["lenet", 1, 16, 0.01, "sgd", False, 0, None, 1e-300]]


@pytest.mark.parametrize("arguments", HOSTILE_TRAINING, ids=lambda a: abbreviate(a, 80))
def test_status_stays_plain_json_with_finite_numbers(server, arguments):
    """Whatever settings a /train got, /status then answers a JSON-serialisable dict with finite numbers."""
    problems = answer_problems(server, "train", arguments, call(server, "train", arguments), "")
    problems += stop_training(server)
    status = call(server, "status", [])
    assert status.kind == "complete", f"/status failed: {status!r}"
    data_line = next(line for line in status.text.splitlines() if line.startswith("data:"))
    try:
        strict_json(data_line[len("data:"):])
    except ValueError as error:
        problems.append(f"/status is not plain JSON ({error})")
    snapshot = status.outputs[0]
    assert isinstance(snapshot, dict), f"/status is not a dict: {abbreviate(snapshot)}"
    problems += [f"/status has a number that is not finite: {bad}" for bad in non_finite(snapshot)]
    try:
        json.dumps(snapshot, allow_nan=False)
    except ValueError as error:
        problems.append(f"/status cannot be written as JSON: {error}")
    problems += health_problems(server)
    assert not problems, f"after /train {abbreviate(arguments)}:\n" + "\n".join(problems)


def test_training_still_starts_and_stop_still_stops_it(server):
    before = call(server, "status", []).outputs[0].get("run")
    started = call(server, "train", ["lenet", 1, 16, 0.01, "sgd", False, 0, None, None])
    assert started.kind == "complete" and isinstance(started.outputs[0], str), f"/train failed: {started!r}"
    status = call(server, "status", []).outputs[0]
    assert status["run"] and status["run"] != before, f"no new run started: {abbreviate(status)}"
    stopped = call(server, "stop", [])
    assert stopped.kind == "complete", f"/stop failed: {stopped!r}"
    assert stopped.outputs[0] in ("Stopping after this batch…", "No training run is in progress."), stopped
    assert not stop_training(server)
    final = call(server, "status", []).outputs[0]
    assert final["run"] == status["run"] and final["state"] in ("stopped", "finished"), (
        f"{final['state']}: {final['message']}")
    assert not health_problems(server)


def test_an_unknown_endpoint_name_gets_a_clear_refusal(server):
    for name in ("no_such_endpoint", "A" * 5000):
        answer = call(server, name, [])
        assert answer.kind.startswith("http 4"), f"/{abbreviate(name, 40)}: {answer!r}"
        assert not answer_problems(server, name, [name], answer, ""), answer
    assert not health_problems(server)


# ---------------------------------------------------------------- the worst request each endpoint accepts


def server_cpu_seconds(server: Server) -> float:
    """User and system CPU time of the server process, all its threads (the trainer is a process of its own)."""
    fields = Path(f"/proc/{server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def flat_png(folder: Path, name: str, pixels: int) -> Path:
    """A square PNG of about `pixels` pixels, of one colour: tiny to send, as costly to decode as any."""
    side = int(pixels ** 0.5)
    path = folder / f"{name}.png"
    Image.new("RGB", (side, side), (90, 140, 200)).save(path)
    return path


def copies(path: Path, count: int) -> list[Path]:
    """`count` files of their own with `path`'s bytes: encoding a 16-megapixel PNG costs seconds, copying it none."""
    made = [path.with_name(f"{path.stem}-{n}{path.suffix}") for n in range(count)]
    for copy in made:
        shutil.copyfile(path, copy)
    return made


def worst_requests(server: Server, folder: Path) -> dict[str, tuple[str, list]]:
    """For each endpoint whose work grows with what is sent: the most costly request it accepts, by what it is."""
    folder.mkdir(exist_ok=True)
    largest_png = flat_png(folder, "largest", MAX_WHOLE_DECODE_PIXELS)
    largest = file_data(upload(server, largest_png))
    share_png = flat_png(folder, "share", PIXELS_PER_ADD // MAX_FILES_PER_REQUEST - 1)
    shares = [file_data(upload(server, path)) for path in copies(share_png, MAX_FILES_PER_REQUEST)]
    many_largest = [largest] + [file_data(upload(server, path))
                                for path in copies(largest_png, MAX_FILES_PER_REQUEST - 1)]
    return {
        "the most files, each decoded": ("your_classes_add_pictures", ["cpu", shares]),
        "the most files, each the largest picture": ("your_classes_add_pictures", ["cpu", many_largest]),
        "one file named as often as it may be": ("your_classes_add_pictures",
                                                 ["cpu", [largest] * MAX_FILE_REFERENCES]),
        "one file too many": ("your_classes_add_pictures", ["cpu", shares + [file_data(server.known.uploaded)]]),
        "as many references as a body holds": ("classify", [largest] * (MAX_BODY_BYTES // len(json.dumps(largest)))),
        "every run once": ("compare_runs", [["running", *server.known.checkpoints]]),
        "the largest picture to classify": ("classify", [largest]),
        "the largest picture to share": ("share", [largest, "don't know"]),
        "the largest picture's feature maps": ("feature_maps", [largest]),
        "the largest picture's Grad-CAM": ("gradcam", [largest, ""]),
        "every run, each named many times": ("compare_runs", [["running", *server.known.checkpoints] * 10_000]),
        "a page of a billion pictures": ("browse", [0, 10**9, "all classes", False]),
        "a class name of a megabyte": ("your_classes_add_class", ["x" * (MAX_BODY_BYTES // 2)]),
    }


def test_the_worst_request_each_endpoint_accepts_costs_under_a_second_of_server_cpu(server, tmp_path):
    problems, spent = [], {}  # refused or answered, each within the bound
    for what, (name, arguments) in worst_requests(server, tmp_path).items():
        if name == "your_classes_add_pictures":
            call(server, "your_classes_remove_class", ["cpu"])
            assert call(server, "your_classes_add_class", ["cpu"]).kind == "complete"
        before = server_cpu_seconds(server)
        answer = call(server, name, arguments)
        spent[what] = server_cpu_seconds(server) - before
        if answer.kind not in ("complete", "error", "http 413") or spent[what] >= CPU_SECONDS:
            problems.append(f"/{name}, {what}: {answer.kind}, {spent[what]:.2f} s of server CPU ({answer!r})")
    call(server, "your_classes_remove_class", ["cpu"])
    print("server CPU per worst request: " + ", ".join(f"{what} {s:.2f} s" for what, s in spent.items()))
    assert not problems, "\n".join(problems)
