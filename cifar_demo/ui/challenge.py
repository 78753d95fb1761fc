"""The Challenge tab: students submit a recipe under a nickname, the entries train in turn on the projector, the board
ranks them on validation pictures and, once the teacher ends the challenge, on the test set. The named API
(challenge_*) lets a class enter from a notebook with gradio_client."""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import gradio as gr

from ..access import AccessError, Caller
from ..challenge import Challenge
from ..challenge_board import Board, QueueView, Standing, entry_dict
from ..challenge_rules import RECIPE, ChallengeError, EntryBudget, note
from ..challenge_store import EntryRow
from ..models import NETS
from ..plots import accuracy_figure, loss_figure, runs_figure
from ..training import preset
from ..words import Say
from .common import (SharedChart, allowed, caller, clock, escape_markdown, message_line, recipe_controls, refusal,
                     render, teacher_controls)
from .language import language, page, say, shown
from .your_classes import own_token


@dataclass
class ChallengeTab:
    tab: gr.Tab
    timer: gr.Timer  # ticks while the tab is open
    add_api: Callable[[], None]  # the endpoints with no component of their own, registered outside the tabs


# ---------------------------------------------------------------- words and tables


def percent(value: float | None) -> str:
    return say("challenge.unknown") if value is None else f"{value:.1%}"


def recipe_cells(recipe: dict) -> list[str]:
    return [recipe["model"], str(recipe["epochs"]), str(recipe["batch_size"]), f"{recipe['lr']:g}",
            recipe["optimizer"], say("challenge.yes" if recipe["augment"] else "challenge.no"), str(recipe["seed"])]


def table(head: list[str], rows: list[list[str]]) -> str:
    """A Markdown table whose cells are text: every cell escaped, so a nickname is never markup."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(escape_markdown(cell) for cell in row) + " |" for row in rows])


def moved_words(standing: Standing) -> str:
    moved = standing.moved
    return say("challenge.unknown") if moved is None else say("challenge.same") if moved == 0 else say(
        "challenge.up" if moved > 0 else "challenge.down", n=abs(moved))


def board_text(board: Board) -> str:
    if not board.standings and not board.others:
        return say("challenge.empty_board")
    head = say("challenge.board_head").split("|")
    if board.revealed:
        head += say("challenge.revealed_head").split("|")
    rows = []
    for standing in board.standings:
        entry = standing.entry
        row = [str(standing.public_rank), f"#{entry.id}", entry.nickname, *recipe_cells(entry.recipe),
               say("challenge.unknown") if entry.epochs_done is None else f"{entry.epochs_done:.2f}",
               percent(entry.public)]
        if board.revealed:
            row += [percent(entry.private), str(standing.private_rank or say("challenge.unknown")),
                    moved_words(standing)]
        rows.append(row)
    others = "; ".join(f"#{e.id} {escape_markdown(e.nickname)} ({say('challenge.state_' + e.state)}: "
                       f"{escape_markdown(shown(note(e)))})" for e in board.others)
    return table(head, rows) + (f"\n\n{say('challenge.not_ranked')}{others}" if others else "")


def starts_in_words(seconds: float | None) -> str:
    return say("challenge.unknown") if seconds is None else say("challenge.soon") if seconds < 1 else clock(seconds)


def queue_text(view: QueueView) -> str:
    lines = [say("challenge.paused")] if view.paused else []
    if not view.turns:
        return "\n\n".join(lines + [say("challenge.empty_queue")])
    rows = [[str(turn.position), f"#{turn.entry.id}", turn.entry.nickname, *recipe_cells(turn.entry.recipe),
             starts_in_words(turn.starts_in)] for turn in view.turns]
    return "\n\n".join(lines + [table(say("challenge.queue_head").split("|"), rows)])


def header_text(challenge: Challenge, live: tuple[EntryRow, dict] | None) -> str:
    row = challenge.current()
    if row is None:
        return say("challenge.no_challenge")
    words = [say("challenge.header", id=row.id, state=Say(f"challenge.state_{row.state}"),
                                   budget=EntryBudget.of_row(row).words(), nets=", ".join(row.nets))]
    running = challenge.queue().running
    if live is not None:
        entry, status = live
        seconds = status["progress"].get("elapsed_seconds") or 0.0
        words.append(say("challenge.training_now", entry=entry.id, nickname=escape_markdown(entry.nickname),
                                                 net=entry.recipe["model"], seconds=clock(seconds)))
    elif running is not None:
        words.append(say("challenge.loading", entry=running.id, nickname=escape_markdown(running.nickname),
                                            net=running.recipe["model"]))
    return "\n\n".join(words + [say("challenge.teacher_first")])


def placed_words(entry: EntryRow, position: int, replaced: bool) -> str:
    place = say("challenge.next") if position == 1 else say("challenge.place", position=position)
    return say("challenge.replaced" if replaced else "challenge.submitted", entry=entry.id, place=place)


def ended_words(board: Board) -> str:
    scored = sorted((s for s in board.standings if s.private_rank is not None), key=lambda s: s.private_rank)
    winner = scored[0].entry if scored else None
    return say("challenge.ended", id=board.challenge.id, winner=say("challenge.winner_is", 
        entry=winner.id, nickname=winner.nickname, accuracy=percent(winner.private)) if winner else "")


def compare_choices(board: Board) -> list[tuple[str, int]]:
    entries = [s.entry for s in board.standings] + board.others
    return [(f"#{e.id} {e.nickname} · {e.recipe['model']} · {percent(e.public)}", e.id) for e in entries]


# ---------------------------------------------------------------- the tab


def build_challenge_tab(challenge: Challenge) -> ChallengeTab:
    api = ChallengeApi(challenge)
    defaults = preset("lenet")
    with gr.Tab(page("challenge.tab")) as tab:
        gr.Markdown(page("challenge.intro"))
        header = gr.Markdown(header_text(challenge, None), elem_id="challenge-header")
        with gr.Row():
            with gr.Column(scale=2, min_width=340):
                nickname = gr.Textbox(label=page("challenge.nickname"), placeholder=page("challenge.nickname_hint"),
                                      max_lines=1,
                                      elem_id="challenge-nickname")
                net = gr.Dropdown(list(NETS), value=defaults.model, label=page("net"), elem_id="challenge-net")
                recipe = recipe_controls(defaults)
                with gr.Row():
                    submit = gr.Button(page("challenge.submit"), variant="primary", elem_id="challenge-submit")
                    cancel = gr.Button(page("challenge.cancel"), elem_id="challenge-cancel")
                said = message_line("challenge-said", big=True)
            with gr.Column(scale=3):
                loss = gr.Image(show_label=False, interactive=False, format="png", buttons=["fullscreen"])
                accuracy = gr.Image(show_label=False, interactive=False, format="png", buttons=["fullscreen"])
        gr.Markdown(page("challenge.board"))
        board = gr.Markdown(elem_id="challenge-board")
        gr.Markdown(page("challenge.queue"))
        queue = gr.Markdown(elem_id="challenge-queue")
        with gr.Accordion(page("challenge.compare"), open=False):
            picked = gr.CheckboxGroup(label=page("challenge.compare_pick"))
            compared = gr.Image(show_label=False, interactive=False, format="png", buttons=["fullscreen"])
        with gr.Accordion(page("challenge.teacher"), open=False, visible=False) as teacher:
            with gr.Row(equal_height=True):
                budget = gr.Number(20, label=page("challenge.budget"), minimum=1)
                unit = gr.Radio([(page("challenge.unit_seconds"), "seconds"),
                                 (page("challenge.unit_epochs"), "epochs")],
                                value="seconds", label=page("challenge.unit"))
                nets = gr.CheckboxGroup(list(NETS), value=["lenet"], label=page("challenge.nets"))
            with gr.Row():
                open_ = gr.Button(page("challenge.open"), variant="primary")
                close = gr.Button(page("challenge.close"))
                end = gr.Button(page("challenge.end"), variant="stop")
                winner = gr.Button(page("challenge.winner"))
            told = message_line("challenge-told")
        token = gr.BrowserState("", storage_key="cifar-demo-challenge")  # this browser's own entry, across reloads
        seen = gr.State({})
        timer = gr.Timer(1.0, active=False)

    view = PageView(challenge)
    shown = [header, board, queue, loss, accuracy, picked, net, seen]
    for trigger in (tab.select, timer.tick):
        trigger(view.tick, seen, shown, api_visibility="private", show_progress="hidden", concurrency_limit=None)
    tab.select(own_token, token, token, api_visibility="private")
    tab.select(teacher_controls(1), None, teacher, api_visibility="private")
    net.input(fill_preset, net, recipe.settings[:-1], api_visibility="private")  # a preset keeps the seed
    submit.click(api.submit_from_page, [nickname, net, *recipe.settings, token], said, api_visibility="private")
    cancel.click(api.cancel_own, token, said, api_visibility="private")
    picked.input(api.compare, picked, compared, api_visibility="private", show_progress="hidden")
    open_.click(api.open, [budget, unit, nets], told, api_name="challenge_open")
    close.click(api.close, None, told, api_name="challenge_close")
    end.click(api.end, None, told, api_name="challenge_end")
    winner.click(api.activate_winner, None, told, api_name="challenge_activate_winner")
    return ChallengeTab(tab, timer, api.register)


def fill_preset(net: str):
    config = preset(net) if net in NETS else preset("lenet")
    return config.epochs, config.batch_size, config.lr, config.optimizer, config.augment


class PageView:
    """What the tab's timer sends a page: only what changed since its last tick. The texts are made once a
    second for every page, the charts once per change."""

    def __init__(self, challenge: Challenge):
        self.challenge = challenge
        folder = Path(tempfile.mkdtemp(prefix="cifar-demo-challenge-"))
        self.loss, self.accuracy = SharedChart(folder, "challenge-loss"), SharedChart(folder, "challenge-accuracy")
        self._made: tuple[object, dict] = (None, {})

    def texts(self) -> dict:
        key = (self.challenge.version, int(time.monotonic()))
        made_for, made = self._made
        if made_for != key:
            live = self.challenge.live()
            board = self.challenge.board()
            row = board.challenge
            made = {"header": header_text(self.challenge, live), "board": board_text(board),
                    "queue": queue_text(self.challenge.queue()), "choices": compare_choices(board),
                    "nets": list(row.nets) if row and row.state == "open" else list(NETS), "live": live}
            self._made = (key, made)
        return made

    def tick(self, last: dict):
        made = self.texts()
        live = made["live"]
        history = live[1]["history"] if live else {"steps": [], "epochs": []}
        run = live[1]["run"] if live else None
        now = {key: made[key] for key in ("header", "board", "queue", "choices", "nets")}
        spoken = language()
        now["loss"], now["accuracy"] = (run, len(history["steps"]), spoken), (run, len(history["epochs"]), spoken)
        changed = {key: now[key] != last.get(key) for key in now}

        def chart(key: str, drawn: SharedChart, figure: Callable):
            return drawn.get(now[key], figure) if changed[key] else gr.skip()

        return (*(made[key] if changed[key] else gr.skip() for key in ("header", "board", "queue")),
                chart("loss", self.loss, lambda: loss_figure(history, say("challenge.loss_title"), spoken)),
                chart("accuracy", self.accuracy, lambda: accuracy_figure(history, say("challenge.accuracy_title"),
                                                                                 spoken)),
                gr.update(choices=now["choices"]) if changed["choices"] else gr.skip(),
                gr.update(choices=now["nets"]) if changed["nets"] else gr.skip(), now)


class ChallengeApi:
    """The challenge's endpoints (challenge_*), as plain data for gradio_client, and the page's own actions."""

    def __init__(self, challenge: Challenge):
        self.challenge = challenge

    def register(self) -> None:
        gr.api(self.submit, api_name="challenge_submit", concurrency_limit=None)  # a class submits at once
        gr.api(self.cancel, api_name="challenge_cancel")
        gr.api(self.board, api_name="challenge_board", concurrency_limit=None)
        gr.api(self.queue, api_name="challenge_queue", concurrency_limit=None)

    def submit(self, nickname: str, net: str, epochs: int | None = None, batch_size: int | None = None,
               lr: float | None = None, optimizer: str | None = None, augment: bool | None = None,
               seed: int | None = None, request: gr.Request = None) -> dict:
        """Enter the challenge under a nickname (1 to 30 characters) with a net it allows and the Train tab's
        settings (those left out take the net's preset). A client has one entry waiting at a time: a new submission
        replaces it and keeps its place. Returns the entry's number, its place in the queue and a message."""
        settings = dict(zip(RECIPE, (epochs, batch_size, lr, optimizer, augment, seed)))
        try:
            entry, position, replaced = self.challenge.submit(nickname, net, settings, caller(request))
        except ChallengeError as error:
            raise refusal("challenge_submit", error, title="not_entered") from None
        return {"entry": entry.id, "nickname": entry.nickname, "position": position, "replaced": replaced,
                "message": placed_words(entry, position, replaced)}

    def submit_from_page(self, nickname: str, net: str, epochs, batch_size, lr, optimizer, augment, seed, token: str,
                         request: gr.Request) -> str:
        settings = dict(zip(RECIPE, (epochs, batch_size, lr, optimizer, augment, seed)))
        try:
            entry, position, replaced = self.challenge.submit(nickname, net, settings, caller(request, token))
        except ChallengeError as error:
            raise refusal("challenge_submit", error, title="not_entered") from None
        return placed_words(entry, position, replaced)

    def cancel(self, entry: int, request: gr.Request = None) -> str:
        """Cancel an entry by its number: one this client submitted (the teacher may cancel any). A waiting entry
        leaves the queue, a training one stops, a finished one leaves the board."""
        return self._cancel_as(entry, caller(request))

    def cancel_own(self, token: str, request: gr.Request) -> str:
        """The page's Cancel: this browser's entry that waits or trains."""
        who = caller(request, token)
        own = self.challenge.own_entry(who)
        return say("challenge.no_own") if own is None else self._cancel_as(own.id, who)

    def _cancel_as(self, number: object, who: Caller) -> str:
        try:
            cancelled = self.challenge.cancel(number, who)
        except (AccessError, ChallengeError) as error:
            raise refusal("challenge_cancel", error, title="not_cancelled") from None
        return say("challenge.cancelled", entry=cancelled.id)

    def board(self) -> dict:
        """The challenge (state, budget, nets) and its board: entries ranked by validation accuracy (rank 1 best);
        once the challenge has ended, each entry's test accuracy, its rank there and the places it moved."""
        board = self.challenge.board()
        row = board.challenge
        about = None if row is None else {"challenge": row.id, "state": row.state, "opened": row.opened,
                                          "budget": EntryBudget.of_row(row).words(), "nets": list(row.nets)}
        ranked = [{"rank": s.public_rank, **entry_dict(s.entry, board.revealed),
                   **({"test_rank": s.private_rank, "moved": s.moved} if board.revealed else {})}
                  for s in board.standings]
        return {"challenge": about, "revealed": board.revealed, "ranked": ranked,
                "not_ranked": [entry_dict(e, board.revealed) for e in board.others]}

    def queue(self) -> dict:
        """The entry training now and the waiting ones in order, each with its recipe and estimated start (seconds
        from now; null before any entry has shown how long one takes)."""
        view = self.challenge.queue()
        return {"running": entry_dict(view.running, False) if view.running else None, "paused": view.paused,
                "waiting": [{"position": t.position, **entry_dict(t.entry, False), "starts_in_seconds": t.starts_in}
                            for t in view.turns]}

    def open(self, budget: float, unit: str = "seconds", nets: list[str] | None = None,
             request: gr.Request = None) -> str:
        """Teacher only, from the machine that runs the app: open a challenge with a budget per entry (seconds of
        training, or epochs) and the nets it allows (default lenet)."""
        allowed("challenge_open", request)
        try:
            row = self.challenge.open(EntryBudget.of(budget, unit), ["lenet"] if nets is None else nets)
        except ChallengeError as error:
            raise refusal("challenge_open", error, title="not_opened") from None
        return say("challenge.opened", id=row.id, budget=EntryBudget.of_row(row).words(), nets=", ".join(row.nets))

    def close(self, request: gr.Request = None) -> str:
        """Teacher only, from the machine that runs the app: take no new entries; the queue runs on."""
        allowed("challenge_close", request)
        try:
            row = self.challenge.close()
        except ChallengeError as error:
            raise refusal("challenge_close", error) from None
        return say("challenge.closed", id=row.id)

    def end(self, request: gr.Request = None) -> str:
        """Teacher only, from the machine that runs the app: end the challenge (a training entry is cut, waiting
        ones never run) and reveal every entry's test-set accuracy on the board."""
        allowed("challenge_end", request)
        try:
            board = self.challenge.end()
        except ChallengeError as error:
            raise refusal("challenge_end", error) from None
        return ended_words(board)

    def activate_winner(self, request: gr.Request = None) -> str:
        """Teacher only, from the machine that runs the app: once the challenge has ended, make the entry best on
        the test set the active model of every tab."""
        allowed("challenge_activate_winner", request)
        try:
            winner = self.challenge.activate_winner()
        except ChallengeError as error:
            raise refusal("challenge_activate_winner", error) from None
        return say("challenge.activated", entry=winner.id, nickname=winner.nickname)

    def compare(self, numbers: list[int]) -> str | None:
        try:
            runs = self.challenge.compared(numbers or [])
        except ChallengeError as error:
            raise refusal("challenge_compare", error) from None
        if not runs:
            return None
        return render("challenge_compare", lambda: runs_figure(runs, say("challenge.compare_title"), language(),
                                                                         say("challenge.compare_accuracy")))
