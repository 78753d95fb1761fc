"""The one class-name rule: what passes, what is refused and why, and which names are one class."""
from __future__ import annotations

import pytest

from cifar_demo.names import (MAX_NAME, ClassNameError, check_names, check_stored, clean_name, name_key, same_names,
                              shown)


@pytest.mark.parametrize("typed, stored", [
    ("cat", "cat"), ("  my \t mug ", "my mug"), ("고양이", "고양이"), ("비행기", "비행기"),
    ("猫ちゃん", "猫ちゃん"), ("Tシャツ", "Tシャツ"), ("кот", "кот"), ("αβγ", "αβγ"), ("cafe\u0301", "café"),
    ("ice-cream 2", "ice-cream 2"), ("x" * MAX_NAME, "x" * MAX_NAME), ("🐱", "🐱"), ("c on", "c on")])
def test_names_of_one_script_per_word_pass_and_are_stored_as_nfc_with_single_spaces(typed, stored):
    assert clean_name(typed) == stored


REFUSED = {  # name: words of the one sentence it gets
    "": "needs a name", " \t ": "needs a name", None: "needs a name",
    "x" * (MAX_NAME + 1): f"{MAX_NAME + 1} characters long; {MAX_NAME} at most",
    "a/b": "holds '/'", "a\\b": "holds '\\'", "C:x": "holds ':'", "a*b": "holds '*'", "what?": "holds '?'",
    "a|b": "holds '|'", "<b>": "holds '<'", 'say "hi"': "holds '\"'", "a\uff0fb": "holds '/'",
    ".": "start with a dot", "..": "start with a dot", ".hidden": "start with a dot", "cat.": "end with one",
    "CON": "Windows keeps that name", "lpt1.png": "Windows keeps that name", "Nul": "Windows keeps that name",
    "bell\x07": "U+0007", "ca\u200bt": "U+200B", "word\u2060joiner": "U+2060", "\ufeffbom": "U+FEFF",
    "mug\ufe0f": "U+FE0F", "right\u202eleft": "U+202E", "private\ue000": "U+E000", "soft\u00adhyphen": "U+00AD",
    "\u3164": "U+3164", "a\ud800": "U+D800", "unassigned\U000e0fff": "U+E0FFF",
    "\u0441at": "the word 'сat' mixes Cyrillic and Latin letters", "p\u0430y day": "mixes Cyrillic and Latin",
    "\u03b1lpha": "mixes Greek and Latin",
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_each_problem_is_one_sentence_that_quotes_the_name(name):
    with pytest.raises(ClassNameError) as refused:
        clean_name(name)
    message = str(refused.value)
    assert REFUSED[name] in message
    assert message.endswith(".") and ". " not in message and message.isprintable()
    if isinstance(name, str) and name.strip():
        assert f"'{shown(name.strip())}'" in message


@pytest.mark.parametrize("first, second", [
    ("cat", "CAT"), ("Ice cream", "icecream"), ("cat", "\uff43\uff41\uff54"), ("café", "cafe\u0301"),
    ("cap", "\u0441\u0430\u0440"), ("BOX", "\u0412\u041e\u0425"), ("kot", "кот"),
    ("top", "\u03c4\u03bf\u03c1"), ("ﬁsh", "fish"), ("Straße", "STRASSE")])
def test_names_that_look_the_same_are_one_class(first, second):
    assert name_key(first) == name_key(second)
    assert same_names([first, "dog", second]) == (first, second)
    with pytest.raises(ClassNameError, match="are the same class name"):
        check_names([first, second])


@pytest.mark.parametrize("first, second", [("cat", "cot"), ("고양이", "고양"), ("кот", "кит"), ("a b", "a-b")])
def test_names_that_differ_to_the_eye_are_two_classes(first, second):
    assert name_key(first) != name_key(second) and same_names([first, second]) is None


def test_a_stored_list_must_hold_names_as_the_rule_stores_them():
    check_stored(["café", "고양이", "my mug"])
    for unstored in (["cafe\u0301", "dog"], ["my  mug", "dog"], [" cat", "dog"]):
        with pytest.raises(ClassNameError, match="not written as names are stored"):
            check_stored(unstored)


def test_shown_writes_invisible_characters_as_their_code_on_one_short_line():
    assert shown("ca\u200bt\n") == "ca\\u200bt\\u000a"
    assert len(shown("x" * 500)) == 80
