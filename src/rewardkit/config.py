"""Programmes as data: TOML or JSON files <-> :class:`~rewardkit.program.Program`.

``load_program`` reads a ``.toml`` or ``.json`` file (or takes a mapping already parsed),
checks it and builds the programme, reporting every problem it finds in one
:class:`~rewardkit.errors.ProgramError`, each with its path (``rules[2].points``).
``dump_program`` writes a programme back as plain data (str, int, float, bool, lists and
dicts; Decimals and instants as strings), and ``load_program(dump_program(p)) == p``.

Both go through one cattrs converter made by :func:`make_converter`; the format is
described in ``docs/reference/programme-format.md``.  This module reads files, so it is
outside the pure domain: nothing in the domain imports it.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from datetime import tzinfo
from functools import cache
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs
import cattrs

from . import _config_conditions, _config_hooks, _config_policies, _config_rules, plugins
from ._config_base import Loading, fail, loading, problems_from, relocate, suggestion
from ._config_policies import Head
from .errors import Problem, ProgramError
from .expiry import ExpiryPolicy, never_expire
from .model import DEFAULT_CURRENCY
from .nudges import NudgeSettings
from .pending import Hold
from .program import Program
from .rewards import Reward, reward
from .rules import EarningRule, Multiplier, fixed, multiplier
from .tiers import Ladder

__all__ = ["SECTIONS", "dump_program", "load_program", "make_converter", "read_program"]

SECTIONS: Final = ("program", "rules", "expiry", "tiers", "rewards", "nudges")
"""The top-level tables of a programme file, in the order they are written."""

T = TypeVar("T")
Rule = EarningRule | Multiplier


def make_converter() -> cattrs.Converter:
    """A new converter that structures and unstructures every part of a programme.

    Unknown keys are refused and every problem is collected (``forbid_extra_keys`` and
    ``detailed_validation``).  ``load_program`` and ``dump_program`` share one, made
    here once; make your own to structure a single part, such as a rule table.
    """
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    _config_hooks.install(converter)
    _config_conditions.install(converter)
    _config_rules.install(converter)
    _config_policies.install(converter)
    return converter


@cache
def _converter() -> cattrs.Converter:
    return make_converter()


# ---------------------------------------------------------------- files


def read_program(path: str | os.PathLike[str]) -> Mapping[str, Any]:
    """The parsed content of a ``.toml`` or ``.json`` programme file.

    A file that cannot be parsed raises :class:`ProgramError` with the parser's line and
    column; a file that cannot be read raises the ``OSError`` (``FileNotFoundError``...).
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix == ".toml":
        with file.open("rb") as stream:
            try:
                return tomllib.load(stream)
            except tomllib.TOMLDecodeError as error:
                raise fail("", f"{file}: not valid TOML: {error}") from None
    if suffix == ".json":
        text = file.read_text(encoding="utf-8")
        try:
            data: Mapping[str, Any] = json.loads(text)
        except json.JSONDecodeError as error:
            raise fail(
                "",
                f"{file}: not valid JSON: {error.msg} (at line {error.lineno}, "
                f"column {error.colno})",
            ) from None
        return data
    raise fail(
        "",
        f"{str(file)[:80]!r}: a programme is a .toml or .json file (or a mapping already "
        "parsed, such as tomllib.loads(text))",
    )


# ---------------------------------------------------------------- loading


def load_program(source: str | os.PathLike[str] | Mapping[str, Any]) -> Program:
    """The programme in a ``.toml`` / ``.json`` file, or in a mapping already parsed.

    Raises :class:`ProgramError` listing every problem, each with its path.
    """
    plugins.load_entry_points()
    data = source if isinstance(source, Mapping) else read_program(source)
    return _Loader(data, _converter()).program()


class _Loader:
    """One load: each part is structured on its own, so one bad rule does not hide the
    problems of the others; cross-references are checked once every part is known."""

    def __init__(self, data: object, converter: cattrs.Converter) -> None:
        self.data = data
        self.converter = converter
        self.problems: list[Problem] = []
        self.failed: set[str] = set()  # paths whose problems are already reported
        self.currencies_known = True

    def attempt(self, path: str, build: Callable[[], T]) -> T | None:
        try:
            return build()
        except Exception as error:
            self.problems.extend(problems_from(error, path))
            self.failed.add(path)
            return None

    def structure(self, path: str, value: object, kind: Any) -> Any:
        return self.attempt(path, lambda: self.converter.structure(value, kind))

    def items(self, section: str, kind: Any) -> list[Any]:
        """Each item of an array of tables, ``None`` for those that failed."""
        if not isinstance(self.data, Mapping) or section not in self.data:
            return []
        raw = self.data[section]
        if not isinstance(raw, (list, tuple)):
            self.problems.append(
                Problem(section, f"expected a list of tables ([[{section}]]), got {raw!r}")
            )
            self.failed.add(section)
            return []
        return [self.structure(f"{section}[{i}]", item, kind) for i, item in enumerate(raw)]

    def head(self) -> Head | None:
        assert isinstance(self.data, Mapping)
        if "program" not in self.data:
            self.problems.append(
                Problem("program", "is required: a [program] table with the programme's name")
            )
            self.failed.add("program")
            return None
        head: Head | None = self.structure("program", self.data["program"], Head)
        return head

    def currencies(self, head: Head | None) -> tuple[str, ...] | None:
        """The programme's currencies, from a [program] that failed too when its list is
        well formed; ``None`` when they are unknown."""
        if head is not None:
            return head.currencies
        raw = _raw(self.data, "program")
        listed = _raw(raw, "currencies") if isinstance(raw, Mapping) else None
        if listed is None and isinstance(raw, Mapping):
            return (DEFAULT_CURRENCY,)
        if isinstance(listed, list) and listed and all(isinstance(c, str) for c in listed):
            return tuple(listed)
        return None

    def levels(self, tiers: Ladder | None) -> tuple[str, ...] | None:
        """The tier levels ``tier`` conditions may name; ``None`` when [tiers] failed."""
        if "tiers" in self.failed:
            return None
        return tuple(lvl.id for lvl in tiers.levels) if tiers else ()

    def program(self) -> Program:
        data = self.data
        if not isinstance(data, Mapping):
            raise fail(
                "", f"a programme is a table of sections ({', '.join(SECTIONS)}), got {data!r}"
            )
        for key in data:
            if key not in SECTIONS:
                self.problems.append(
                    Problem("", f"unknown section {key!r}{suggestion(key, SECTIONS)}")
                )
        head = self.head()
        currencies = self.currencies(head)
        self.currencies_known = currencies is not None
        currency = currencies[0] if currencies else DEFAULT_CURRENCY
        tiers = self.section("tiers", Ladder)
        token = loading.set(Loading(currency=currency, levels=self.levels(tiers)))
        try:
            rules = self.items("rules", EarningRule)
            expiry = self.section("expiry", ExpiryPolicy)
            rewards = self.items("rewards", Reward)
            nudges = self.section("nudges", NudgeSettings)
        finally:
            loading.reset(token)
        parts: dict[str, Any] = {
            "name": head.name if head else "?",
            "timezone": head.timezone if head else "UTC",
            "currencies": currencies or (currency,),
            "pending": head.pending if head else None,
            "expiry": expiry or never_expire,
            "tiers": tiers,
            "nudges": nudges or NudgeSettings(),
        }
        if self.problems:
            self.cross_references(parts, rules, rewards, currency)
            raise ProgramError(self.in_file_order(self.problems))
        try:
            return Program(rules=rules, rewards=rewards, **parts)
        except ProgramError as error:
            raise ProgramError(self.in_file_order(error.problems)) from None

    def section(self, name: str, kind: Any) -> Any:
        """An optional table, structured; ``None`` when absent or when it failed."""
        assert isinstance(self.data, Mapping)
        return self.structure(name, self.data[name], kind) if name in self.data else None

    def cross_references(
        self, parts: dict[str, Any], rules: list[Any], rewards: list[Any], currency: str
    ) -> None:
        """The programme's own checks (duplicate ids, targets, currencies, tiers), with
        stand-ins for the parts that failed, keeping only the problems not yet reported."""
        raw_rules = self.raw("rules")
        raw_rewards = self.raw("rewards")
        stand_in_rules = [
            rule if rule is not None else _stand_in_rule(i, raw_rules[i], currency)
            for i, rule in enumerate(rules)
        ]
        stand_in_rewards = [
            item if item is not None else _stand_in_reward(i, raw_rewards[i], currency)
            for i, item in enumerate(rewards)
        ]
        try:
            Program(rules=stand_in_rules, rewards=stand_in_rewards, **parts)
        except ProgramError as error:
            self.problems.extend(p for p in error.problems if not self.repeats(p))

    def raw(self, section: str) -> list[Any]:
        assert isinstance(self.data, Mapping)
        value = self.data.get(section, [])
        return list(value) if isinstance(value, (list, tuple)) else []

    def repeats(self, problem: Problem) -> bool:
        """Whether a cross-reference problem only repeats one already reported: a reward
        naming a level of tiers that failed, a currency of a [program] that failed."""
        if problem.path.endswith(".min_tier"):
            return "tiers" in self.failed
        return problem.path.endswith(".currency") and not self.currencies_known

    def in_file_order(self, problems: tuple[Problem, ...] | list[Problem]) -> list[Problem]:
        """Problems sorted by section (as the file orders them), then by item."""
        order = (
            {key: i for i, key in enumerate(self.data)} if isinstance(self.data, Mapping) else {}
        )

        def key(problem: Problem) -> tuple[int, int]:
            match = re.match(r"(\w+)(?:\[(\d+)\])?", problem.path)
            if match is None:
                return (-1, -1)
            return (order.get(match.group(1), len(order)), int(match.group(2) or -1))

        return sorted(problems, key=key)


def _raw(raw: object, key: str) -> object:
    return raw.get(key) if isinstance(raw, Mapping) else None


def _raw_text(raw: object, key: str, fallback: str | None) -> Any:
    value = _raw(raw, key)
    return value if isinstance(value, str) and value.strip() else fallback


def _stand_in_rule(i: int, raw: object, currency: str) -> Rule:
    """A rule in place of one that failed, keeping the id, currency and targets it names
    (so the programme still checks them) when they are well formed."""
    rule_id = _raw_text(raw, "id", f"<rules[{i}]>")
    if _raw(raw, "type") == "multiplier":
        targets = _raw(raw, "targets")
        if isinstance(targets, list) and targets and all(isinstance(t, str) for t in targets):
            return multiplier(rule_id, factor=1, targets=targets)
        return multiplier(rule_id, factor=1)
    return fixed(rule_id, points=1, currency=_raw_text(raw, "currency", currency))


def _stand_in_reward(i: int, raw: object, currency: str) -> Reward:
    """A reward in place of one that failed, keeping its id, currency and minimum tier."""
    return reward(
        _raw_text(raw, "id", f"<rewards[{i}]>"),
        cost=1,
        currency=_raw_text(raw, "currency", currency),
        min_tier=_raw_text(raw, "min_tier", None),
    )


# ---------------------------------------------------------------- dumping


def dump_program(program: Program) -> dict[str, Any]:
    """``program`` as plain data that :func:`load_program` reads back equal.

    Decimals are written as strings (``"1.25"``), instants as ISO 8601 text with their
    offset, terms as tables (``{"months": 12}``); values equal to their default are left
    out.  A part that cannot be written as data (a condition made from a Python
    function, an unregistered policy class) raises :class:`ProgramError` naming it.
    """
    plugins.load_entry_points()
    converter = _converter()
    problems: list[Problem] = []

    def part(path: str, value: object, kind: Any) -> Any:
        try:
            return converter.unstructure(value, unstructure_as=kind)
        except ProgramError as error:
            problems.extend(relocate(error, path))
            return None

    def item(path: str, value: object, kind: Any) -> Any:
        """A rule or a reward: its currency is left out when it is the default."""
        data = part(path, value, kind)
        if isinstance(data, dict) and data.get("currency") == program.currency:
            del data["currency"]
        return data

    timezone: object = program.timezone
    head: dict[str, Any] = {
        "name": program.name,
        "timezone": timezone
        if isinstance(timezone, str)
        else part("program.timezone", timezone, tzinfo),
    }
    if tuple(program.currencies) != (DEFAULT_CURRENCY,):
        head["currencies"] = list(program.currencies)
    if program.pending is not None:
        head["pending"] = part("program.pending", program.pending, Hold)
    data: dict[str, Any] = {"program": head}
    if program.rules:
        data["rules"] = [item(f"rules[{i}]", r, EarningRule) for i, r in enumerate(program.rules)]
    if program.expiry != never_expire:
        data["expiry"] = part("expiry", program.expiry, ExpiryPolicy)
    if program.tiers is not None:
        data["tiers"] = part("tiers", program.tiers, Ladder)
    if program.rewards:
        data["rewards"] = [item(f"rewards[{i}]", r, Reward) for i, r in enumerate(program.rewards)]
    nudges = part("nudges", program.nudges, NudgeSettings)
    if nudges:
        data["nudges"] = nudges
    problems.extend(_unmapped(program))
    if problems:
        raise ProgramError(problems)
    return data


_MAPPED: Final = frozenset(
    {"name", "timezone", "rules", "rewards", "currencies", "expiry", "tiers", "pending", "nudges"}
)


def _unmapped(program: Program) -> list[Problem]:
    """A problem for each part of ``program`` the file format has no place for yet, so
    that nothing is dropped without a word."""
    problems = []
    for field in attrs.fields(Program):
        if not field.init or field.name in _MAPPED:
            continue
        default: Any = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        if getattr(program, field.name) != default:
            problems.append(
                Problem(
                    field.name, "cannot be written as data yet: the file format has no place for it"
                )
            )
    return problems
