"""The Challenge tab in a real browser (Debian's Chromium through Playwright), on the tiny pictures: the teacher
opens a challenge on the page, three students submit through the named API, the page's queue and board follow them,
and the teacher's End reveals the test-set scores. A nickname with markup shows as the text it is."""
from __future__ import annotations

import re

import pytest
from gradio_client import Client
from playwright.sync_api import Page, expect

from app import build_app, serve
from chromium import LIMIT_S as PAGE_LIMIT_S, browser, open_page, typed  # noqa: F401 (a fixture)
from cifar_demo.challenge import Challenge
from cifar_demo.lab import Lab
from cifar_demo.store import Store
from cifar_demo.network import free_port
from test_challenge import LONG, drained, wait_for

BUDGET_SECONDS = "3"  # long enough that the page's one-second timer sees the others wait their turn
MARKUP = "<b>bo</b><img src=x>"  # 20 characters: within the 30 a nickname has
NICKNAMES = ["ada", MARKUP, "cy"]


@pytest.fixture(scope="module")
def served(tiny_tree, tmp_path_factory):
    folder = tmp_path_factory.mktemp("challenge-browser")
    lab = Lab(data_path=tiny_tree, checkpoint_dir=folder / "checkpoints", download=False, device="cpu")
    store = Store(folder / "class.sqlite3")
    challenge = Challenge(lab, store)
    port = free_port()
    app = build_app(lab, challenge=challenge)
    serve(app, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield challenge, f"http://127.0.0.1:{port}/"
    challenge.close_down()
    app.close()
    store.close()


@pytest.fixture
def page(browser, served):
    """The page on the app's own machine: the teacher's, whose Teacher controls show."""
    page = open_page(browser, served[1])
    yield page
    page.context.close()


def test_the_teacher_opens_students_enter_by_api_the_page_shows_queue_board_and_the_revealed_scores(
        page: Page, served):
    challenge, url = served
    # each student's notebook, on another machine behind a proxy, connected before the lesson's challenge opens (a
    # connection made while an entry trains and Chromium draws the page waited past httpx's 5 s on a busy CI machine)
    students = [Client(url, verbose=False, headers={"X-Forwarded-For": f"10.0.0.{n + 2}"},
                       httpx_kwargs={"timeout": PAGE_LIMIT_S}) for n in range(len(NICKNAMES))]
    page.get_by_role("tab", name="Challenge", exact=True).click()
    panel = page.get_by_role("tabpanel")
    header, board, queue = (panel.locator(f"#challenge-{name}") for name in ("header", "board", "queue"))
    expect(header).to_contain_text("No challenge yet")
    panel.get_by_text("Teacher", exact=True).click()  # its controls mount now: typed() types until the page keeps it
    budget = panel.get_by_label("Budget per entry")
    expect(budget).to_have_value("20")
    expect(panel.get_by_role("button", name="Make the winner the active model")).to_be_visible()
    expect(panel.locator("#challenge-told textarea")).to_be_attached()
    typed(budget, BUDGET_SECONDS)
    panel.get_by_role("button", name="Open a challenge").click()
    expect(panel.locator("#challenge-told textarea")).to_have_value(re.compile(r"^Challenge #1 is open: 3 s of"))
    expect(header).to_contain_text("Challenge #1 · open")

    for student, nickname in zip(students, NICKNAMES):
        answer = student.predict(nickname, "lenet", LONG["epochs"], LONG["batch_size"], api_name="/challenge_submit")
        assert answer["nickname"] == nickname
    expect(queue).to_contain_text("cy")  # the last waits while the first trains
    expect(header).to_contain_text("Training now")

    wait_for(lambda: drained(challenge), timeout=PAGE_LIMIT_S, what="the three entries to run")
    rows = board.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(board).to_contain_text("ada")
    expect(board).to_contain_text(MARKUP)  # the nickname as typed, as text
    assert board.locator("img, b").count() == 0, "a nickname is never markup on the page"
    expect(board).not_to_contain_text("test accuracy")  # hidden until the end
    expect(rows.first).to_contain_text("%")
    expect(queue).to_contain_text("Nobody is waiting.")

    panel.get_by_role("button", name="End: reveal the test set").click()
    expect(panel.locator("#challenge-told textarea")).to_have_value(re.compile(r"^Challenge #1 has ended"))
    expect(board).to_contain_text("test accuracy")
    expect(header).to_contain_text("ended")
    for row in range(3):  # each entry's test accuracy, test rank and move: no cell left unknown
        cells = rows.nth(row).locator("td")
        expect(cells).to_have_count(15)
        expect(cells.nth(12)).to_contain_text("%")
        expect(cells.nth(13)).to_have_text(re.compile(r"^[123]$"))
        expect(cells.nth(14)).to_have_text(re.compile(r"^(=|▲\d|▼\d)$"))
