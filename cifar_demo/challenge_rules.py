"""The class challenge's rules: what a nickname, a recipe, a budget and an entry number may be, the validation
pictures the entries are ranked on, and how an entry's note is kept. The rest of the challenge reads them from here:
`challenge_board.py` (what the board and the queue show), `challenge_queue.py` (the thread that runs the entries) and
`challenge.py` (the Challenge the page calls)."""
from __future__ import annotations

import json
from dataclasses import dataclass, replace

import torch

from .challenge_store import ChallengeRow, EntryRow
from .data import Dataset, ImageSet
from .models import NETS
from .names import hidden
from .settings import real, whole
from .training import TrainConfig, preset
from .words import Say, from_plain, plain

VALIDATION_PICTURES = 5000  # of CIFAR-10's 50,000 training pictures: the entries train on the other 45,000
VALIDATION_SHARE = 10       # a smaller data set gives a tenth of its training pictures
VALIDATION_SEED = 0         # the same pictures in every challenge, on every server
NICKNAME_CHARS = 30
MAX_WAITING = 100           # entries in the queue at once: 3 for each of a class of 30, and room
MAX_COMPARED = 5
BUDGET_SECONDS = real(1, 3600)
BUDGET_EPOCHS = whole(1, 100)
EPOCH_BUDGET_BACKSTOP = 600.0  # seconds: an epoch budget still cuts a run that would hold the trainer for longer
RECIPE = ("epochs", "batch_size", "lr", "optimizer", "augment", "seed")  # besides the net: the Train tab's settings
ENTRY_NUMBER = whole(1, 2**62)


def said(key: str, **values: object) -> Say:
    """One of the challenge's sentences (the catalog's challenge.said section), shown in its reader's language."""
    return Say(f"challenge.said.{key}", **values)


class ChallengeError(ValueError):
    """A challenge action that cannot be done; the message is one sentence a person can act on."""


@dataclass(frozen=True)
class EntryBudget:
    """What each entry may spend: seconds of training (test passes included), or epochs."""
    seconds: float | None = None
    epochs: int | None = None

    @classmethod
    def of(cls, amount: object, unit: object) -> "EntryBudget":
        if unit == "seconds" and BUDGET_SECONDS.check(amount, None):
            return cls(seconds=float(amount))
        if unit == "epochs" and BUDGET_EPOCHS.check(amount, None):
            return cls(epochs=int(amount))
        raise ChallengeError(said("budget", seconds=BUDGET_SECONDS.must, epochs=BUDGET_EPOCHS.must))

    @classmethod
    def of_row(cls, row: ChallengeRow) -> "EntryBudget":
        return cls(row.budget_seconds, row.budget_epochs)

    @property
    def cut_seconds(self) -> float:
        return self.seconds if self.seconds is not None else EPOCH_BUDGET_BACKSTOP

    def words(self) -> Say:
        """'20 s of training' or '1 epoch', in its reader's language."""
        if self.seconds is not None:
            return Say("challenge.budget_seconds", seconds=f"{self.seconds:g}")
        return Say("challenge.budget_epoch") if self.epochs == 1 else Say("challenge.budget_epochs", epochs=self.epochs)


def clean_nickname(text: object) -> str:
    """A nickname as it will be shown (runs of spaces made one), or a ChallengeError: 1 to 30 characters of text,
    no character that shows nothing (names.hidden: an emoji's joiner and selectors excepted)."""
    name = " ".join(text.split()) if isinstance(text, str) else ""
    shows_nothing = any(hidden(c, emoji=True) for c in name) or all(hidden(c) for c in name)  # or joiners alone
    if not 1 <= len(name) <= NICKNAME_CHARS or shows_nothing:
        raise ChallengeError(said("nickname", chars=NICKNAME_CHARS))
    return name


def make_recipe(net: object, settings: dict, challenge: ChallengeRow) -> dict:
    """The settings an entry trains with: the net's preset where a setting is not given, validated as /train's."""
    if not isinstance(net, str) or net not in challenge.nets:
        raise ChallengeError(said("net", nets=", ".join(challenge.nets)))
    config = preset(net, **{key: value for key, value in settings.items() if key in RECIPE and value is not None})
    try:
        config.validate()
    except ValueError as error:
        raise ChallengeError(*error.args) from None
    budget = EntryBudget.of_row(challenge)
    if budget.epochs is not None and config.epochs > budget.epochs:
        raise ChallengeError(said("epochs", epochs=budget.epochs))
    return {"model": net, **{key: getattr(config, key) for key in RECIPE}}


def recipe_config(recipe: dict) -> TrainConfig:
    return preset(recipe["model"], **{key: recipe[key] for key in RECIPE})


def validation_count(train_pictures: int) -> int:
    """How many of a data set's training pictures the entries are ranked on, not trained on (the classroom bench
    counts an entry's images a step from it)."""
    return max(1, min(VALIDATION_PICTURES, train_pictures // VALIDATION_SHARE))


def validation_split(data: Dataset) -> Dataset:
    """The entries' data: every training picture but a fixed, seeded share (5,000 of CIFAR-10's 50,000) to train
    on, and that share as the pictures they are tested and ranked on. The test set stays out of sight."""
    count = validation_count(len(data.train))
    order = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(VALIDATION_SEED))
    held, kept = order[:count].sort().values, order[count:].sort().values
    images, labels = data.train.images, data.train.labels
    return replace(data, train=ImageSet(images[kept], labels[kept]), test=ImageSet(images[held], labels[held]),
                   mean=data.mean, std=data.std)


def chosen_nets(nets: object) -> list[str]:
    """The nets a new challenge allows, each once in the order given, or a ChallengeError."""
    if (not isinstance(nets, (list, tuple)) or not nets or len(nets) > len(NETS)
            or not all(isinstance(net, str) and net in NETS for net in nets)):
        raise ChallengeError(said("nets", nets=", ".join(NETS)))
    return list(dict.fromkeys(nets))


def entry_number(number: object) -> int:
    """An entry's number as a caller gave it, or a ChallengeError (a number that no entry has is the caller's to
    find out)."""
    if not ENTRY_NUMBER.check(number, None):
        raise ChallengeError(said("number"))
    return number


def compared_numbers(numbers: object) -> list[int]:
    """The entries a caller chose to compare, each once, at most MAX_COMPARED, or a ChallengeError."""
    if not isinstance(numbers, list):
        raise ChallengeError(said("number"))
    chosen = list(dict.fromkeys([entry_number(number) for number in numbers]))
    if len(chosen) > MAX_COMPARED:
        raise ChallengeError(said("compare", compared=MAX_COMPARED))
    return chosen


def stored(message: object) -> str:
    """An entry's note as the store keeps it: a Say (or an error carrying one) as JSON of its key and values, so an
    old entry is read in each reader's language; other text as it is."""
    data = plain(message)
    return json.dumps(data) if isinstance(data, dict) else str(message)


def note(entry: EntryRow) -> Say | str:
    """An entry's stored note, to be shown in a reader's language (a note stored as English text stays so)."""
    if entry.message.startswith("{"):
        try:
            return from_plain(json.loads(entry.message))
        except ValueError:
            pass
    return entry.message
