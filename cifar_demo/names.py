"""The one rule for a class name, whatever brings it (typed, a folder, a checkpoint, an archive, CIFAR's batches): a
name is shown on charts and names a folder in every zip the app writes, so it must be visible text that is a folder
name on every system; names that look the same are one class."""
from __future__ import annotations

import unicodedata
from functools import reduce
from typing import Iterable

from .serving import quote
from .words import CATALOG, ENGLISH, Clause, Say

MAX_NAME = 40  # characters: a chart label stays readable, and a folder name is at most 160 bytes of UTF-8
PATH_CHARACTERS = '/\\:*?"<>|'  # what no folder name may hold on some system (Windows refuses all of these)
# Device names Windows reserves in every folder, with or without an extension ('con.png' too).
WINDOWS_DEVICES = {"con", "prn", "aux", "nul", *(f"{port}{n}" for port in ("com", "lpt") for n in range(10))}
# Control, format (U+200B..U+200F, U+2060, U+FEFF), private-use, surrogate, unassigned, line and paragraph separators.
HIDDEN_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}
# Invisible characters of other categories: variation selectors, the combining grapheme joiner, Hangul and Khmer
# fillers, the Mongolian selectors and the braille blank; each makes a name that looks like another.
INVISIBLE = {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164, 0xFFA0, *range(0x180B, 0x1810),
             *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)}
EMOJI_PARTS = {0x200D, 0xFE0E, 0xFE0F}  # the zero-width joiner and the text and emoji presentation selectors
# Scripts that Unicode's identifier profile lets share a word with each other and with Latin (Japanese writes
# Han, Hiragana and Katakana in one word, and 'Tシャツ'); letters of any two other scripts in one word are refused.
SHARES_A_WORD = {"CJK", "HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA", "HANGUL", "BOPOMOFO", "IDEOGRAPHIC",
                 "MODIFIER"}
# Cyrillic and Greek letters (as case folding leaves them) that look like a Latin letter in one case or the other:
# the key folds them, so that a whole word in one of those alphabets is the Latin word it looks like.
LOOK_ALIKES = str.maketrans(
    "авеіјкмнорстухѕһԁԛԝӏүαβεζηικμνορτυχϲ",
    "abeijkmhopctyxshdqwlyabezhikmnoptyxc")


class ClassNameError(ValueError):
    """A class name that cannot be used; the message is one sentence that quotes the name and says why."""

    def clause(self) -> Clause:
        """The sentence to follow a ':' or 'but' in another one: no full stop (in English, no capital)."""
        return Clause(self.args[0])


def shown(name: str) -> str:
    """A name as a refusal quotes it: invisible and control characters written as their code, at most one line."""
    return quote("".join(f"\\u{ord(c):04x}" if hidden(c) else c for c in name))


def clean_name(name: object) -> str:
    """The name as stored (Unicode NFC, runs of spaces as one), or a ClassNameError that says what is wrong."""
    if not isinstance(name, str) or not name.split():
        raise ClassNameError(Say("names.needed"))
    name = unicodedata.normalize("NFC", " ".join(name.split()))
    problem = _problem(name)
    if problem:
        raise ClassNameError(problem)
    return name


def name_key(name: str) -> str:
    """Names with the same key are one class: compared after NFKC and case folding, without spaces, with the
    Cyrillic and Greek letters that look Latin as Latin: 'Ice cream', 'icecream' and 'ІСЕ СRЕАМ' are one."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return "".join(folded.split()).translate(LOOK_ALIKES)


def same_names(names: Iterable[str]) -> tuple[str, str] | None:
    """The first two names that are one class by name_key, or None when every name is its own."""
    seen: dict[str, str] = {}
    for name in names:
        key = name_key(name)
        if key in seen:
            return seen[key], name
        seen[key] = name
    return None


def same_names_refusal(first: str, second: str) -> Say:
    """The sentence for two names that are one class."""
    return Say("names.same", first=shown(first), second=shown(second))


def check_names(names: list[object]) -> list[str]:
    """Every name of a class list as stored, distinct by name_key; a ClassNameError names the first problem."""
    cleaned = [clean_name(name) for name in names]
    same = same_names(cleaned)
    if same:
        raise ClassNameError(same_names_refusal(*same))
    return cleaned


def check_stored(names: list[object]) -> None:
    """A class list kept somewhere (a checkpoint, a cache, a model's wall): each name as clean_name stores it."""
    for name, stored in zip(names, check_names(names)):
        if name != stored:
            raise ClassNameError(Say("names.not_stored", name=shown(name)))


def hidden(c: str, emoji: bool = False) -> bool:
    """A character that shows nothing, or changes how others show; with `emoji`, the joiner and the presentation
    selectors that build one emoji out of several pass (a nickname's, not a class name's)."""
    if emoji and ord(c) in EMOJI_PARTS:
        return False
    return unicodedata.category(c) in HIDDEN_CATEGORIES or ord(c) in INVISIBLE


def _problem(name: str) -> Say | None:
    """Why a tidied NFC name cannot be used, as one sentence; None when it can."""
    if len(name) > MAX_NAME:
        return Say("names.too_long", name=shown(name), length=len(name), most=MAX_NAME)
    found = next((c for c in name if hidden(c)), None)
    if found:
        return Say("names.hidden", name=shown(name), code=f"U+{ord(found):04X}")
    path = next((c for c in unicodedata.normalize("NFKC", name) if c in PATH_CHARACTERS), None)
    if path:
        return Say("names.path", name=shown(name), character=path, characters=" ".join(PATH_CHARACTERS))
    if name.startswith(".") or name.endswith("."):
        return Say("names.dot", name=shown(name))
    if unicodedata.normalize("NFKC", name).casefold().split(".")[0].rstrip() in WINDOWS_DEVICES:
        return Say("names.device", name=shown(name))
    mixed = _mixed_word(name)
    if mixed:
        return Say("names.mixed", name=shown(name), word=quote(mixed[0]), scripts=mixed[1])
    return None


def _script(letter: str) -> str:
    """The script of a letter, from its Unicode name ('LATIN SMALL LETTER A'); compatibility forms as their base."""
    base = unicodedata.normalize("NFKC", letter)[:1] or letter
    return unicodedata.name(base, "UNNAMED").split()[0]


def _mixed_word(name: str) -> tuple[str, Say | str] | None:
    """The first word (a run of letters and marks) that holds letters of two scripts which may not share one,
    and those scripts in words ('Latin and Cyrillic'); None when each word keeps to one."""
    word = ""
    for c in name + " ":
        if unicodedata.category(c)[0] in "LM":
            word += c
            continue
        scripts = sorted({_script(x) for x in word if unicodedata.category(x)[0] == "L"} - SHARES_A_WORD)
        if len(scripts) > 1:
            return word, reduce(lambda first, second: Say("names.and", first=first, second=second),
                                [Say(f"names.{s.lower()}") if f"names.{s.lower()}" in CATALOG[ENGLISH] else s.title()
                                 for s in scripts])
        word = ""
    return None
