"""Settings written once: each dataclass field carries its help and its rule (its label is the catalog's
`setting.<field>`), and the command line's flags, the API's validation and the README's table are all made from the
fields. Labels and rules are Says: English in the CLI and the README, the reader's language on the page."""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field, fields
from typing import Any, Callable

from .words import Say, listed


@dataclass(frozen=True)
class Rule:
    """What a setting's value must be, in words for a refusal and as a check."""
    must: Say                            # "a whole number from 1 to 1,000": a refusal reads "<label> must be <must>"
    check: Callable[[Any, Any], bool]    # (value, the whole settings object) -> allowed; never raises, whatever the type
    kind: type = str                     # what a flag parses: int, float, str; bool makes a --x/--no-x switch
    choices: tuple[str, ...] | None = None


def setting(default: Any, help: str, rule: Rule) -> Any:
    """A dataclass field with its help and its rule."""
    return field(default=default, metadata={"help": help, "rule": rule})


def label(name: str) -> Say:
    """What refusals and the README call a setting."""
    return Say(f"setting.{name}")


def _is_number(value: Any, integer: bool) -> bool:
    kinds = (int,) if integer else (int, float)
    return (isinstance(value, kinds) and not isinstance(value, bool)
            and (isinstance(value, int) or math.isfinite(value)))


def number(must: Say, check: Callable[[Any], bool], kind: type, optional: bool) -> Rule:
    """A number's rule; with optional, None as well (and the words say so)."""
    return Rule(Say("rule.none_or", must=must) if optional else must,
                lambda value, _: (optional and value is None) or check(value), kind)


def whole(low: int, high: int, optional: bool = False) -> Rule:
    """A whole number in [low, high]; with optional, None as well."""
    return number(Say("rule.whole", low=f"{low:,}", high=f"{high:,}"),
                  lambda value: _is_number(value, True) and low <= value <= high, int, optional)


def real(low: float, high: float, above_low: bool = False, below_high: bool = False, optional: bool = False) -> Rule:
    """A finite number from low to high, either end left out where asked; with optional, None as well."""
    key = "rule.above_to" if above_low else "rule.from_below" if below_high else "rule.from_to"
    return number(Say(key, low=f"{low:g}", high=f"{high:g}"),
                  lambda value: (_is_number(value, False) and low <= value <= high
                                 and not (above_low and value == low) and not (below_high and value == high)),
                  float, optional)


def one_of(*choices: str) -> Rule:
    """One of a few words."""
    must = (Say("rule.either", first=f"'{choices[0]}'", second=f"'{choices[1]}'") if len(choices) == 2
            else Say("rule.one_of", choices=", ".join(choices)))
    return Rule(must, lambda value, _: isinstance(value, str) and value in choices, str, choices)


def switch() -> Rule:
    return Rule(Say("rule.switch"), lambda value, _: isinstance(value, bool), bool)


def problems(settings: Any) -> object:
    """'<label> must be <rule>' for each setting whose value breaks its rule, in the fields' order, as one list;
    empty when every value keeps its rule."""
    return listed((Say("rule.must", label=label(f.name), must=f.metadata["rule"].must) for f in fields(settings)
                   if not f.metadata["rule"].check(getattr(settings, f.name), settings)), "text.semicolon")


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_flags(parser: argparse.ArgumentParser, settings: type) -> None:
    """A flag per field, default None (not given): --batch-size N, or --augment/--no-augment for a switch."""
    for f in fields(settings):
        rule, help_text = f.metadata["rule"], f.metadata["help"]
        if rule.kind is bool:
            parser.add_argument(flag(f.name), dest=f.name, action=argparse.BooleanOptionalAction, help=help_text)
        else:
            shown = help_text if rule.choices else f"{help_text} ({rule.must})"  # argparse lists the choices
            parser.add_argument(flag(f.name), dest=f.name, type=rule.kind, choices=rule.choices,
                                help=shown.replace("%", "%%"))


def markdown_table(settings: type) -> str:
    """The settings as the README's table: flag, what it does, what it may be."""
    rows = ["| flag | setting | what it does | allowed |", "|---|---|---|---|"]
    for f in fields(settings):
        rule = f.metadata["rule"]
        shown = f"`{flag(f.name)}`, `--no-{flag(f.name)[2:]}`" if rule.kind is bool else f"`{flag(f.name)}`"
        rows.append(f"| {shown} | {label(f.name)} | {f.metadata['help']} | {rule.must} |")
    return "\n".join(rows)
