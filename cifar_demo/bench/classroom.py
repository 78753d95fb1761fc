"""The classroom benchmark: a class of students classifying photos on the real app while lenet trains.

    python3 -m cifar_demo bench --classroom --students 30 --every 2 --seconds 60 --data DATA [--json]
    python3 -m cifar_demo bench --classroom --profile burst --action share --store both --data DATA

--action share or add puts each student's picture on the wall or into Your classes instead of classifying it;
--store both starts two apps, the store in memory and in a file, and measures them in alternating rounds (memory,
file, file, memory, ...), so that a load that comes and goes on the machine falls on both alike.
--during challenge trains lenet as the class challenge's queue runs it instead of through /train: the bench opens a
challenge as the teacher (its client is on the app's machine) with a budget that outlasts the run, enters lenet
(and a second entry that waits its turn), and ends the challenge after.

The bench starts `app.py` as a subprocess on 127.0.0.1, trains lenet through the API, measures its speed alone,
then lets the students upload real test pictures to /classify, each at its own jittered pace, and measures the
training speed again during the load. The students run in one to three processes of their own (this module run as
`python3 -m cifar_demo.bench.classroom`), which import gradio_client but not torch: they start in a second, and their
work is not counted as the bench's or the server's. This module imports torch only inside the bench's functions.
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import random
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Iterator

from gradio_client import Client, handle_file

from ..network import free_port
from .common import BenchError, say

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "app.py"
PROFILES = {"steady": dict(students=30, every=5.0), "burst": dict(students=30, every=2.0)}
DEFAULTS = dict(students=30, every=2.0, seconds=60.0)
NET = "lenet"
TRAIN_EPOCHS = 1000              # the page's maximum: the run outlasts any load window, and the bench stops it
STUDENTS_PER_PROCESS = 10        # a student waits on the network nearly all the time: threads of one process
MAX_STUDENT_PROCESSES = 3        # each Python process costs a core's second or more on this machine
PICTURES = 100                   # test pictures written for the students to pick from
PICTURE_SIZE = 512               # upscaled like a phone photo, so the server decodes and shrinks a real upload
JPEG_QUALITY = 90
JITTER = (0.5, 1.5)              # a student's pause is `every` times a uniform draw from this range
APP_START_TIMEOUT = 300.0        # importing torch takes 5-60 s here, and a first data load decodes every picture
FIRST_STEP_TIMEOUT = 300.0       # the data set loads (or decodes) on the first /train
STUDENTS_READY_TIMEOUT = 120.0   # every student connected
HANG_GUARD = 120.0               # students not back this long after the window have hung
STOP_TIMEOUT = 120.0             # a stopped run still tests and saves what it learnt
APP_STOP_TIMEOUT = 15.0          # terminate, then kill
ERROR_CHARS = 200                # an error's text is cut here: the report lists a few, not whole tracebacks
ERRORS_LISTED = 5
ACTIONS = ("classify", "share", "add")
STORES = {"file": ("file",), "memory": ("memory",), "both": ("memory", "file")}
ROUNDS_EACH = 2                  # --store both: each store's window and training alone cut into this many rounds
DURING = {"train": "through /train", "challenge": "as the challenge queue's entry"}  # what trains meanwhile
CHALLENGE_MARGIN = STUDENTS_READY_TIMEOUT + HANG_GUARD  # an entry's budget covers the windows and every wait around
SHARES_A_PAGE = 10               # the wall's cap for one page: a sharing student opens a new page (not timed) then
ADD_CLASSES = 10                 # classes the bench makes for --action add: 30 students' adds fit in 200 a class


class ClassroomError(BenchError):
    """The classroom benchmark cannot run or went wrong: one sentence for the user."""


@dataclass
class ClassroomConfig:
    students: int = DEFAULTS["students"]
    every: float = DEFAULTS["every"]        # seconds between a student's pictures, on average
    seconds: float = DEFAULTS["seconds"]    # the load window
    data: str | None = None
    device: str = "auto"
    download: bool = True
    alone_seconds: float = 15.0             # training measured on its own just before the load
    batch_size: int | None = None           # lenet's preset when None; a tiny data set needs a smaller one
    seed: int = 0
    # In a class the students' work runs on their own laptops; here it shares the server's two cores (gradio_client
    # costs about as much CPU as the server per answer). --students-nice 10 lowers their priority: training then
    # keeps more of its speed, and the latency measured includes the students' own waits for a core.
    students_nice: int = 0
    action: str = "classify"                # what each student's picture goes to: /classify, /share or an add
    store: str = "file"                     # the app's store: a file in the bench's folder, memory, or both in turn
    during: str = "train"                   # what trains: a run started with /train, or the challenge queue's entry

    def validate(self) -> None:
        """Bounded load: a positive count of students, pace and window; a challenge entry's budget the app takes."""
        if self.students < 1 or self.every <= 0 or self.seconds <= 0 or self.alone_seconds <= 0:
            raise ClassroomError("--students must be at least 1, and --every and --seconds above 0.")
        if self.action not in ACTIONS or self.store not in STORES or self.during not in DURING:
            raise ClassroomError(f"--action is one of {', '.join(ACTIONS)}; --store one of {', '.join(STORES)}; "
                                 f"--during one of {', '.join(DURING)}.")
        if self.during == "challenge":
            from ..challenge_rules import BUDGET_SECONDS

            if not BUDGET_SECONDS.check(self.entry_budget, None):
                raise ClassroomError(f"With --during challenge one entry trains through the whole run, and its budget "
                                     f"(--seconds + {self.entry_budget - self.seconds:g} s) must be "
                                     f"{BUDGET_SECONDS.must}: ask for fewer --seconds.")

    @property
    def entry_budget(self) -> float:
        """--during challenge: the entry's seconds of training, counted from its first step, outlast the alone
        window, the students' window and every wait the bench allows around them."""
        return self.alone_seconds + self.seconds + CHALLENGE_MARGIN

    @property
    def processes(self) -> int:
        return min(MAX_STUDENT_PROCESSES, math.ceil(self.students / STUDENTS_PER_PROCESS))


@dataclass
class Call:
    student: int
    seconds: float
    error: str | None = None


@dataclass
class ClassroomFigures:
    students: int
    every: float
    seconds: float
    student_processes: int
    students_nice: int
    window_seconds: float           # measured: from the go to the last student's return
    requests: int
    errors: int
    requests_per_second: float
    p50_ms: float | None            # latencies of the answered calls
    p95_ms: float | None
    max_ms: float | None
    training_alone_images_per_second: float
    training_during_images_per_second: float
    training_slow_down: float | None  # alone / during; None when no step was made during the load
    cpu: str
    cores: int | None
    load_average_before: float
    first_errors: list[str] = field(default_factory=list)
    action: str = "classify"
    store: str = "file"
    during: str = "train"


# ---------------------------------------------------------------- the students (their own processes, no torch)


def describe(error: BaseException) -> str:
    """An error as the report lists it: its type and the start of its message."""
    return f"{type(error).__name__}: {error}"[:ERROR_CHARS]


def connect(url: str, downloads: str, address: str = "") -> Client | str:
    """A student's own client (from its own computer's address, as a trusted proxy forwards it), or why it could
    not connect."""
    try:
        return Client(url, verbose=False, download_files=downloads, analytics_enabled=False,
                      headers={"X-Forwarded-For": address} if address else None)
    except Exception as error:  # recorded as the student's one failed call, never raised
        return describe(error)


def answer_problem(answer) -> str | None:
    """A /classify answer without a label is a failure from the student's side, whatever the status code."""
    label, _seen, message = answer
    return None if label and not message else f"answered without a label: {message!r}"[:ERROR_CHARS]


def ask(client: Client, action: str, student: int, picture: str) -> str | None:
    """One picture to the action's endpoint; what is wrong with the answer, or None."""
    if action == "share":
        answer = client.predict(handle_file(picture), "don't know", api_name="/share")
        return None if answer.get("id") else f"shared without a number: {answer!r}"[:ERROR_CHARS]
    if action == "add":
        answer = client.predict(f"class {student % ADD_CLASSES}", [handle_file(picture)],
                                api_name="/your_classes_add_pictures")
        return None if answer["added"] else f"not added: {answer['refused']!r}"[:ERROR_CHARS]
    return answer_problem(client.predict(handle_file(picture), api_name="/classify"))


def classify(student: int, client: Client, picture: str, action: str = "classify") -> Call:
    """One upload to the action's endpoint, timed; any failure is recorded, none raised."""
    began = time.perf_counter()
    try:
        problem = ask(client, action, student, picture)
    except Exception as error:  # every kind of failure goes into the report
        problem = f"{Path(picture).name}: {describe(error)}"[:ERROR_CHARS]
    return Call(student, time.perf_counter() - began, problem)


def pause_until(seconds: float, deadline: float) -> None:
    time.sleep(max(0.0, min(seconds, deadline - time.monotonic())))


def student_address(student: int, page: int) -> str:
    """The computer a student's page comes from: one per page, so the wall's per-computer cap never binds."""
    return f"10.{student % 250}.{page // 250}.{page % 250 + 1}"


def attend(student: int, client: Client | str, pictures: list[str], every: float, deadline: float,
           rng: random.Random, calls: list[Call], action: str = "classify", reconnect=None) -> None:
    """A student's class: a random start, then a picture of their choice at a jittered pace until the window closes.
    A sharing student opens a new page (`reconnect`, not timed) each time the wall's cap for a page is reached."""
    pause_until(rng.uniform(0, every), deadline)
    for call in itertools.count(1):
        if isinstance(client, str):
            calls.append(Call(student, 0.0, f"connect: {client}"))
            return
        if time.monotonic() >= deadline:
            return
        calls.append(classify(student, client, rng.choice(pictures), action))
        if action == "share" and call % SHARES_A_PAGE == 0:
            client = reconnect(call // SHARES_A_PAGE)
        pause_until(every * rng.uniform(*JITTER), deadline)


def students_main(argv: list[str]) -> int:
    """A group of students: connect, say "ready", wait for "go" on stdin, attend, print one JSON line of calls."""
    parser = argparse.ArgumentParser(prog="python3 -m cifar_demo.bench.classroom", description=students_main.__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--first", type=int, required=True, help="the first student's number")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--every", type=float, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--pictures", required=True, help="folder of JPEG pictures to upload")
    parser.add_argument("--downloads", required=True, help="folder for the answers' pictures")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nice", type=int, default=0, help="lower this process's priority by this much")
    parser.add_argument("--action", choices=ACTIONS, default="classify")
    args = parser.parse_args(argv)
    os.nice(args.nice)
    pictures = sorted(str(p) for p in Path(args.pictures).glob("*.jpg"))
    students = range(args.first, args.first + args.count)
    forwarded = args.action != "classify"  # the app trusts 127.0.0.1's X-Forwarded-For: a computer per student

    def page(student: int, number: int = 0) -> Client | str:
        return connect(args.url, args.downloads, student_address(student, number) if forwarded else "")

    with ThreadPoolExecutor(args.count) as pool:
        clients = list(pool.map(page, students))
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":  # the bench has gone: no load without it
        return 1
    began = time.monotonic()
    deadline = began + args.seconds
    calls: list[Call] = []  # list.append is atomic: the threads share it without a lock
    threads = [threading.Thread(target=attend, args=(s, c, pictures, args.every, deadline,
                                                     random.Random(args.seed * 100_003 + s), calls, args.action,
                                                     lambda number, s=s: page(s, number)), daemon=True)
               for s, c in zip(students, clients)]  # daemons: a Ctrl-C ends the process without waiting for them
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except KeyboardInterrupt:  # the bench was interrupted too and reports it
        return 130
    print(json.dumps({"seconds": time.monotonic() - began, "calls": [asdict(c) for c in calls]}), flush=True)
    return 0


# ---------------------------------------------------------------- the bench: pictures, the app, the measurements


def write_pictures(test, folder: Path, count: int, seed: int) -> Path:
    """Real test pictures, upscaled and saved as JPEG: what a phone would upload."""
    from PIL import Image

    from ..images import as_picture

    folder.mkdir(parents=True)
    for n, index in enumerate(random.Random(seed).sample(range(len(test)), min(count, len(test)))):
        picture = as_picture(test.images[index])
        picture.resize((PICTURE_SIZE, PICTURE_SIZE), Image.BICUBIC).save(folder / f"{n:03d}.jpg", quality=JPEG_QUALITY)
    return folder



def log_tail(log: Path, lines: int = 15) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def wait_for_page(url: str, app: subprocess.Popen, log: Path) -> None:
    """Poll the page until it answers; an app that exits or never answers is an error with its log's end."""
    deadline = time.monotonic() + APP_START_TIMEOUT
    while time.monotonic() < deadline:
        if app.poll() is not None:
            raise ClassroomError(f"the app exited with status {app.returncode} before serving; its log ends:\n"
                                 f"{log_tail(log)}")
        with contextlib.suppress(urllib.error.URLError, OSError):
            with urllib.request.urlopen(url, timeout=5) as page:
                if page.status == 200:
                    return
        time.sleep(0.5)
    raise ClassroomError(f"the app did not answer within {APP_START_TIMEOUT:.0f} s; its log ends:\n{log_tail(log)}")


def stop_process(process: subprocess.Popen) -> None:
    """Terminate, then kill what does not exit in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(APP_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def running_app(config: ClassroomConfig, folder: Path, store: str = "file") -> Iterator[str]:
    """The real app in a subprocess on a free local port, its output in folder/app.log; stopped on any exit. Its
    store is its own (never the teacher's), a new file in `folder` or in memory."""
    port, log = free_port(), folder / "app.log"
    where = ":memory:" if store == "memory" else str(folder / f"class-{port}.sqlite3")
    command = [sys.executable, str(APP), "--port", str(port), "--host", "127.0.0.1", "--device", config.device,
               "--store", where]
    if config.action != "classify":  # each student's computer named by the header its client sends
        command += ["--trusted-proxy", "127.0.0.1"]
    if config.data:
        command += ["--data", str(config.data)]
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": str(folder / "uploads")}
    url = f"http://127.0.0.1:{port}/"
    with log.open("w") as output:
        app = subprocess.Popen(command, cwd=REPO, stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        say(f"starting the app at {url} (log: {log})")
        wait_for_page(url, app, log)
        yield url
    finally:
        stop_process(app)


def status(client: Client) -> dict:
    return client.predict(api_name="/status")


def wait_for_steps(client: Client, earlier: str | None) -> dict:
    """The first /status of a new run (not `earlier`, the one /status showed before it was asked for) with a
    logged training step: the data set is loaded and the job is under way. The challenge's queue starts its entry
    a moment after the submission, so until then /status may still show the last run."""
    deadline = time.monotonic() + FIRST_STEP_TIMEOUT
    while time.monotonic() < deadline:
        now = status(client)
        if now["run"] is not None and now["run"] != earlier:
            if now["state"] != "running":
                raise ClassroomError(f"the training run is {now['state']}: {now['message']}")
            if now["progress"].get("step"):
                return now
        time.sleep(0.2)
    raise ClassroomError(f"training made no step within {FIRST_STEP_TIMEOUT:.0f} s")


def training_speed(before: dict, after: dict, per_step: float) -> float:
    """Images a second between two /status readings, from the job's own step count and clock (test passes in)."""
    steps = after["progress"]["step"] - before["progress"]["step"]
    seconds = after["progress"]["elapsed_seconds"] - before["progress"]["elapsed_seconds"]
    return steps * per_step / seconds if steps else 0.0


def images_per_step(train_images: int, batch_size: int) -> float:
    """An epoch's images over its steps: the batch size, less the short last batch's shortfall."""
    return train_images / math.ceil(train_images / batch_size)


def read_line(process: subprocess.Popen, timeout: float) -> str:
    """A line of a student process's output, or '' if none comes in time."""
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    return process.stdout.readline().strip() if ready else ""


def student_command(url: str, first: int, count: int, config: ClassroomConfig, pictures: Path,
                    folder: Path) -> list[str]:
    return [sys.executable, "-m", "cifar_demo.bench.classroom", "--url", url, "--first", str(first), "--count", str(count),
            "--every", str(config.every), "--seconds", str(config.seconds), "--pictures", str(pictures),
            "--downloads", str(folder / "downloads"), "--seed", str(config.seed), "--nice", str(config.students_nice),
            "--action", config.action]


def groups(students: int, processes: int) -> list[tuple[int, int]]:
    """(first student, count) for each process, as even as they go."""
    sizes = [students // processes + (p < students % processes) for p in range(processes)]
    return [(sum(sizes[:p]), size) for p, size in enumerate(sizes)]


def collect(processes: list[subprocess.Popen], timeout: float) -> list[dict]:
    """Every student process's report; one that hangs past the guard is an error."""
    deadline, reports = time.monotonic() + timeout, []
    for process in processes:
        try:
            output, _ = process.communicate(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise ClassroomError(f"students were still busy {HANG_GUARD:.0f} s after the window closed") from None
        if process.returncode != 0 or not output.strip():
            raise ClassroomError(f"a student process failed (exit status {process.returncode})")
        reports.append(json.loads(output.strip().splitlines()[-1]))
    return reports


def run_students(client: Client, url: str, config: ClassroomConfig, pictures: Path,
                 folder: Path) -> tuple[list[dict], dict, dict]:
    """The students' reports, with /status as their window opens and once they are all back."""
    processes = []
    try:
        for first, count in groups(config.students, config.processes):
            processes.append(subprocess.Popen(student_command(url, first, count, config, pictures, folder), cwd=REPO,
                                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        deadline = time.monotonic() + STUDENTS_READY_TIMEOUT
        if not all(read_line(p, max(0.0, deadline - time.monotonic())) == "ready" for p in processes):
            raise ClassroomError(f"the students were not connected within {STUDENTS_READY_TIMEOUT:.0f} s")
        load_from = status(client)
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        reports = collect(processes, config.seconds + HANG_GUARD)
        return reports, load_from, status(client)
    finally:
        for process in processes:
            stop_process(process)


def same_run(first: dict, later: dict) -> None:
    """Two /status readings of one run still training: a speed between readings of two runs, or of one that has
    ended, measures nothing."""
    if later["state"] != "running" or later["run"] != first["run"]:
        raise ClassroomError(f"the training run {first['run']} did not last the measurement (/status then: "
                             f"{later['run']}, {later['state']}: {later['message']!r}): its speed is not measured")


def ended(client: Client, api_name: str) -> dict | None:
    """Ask the app to end the training run (api_name) and wait until /status says it has; None when the app could
    not be asked (it may be gone already; it is stopped next either way)."""
    try:
        client.predict(api_name=api_name)
        deadline = time.monotonic() + STOP_TIMEOUT
        final = status(client)
        while final["state"] == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
            final = status(client)
        return final
    except Exception as error:  # reported, never raised: the bench's own error (if any) is the one to show
        say(f"could not end the training run ({api_name}): {describe(error)}")
        return None


def saved_file(final: dict | None) -> Path | None:
    """The checkpoint an ended run saved, as /status names it (relative to the checkpoint folder, or absolute)."""
    from ..checkpoints import CHECKPOINT_DIR

    return CHECKPOINT_DIR / final["checkpoint"] if final and final.get("checkpoint") else None


def stop_training(client: Client) -> None:
    """/stop, wait for the run to end, and remove the checkpoint it saved: the bench leaves no run behind."""
    from ..checkpoints import runs_folder

    saved = saved_file(ended(client, "/stop"))
    if saved and saved.parent == runs_folder():
        saved.unlink(missing_ok=True)


def end_challenge(client: Client) -> None:
    """challenge_end as the teacher: the app cuts the training entry, drops the waiting one and deletes the cut
    entry's checkpoint itself (an entry that ran no full turn leaves no model); the bench waits until it is gone."""
    saved = saved_file(ended(client, "/challenge_end"))
    deadline = time.monotonic() + STOP_TIMEOUT
    while saved and saved.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    if saved and saved.exists():
        say(f"the challenge's cut entry left its checkpoint behind: {saved}")


def enter_challenge(client: Client, url: str, config: ClassroomConfig, arguments: list) -> None:
    """The teacher (the bench's client, on the app's machine) opens a challenge for lenet with a budget that
    outlasts the run and enters lenet; a second page enters it again, to wait its turn as a class's entries do."""
    client.predict(config.entry_budget, "seconds", [NET], api_name="/challenge_open")
    client.predict("bench", *arguments, api_name="/challenge_submit")
    waiting = Client(url, verbose=False, analytics_enabled=False)  # a client has one waiting entry: another page
    waiting.predict("bench, waiting", *arguments, api_name="/challenge_submit")


def start_run(client: Client, url: str, config: ClassroomConfig, train_images: int) -> float:
    """Lenet training as config.during asks, through /train or the challenge's queue; the images of its steps."""
    arguments, batch_size = train_arguments(config)
    say(f"training {NET} (batch {batch_size}) {DURING[config.during]}; {config.alone_seconds:g} s alone")
    if config.during == "challenge":
        from ..challenge_rules import validation_count

        enter_challenge(client, url, config, arguments)
        return images_per_step(train_images - validation_count(train_images), batch_size)  # the rest rank it
    client.predict(*arguments, api_name="/train")
    return images_per_step(train_images, batch_size)


def end_run(client: Client, config: ClassroomConfig) -> None:
    """The run ended as it was started; nothing of it is left running or saved."""
    if config.during == "challenge":
        end_challenge(client)
    else:
        stop_training(client)


def train_arguments(config: ClassroomConfig) -> tuple[list, int]:
    """/train's inputs for lenet's preset with many epochs, and the batch size they train at."""
    from ..training import preset

    overrides = {"batch_size": config.batch_size} if config.batch_size else {}
    p = preset(NET, epochs=TRAIN_EPOCHS, **overrides)
    return [NET, p.epochs, p.batch_size, p.lr, p.optimizer, p.augment, p.seed], p.batch_size


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile; None with no values."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else None


def figures(config: ClassroomConfig, rounds: list[list[dict]], alone: float, during: float,
            load_average: float, store: str = "file") -> ClassroomFigures:
    """The students' calls over every round (each round one report a student process) and the two training speeds
    as the report's figures."""
    from ..device import cpu_name

    calls = [Call(**call) for reports in rounds for report in reports for call in report["calls"]]
    window = sum(max(report["seconds"] for report in reports) for reports in rounds)
    answered = [call.seconds * 1000 for call in calls if call.error is None]
    errors = [call.error for call in calls if call.error is not None]
    return ClassroomFigures(
        config.students, config.every, config.seconds, config.processes, config.students_nice, window, len(calls),
        len(errors), len(calls) / window, percentile(answered, 0.5), percentile(answered, 0.95),
        percentile(answered, 1.0), alone, during, alone / during if during else None, cpu_name(), os.cpu_count(),
        load_average, errors[:ERRORS_LISTED], config.action, store, config.during)


def measure(client: Client, url: str, config: ClassroomConfig, pictures: Path, folder: Path,
            train_images: int) -> tuple[list[dict], float, float]:
    """Train lenet (config.during: through /train or the challenge's queue); its speed alone, then the students'
    load and its speed during it, all of one run; the run is ended after."""
    earlier = status(client)["run"]
    try:
        per_step = start_run(client, url, config, train_images)
        alone_from = wait_for_steps(client, earlier)
        time.sleep(config.alone_seconds)
        alone_to = status(client)
        same_run(alone_from, alone_to)
        say(f"{plural(config.students, 'student', 'students')} in {plural(config.processes, 'process', 'processes')}"
            f", a picture every {config.every:g} s each, for {config.seconds:g} s")
        reports, load_from, load_to = run_students(client, url, config, pictures, folder)
        same_run(alone_from, load_from)
        same_run(alone_from, load_to)
    finally:
        end_run(client, config)
    return reports, training_speed(alone_from, alone_to, per_step), training_speed(load_from, load_to, per_step)


def schedule(stores: tuple[str, ...], rounds: int) -> list[tuple[str, int]]:
    """(store, its round) in ABBA order: each store goes first as often as second, so a load that rises or falls
    through the run (other work on the machine) weighs on every store alike."""
    order = []
    for n in range(rounds):
        order += [(store, n) for store in (stores if n % 2 == 0 else stores[::-1])]
    return order


def prepare(client: Client, config: ClassroomConfig) -> None:
    """What the action needs in a fresh app before any round: Your classes' classes for --action add."""
    if config.action == "add":
        for n in range(ADD_CLASSES):
            client.predict(f"class {n}", api_name="/your_classes_add_class")


def classroom_benchmark(config: ClassroomConfig) -> list[ClassroomFigures]:
    """The whole run: pictures, an app for each store asked (all up at once), then rounds of training alone and
    training during the load, the stores in turn; every app is always stopped. One figure a store."""
    from ..data import load_dataset

    config.validate()
    load_average = os.getloadavg()[0]
    say("loading the data set (decoding on the first run)")
    data = load_dataset(config.data, download=config.download)
    train_images = len(data.train)
    stores = STORES[config.store]
    rounds = ROUNDS_EACH if len(stores) > 1 else 1
    part = replace(config, seconds=config.seconds / rounds, alone_seconds=config.alone_seconds / rounds)
    measured: dict[str, list[tuple[list[dict], float, float]]] = {store: [] for store in stores}
    with tempfile.TemporaryDirectory(prefix="cifar-demo-classroom-") as temporary, contextlib.ExitStack() as apps:
        folder = Path(temporary)
        pictures = write_pictures(data.test, folder / "pictures", PICTURES, config.seed)
        del data  # the bench holds only its pictures from here on; each app loads its own copy
        urls, clients = {}, {}
        for store in stores:
            (folder / store).mkdir()
            urls[store] = apps.enter_context(running_app(config, folder / store, store))
            clients[store] = Client(urls[store], verbose=False, analytics_enabled=False)
            prepare(clients[store], config)
        for store, n in schedule(stores, rounds):
            say(f"round {n + 1} of {rounds}, the store in {store}")
            # a store's n-th round draws the same pictures as the other's: the stores differ in nothing else
            measured[store].append(measure(clients[store], urls[store], replace(part, seed=config.seed + n),
                                           pictures, folder / store, train_images))
    return [figures(config, [reports for reports, _, _ in runs], statistics.fmean(alone for _, alone, _ in runs),
                    statistics.fmean(during for _, _, during in runs), load_average, store)
            for store, runs in measured.items()]


# ---------------------------------------------------------------- the command line's side


def config_from_args(args) -> ClassroomConfig:
    """--profile's numbers, overridden by any of --students, --every, --seconds given."""
    chosen = {**DEFAULTS, **PROFILES.get(args.profile or "", {}),
              **{name: getattr(args, name) for name in DEFAULTS if getattr(args, name) is not None}}
    nice = {} if args.students_nice is None else {"students_nice": args.students_nice}
    return ClassroomConfig(**chosen, **nice, data=args.data, device=args.device, download=not args.no_download,
                           action=args.action or "classify", store=args.store or "file",
                           during=args.during or "train")


def plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _number(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:,.0f}{unit}"


def report_table(f: ClassroomFigures) -> str:
    """The figures for a person; the JSON line carries the same numbers for a program."""
    rows = [
        ("load", f"/{'your_classes_add_pictures' if f.action == 'add' else f.action}, the app's store in {f.store}"),
        ("students", f"{f.students} in {plural(f.student_processes, 'process', 'processes')}, a picture every "
                     f"{f.every:g} s each ({JITTER[0]:g}x-{JITTER[1]:g}x jitter), at nice {f.students_nice}"),
        ("window", f"{f.seconds:g} s asked, {f.window_seconds:.1f} s measured"),
        ("requests (errors)", f"{f.requests:,} ({f.errors})"),
        ("requests/s", f"{f.requests_per_second:.1f}"),
        ("latency p50 / p95 / max", f"{_number(f.p50_ms)} / {_number(f.p95_ms)} / {_number(f.max_ms)} ms"),
        ("training alone", f"{f.training_alone_images_per_second:,.0f} img/s"),
        ("training during the load", f"{f.training_during_images_per_second:,.0f} img/s"),
        ("slow-down", "no step during the load" if f.training_slow_down is None else f"{f.training_slow_down:.2f}x"),
        ("machine", f"{f.cpu}, {f.cores} cores, load average {f.load_average_before:.2f} before"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"classroom: /{f.action} under load while {NET} trains {DURING[f.during]}"]
    lines += [f"  {n:<{width}}  {v}" for n, v in rows]
    return "\n".join(lines + [f"  error: {error}" for error in f.first_errors])


def run_classroom(args) -> dict:
    """`bench --classroom`: runs the benchmark, prints the table (one a store) and returns the figures for --json."""
    results = classroom_benchmark(config_from_args(args))
    for result in results:
        say("\n" + report_table(result))
    if len(results) == 2 and results[0].p95_ms and results[1].p95_ms:
        say(f"\np95 with the store in a file / in memory: {results[1].p95_ms / results[0].p95_ms:.2f}")
    return asdict(results[0]) if len(results) == 1 else {"runs": [asdict(result) for result in results]}


if __name__ == "__main__":
    sys.exit(students_main(sys.argv[1:]))
