"""The class challenge: its rules on their own, entries run in turn by the real trainer process on the tiny pictures
(cut at a budget of a second or two, restarted, their trainer killed), and the named API on a real server."""
from __future__ import annotations

import os
import signal
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from gradio_client import Client
from gradio_client.exceptions import AppError

from app import build_app, serve
from cifar_demo.access import RULES, THIS_MACHINE, AccessError, Caller
from cifar_demo.challenge import Challenge
from cifar_demo.challenge_board import entry_dict
from cifar_demo.challenge_rules import (ChallengeError, EntryBudget, clean_nickname, make_recipe, note, said,
                                        validation_split)
from cifar_demo.challenge_store import CANCELLED, DONE, LOST, RUNNING, WAITING, ChallengeRow
from cifar_demo.data import Dataset, ImageSet
from cifar_demo.lab import JobRunning, Lab
from cifar_demo.store import Store
from cifar_demo.trainer import TRAINER_DIED
from cifar_demo.training import preset
from cifar_demo.ui.challenge import board_text, queue_text
from cifar_demo.words import Say
from test_app import assert_reads_as_a_sentence
from cifar_demo.network import free_port

LONG = {"epochs": 1000, "batch_size": 8}  # outlasts any budget here: every entry is cut
STUDENTS = 30


def student(n: int) -> Caller:
    return Caller(f"page:student-{n}", "10.0.0.7")


def wait_for(condition, timeout: float = 120, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def states(challenge: Challenge) -> dict[int, str]:
    return {e.id: e.state for e in challenge.records.entries(challenge.current().id)}


def drained(challenge: Challenge) -> bool:
    return not any(state in (WAITING, RUNNING) for state in states(challenge).values())


def curve_saved(challenge: Challenge, number: int) -> bool:
    return bool(challenge.records.history(number)["steps"])


@pytest.fixture
def lab(tiny_tree, tmp_path):
    lab = Lab(data_path=tiny_tree, checkpoint_dir=tmp_path / "checkpoints", device="cpu", download=False)
    yield lab
    if lab.job is not None and not lab.job.done:
        lab.job.stop()
        lab.job.wait(60)


@pytest.fixture
def challenge(lab, tmp_path):
    store = Store(tmp_path / "class.sqlite3")
    challenge = Challenge(lab, store)
    yield challenge
    challenge.close_down()
    store.close()


# ---------------------------------------------------------------- the rules alone


def test_a_nickname_is_kept_as_typed_text_of_one_to_thirty_characters():
    assert clean_nickname("  <b>Ada</b>   &  *Bob*  ") == "<b>Ada</b> & *Bob*"
    assert clean_nickname("🦊 fox\u200dteam") == "🦊 fox\u200dteam"  # an emoji's joiner is text
    assert clean_nickname("\u2764\ufe0f 👩\u200d💻") == "\u2764\ufe0f 👩\u200d💻"  # and so are its selectors
    blank = ("\u3164", "\u2800", "\u115f\u1160", "\uffa0", "\u200d", "\ufe0f\ufe0f")  # fillers, a blank, joiners alone
    for bad in ("", "   ", "x" * 31, "x" * 200, "a\x00b", "evil\u202etxt.exe", "zero\u200bwidth", None, 5, ["a"], *blank):
        with pytest.raises(ChallengeError) as refused:
            clean_nickname(bad)
        assert str(refused.value) == str(said("nickname", chars=30))


def test_a_recipe_takes_the_nets_preset_and_is_validated_as_train_is():
    challenge = ChallengeRow(1, "", "open", None, 2, ("lenet", "smallcnn"), None)
    assert make_recipe("lenet", {"lr": 0.1, "seed": None}, challenge) == {
        "model": "lenet", **{key: getattr(preset("lenet", lr=0.1), key)
                            for key in ("epochs", "batch_size", "lr", "optimizer", "augment", "seed")}}
    refusals = [("resnet", {}, "This challenge allows lenet, smallcnn: choose one of them."),
                (None, {}, "This challenge allows lenet, smallcnn: choose one of them."),
                ("lenet", {"epochs": 3}, "This challenge's budget is 2 epoch(s) an entry: choose at most 2."),
                ("lenet", {"epochs": 0}, "Invalid training settings: epochs must be a whole number from 1 to 1,000."),
                ("lenet", {"lr": float("nan")}, "Invalid training settings: learning rate must be above 0 and at "
                                                "most 1e+06."),
                ("lenet", {"optimizer": "rmsprop", "seed": -1}, "Invalid training settings: optimizer must be one of "
                                                                "sgd, adam, muon; seed must be a whole number from 0 to "
                                                                "2,147,483,647.")]
    for net, settings, words in refusals:
        with pytest.raises(ChallengeError) as refused:
            make_recipe(net, settings, challenge)
        assert str(refused.value) == words
    for amount, unit in ((0, "seconds"), (3601, "seconds"), (0.5, "epochs"), (20, "minutes"), ("20", "seconds")):
        with pytest.raises(ChallengeError) as refused:
            EntryBudget.of(amount, unit)
        assert str(refused.value) == ("The budget must be from 1 to 3600 seconds of training, or a whole number from 1 "
                                      "to 100 epochs.")
    assert str(EntryBudget.of(20, "seconds").words()) == "20 s of training"
    assert str(EntryBudget.of(1, "epochs").words()) == "1 epoch"


def test_the_validation_split_is_fixed_seeded_and_apart_from_what_entries_train_on(tiny_data):
    split, again = validation_split(tiny_data), validation_split(tiny_data)
    assert len(split.test) == len(tiny_data.train) // 10 and len(split.train) + len(split.test) == len(tiny_data.train)
    assert torch.equal(split.test.images, again.test.images), "the same pictures every time"
    rows = {bytes(p.flatten().tolist()) for p in tiny_data.train.images}
    kept, held = ({bytes(p.flatten().tolist()) for p in part.images} for part in (split.train, split.test))
    assert not kept & held and kept | held == rows, "every training picture is on one side only"
    assert (split.mean, split.std, split.classes) == (tiny_data.mean, tiny_data.std, tiny_data.classes)
    cifar_sized = Dataset(ImageSet(torch.zeros(50_000, 3, 1, 1, dtype=torch.uint8), torch.zeros(50_000).long()),
                          tiny_data.test, tiny_data.classes, "fake", mean=(0.5,) * 3, std=(0.25,) * 3)
    assert (len(validation_split(cifar_sized).train), len(validation_split(cifar_sized).test)) == (45_000, 5_000)


# ---------------------------------------------------------------- entries run in the trainer


def test_entries_run_in_turn_cut_at_the_budget_then_the_end_reveals_the_test_set(challenge, lab):
    challenge.open(EntryBudget.of(1, "seconds"), ["lenet"])
    first, position, replaced = challenge.submit("ada", "lenet", {**LONG, "seed": 1}, student(1))
    assert (position, replaced) == (1, False)
    second, _, _ = challenge.submit("bob", "lenet", {**LONG, "seed": 2}, student(2))
    again, _, replaced = challenge.submit("bob B.", "lenet", {**LONG, "seed": 3}, student(2))
    assert again.id == second.id and replaced and again.nickname == "bob B." and again.recipe["seed"] == 3
    challenge.submit("cy", "lenet", {**LONG, "lr": 0.01}, student(3))
    wait_for(lambda: drained(challenge), what="the queue to drain")
    board = challenge.board()
    assert [s.entry.state for s in board.standings] == [DONE] * 3 and not board.revealed
    assert [s.entry.public for s in board.standings] == sorted((s.entry.public for s in board.standings), reverse=True)
    for standing in board.standings:
        entry = standing.entry
        assert str(note(entry)) == str(said("cut")) and entry.epochs_done < LONG["epochs"], "cut at the budget"
        assert challenge.records.history(entry.id)["epochs"], "its curve is kept"
        assert standing.private_rank is None
    assert not [key for key in lab.shelf.models if key.startswith("challenge/")], "no entry joins the model menu"
    assert "test accuracy" not in board_text(board), "hidden until the end"
    assert "test_accuracy" not in entry_dict(board.standings[0].entry, revealed=False)

    revealed = challenge.end()
    assert revealed.revealed and sorted(s.private_rank for s in revealed.standings) == [1, 2, 3]
    for standing in revealed.standings:
        assert 0 <= standing.entry.private <= 1 and standing.moved == standing.public_rank - standing.private_rank
    winner = challenge.activate_winner()
    assert min(revealed.standings, key=lambda s: s.private_rank).entry.id == winner.id
    assert lab.shelf.active_key == f"challenge/{winner.checkpoint}"
    with pytest.raises(ChallengeError, match="The challenge is ended: it takes no new entries"):
        challenge.submit("late", "lenet", {}, student(4))


def test_the_teachers_train_goes_first_and_nobody_elses_stop_or_train_touches_an_entry(challenge, lab):
    challenge.open(EntryBudget.of(60, "seconds"), ["lenet"])
    first, _, _ = challenge.submit("ada", "lenet", LONG, student(1))
    second, _, _ = challenge.submit("bob", "lenet", LONG, student(2))
    wait_for(lambda: lab.job is not None and lab.job.history.steps, what="entry #1 to train")
    with pytest.raises(JobRunning, match=f"The running job is entry #{first.id} of the class challenge"):
        lab.stop_training()
    with pytest.raises(ChallengeError, match=r"The class challenge's queue holds the trainer \(2 entries to run\)"):
        challenge.start_training(preset("lenet", **LONG), student(3))
    with pytest.raises(AccessError) as refused:
        challenge.cancel(first.id, student(2))
    assert str(refused.value) == str(Say(RULES["challenge_cancel"].refusal, thing=first.id))
    assert states(challenge) == {first.id: RUNNING, second.id: WAITING}, "nothing changed"

    teachers = challenge.start_training(preset("lenet", **LONG), THIS_MACHINE)
    assert lab.job is teachers and states(challenge) == {first.id: WAITING, second.id: WAITING}
    view = challenge.queue()
    assert view.paused and [t.entry.id for t in view.turns] == [first.id, second.id], "back at the front"
    assert "Paused" in queue_text(view)
    assert lab.stop_training() and teachers.wait(60)
    wait_for(lambda: states(challenge)[first.id] == RUNNING, what="entry #1 to run again")
    challenge.cancel(first.id, student(1))  # its own, while it trains
    wait_for(lambda: states(challenge)[second.id] == RUNNING, what="entry #2 to run")
    assert states(challenge)[first.id] == CANCELLED
    challenge.cancel(second.id, THIS_MACHINE)  # the teacher's cancel reaches any entry
    wait_for(lambda: drained(challenge), what="the queue to drain")
    assert all(state == CANCELLED for state in states(challenge).values())


def test_a_dead_trainer_and_a_restart_each_mark_the_run_lost_with_its_curve_and_the_queue_goes_on(
        challenge, lab, tmp_path):
    challenge.open(EntryBudget.of(60, "seconds"), ["lenet"])
    numbers = [challenge.submit(name, "lenet", LONG, student(n))[0].id for n, name in enumerate("abc")]
    wait_for(lambda: curve_saved(challenge, numbers[0]), what="entry #1's curve to be saved")
    os.kill(lab.trainer.pid, signal.SIGKILL)
    wait_for(lambda: states(challenge)[numbers[0]] == LOST, what="entry #1 to be marked lost")
    lost = challenge.records.entry(numbers[0])
    assert str(note(lost)).startswith(TRAINER_DIED) and curve_saved(challenge, numbers[0])

    wait_for(lambda: curve_saved(challenge, numbers[1]), what="entry #2 to train and save its curve")
    challenge.close_down()  # the server goes away in the middle of entry #2
    challenge.records.store.close()
    store = Store(tmp_path / "class.sqlite3")
    restarted = Challenge(lab, store)
    try:
        assert restarted.records.entry(numbers[1]).state == LOST
        assert str(note(restarted.records.entry(numbers[1]))) == str(said("restart")) and curve_saved(restarted, numbers[1])
        wait_for(lambda: states(restarted)[numbers[2]] == RUNNING, what="the queue to go on after the restart")
        assert [e.entry.id for e in restarted.board().standings] == []
        assert "cut by a restart of the server" in board_text(restarted.board())
        restarted.end()
        wait_for(lambda: drained(restarted), what="the end to stop entry #3")
    finally:
        restarted.close_down()
        store.close()


# ---------------------------------------------------------------- the named API on a real server


@pytest.fixture(scope="module")
def served(tiny_tree, tmp_path_factory):
    folder = tmp_path_factory.mktemp("challenge-app")
    lab = Lab(data_path=tiny_tree, checkpoint_dir=folder / "checkpoints", download=False, device="cpu")
    store = Store(folder / "class.sqlite3")
    challenge = Challenge(lab, store)
    port = free_port()
    app = build_app(lab, challenge=challenge)
    serve(app, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    yield lab, challenge, url
    challenge.close_down()
    if lab.job is not None and not lab.job.done:
        lab.job.stop()
    app.close()
    store.close()


def in_line(client: Client) -> tuple[dict, list]:
    """The board, and who waits in the queue with what (not when: the estimates move with the clock)."""
    waiting = client.predict(api_name="/challenge_queue")["waiting"]
    return client.predict(api_name="/challenge_board"), [(w["entry"], w["nickname"], w["recipe"]) for w in waiting]


def refusal(client: Client, name: str, *arguments) -> str:
    with pytest.raises(AppError) as refused:
        client.predict(*arguments, api_name=f"/{name}")
    return str(refused.value)


def test_thirty_students_submit_in_one_second_and_every_hostile_call_gets_one_sentence(served):
    lab, challenge, url = served
    teacher = Client(url, verbose=False)
    assert teacher.predict(2, "seconds", ["lenet"], api_name="/challenge_open").startswith("Challenge #")
    teacher.predict("lenet", 1000, 8, 0.05, "sgd", False, 0, api_name="/train")  # the queue waits for this run
    # a forwarded request is never the teacher's: each client is a student's browser, though all run here
    students = [Client(url, verbose=False, headers={"X-Forwarded-For": f"10.0.0.{n}"}, httpx_kwargs={"timeout": 60})
                for n in range(STUDENTS)]  # a generous timeout: the clients share this machine with the server
    together = threading.Barrier(STUDENTS)

    def enter(n: int) -> tuple[dict, float]:
        together.wait()
        sent = time.perf_counter()
        answer = students[n].predict(f"student {n}", "lenet", 2, 16, api_name="/challenge_submit")
        return answer, time.perf_counter() - sent

    with ThreadPoolExecutor(STUDENTS) as pool:
        answers = list(pool.map(enter, range(STUDENTS)))
    numbers = [answer["entry"] for answer, _ in answers]
    assert len(set(numbers)) == STUDENTS and sorted(a["position"] for a, _ in answers) == list(range(1, STUDENTS + 1))
    queue = teacher.predict(api_name="/challenge_queue")
    assert queue["paused"] and [w["entry"] for w in queue["waiting"]] == sorted(numbers)
    assert {w["nickname"] for w in queue["waiting"]} == {f"student {n}" for n in range(STUDENTS)}
    seconds = sorted(s for _, s in answers)

    def enter_again(n: int) -> dict:  # the whole class changes its mind in the same second
        together.wait()
        return students[n].predict(f"student {n}", "lenet", 2, 16, None, None, None, 100 + n,
                                   api_name="/challenge_submit")

    with ThreadPoolExecutor(STUDENTS) as pool:
        again = list(pool.map(enter_again, range(STUDENTS)))
    assert all(a["replaced"] for a in again) and [a["entry"] for a in again] == numbers, "each kept its entry"
    latest = {w["entry"]: w["recipe"]["seed"] for w in teacher.predict(api_name="/challenge_queue")["waiting"]}
    assert latest == {number: 100 + n for n, number in enumerate(numbers)}, "the queue holds each one's latest"
    print(f"\n{STUDENTS} submissions at once: acknowledged in median {statistics.median(seconds) * 1000:.0f} ms, "
          f"p95 {seconds[int(0.95 * STUDENTS) - 1] * 1000:.0f} ms (target 300 ms p95)")

    mallory, forged = students[0], Client(url, verbose=False, headers={"X-Forwarded-For": "127.0.0.1"})
    before = in_line(teacher)
    hostile = {
        "bad settings": ("challenge_submit", "mallory", "lenet", 0, 16),
        "a net not allowed": ("challenge_submit", "mallory", "resnet"),
        "an empty nickname": ("challenge_submit", "", "lenet"),
        "a 200-character nickname": ("challenge_submit", "m" * 200, "lenet"),
        "another's entry cancelled": ("challenge_cancel", numbers[1]),
        "no such entry": ("challenge_cancel", 10**9),
        **{f"{name} through X-Forwarded-For": (name,) for name in (
            "challenge_close", "challenge_end", "challenge_activate_winner")},
        "open through X-Forwarded-For": ("challenge_open", 5, "seconds", ["lenet"]),
    }
    for what, (name, *arguments) in hostile.items():
        words = refusal(forged if "X-Forwarded-For" in what else mallory, name, *arguments)
        assert_reads_as_a_sentence(words)
        assert "\n" not in words and words.count(". ") == 0, f"{what}: one sentence: {words}"
        assert in_line(teacher) == before, f"{what} changed the board or the queue"

    markup = "<img src=x onerror=alert(1)>"
    shown = students[1].predict(markup, "lenet", api_name="/challenge_submit")
    assert shown["nickname"] == markup, "kept as typed"
    assert shown["entry"] == numbers[1] and shown["replaced"], "it replaced the waiting entry and kept its place"
    page = queue_text(challenge.queue())
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page, "the page shows it as text"

    assert teacher.predict(api_name="/challenge_close").startswith("Challenge #")
    before = in_line(teacher)
    words = refusal(students[2], "challenge_submit", "late", "lenet")
    assert words == "The challenge is closed: it takes no new entries."
    assert in_line(teacher) == before
    assert "has ended" in teacher.predict(api_name="/challenge_end")
    assert teacher.predict(api_name="/challenge_queue")["waiting"] == []
    teacher.predict(api_name="/stop")
