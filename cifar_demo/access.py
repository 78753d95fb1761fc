"""Who may touch what on a class server: every action a caller can take, who may take it, and the budgets that stop one
browser or one computer from taking more than its share. The one home of these rules; the page only says who asks."""
from __future__ import annotations

import re
import secrets
import threading
from collections import Counter
from dataclasses import dataclass
from enum import Enum

from .serving import quote
from .words import Say

TEACHER_ONLY = "access.teacher_only"
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{20,64}")  # what new_token() makes; anything else a browser sends is no token


class AccessError(ValueError):
    """A caller asked for something that is not theirs to do; the message says who may, in one sentence."""


@dataclass(frozen=True)
class Caller:
    """Who is asking. `browser` tells one student's browser from another's (a token it keeps across reloads, or its
    page session), never by network address, which a lab's machines behind one router share. `address` is the
    computer's address, for per-computer budgets only. `teacher` is the machine that runs the app."""
    browser: str
    address: str
    teacher: bool = False

    def owns(self, owner: Caller | None) -> bool:
        """Whether this caller's browser is the one that made something (an unknown browser owns nothing)."""
        return bool(self.browser) and owner is not None and owner.browser == self.browser


THIS_MACHINE = Caller("this machine", "", teacher=True)  # the app's own code and the command line, never a request


class Who(Enum):
    """Who may take an action; the words are the README's Security table's."""
    ANYONE = "anyone"
    OWNER = "the picture's owner"
    OWNER_OR_TEACHER = "the picture's owner or the teacher"
    SUBMITTER_OR_TEACHER = "the entry's student or the teacher"
    TEACHER = "the teacher only"


@dataclass(frozen=True)
class Rule:
    who: Who
    refusal: str = TEACHER_ONLY  # the key of what a caller who may not is told; {thing} names what was touched


RULES: dict[str, Rule] = {  # every named endpoint, and the page's own actions that are not endpoints
    **{name: Rule(Who.ANYONE) for name in (
        "train", "stop", "status", "models", "select_model", "compare_runs", "browse", "classify", "evaluate",
        "layer_shapes", "filters", "feature_maps", "gradcam", "share", "wall", "your_classes",
        "your_classes_add_class", "your_classes_add_pictures", "your_classes_train", "your_classes_model",
        "challenge_submit", "challenge_board", "challenge_queue")},
    **{name: Rule(Who.TEACHER) for name in (
        "wall_hide", "wall_clear", "wall_download", "your_classes_remove_class", "your_classes_zip",
        "challenge_open", "challenge_close", "challenge_end", "challenge_activate_winner")},
    "challenge_cancel": Rule(Who.SUBMITTER_OR_TEACHER, "access.cancel"),
    "your_classes_remove_picture": Rule(Who.OWNER_OR_TEACHER, "access.remove_picture"),
    "relabel": Rule(Who.OWNER, "access.relabel"),
    **{name: Rule(Who.TEACHER) for name in (
        "lesson_list", "lesson_new", "lesson_restore", "lesson_download", "lesson_import")},
}


def may(caller: Caller, action: str, owner: Caller | None = None) -> bool:
    """Whether this caller may take the action (on a thing `owner` made, for the owner's actions)."""
    who = RULES[action].who
    return (who is Who.ANYONE or (who is Who.TEACHER and caller.teacher) or (who is Who.OWNER and caller.owns(owner))
            or (who in (Who.OWNER_OR_TEACHER, Who.SUBMITTER_OR_TEACHER) and (caller.teacher or caller.owns(owner))))


def check(caller: Caller, action: str, owner: Caller | None = None, thing: object = "") -> None:
    """Raise AccessError, in the action's own words, when this caller may not take it."""
    if not may(caller, action, owner):
        raise AccessError(Say(RULES[action].refusal, thing=quote(thing)))


def new_token() -> str:
    """A browser's own name for itself: random, kept in its storage, never shown to another browser."""
    return secrets.token_urlsafe(24)


def is_token(value: object) -> bool:
    return isinstance(value, str) and TOKEN_PATTERN.fullmatch(value) is not None


class Budget:
    """What each browser and each computer has taken, against a cap for each: one page's flood stops at the browser's
    cap, a computer reopening pages at the computer's. `give_back` returns room (a removed picture), `reset` all."""

    def __init__(self, per_browser: int, per_address: int, browser_full: str, address_full: str):
        self.per_browser, self.per_address = per_browser, per_address
        self._full = (browser_full, address_full)  # the refusals' keys; {cap} is the cap reached
        self._lock = threading.Lock()
        self._browsers: Counter[str] = Counter()
        self._addresses: Counter[str] = Counter()

    def room(self, caller: Caller) -> int:
        """How many more this caller may take now."""
        with self._lock:
            return max(0, min(self.per_browser - self._browsers[caller.browser],
                              self.per_address - self._addresses[caller.address]))

    def check(self, caller: Caller) -> None:
        """Raise AccessError when this caller has no room left, naming the cap it reached."""
        with self._lock:
            self._refuse_if_spent(caller)

    def take(self, caller: Caller) -> None:
        """Count one more for this caller, or raise AccessError past a cap (checked and counted at one moment)."""
        with self._lock:
            self._refuse_if_spent(caller)
            self._browsers[caller.browser] += 1
            self._addresses[caller.address] += 1

    def _refuse_if_spent(self, caller: Caller) -> None:
        """The lock must be held."""
        if self._browsers[caller.browser] >= self.per_browser:
            raise AccessError(Say(self._full[0], cap=self.per_browser))
        if self._addresses[caller.address] >= self.per_address:
            raise AccessError(Say(self._full[1], cap=self.per_address))

    def give_back(self, caller: Caller, count: int = 1) -> None:
        with self._lock:
            self._browsers[caller.browser] = max(0, self._browsers[caller.browser] - count)
            self._addresses[caller.address] = max(0, self._addresses[caller.address] - count)

    def reset(self) -> None:
        with self._lock:
            self._browsers.clear()
            self._addresses.clear()

    def restore(self, browsers: dict[str, int], addresses: dict[str, int]) -> None:
        """What each browser and computer had taken when it was saved (a restart, a restored lesson); caps unchecked."""
        with self._lock:
            self._browsers = Counter(browsers)
            self._addresses = Counter(addresses)
