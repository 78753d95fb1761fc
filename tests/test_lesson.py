"""The class's work kept in the store, through the page: the lesson controls and a restart in this process, a full
disk; then the real server process: a corrupt store at start, a second app on one store, and kill -9 while 30
students share and add pictures."""
from __future__ import annotations

import json
import os
import sqlite3
import secrets
import signal
import tempfile
import threading
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from app import build_app, main, serve
from app_process import APP_START_TIMEOUT, Server, launch, wait_for_page
from cifar_demo.lab import Lab
from cifar_demo.store import Store
from conftest import TINY_CLASSES, network_address_or_skip
from cifar_demo.network import free_port
from test_wall import saved_photos

STUDENTS = 30
CALL_TIMEOUT = 30.0
LOAD_SECONDS = 60.0        # the most the students write before the kill, however slow the machine


def served(lab: Lab):
    """The page on this lab, in this process, on 127.0.0.1: every client here is the teacher."""
    port = free_port()
    app = build_app(lab)
    serve(app, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    return app, Client(f"http://127.0.0.1:{port}/", verbose=False)


@pytest.fixture
def lab(tiny_tree, trained_checkpoint, tmp_path):
    store = Store(tmp_path / "class.sqlite3")
    made = Lab(data_path=tiny_tree, checkpoint=trained_checkpoint.path, device="cpu", download=False,
               checkpoint_dir=tmp_path / "checkpoints", store=store)
    yield made
    made.store.close()


def collect(client: Client, photos: list[tuple[Path, str]]) -> tuple[list[int], list[str]]:
    """Each photo shared with its truth and added to its class; the wall's numbers and the pictures' ids."""
    for name in TINY_CLASSES:
        client.predict(name, api_name="/your_classes_add_class")
    shared = [client.predict(handle_file(str(path)), truth, api_name="/share")["id"] for path, truth in photos]
    added = [client.predict(truth, [handle_file(str(path))], api_name="/your_classes_add_pictures")["added"][0]
             for path, truth in photos]
    return shared, added


def kept(client: Client) -> tuple[list[int], dict[str, list[str]]]:
    """The wall's numbers (oldest first) and each class's picture ids, as the page's API says them."""
    wall = [entry["id"] for entry in reversed(client.predict(api_name="/wall")["entries"])]
    return wall, {c["name"]: c["pictures"] for c in client.predict(api_name="/your_classes")["classes"]}


# ---------------------------------------------------------------- in this process


def test_a_restart_on_the_same_store_brings_back_the_wall_and_the_classes(lab, tmp_path):
    app, teacher = served(lab)
    shared, added = collect(teacher, saved_photos(tmp_path, 6))
    teacher.predict(shared[0], api_name="/wall_hide")
    before = kept(teacher)
    app.close()
    lab.store.close()

    restarted = Lab(data_path=lab.pictures.data_path, checkpoint=lab.shelf.active.path, device="cpu", download=False,
                    checkpoint_dir=lab.checkpoint_dir, store=Store(lab.store.path))
    app, teacher = served(restarted)
    try:
        assert kept(teacher) == before and before[0] == shared[1:] and sorted(sum(before[1].values(), [])) == sorted(added)
        entries = teacher.predict(api_name="/wall")["entries"]
        assert all(entry["guess"] in TINY_CLASSES for entry in entries), "the active model guessed again"
        (path, truth), = saved_photos(tmp_path, 1, seed=9)
        again = teacher.predict(handle_file(str(path)), truth, api_name="/share")["id"]
        assert again > max(shared), "a number is never given to a second picture, restart or not"
    finally:
        app.close()
        restarted.store.close()


def test_the_teacher_keeps_lessons_downloads_one_and_restores_it_from_its_zip(lab, tmp_path):
    app, teacher = served(lab)
    try:
        collect(teacher, saved_photos(tmp_path, 6))
        first = kept(teacher)
        archive = Path(teacher.predict(api_name="/lesson_download"))
        said, _ = teacher.predict(api_name="/lesson_new")
        assert "started" in said and kept(teacher) == ([], {})
        lessons = teacher.predict(api_name="/lesson_list")
        assert [(lesson["wall"], lesson["classes"], lesson["pictures"]) for lesson in lessons] == [(6, 3, 6), (0, 0, 0)]
        assert lessons[0]["archived"] and lessons[1]["archived"] is None

        teacher.predict(lessons[0]["id"], api_name="/lesson_restore")
        assert kept(teacher) == first
        with pytest.raises(AppError, match="no archived lesson #999"):
            teacher.predict(999, api_name="/lesson_restore")

        said, _ = teacher.predict(handle_file(str(archive)), api_name="/lesson_import")
        assert "is lesson #" in said
        wall, classes = kept(teacher)
        assert len(wall) == 6 and {name: len(ids) for name, ids in classes.items()} == {n: 2 for n in TINY_CLASSES}
        assert len(teacher.predict(api_name="/lesson_list")) == 2, "the lesson before the import is kept"
        broken = tmp_path / "broken.zip"
        broken.write_bytes(os.urandom(5000))
        with pytest.raises(AppError, match="Refusing the lesson 'broken.zip': File is not a zip file"):
            teacher.predict(handle_file(str(broken)), api_name="/lesson_import")
        assert len(teacher.predict(api_name="/lesson_list")) == 2, "a refused zip changes nothing"
    finally:
        app.close()


def test_a_full_disk_refuses_a_share_and_an_add_in_words_and_the_page_goes_on(lab, tmp_path):
    app, teacher = served(lab)
    try:
        shared, added = collect(teacher, saved_photos(tmp_path, 3))
        pages = lab.store.query("PRAGMA page_count")[0][0]
        lab.store.query(f"PRAGMA max_page_count = {pages}")  # SQLite's own cap stands in for a full disk
        (path, truth), = saved_photos(tmp_path, 1, seed=5)
        picture = handle_file(str(path))
        for _ in range(20):  # the last page's free room fills first
            try:
                teacher.predict(picture, truth, api_name="/share")
            except AppError as error:
                assert str(error) == ("The store class.sqlite3 could not save this (the disk is full); everything "
                                      "saved before is kept.")
                break
        else:
            pytest.fail("no share was refused")
        for _ in range(20):
            answer = teacher.predict(truth, [picture], api_name="/your_classes_add_pictures")
            if not answer["added"]:
                break
        assert answer["refused"] == ["Picture 1: The store class.sqlite3 could not save this (the disk is full); "
                                     "everything saved before is kept."]
        wall, classes = kept(teacher)  # the page keeps working, with everything saved before
        assert set(shared) <= set(wall) and set(added) <= set(sum(classes.values(), []))
        assert teacher.predict(api_name="/status")["state"] == "idle"
    finally:
        app.close()


def test_a_failing_temp_folder_refuses_each_download_in_one_sentence_and_the_next_works(lab, tmp_path, monkeypatch):
    app, teacher = served(lab)
    try:
        collect(teacher, saved_photos(tmp_path, 6))  # two classes of three: enough for the pictures' zip
        broken = tmp_path / "not-a-folder"
        broken.write_bytes(b"")  # the temp folder is a file: every download's folder fails (as root too)
        downloads = ("/wall_download", "/lesson_download", "/your_classes_zip")
        monkeypatch.setattr(tempfile, "tempdir", str(broken))
        for endpoint in downloads:
            with pytest.raises(AppError) as refused:
                teacher.predict(api_name=endpoint)
            assert str(refused.value) == ("The download could not be written on this computer (the disk or folder is "
                                          "read-only or failing); everything the class made is kept.")
        monkeypatch.undo()
        assert all(Path(teacher.predict(api_name=endpoint)).stat().st_size for endpoint in downloads)
    finally:
        app.close()


def test_a_lesson_zip_that_cannot_be_restored_at_start_stops_the_app_in_one_line(tmp_path, capsys):
    broken = tmp_path / "lesson.zip"
    broken.write_bytes(os.urandom(5000))
    assert main(["--store", str(tmp_path / "class.sqlite3"), "--restore", str(broken)]) == 2
    assert capsys.readouterr().err == "error: Refusing the lesson 'lesson.zip': File is not a zip file.\n"


# ---------------------------------------------------------------- the real server process


@pytest.fixture(scope="module")
def server(tiny_tree, trained_checkpoint, tmp_path_factory):
    """The app on a store file that holds random bytes at start."""
    made = Server(tmp_path_factory.mktemp("lesson-server"), tiny_tree, trained_checkpoint.path)
    made.store.write_bytes(os.urandom(30_000))
    made.bad = made.store.read_bytes()
    made.start()
    yield made
    made.kill()


def test_a_corrupt_store_is_moved_aside_and_the_page_says_where(server):
    (aside,) = server.folder.glob("class.sqlite3.bad-*[0-9]")
    assert aside.read_bytes() == server.bad, "nothing is deleted"
    config = httpx.get(server.url + "config", timeout=CALL_TIMEOUT).json()
    (header,) = [c["props"]["value"] for c in config["components"] if c.get("props", {}).get("elem_id") == "header"]
    assert f"moved aside, beside it, as {aside.name}" in header and str(server.folder) not in header
    assert "warning: The class's store could not be read" in server.log.read_text()
    assert Client(server.url, verbose=False).predict("works", api_name="/your_classes_add_class")["classes"]


def test_a_second_app_on_the_same_store_refuses_to_start_in_one_line(server, tmp_path):
    log = tmp_path / "second.log"
    second = launch(server.store, server.data, server.checkpoint, free_port(), log)
    assert second.wait(APP_START_TIMEOUT) == 2
    assert log.read_text().strip() == (f"error: Another app is already using the store {server.store}: stop it, or "
                                       "give this one its own with --store PATH.")


class Student:
    """A student's browser as plain HTTP from another computer: upload, call, read the answer's event stream."""

    def __init__(self, url: str, photo: Path, truth: str):
        self.url, self.truth = url, truth
        self.session = secrets.token_hex(8)  # one open page: the wall's per-page cap counts it
        self.http = httpx.Client(timeout=CALL_TIMEOUT)
        with photo.open("rb") as file:
            uploaded = self.http.post(url + "gradio_api/upload", files={"files": (photo.name, file, "image/jpeg")})
        self.picture = {"path": uploaded.json()[0], "meta": {"_type": "gradio.FileData"}}
        self.shared: list[int] = []
        self.added: list[str] = []

    def call(self, name: str, *data) -> object:
        """The answer's data; an exception when the server refused, dropped or died."""
        event = self.http.post(f"{self.url}gradio_api/call/{name}", json={"data": list(data), "session_hash": self.session}).json()["event_id"]
        kind = None
        with self.http.stream("GET", f"{self.url}gradio_api/call/{name}/{event}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    kind = line[len("event:"):].strip()
                elif line.startswith("data:") and kind in ("complete", "error"):
                    if kind == "error":
                        raise AppError(line)
                    return json.loads(line[len("data:"):])
        raise ConnectionError("the answer never came")

    def attend(self, stop: threading.Event) -> None:
        """Share and add until the server dies; only what was answered is recorded."""
        while not stop.is_set():
            for action in (self.share, self.add):
                try:
                    action()
                except AppError:  # a cap reached: the page says so, nothing was kept
                    pass
                except (httpx.HTTPError, ConnectionError, ValueError):  # the server went
                    return

    def share(self) -> None:
        (answer,) = self.call("share", self.picture, self.truth)
        self.shared.append(answer["id"])

    def add(self) -> None:
        (answer,) = self.call("your_classes_add_pictures", self.truth, [self.picture])
        self.added += answer["added"]


def test_an_app_stopped_on_the_machine_leaves_the_other_apps_copy_of_the_same_photo(server, tmp_path):
    """Two apps of one user on one machine (each its own --store) are sent the same photo: the one stopped with
    Ctrl-C deletes the uploads it made, and only those; the other still reads its copy."""
    ((photo, truth),) = saved_photos(tmp_path, 1)
    student = Student(server.url, photo, truth)
    log = server.folder / "other.log"  # beside the first app's log: the same GRADIO_TEMP_DIR, as /tmp is for one user
    port = free_port()
    other = launch(tmp_path / "other.sqlite3", server.data, server.checkpoint, port, log)
    try:
        wait_for_page(f"http://127.0.0.1:{port}/", other, log)
        Student(f"http://127.0.0.1:{port}/", photo, truth)  # the same bytes, from another student's page
    finally:
        other.send_signal(signal.SIGINT)
        other.wait(APP_START_TIMEOUT)
    student.share()
    assert student.shared, "the first app read the photo its student sent"
    assert other.returncode == 0
    assert len(list((log.parent / "uploads").glob("cifar-demo-uploads-*"))) == 1, "the stopped app's folder went"


def plain_sqlite(path: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        return db.execute(sql).fetchall()


def test_kill_9_while_30_students_share_and_add_loses_no_answered_write(server, tmp_path):
    address = network_address_or_skip()
    teacher = Client(server.url, verbose=False)
    for name in TINY_CLASSES:
        teacher.predict(name, api_name="/your_classes_add_class")
    photos = saved_photos(tmp_path, STUDENTS)
    students = [Student(server.url.replace("127.0.0.1", address), path, truth) for path, truth in photos]
    stop = threading.Event()
    threads = [threading.Thread(target=student.attend, args=(stop,), daemon=True) for student in students]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + LOAD_SECONDS
    while sum(len(s.added) for s in students) < 2 * STUDENTS and time.monotonic() < deadline:  # two adds each
        time.sleep(0.05)
    server.kill()  # in the middle of the students' writes
    stop.set()
    for thread in threads:
        thread.join(CALL_TIMEOUT)
    shared = {n for s in students for n in s.shared}
    added = {n for s in students for n in s.added}
    assert shared and len(added) >= STUDENTS

    assert plain_sqlite(server.store, "PRAGMA integrity_check") == [("ok",)]
    ((entries, counted),) = plain_sqlite(server.store, "SELECT (SELECT count(*) FROM wall_entries), (SELECT "
                                                       "sum(shares) FROM wall_shares WHERE kind = 'address')")
    assert entries == counted, "each picture on the wall and its share's count were written together"
    server.start()
    teacher = Client(server.url, verbose=False)
    wall, classes = kept(teacher)
    assert shared <= set(wall), "every share whose answer reached its student is on the wall"
    assert added <= set(sum(classes.values(), [])), "every answered add is in its class"
    entries = teacher.predict(api_name="/wall")["entries"]
    assert all(entry["guess"] in TINY_CLASSES for entry in entries)
