"""``rewardkit diff OLD NEW``: what changes between two versions of a programme file, and
what each change does to members who already have points, levels, badges or tickets.

Items are compared as loaded (so ``"1.0"`` and ``"1.00"`` are the same amount, and layout
does not matter); what differs is shown as :func:`~rewardkit.dump_program` writes it.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from ..config import dump_program
from ..program import Program
from .common import OK, PROBLEMS, load

__all__ = ["diff"]

# The parts of a programme made of items with ids, as (label, where in the data).
_LISTS: Final = (
    ("rules", ("rules",)),
    ("rewards", ("rewards",)),
    ("tier levels", ("tiers", "levels")),
    ("badges", ("badges",)),
    ("raffles", ("raffles",)),
    ("leaderboards", ("leaderboards",)),
)
# What a removed item means for the members who had something of it.
_REMOVED: Final = {
    "rules": "rule {id!r} removed: its caps and budget usage stay counted under {id!r}; a "
    "rule that replaces it under another id starts them again from zero",
    "rewards": "reward {id!r} removed: past redemptions keep its id; a reward that "
    "replaces it under another id starts its stock again from zero",
    "tier levels": "tier level {id!r} removed: members who hold it drop it at their next "
    "call (or sweep, once a review is due), and are placed again by their metric",
    "badges": "badge {id!r} removed: members who earned it keep it in their state; a badge "
    "that replaces it under another id starts from zero and can be earned again",
    "raffles": "raffle {id!r} removed: the tickets members hold for it no longer count",
    "leaderboards": "leaderboard {id!r} removed: its scores stay in the store, unread",
}
# The other parts, compared whole, and what a change to them means.
_PARTS: Final = (
    ("program", ("program",), None),  # name, timezone, currencies
    (
        "expiry",
        ("expiry",),
        "expiry changed: points already earned keep the expiry they were given, except "
        "that a policy on activity recomputes a member's lots at their next activity",
    ),
    ("tiers", ("tiers",), None),
    ("nudges", ("nudges",), None),
    ("segments", ("segments",), None),
    ("rfm", ("rfm",), None),
)


def _at(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _by_id(items: Any) -> dict[str, Any]:
    return {item["id"]: item for item in items or ()}


def _fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    return sorted(k for k in {*old, *new} if old.get(k) != new.get(k))


def _text(value: Any) -> str:
    return "none" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _items(program: Program, label: str) -> dict[str, Any]:
    if label == "tier levels":
        return {lvl.id: lvl for lvl in (program.tiers.levels if program.tiers else ())}
    return {item.id: item for item in getattr(program, label)}


def _part(program: Program, label: str) -> Any:
    """A part of a programme as an object that compares by meaning."""
    if label == "program":
        return (program.name, program.timezone, program.currencies)
    if label == "tiers":
        return None if program.tiers is None else attrs.evolve(program.tiers, levels=())
    return getattr(program, label)


def changes(old: Program, new: Program) -> tuple[list[str], list[str]]:
    """What differs between two programmes, one line each, and the warnings."""
    was_data, now_data = dump_program(old), dump_program(new)
    lines: list[str] = []
    warnings: list[str] = []
    for label, path in _LISTS:
        before, after = _items(old, label), _items(new, label)
        was_items, now_items = _by_id(_at(was_data, path)), _by_id(_at(now_data, path))
        marks = [f"+ {i}" for i in after if i not in before]
        marks += [f"- {i}" for i in before if i not in after]
        for i in before:
            if i in after and before[i] != after[i]:
                fields = _fields(was_items.get(i, {}), now_items.get(i, {}))
                marks.append(f"~ {i} ({', '.join(fields) or 'as loaded'})")
        if marks:
            lines.append(f"{label}: {', '.join(marks)}")
        warnings += [_REMOVED[label].format(id=i) for i in before if i not in after]
    for label, path, warning in _PARTS:
        if _part(old, label) == _part(new, label):
            continue
        was: Any = _at(was_data, path)
        now: Any = _at(now_data, path)
        if label == "tiers":  # its levels are compared above
            was = {k: v for k, v in (was or {}).items() if k != "levels"} or None
            now = {k: v for k, v in (now or {}).items() if k != "levels"} or None
        if isinstance(was, Mapping) and isinstance(now, Mapping):
            for field in _fields(was, now):
                lines.append(f"{label}.{field}: {_text(was.get(field))} -> {_text(now.get(field))}")
        else:
            lines.append(f"{label}: {_text(was)} -> {_text(now)}")
        if warning is not None:
            warnings.append(warning)
    if old.timezone != new.timezone:
        warnings.append(
            "timezone changed: weekdays, hours, caps and calendar periods are read in the new "
            "zone from now on; points keep the expiry instants they were given"
        )
    return lines, warnings


def _print(lines: Iterable[str]) -> None:
    for line in lines:
        print(line)


def diff(args: argparse.Namespace) -> int:
    old, new = load(args.old), load(args.new)
    lines, warnings = changes(old, new)
    if not lines:
        print(f"No differences between {args.old} and {args.new}.")
        return OK
    print(f"{args.old} -> {args.new}")
    _print(f"  {line}" for line in lines)
    if warnings:
        print("For members who already have points, levels, badges or tickets:")
        _print(f"  - {warning}" for warning in warnings)
    return PROBLEMS
