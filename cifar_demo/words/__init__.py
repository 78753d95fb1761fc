"""The page's two languages in one catalog: keys to English and Korean text with named {placeholders}.

The core never renders a language itself: a sentence it hands the page (an error's message, a chart's words) is a
Say, a key with values, whose str() is English (so the CLI and the logs stay English) and which the page renders in
its reader's language with `text`. No gradio here: cifar_demo/ui/language.py gives the same catalog to gr.I18n.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import reduce
from string import Formatter

from . import en, ko

ENGLISH, KOREAN = "en", "ko"
LANGUAGES = (ENGLISH, KOREAN)
CATALOG: dict[str, dict[str, str]] = {ENGLISH: en.WORDS, KOREAN: ko.WORDS}
DYNAMIC_PAGE_KEYS = {"page.net_choice"}  # page words with a value per item: the UI fills them in itself
CIFAR10 = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


class Say:
    """A sentence by key and values, rendered in a language when it is shown; str() is English."""

    def __init__(self, key: str, **values: object):
        if key not in CATALOG[ENGLISH]:
            raise KeyError(f"no words for {key!r}")
        self.key, self.values = key, values

    def in_(self, language: str) -> str:
        return text(self.key, language, **self.values)

    def __str__(self) -> str:
        return self.in_(ENGLISH)

    def __repr__(self) -> str:
        return f"Say({self.key!r}, {self.values!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Say) and (self.key, self.values) == (other.key, other.values)

    __hash__ = None


class Clause:
    """A sentence said inside another (after a ':' or 'but'): without its full stop, and in English without its
    capital unless `capital`."""

    def __init__(self, sentence: object, capital: bool = False):
        self.sentence, self.capital = sentence, capital

    def in_(self, language: str) -> str:
        said = render(self.sentence, language).rstrip(".")
        return said[:1].lower() + said[1:] if language == ENGLISH and not self.capital else said

    def __str__(self) -> str:
        return self.in_(ENGLISH)


def text(key: str, language: str, **values: object) -> str:
    """A key's text in a language (English for any other), its values rendered in the same language."""
    template = CATALOG.get(language, CATALOG[ENGLISH])[key]
    return template.format(**{name: render(value, language) for name, value in values.items()})


def said_by(error: object) -> Say | Clause | None:
    """The sentence an error carries as its one argument (every refusal of ours does), or None."""
    if isinstance(error, BaseException) and len(error.args) == 1 and isinstance(error.args[0], (Say, Clause)):
        return error.args[0]
    return None


def sentence(value: object) -> object:
    """An error carrying a Say or Clause as its one argument stands for that sentence; anything else is itself."""
    return said_by(value) or value


def render(value: object, language: str) -> str:
    """A Say in the language; an error carrying a Say as its one argument likewise; anything else as it is."""
    value = sentence(value)
    return value.in_(language) if isinstance(value, (Say, Clause)) else str(value)


def plain(value: object) -> object:
    """A sentence as JSON-ready data, to store or to send across a process: a Say as its key and values (an error
    carrying one as that one); numbers and None as they are; anything else as its text. Values go as [name, value]
    pairs, never a mapping: a mapping with a "path" is a file to gradio_client, which would try to fetch it."""
    value = sentence(value)
    if isinstance(value, Say):
        return {"say": value.key, "values": [[name, plain(v)] for name, v in value.values.items()]}
    if isinstance(value, Clause):
        return {"clause": plain(value.sentence), "capital": value.capital}
    return value if value is None or isinstance(value, (int, float)) else str(value)


def from_plain(data: object) -> object:
    """What plain() made, back as a Say to render in a reader's language (a key no longer in the catalog: its
    values' text)."""
    if isinstance(data, dict) and isinstance(data.get("values"), list) and data.get("say") in CATALOG[ENGLISH]:
        return Say(data["say"], **{name: from_plain(v) for name, v in data["values"]})
    if isinstance(data, dict) and "clause" in data:
        return Clause(from_plain(data["clause"]), bool(data.get("capital")))
    return data


def listed(items: Iterable[object], joint: str = "text.comma") -> object:
    """Items said as one list ('a, b, c'; with "text.semicolon", 'a; b; c'), each in the reader's language."""
    items = list(items)
    return reduce(lambda first, second: Say(joint, first=first, second=second), items) if items else ""


def class_words(classes: Iterable[str]) -> list[object]:
    """A model's class names for a sentence: CIFAR-10's as Says (shown in the reader's language), others as typed."""
    classes = list(classes)
    return [Say(f"class.{name}") for name in classes] if tuple(classes) == CIFAR10 else classes


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name is not None}


def class_names(classes: Iterable[str], language: str) -> list[str]:
    """The names a page shows for a model's classes: CIFAR-10's ten in the reader's language, any other list (a
    class's own typed names, a folder's) as it was written."""
    return [render(word, language) for word in class_words(classes)]


def class_name(name: str, classes: Iterable[str], language: str) -> str:
    """One class's shown name, by the rule of class_names."""
    classes = list(classes)
    return class_names(classes, language)[classes.index(name)] if name in classes else name


def choose(accept_language: str | None, default: str = ENGLISH) -> str:
    """The language for a browser's Accept-Language header: the first of ours it names, by its weights; `default`
    when it names neither (or sends none)."""
    weighted = []
    for n, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        weighted.append((-weight, n, tag.strip().lower().split("-")[0]))
    for weight, _, language in sorted(weighted):
        if language in LANGUAGES and weight < 0:
            return language
    return default if default in LANGUAGES else ENGLISH


def page_words(language: str, values: Mapping[str, object]) -> dict[str, str]:
    """The page's own words (keys "page.…") for the browser's I18n, with the page's constants filled in: the
    browser formats no values, and reads braces as its own syntax."""
    return {key: text(key, language, **{name: values[name] for name in placeholders(CATALOG[ENGLISH][key])})
            for key in CATALOG[ENGLISH] if key.startswith("page.") and key not in DYNAMIC_PAGE_KEYS}

